//! The admin API's policy and input handling.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, password_body, subject};

#[tokio::test]
async fn users_are_created_updated_and_deleted_by_admins_only() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let created = s
        .call(Method::POST, "/v3/users", &admin)
        .json(&json!({"user": {"name": "carol", "password": "carol-pass",
            "options": {"multi_factor_auth_rules": [["password", "totp"]]}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let user: Value = created.json().await.unwrap();
    let id = user["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(user["user"]["domain_id"], "default");
    assert_eq!(
        user["user"]["options"]["multi_factor_auth_rules"],
        json!([["password", "totp"]])
    );
    assert!(user["user"].get("password").is_none());

    // Options merge; null resets one.
    let patched: Value = s
        .call(Method::PATCH, &format!("/v3/users/{id}"), &admin)
        .json(
            &json!({"user": {"options": {"multi_factor_auth_rules": null, "lock_password": true}}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        patched["user"]["options"]["multi_factor_auth_rules"],
        json!([])
    );
    assert_eq!(patched["user"]["options"]["lock_password"], true);

    // carol can log in, read herself, but not list users.
    let carol = subject(
        &s.issue(&password_body("carol", "carol-pass", None), None)
            .await,
    );
    let own = s
        .call(Method::GET, &format!("/v3/users/{id}"), &carol)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let list = s
        .call(Method::GET, "/v3/users", &carol)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 403);
    let anonymous = s.client.get(s.url("/v3/users")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    let listed: Value = s
        .call(Method::GET, "/v3/users?name=carol", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["users"].as_array().unwrap().len(), 1);
    let duplicate = s
        .call(Method::POST, "/v3/users", &admin)
        .json(&json!({"user": {"name": "carol"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 409);
    let deleted = s
        .call(Method::DELETE, &format!("/v3/users/{id}"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = s
        .call(Method::GET, &format!("/v3/users/{id}"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn bad_bodies_are_json_400s_that_never_echo_a_password() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    for body in [
        "not json".to_owned(),
        json!({"user": {"name": "dave", "password": ["hunter2-secret"]}}).to_string(),
        json!({"user": {"name": "dave", "options": {"no_such_option": true}}}).to_string(),
        json!({"user": {"name": "dave", "options": {"multi_factor_auth_rules": [[]]}}}).to_string(),
        json!({"usr": {"name": "hunter2-secret"}}).to_string(),
    ] {
        let response = s
            .call(Method::POST, "/v3/users", &admin)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        let message = error["error"]["message"].as_str().unwrap();
        assert!(!message.contains("hunter2"), "{message}");
    }
}

#[tokio::test]
async fn the_auth_listing_endpoints_and_health() {
    let s = TestServer::start().await;
    let scoped = s.admin_token().await;
    let get = |path: &str, token: &str| s.call(Method::GET, path, token).send();
    let projects: Value = get("/v3/auth/projects", &scoped)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(projects["projects"][0]["name"], "admin");
    let domains: Value = get("/v3/auth/domains", &scoped)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(domains["domains"], json!([]), "admin holds no domain role");
    let catalog: Value = get("/v3/auth/catalog", &scoped)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(catalog["catalog"][0]["type"], "identity");
    let unscoped = subject(&s.admin_unscoped().await);
    assert_eq!(
        get("/v3/auth/catalog", &unscoped).await.unwrap().status(),
        403
    );
    let health = s.client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn changing_a_password_works_when_expired_and_revokes_old_tokens() {
    use auth_core::Clock;
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let created: Value = s
        .call(Method::POST, "/v3/users", &admin)
        .json(&json!({"user": {"name": "erin", "password": "first-pass"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["user"]["id"].as_str().unwrap().to_owned();
    let old_token = subject(
        &s.issue(&password_body("erin", "first-pass", None), None)
            .await,
    );
    s.clock.advance(chrono::Duration::seconds(2));
    // Expire the password: logins now fail, the change still works.
    let mut current = s.storage().current_password(&id).await.unwrap().unwrap();
    current.expires_at = Some(s.clock.now() - chrono::Duration::hours(1));
    let expired = current;
    s.storage().set_password(&id, &expired).await.unwrap();
    let refused = s
        .issue(&password_body("erin", "first-pass", None), None)
        .await;
    assert_eq!(refused.status(), 401);
    let change = |original: &str| {
        s.client
            .post(s.url(&format!("/v3/users/{id}/password")))
            .json(&json!({"user": {"original_password": original, "password": "second-pass"}}))
            .send()
    };
    assert_eq!(change("wrong").await.unwrap().status(), 401);
    assert_eq!(change("first-pass").await.unwrap().status(), 204);
    // A token issued in the very second of the change is valid (see
    // auth_core::token::is_revoked_by).
    assert_eq!(
        s.issue(&password_body("erin", "first-pass", None), None)
            .await
            .status(),
        401
    );
    let new_token = subject(
        &s.issue(&password_body("erin", "second-pass", None), None)
            .await,
    );
    let validate = |token: String| {
        s.call(Method::GET, "/v3/auth/tokens", &admin)
            .header("X-Subject-Token", token)
            .send()
    };
    assert_eq!(validate(old_token).await.unwrap().status(), 404);
    assert_eq!(validate(new_token.clone()).await.unwrap().status(), 200);

    // Disabling the user ends its sessions too.
    let disabled = s
        .call(Method::PATCH, &format!("/v3/users/{id}"), &admin)
        .json(&json!({"user": {"enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    assert_eq!(validate(new_token).await.unwrap().status(), 404);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_auth_results_by_method() {
    let s = TestServer::start().await;
    s.admin_unscoped().await;
    s.issue(&password_body("admin", "wrong", None), None).await;
    let text = s.metrics().await;
    assert!(
        text.contains(
            r#"http_requests_total{route="/v3/auth/tokens",method="POST",status="201"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"http_requests_total{route="/v3/auth/tokens",method="POST",status="401"} 1"#
        )
    );
    assert!(text.contains(r#"auth_method_results_total{method="password",result="success"} 1"#));
    assert!(text.contains(r#"auth_method_results_total{method="password",result="failure"} 1"#));
}

#[tokio::test]
async fn projects_roles_and_grants() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let post = |path: &str, body: Value| s.call(Method::POST, path, &admin).json(&body).send();
    let project: Value = post("/v3/projects", json!({"project": {"name": "demo"}}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let project_id = project["project"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        post("/v3/projects", json!({"project": {"name": "demo"}}))
            .await
            .unwrap()
            .status(),
        409
    );
    let role: Value = post("/v3/roles", json!({"role": {"name": "observer"}}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let role_id = role["role"]["id"].as_str().unwrap().to_owned();
    let user: Value = post(
        "/v3/users",
        json!({"user": {"name": "hank", "password": "hank-pass"}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let user_id = user["user"]["id"].as_str().unwrap().to_owned();
    let grant_path = format!("/v3/projects/{project_id}/users/{user_id}/roles/{role_id}");
    let scoped = json!({"project": {"id": project_id}});

    // No grant yet: the scope is refused.
    assert_eq!(
        s.issue(
            &password_body("hank", "hank-pass", Some(scoped.clone())),
            None
        )
        .await
        .status(),
        401
    );
    let put = s
        .call(Method::PUT, &grant_path, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    let head = s
        .call(Method::HEAD, &grant_path, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 204);
    let login = s
        .issue(
            &password_body("hank", "hank-pass", Some(scoped.clone())),
            None,
        )
        .await;
    assert_eq!(login.status(), 201);
    let hank = subject(&login);
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["token"]["roles"][0]["name"], "observer");
    // hank may not grant.
    let denied = s
        .call(Method::PUT, &grant_path, &hank)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);

    // Revoking the grant invalidates hank's scoped token at once.
    let revoked = s
        .call(Method::DELETE, &grant_path, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let validate = |token: &str| {
        s.call(Method::GET, "/v3/auth/tokens", &admin)
            .header("X-Subject-Token", token.to_owned())
            .send()
    };
    assert_eq!(validate(&hank).await.unwrap().status(), 404);
    let head = s
        .call(Method::HEAD, &grant_path, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 404);

    // Disabling the project ends its tokens.
    s.call(Method::PUT, &grant_path, &admin)
        .send()
        .await
        .unwrap();
    let hank = subject(
        &s.issue(&password_body("hank", "hank-pass", Some(scoped)), None)
            .await,
    );
    let disabled = s
        .call(Method::PATCH, &format!("/v3/projects/{project_id}"), &admin)
        .json(&json!({"project": {"enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    assert_eq!(validate(&hank).await.unwrap().status(), 404);
    let listed: Value = s
        .call(Method::GET, "/v3/projects", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["projects"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn role_assignments_and_credentials_are_listed() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let get = |path: &str, token: &str| s.call(Method::GET, path, token).send();
    let user_id = &s.admin.user.id;
    let assignments: Value = get(&format!("/v3/role_assignments?user.id={user_id}"), &admin)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scopes: Vec<&Value> = assignments["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["scope"])
        .collect();
    assert!(
        scopes.contains(&&json!({"project": {"id": s.admin.project.id}})),
        "{assignments}"
    );
    assert!(scopes.contains(&&json!({"system": {"all": true}})));
    assert_eq!(assignments["role_assignments"][0]["user"]["id"], *user_id);
    let on_system: Value = get("/v3/role_assignments?scope.system=all", &admin)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(on_system["role_assignments"].as_array().unwrap().len(), 1);

    let created = s.call(Method::POST, "/v3/credentials", &admin)
        .json(&json!({"credential": {"user_id": user_id, "type": "totp", "blob": "GEZDGNBVGY3TQOJQ"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let listed: Value = get("/v3/credentials?type=totp", &admin)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["credentials"].as_array().unwrap().len(), 1);
    let none: Value = get("/v3/credentials?type=ec2", &admin)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none["credentials"], json!([]));
}

#[tokio::test]
async fn new_passwords_follow_the_pattern_history_and_minimum_age() {
    let s = TestServer::start_with(
        r#"
        [security_compliance]
        password_regex = '^(?=.*\d).{8,}$'
        password_regex_description = "8 characters or more, one of them a digit"
        unique_last_password_count = 2
        minimum_password_age = 1
        "#,
    )
    .await;
    let admin = s.admin_token().await;
    let create = |password: &str| {
        s.call(Method::POST, "/v3/users", &admin)
            .json(&json!({"user": {"name": "pat", "password": password}}))
            .send()
    };
    let refused = create("no-digits-here").await.unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.ends_with("8 characters or more, one of them a digit"),
        "{message}"
    );
    assert!(!message.contains("no-digits-here"));
    let created: Value = create("first-pass-1").await.unwrap().json().await.unwrap();
    let id = created["user"]["id"].as_str().unwrap().to_owned();

    let change = |original: &str, password: &str| {
        s.client
            .post(s.url(&format!("/v3/users/{id}/password")))
            .json(&json!({"user": {"original_password": original, "password": password}}))
            .send()
    };
    // The same password again is refused by the history.
    let repeated = change("first-pass-1", "first-pass-1").await.unwrap();
    assert_eq!(repeated.status(), 400);
    // An administrator's password may be changed at once...
    assert_eq!(
        change("first-pass-1", "second-pass-2")
            .await
            .unwrap()
            .status(),
        204
    );
    // ...but one the user chose must be kept a day.
    let too_soon = change("second-pass-2", "third-pass-3").await.unwrap();
    assert_eq!(too_soon.status(), 400);
    let body: Value = too_soon.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("minimum password age")
    );
    s.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
    assert_eq!(
        change("second-pass-2", "third-pass-3")
            .await
            .unwrap()
            .status(),
        204
    );
}

/// Clients (the openstack CLI) find a resource by trying its name as an id
/// (a JSON 404) and then listing with `?name=`, which must match exactly
/// one entry even when there are others.
#[tokio::test]
async fn projects_roles_and_domains_are_found_by_id_or_by_name() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let get = |path: String| {
        let request = s.call(Method::GET, &path, &admin);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    for (path, body) in [
        ("/v3/projects", json!({"project": {"name": "other"}})),
        ("/v3/domains", json!({"domain": {"name": "acme"}})),
    ] {
        let created = s.call(Method::POST, path, &admin).json(&body).send().await;
        assert_eq!(created.unwrap().status(), 201);
    }
    for (collection, key, name) in [
        ("projects", "project", "admin"),
        ("roles", "role", "member"),
        ("domains", "domain", "Default"),
    ] {
        let (status, all) = get(format!("/v3/{collection}")).await;
        assert_eq!(status, 200);
        assert!(all[collection].as_array().unwrap().len() > 1, "{all}");
        let (status, missing) = get(format!("/v3/{collection}/{name}")).await;
        assert_eq!(status, 404, "{collection}: the name is not an id");
        assert!(missing["error"]["message"].is_string());
        let (_, found) = get(format!("/v3/{collection}?name={name}")).await;
        let found = found[collection].as_array().unwrap();
        assert_eq!(found.len(), 1, "{collection}?name={name}: {found:?}");
        assert_eq!(found[0]["name"], name);
        let id = found[0]["id"].as_str().unwrap();
        let (status, one) = get(format!("/v3/{collection}/{id}")).await;
        assert_eq!((status, &one[key]["name"]), (200, &json!(name)));
        let (_, none) = get(format!("/v3/{collection}?name=nothing")).await;
        assert_eq!(none[collection], json!([]));
    }
}

/// `include_names` (`openstack role assignment list --names`): every id in
/// a listing comes with its name, and users and projects with their domain.
#[tokio::test]
async fn role_assignments_include_names_on_request() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let user_id = &s.admin.user.id;
    let list = |query: String| {
        let request = s.call(
            Method::GET,
            &format!("/v3/role_assignments?{query}"),
            &admin,
        );
        async move {
            let body: Value = request.send().await.unwrap().json().await.unwrap();
            body["role_assignments"].as_array().unwrap().clone()
        }
    };
    let bare = list(format!("user.id={user_id}")).await;
    assert_eq!(bare.len(), 2);
    assert!(bare.iter().all(|a| a["role"].get("name").is_none()));

    let named = list(format!("user.id={user_id}&include_names=1")).await;
    let default = json!({"id": "default", "name": "Default"});
    let on_project = named
        .iter()
        .find(|a| a["scope"].get("project").is_some())
        .unwrap();
    assert_eq!(on_project["role"]["name"], "admin");
    assert_eq!(
        on_project["user"],
        json!({"id": user_id, "name": "admin", "domain": default})
    );
    assert_eq!(
        on_project["scope"]["project"],
        json!({"id": s.admin.project.id, "name": "admin", "domain": default})
    );
    let on_system = named
        .iter()
        .find(|a| a["scope"].get("system").is_some())
        .unwrap();
    assert_eq!(on_system["scope"], json!({"system": {"all": true}}));
    assert_eq!(on_system["role"]["name"], "admin");
}
