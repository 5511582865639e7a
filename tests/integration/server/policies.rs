//! `/v3/policies`: stored policy blobs, as Keystone keeps them.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::TestServer;

#[tokio::test]
async fn policy_blobs_are_created_listed_updated_and_deleted_by_an_admin_only() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let status = |r: reqwest::Response| r.status().as_u16();
    let created = s
        .call(Method::POST, "/v3/policies", &admin)
        .json(&json!({"policy": {"blob": "{\"rule\": \"\"}", "type": "application/json", "project_id": "p"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let policy = &created["policy"];
    let id = policy["id"].as_str().unwrap();
    assert_eq!(policy["type"], "application/json");
    assert_eq!(policy["project_id"], "p", "other attributes are kept");
    assert!(
        policy["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v3/policies/{id}"))
    );

    let other = s
        .call(Method::POST, "/v3/policies", &admin)
        .json(&json!({"policy": {"blob": "x", "type": "text/plain"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(status(other), 201);
    let listed: Value = s
        .call(Method::GET, "/v3/policies?type=application/json", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["policies"].as_array().unwrap().len(), 1);
    assert_eq!(listed["policies"][0], *policy);

    let updated = s
        .call(Method::PATCH, &format!("/v3/policies/{id}"), &admin)
        .json(&json!({"policy": {"type": "application/yaml"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 200);
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["policy"]["type"], "application/yaml");
    assert_eq!(updated["policy"]["blob"], policy["blob"]);

    for bad in [
        json!({"policy": {"type": "t"}}),
        json!({"policy": {"blob": 1, "type": "t"}}),
        json!({"policy": {"blob": "b", "type": "t", "id": "x"}}),
    ] {
        assert_eq!(
            status(
                s.call(Method::POST, "/v3/policies", &admin)
                    .json(&bad)
                    .send()
                    .await
                    .unwrap()
            ),
            400,
            "{bad}"
        );
    }
    // Not for a member.
    let member = s.role_id(&admin, "member").await.unwrap();
    s.create_user_with_role(&admin, "alice", "a-long-password", Some(&member))
        .await;
    let alice = s.project_token("alice", "a-long-password").await;
    assert_eq!(
        status(
            s.call(Method::GET, "/v3/policies", &alice)
                .send()
                .await
                .unwrap()
        ),
        403
    );

    assert_eq!(
        status(
            s.call(Method::DELETE, &format!("/v3/policies/{id}"), &admin)
                .send()
                .await
                .unwrap()
        ),
        204
    );
    assert_eq!(
        status(
            s.call(Method::GET, &format!("/v3/policies/{id}"), &admin)
                .send()
                .await
                .unwrap()
        ),
        404
    );
    assert_eq!(
        status(
            s.call(Method::DELETE, &format!("/v3/policies/{id}"), &admin)
                .send()
                .await
                .unwrap()
        ),
        404
    );
}
