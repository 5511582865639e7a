//! `/v3/users/{user}/credentials/OS-EC2`: EC2 credentials as Keystone keeps
//! them and tempest's `test_ec2_credentials` uses them.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, status_of};

#[tokio::test]
async fn a_member_creates_lists_shows_and_deletes_its_own_ec2_credentials() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let member = s.role_id(&admin, "member").await.unwrap();
    let alice = s
        .create_user_with_role(&admin, "alice", "a-long-password", Some(&member))
        .await;
    let bob = s
        .create_user_with_role(&admin, "bob", "a-long-password", Some(&member))
        .await;
    let token = s.project_token("alice", "a-long-password").await;
    let path = format!("/v3/users/{alice}/credentials/OS-EC2");
    let project = s.admin.project.id.clone();

    let created = s
        .call(Method::POST, &path, &token)
        .json(&json!({"tenant_id": project}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let credential = &created["credential"];
    let access = credential["access"].as_str().unwrap();
    assert_eq!(access.len(), 32);
    assert_eq!(credential["secret"].as_str().unwrap().len(), 32);
    assert_eq!(credential["user_id"], alice.as_str());
    assert_eq!(credential["tenant_id"], project.as_str());
    assert_eq!(credential["trust_id"], Value::Null);
    assert!(
        credential["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{path}/{access}"))
    );

    let listed: Value = s
        .call(Method::GET, &path, &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(listed["credentials"][0]["access"], access);
    let shown = s
        .call(Method::GET, &format!("{path}/{access}"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    let shown: Value = shown.json().await.unwrap();
    assert_eq!(shown["credential"], *credential);
    // Keystone's id: the SHA-256 of the access key, a credential of type ec2.
    let stored: Value = s
        .call(
            Method::GET,
            &format!("/v3/credentials?user_id={alice}"),
            &admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["credentials"][0]["type"], "ec2");
    assert_eq!(
        stored["credentials"][0]["id"],
        auth_server::keystone::ec2_credentials::credential_id(access)
    );

    // Bob may neither see nor delete it, nor make one for Alice.
    let bobs = s.project_token("bob", "a-long-password").await;
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(
        status_of(s.call(Method::GET, &format!("{path}/{access}"), &bobs)).await,
        403
    );
    assert_eq!(status_of(s.call(Method::GET, &path, &bobs)).await, 403);
    assert_eq!(
        status_of(s.call(Method::DELETE, &format!("{path}/{access}"), &bobs)).await,
        403
    );
    let forged = s
        .call(Method::POST, &path, &bobs)
        .json(&json!({"tenant_id": project}))
        .send()
        .await
        .unwrap();
    assert_eq!(status(forged), 403);
    // Under Bob's path it does not exist.
    let elsewhere = format!("/v3/users/{bob}/credentials/OS-EC2/{access}");
    assert_eq!(status_of(s.call(Method::GET, &elsewhere, &bobs)).await, 404);
    // An unknown project, a missing one.
    let unknown = s
        .call(Method::POST, &path, &token)
        .json(&json!({"tenant_id": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status(unknown), 404);
    let missing = s
        .call(Method::POST, &path, &token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(status(missing), 400);

    let deleted = s
        .call(Method::DELETE, &format!("{path}/{access}"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(status(deleted), 204);
    assert_eq!(
        status_of(s.call(Method::GET, &format!("{path}/{access}"), &token)).await,
        404
    );
}
