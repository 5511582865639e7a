//! A token from an application credential carries exactly the roles the
//! credential delegates (and what they imply), at issue, at validation and
//! before the policy, and stops working when a delegated role goes.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, subject};

/// The bootstrap admin, who holds `admin` on the `admin` project, also
/// gets `member` there; returns the member role's id.
async fn make_admin_a_member_too(server: &TestServer, admin: &str) -> String {
    let roles: Value = server
        .call(Method::GET, "/v3/roles?name=member", admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let member = roles["roles"][0]["id"].as_str().unwrap().to_owned();
    let path = format!(
        "/v3/projects/{}/users/{}/roles/{member}",
        server.admin.project.id, server.admin.user.id
    );
    let granted = server.call(Method::PUT, &path, admin).send().await.unwrap();
    assert_eq!(granted.status(), 204);
    member
}

/// Creates an application credential delegating `roles` (names); its id
/// and secret.
async fn create(server: &TestServer, admin: &str, roles: Value) -> (String, String) {
    let path = format!("/v3/users/{}/application_credentials", server.admin.user.id);
    let response = server
        .call(Method::POST, &path, admin)
        .json(&json!({"application_credential": {"name": "ci", "roles": roles}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let credential = &body["application_credential"];
    (
        credential["id"].as_str().unwrap().to_owned(),
        credential["secret"].as_str().unwrap().to_owned(),
    )
}

async fn login(server: &TestServer, id: &str, secret: &str) -> reqwest::Response {
    let body = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": id, "secret": secret}}}});
    server.issue(&body, None).await
}

fn role_names(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = body["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn validate(server: &TestServer, caller: &str, token: &str) -> reqwest::Response {
    server
        .call(Method::GET, "/v3/auth/tokens", caller)
        .header("X-Subject-Token", token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_token_carries_only_the_roles_its_credential_delegates() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    make_admin_a_member_too(&server, &admin).await;
    let (id, secret) = create(&server, &admin, json!([{"name": "member"}])).await;

    let issued = login(&server, &id, &secret).await;
    assert_eq!(issued.status(), 201);
    let token = subject(&issued);
    let body: Value = issued.json().await.unwrap();
    assert_eq!(role_names(&body), ["member"]);

    // Validation computes the same roles, and so does the policy: the
    // owner's admin role is not the token's.
    let validated: Value = validate(&server, &admin, &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(role_names(&validated), ["member"]);
    let users = server
        .call(Method::GET, "/v3/users", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 403);
    let grant = format!(
        "/v3/projects/{}/users/{}/roles/{}",
        server.admin.project.id, server.admin.user.id, server.admin.admin_role.id
    );
    let granted = server
        .call(Method::PUT, &grant, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 403);
}

#[tokio::test]
async fn losing_a_delegated_role_ends_the_tokens_that_needed_it() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let member = make_admin_a_member_too(&server, &admin).await;
    let (id, secret) = create(&server, &admin, json!([{"name": "member"}])).await;
    let token = subject(&login(&server, &id, &secret).await);
    assert_eq!(validate(&server, &admin, &token).await.status(), 200);

    let path = format!(
        "/v3/projects/{}/users/{}/roles/{member}",
        server.admin.project.id, server.admin.user.id
    );
    let revoked = server
        .call(Method::DELETE, &path, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    // The owner still holds admin there, but the credential delegated
    // only member. (The revocation ended the admin's own token on the
    // project too: a new one checks.)
    let admin = server.admin_token().await;
    assert_eq!(validate(&server, &admin, &token).await.status(), 404);
    assert_ne!(login(&server, &id, &secret).await.status(), 201);
}
