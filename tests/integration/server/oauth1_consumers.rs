//! `/v3/OS-OAUTH1/consumers`: OAuth1 consumers as Keystone keeps them, their
//! secret shown once and stored sealed.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, status_of};

#[tokio::test]
async fn consumers_are_created_with_a_secret_shown_once_and_stored_sealed() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let created = s
        .call(Method::POST, "/v3/OS-OAUTH1/consumers", &admin)
        .json(&json!({"consumer": {"description": "a reporting tool"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let consumer = &created["consumer"];
    let id = consumer["id"].as_str().unwrap();
    let secret = consumer["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!(consumer["description"], "a reporting tool");
    let stored = s
        .storage()
        .get_document("oauth1_consumer", id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored.to_string().contains(secret),
        "the secret is stored sealed"
    );

    let path = format!("/v3/OS-OAUTH1/consumers/{id}");
    let shown: Value = s
        .call(Method::GET, &path, &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["consumer"]["description"], "a reporting tool");
    assert!(shown["consumer"].get("secret").is_none());
    let listed: Value = s
        .call(Method::GET, "/v3/OS-OAUTH1/consumers", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["consumers"], json!([shown["consumer"]]));

    let updated = s
        .call(Method::PATCH, &path, &admin)
        .json(&json!({"consumer": {"description": "renamed"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 200);
    assert_eq!(
        updated.json::<Value>().await.unwrap()["consumer"]["description"],
        "renamed"
    );
    let secret_change = s
        .call(Method::PATCH, &path, &admin)
        .json(&json!({"consumer": {"secret": "mine"}}));
    assert_eq!(status_of(secret_change).await, 400);

    let member = s.role_id(&admin, "member").await.unwrap();
    s.create_user_with_role(&admin, "alice", "a-long-password", Some(&member))
        .await;
    let alice = s.project_token("alice", "a-long-password").await;
    assert_eq!(
        status_of(s.call(Method::GET, "/v3/OS-OAUTH1/consumers", &alice)).await,
        403
    );

    assert_eq!(status_of(s.call(Method::DELETE, &path, &admin)).await, 204);
    assert_eq!(status_of(s.call(Method::GET, &path, &admin)).await, 404);
}
