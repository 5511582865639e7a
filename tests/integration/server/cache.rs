//! The validation cache: repeated validations are answered from it, and a
//! change made on any node (revocation, role removal, user disable) reaches
//! every node's next validation.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, password_body, subject};

/// `GET /v3/auth/tokens` of `token` on `node`, as `caller`.
async fn validate(node: &TestServer, caller: &str, token: &str) -> u16 {
    node.validate(caller, token).await.status().as_u16()
}

fn cache_hits(node: &TestServer) -> u64 {
    let metrics = node.state.metrics().render();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("auth_token_cache_total{result=\"hit\"}"))
        .unwrap();
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// Creates a user with a password and a role on the admin project through
/// the API, and returns its id and a project-scoped token.
async fn member(s: &TestServer, admin: &str, name: &str) -> (String, String) {
    let user: Value = s
        .call(Method::POST, "/v3/users", admin)
        .json(&json!({"user": {"name": name, "password": "pass-word"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_id = user["user"]["id"].as_str().unwrap().to_owned();
    let grant = grant_path(s, &user_id).await;
    let put = s.call(Method::PUT, &grant, admin).send().await.unwrap();
    assert_eq!(put.status(), 204);
    let scope = json!({"project": {"id": s.admin.project.id}});
    let login = s
        .issue(&password_body(name, "pass-word", Some(scope)), None)
        .await;
    assert_eq!(login.status(), 201);
    (user_id, subject(&login))
}

/// The path of `user_id`'s member role on the admin project.
async fn grant_path(s: &TestServer, user_id: &str) -> String {
    let member = s.storage().find_role_by_name("member").await.unwrap();
    format!(
        "/v3/projects/{}/users/{user_id}/roles/{}",
        s.admin.project.id, member.id
    )
}

#[tokio::test]
async fn a_change_on_one_node_reaches_the_cache_of_another() {
    let a = TestServer::start().await;
    let b = a.second_node().await;
    let admin = a.admin_token().await;

    // Revocation on B.
    let (_, carol) = member(&a, &admin, "carol").await;
    assert_eq!(validate(&a, &admin, &carol).await, 200);
    let before = cache_hits(&a);
    assert_eq!(validate(&a, &admin, &carol).await, 200);
    assert!(
        cache_hits(&a) > before,
        "a repeated validation missed the cache"
    );
    let revoked = b
        .call(Method::DELETE, "/v3/auth/tokens", &admin)
        .header("X-Subject-Token", &carol)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(validate(&a, &admin, &carol).await, 404, "revoked on B");

    // Role removal on B.
    let (dave_id, dave) = member(&a, &admin, "dave").await;
    assert_eq!(validate(&a, &admin, &dave).await, 200);
    assert_eq!(validate(&a, &admin, &dave).await, 200);
    let grant = grant_path(&a, &dave_id).await;
    let removed = b.call(Method::DELETE, &grant, &admin).send().await.unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(validate(&a, &admin, &dave).await, 404, "role removed on B");

    // User disabled on B; the caller side of the cache obeys too.
    let (erin_id, erin) = member(&a, &admin, "erin").await;
    assert_eq!(validate(&a, &erin, &erin).await, 200);
    assert_eq!(validate(&a, &erin, &erin).await, 200);
    let disabled = b
        .call(Method::PATCH, &format!("/v3/users/{erin_id}"), &admin)
        .json(&json!({"user": {"enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    assert_eq!(validate(&a, &admin, &erin).await, 404, "disabled on B");
    assert_eq!(validate(&a, &erin, &admin).await, 401, "a disabled caller");
}

#[tokio::test]
async fn a_cached_validation_still_expires_on_time() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let issued = s.admin_unscoped().await;
    let token = subject(&issued);
    assert_eq!(validate(&s, &admin, &token).await, 200);
    assert_eq!(validate(&s, &admin, &token).await, 200);
    // Both tokens live an hour; validate with a fresh admin token later.
    s.clock.advance(chrono::Duration::seconds(3601));
    let later_admin = s.admin_token().await;
    assert_eq!(validate(&s, &later_admin, &token).await, 404);
    let allowed = s
        .call(Method::GET, "/v3/auth/tokens?allow_expired=1", &later_admin)
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    // The expired caller itself is refused.
    assert_eq!(validate(&s, &admin, &later_admin).await, 401);
}

#[tokio::test]
async fn a_node_picks_up_rotated_keys_without_a_restart() {
    let a = TestServer::start().await;
    let old_admin = a.admin_token().await;
    let issued = a.admin_unscoped().await;
    let old_token = subject(&issued);
    // Cached on A under the first signing key.
    assert_eq!(validate(&a, &old_admin, &old_token).await, 200);
    assert_eq!(validate(&a, &old_admin, &old_token).await, 200);
    assert!(
        !auth_server::keys::refresh(&a.state).await.unwrap(),
        "nothing changed yet"
    );

    // Two rotations elsewhere: the key that signed the old tokens is
    // gone, and new tokens are signed by a key A has never seen.
    let algorithm = auth_plugins::tokens::jws::SigningAlgorithm::ES256;
    let kek = a.kek();
    for _ in 0..2 {
        auth_server::keys::rotate(a.storage().as_ref(), &kek, algorithm)
            .await
            .unwrap();
    }
    let b = a.second_node().await;
    let new_admin = b.admin_token().await;
    assert_eq!(validate(&b, &new_admin, &new_admin).await, 200);
    assert_eq!(
        validate(&a, &new_admin, &new_admin).await,
        401,
        "A lacks the key"
    );

    assert!(auth_server::keys::refresh(&a.state).await.unwrap());
    assert_eq!(validate(&a, &new_admin, &new_admin).await, 200);
    assert_eq!(
        validate(&a, &new_admin, &old_token).await,
        404,
        "its key was retired"
    );
    assert_eq!(validate(&a, &old_admin, &new_admin).await, 401);
    // Receipts sealed on B now open on A too: an MFA flow may switch nodes.
    assert_eq!(
        a.state.receipt_keys().current().primary().id(),
        b.state.receipt_keys().current().primary().id()
    );
}

/// The endpoint URLs in a token body's catalog.
fn catalog_urls(body: &Value) -> Vec<String> {
    let mut urls: Vec<String> = body["token"]["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["endpoints"].as_array().unwrap())
        .map(|e| e["url"].as_str().unwrap().to_owned())
        .collect();
    urls.sort();
    urls
}

#[tokio::test]
async fn a_catalog_change_on_another_node_reaches_the_next_login() {
    let a = TestServer::start().await;
    let b = a.second_node().await;
    let login = || async {
        let body = password_body(
            "admin",
            super::harness::ADMIN_PASSWORD,
            Some(json!({"project": {"name": "admin", "domain": {"id": "default"}}})),
        );
        let response = a.issue(&body, None).await;
        assert_eq!(response.status(), 201);
        catalog_urls(&response.json().await.unwrap())
    };
    let before = login().await;
    assert_eq!(before, login().await, "the kept catalog is the same");

    // B's store adds an endpoint to the identity service.
    let storage = b.storage();
    let identity = storage.list_services().await.unwrap().remove(0);
    storage
        .create_endpoint(
            &auth_core::store::Endpoint::new(
                "internal-endpoint",
                identity.id,
                "internal",
                "http://internal.example:5000",
            )
            .with_region("RegionOne"),
        )
        .await
        .unwrap();
    let after = login().await;
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    assert!(after.contains(&"http://internal.example:5000".to_owned()));
}

#[tokio::test]
async fn a_role_renamed_on_another_node_shows_in_the_next_validation() {
    let a = TestServer::start().await;
    let b = a.second_node().await;
    let admin = a.admin_token().await;
    let (_, carol) = member(&a, &admin, "carol").await;
    let roles = || async {
        let body: Value = a.validate(&admin, &carol).await.json().await.unwrap();
        let names: Vec<String> = body["token"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect();
        names
    };
    assert_eq!(roles().await, ["member", "reader"], "reader is implied");
    assert_eq!(roles().await, ["member", "reader"], "from the cache");

    let member = a.storage().find_role_by_name("member").await.unwrap();
    let path = format!("/v3/roles/{}", member.id);
    let renamed = b
        .call(Method::PATCH, &path, &admin)
        .json(&json!({"role": {"name": "participant"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 200);
    let renamed: Value = renamed.json().await.unwrap();
    assert_eq!(renamed["role"]["name"], "participant");
    assert_eq!(roles().await, ["participant", "reader"], "renamed on B");

    // A name another role has is a 409 with a JSON body; an empty one, 400.
    for (name, status) in [("admin", 409), ("  ", 400)] {
        let refused = b
            .call(Method::PATCH, &path, &admin)
            .json(&json!({"role": {"name": name}}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), status, "{name:?}");
        let body: Value = refused.json().await.unwrap();
        assert!(body["error"]["message"].is_string());
    }
    let missing = b
        .call(Method::PATCH, "/v3/roles/nope", &admin)
        .json(&json!({"role": {"name": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
