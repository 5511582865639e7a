//! A token from an application credential carries exactly the roles the
//! credential delegates (and what they imply), at issue, at validation and
//! before the policy, and stops working when a delegated role goes.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, role_names, status_of, subject};

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

async fn validate(server: &TestServer, caller: &str, token: &str) -> reqwest::Response {
    server.validate(caller, token).await
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
    // member, and reader, which member implies.
    assert_eq!(role_names(&body), ["member", "reader"]);

    // Validation computes the same roles, and so does the policy: the
    // owner's admin role is not the token's.
    let validated: Value = validate(&server, &admin, &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(role_names(&validated), ["member", "reader"]);
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

/// `POST /v3/users/{admin}/application_credentials` with `token` and the
/// given `application_credential` object.
async fn create_with(server: &TestServer, token: &str, credential: Value) -> reqwest::Response {
    let path = format!("/v3/users/{}/application_credentials", server.admin.user.id);
    server
        .call(Method::POST, &path, token)
        .json(&json!({ "application_credential": credential }))
        .send()
        .await
        .unwrap()
}

async fn id_and_secret(response: reqwest::Response) -> (String, String) {
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let credential = &body["application_credential"];
    (
        credential["id"].as_str().unwrap().to_owned(),
        credential["secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_restricted_credential_can_neither_make_nor_delete_one() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let restricted = create_with(&server, &admin, json!({"name": "restricted"})).await;
    let (id, secret) = id_and_secret(restricted).await;
    let unrestricted = create_with(
        &server,
        &admin,
        json!({"name": "free", "unrestricted": true}),
    )
    .await;
    let (free_id, free_secret) = id_and_secret(unrestricted).await;
    let victim = create_with(&server, &admin, json!({"name": "victim"})).await;
    let (victim_id, _) = id_and_secret(victim).await;

    let token = subject(&login(&server, &id, &secret).await);
    let made = create_with(&server, &token, json!({"name": "child"})).await;
    assert_eq!(made.status(), 403);
    let path = format!(
        "/v3/users/{}/application_credentials/{victim_id}",
        server.admin.user.id
    );
    let deleted = server
        .call(Method::DELETE, &path, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 403);

    let free = subject(&login(&server, &free_id, &free_secret).await);
    let made = create_with(&server, &free, json!({"name": "child"})).await;
    assert_eq!(made.status(), 201);
    let deleted = server
        .call(Method::DELETE, &path, &free)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
}

#[tokio::test]
async fn access_rules_bound_what_its_tokens_may_call_here() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let me = format!("/v3/users/{}", server.admin.user.id);
    let rules = json!([{"service": "identity", "method": "GET", "path": "/v3/users/*"}]);
    let response = create_with(&server, &admin, json!({"name": "r", "access_rules": rules})).await;
    let (id, secret) = id_and_secret(response).await;
    let token = subject(&login(&server, &id, &secret).await);

    let allowed = server.call(Method::GET, &me, &token).send().await.unwrap();
    assert_eq!(allowed.status(), 200);
    for (method, path) in [
        (Method::GET, "/v3/projects"),
        (Method::PATCH, me.as_str()),
        (Method::GET, "/v3/users"),
    ] {
        let refused = server
            .call(method.clone(), path, &token)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401, "{method} {path}");
        assert!(refused.headers().contains_key("www-authenticate"));
    }

    // A service validating such a token must say it enforces access
    // rules; one that does not is told the token does not exist.
    let check = |caller: String, with_header: bool| {
        let mut request = server
            .call(Method::GET, "/v3/auth/tokens", caller)
            .header("X-Subject-Token", token.as_str());
        if with_header {
            request = request.header("OpenStack-Identity-Access-Rules", "1.0");
        }
        request.send()
    };
    assert_eq!(check(admin.clone(), false).await.unwrap().status(), 404);
    assert_eq!(check(admin.clone(), true).await.unwrap().status(), 200);
    // The token may always validate itself (under the same condition).
    assert_eq!(check(token.clone(), true).await.unwrap().status(), 200);
}

#[tokio::test]
async fn expiry_dates_are_read_as_keystone_reads_them() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    // Python clients send UTC without a zone, with microseconds.
    let naive = create_with(
        &server,
        &admin,
        json!({"name": "naive", "expires_at": "2099-01-02T03:04:05.123456"}),
    )
    .await;
    assert_eq!(naive.status(), 201);
    let body: Value = naive.json().await.unwrap();
    assert_eq!(
        body["application_credential"]["expires_at"], "2099-01-02T03:04:05.123456",
        "rendered as Keystone renders it: Python's isoformat, no zone"
    );
    let past = (chrono::Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string();
    for (name, expires_at) in [("past", past.as_str()), ("garbage", "next tuesday")] {
        let refused = create_with(
            &server,
            &admin,
            json!({"name": name, "expires_at": expires_at}),
        )
        .await;
        assert_eq!(refused.status(), 400, "{expires_at}");
        let error: Value = refused.json().await.unwrap();
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("expires_at")
        );
    }
}

#[tokio::test]
async fn a_credential_made_unscoped_gives_unscoped_tokens() {
    let server = TestServer::start().await;
    let unscoped = subject(&server.admin_unscoped().await);
    let response = create_with(&server, &unscoped, json!({"name": "bare"})).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let credential = &body["application_credential"];
    assert_eq!(credential["project_id"], Value::Null);
    assert_eq!(credential["roles"], json!([]));
    let (id, secret) = (
        credential["id"].as_str().unwrap(),
        credential["secret"].as_str().unwrap(),
    );
    // The admin's default project is the admin project: an unscoped
    // credential must not fall back to it.
    let issued = login(&server, id, secret).await;
    assert_eq!(issued.status(), 201);
    let token: Value = issued.json().await.unwrap();
    assert!(token["token"].get("project").is_none(), "{token}");
    assert!(token["token"].get("roles").is_none(), "{token}");
}

#[tokio::test]
async fn a_delegated_token_makes_ec2_credentials_only_unrestricted_and_for_its_project() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let other = server
        .created_id(
            &admin,
            "/v3/projects",
            json!({"project": {"name": "other", "domain_id": "default"}}),
        )
        .await;
    let (id, secret) =
        id_and_secret(create_with(&server, &admin, json!({"name": "r"})).await).await;
    let restricted = subject(&login(&server, &id, &secret).await);
    let free = create_with(&server, &admin, json!({"name": "f", "unrestricted": true})).await;
    let (free_id, free_secret) = id_and_secret(free).await;
    let free = subject(&login(&server, &free_id, &free_secret).await);
    let path = format!("/v3/users/{}/credentials/OS-EC2", server.admin.user.id);
    let make = |token: &str, project: &str| {
        server
            .call(Method::POST, &path, token)
            .json(&json!({"tenant_id": project}))
    };
    let own = server.admin.project.id.as_str();
    assert_eq!(status_of(make(&restricted, own)).await, 403);
    assert_eq!(status_of(make(&free, &other)).await, 403);
    assert_eq!(status_of(make(&free, own)).await, 201);
    // An ordinary token may name any project it may (admin here).
    assert_eq!(status_of(make(&admin, &other)).await, 201);
}
