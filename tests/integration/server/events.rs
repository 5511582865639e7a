//! Event handlers and the audit log through the server: bindings managed
//! over the API and from the configuration file, pre and post positions,
//! abort_on_error, a response changed by a handler, `user.locked`, and the
//! audit query and export.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{ADMIN_PASSWORD, TestServer, password_body, subject};

async fn create_binding(s: &TestServer, admin: &str, binding: Value) -> reqwest::Response {
    s.call(Method::POST, "/v3/event-handlers", admin)
        .json(&json!({ "event_handler": binding }))
        .send()
        .await
        .unwrap()
}

async fn counter(s: &TestServer, name: &str) -> i64 {
    s.state.dispatcher().wait_idle().await;
    s.storage()
        .list_counters()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == name)
        .map_or(0, |c| c.value)
}

async fn wrong_login(s: &TestServer) -> u16 {
    s.issue(&password_body("admin", "not-the-password", None), None)
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn bindings_are_managed_over_the_api_and_run_on_their_events() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;

    // Invalid bindings are refused with the reason.
    for (binding, needle) in [
        (
            json!({"name": "x", "events": ["*"], "module": "Nope", "action": "a"}),
            "Nope",
        ),
        (
            json!({"name": "x", "events": ["*"], "module": "Counter", "action": "increase"}),
            "counter_name",
        ),
        (
            json!({"name": "x", "events": ["*"], "module": "Counter", "action": "increase",
                   "options": {"counter_name": "c"}, "conditions": {"user": "("}}),
            "user",
        ),
    ] {
        let refused = create_binding(&s, &admin, binding).await;
        assert_eq!(refused.status(), 400);
        let body: Value = refused.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{message}");
    }

    // Failed logins of the admin are counted.
    let created = create_binding(
        &s,
        &admin,
        json!({"name": "count-failures", "events": ["auth.tokens.create"],
               "module": "Counter", "action": "increase",
               "options": {"counter_name": "failures-{user}"},
               "conditions": {"result": "failure"}}),
    )
    .await;
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["event_handler"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(wrong_login(&s).await, 401);
    assert_eq!(wrong_login(&s).await, 401);
    s.admin_token().await;
    assert_eq!(
        counter(&s, "failures-admin").await,
        2,
        "successes do not count"
    );

    // Disabled, it stops; enabled, it runs again; deleted, it is gone.
    let path = format!("/v3/event-handlers/{id}");
    let disable = s
        .call(Method::POST, &format!("{path}/disable"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(disable.status(), 204);
    assert_eq!(wrong_login(&s).await, 401);
    assert_eq!(counter(&s, "failures-admin").await, 2);
    let enable = s
        .call(Method::POST, &format!("{path}/enable"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(enable.status(), 204);
    assert_eq!(wrong_login(&s).await, 401);
    assert_eq!(counter(&s, "failures-admin").await, 3);
    let listed: Value = s
        .call(Method::GET, "/v3/event-handlers", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["event_handlers"][0]["name"], "count-failures");
    let schema: Value = s
        .call(Method::GET, "/v3/event-handlers/schema", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(schema.to_string().contains("ResponseMangler"));
    assert_eq!(
        s.call(Method::DELETE, &path, &admin)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        s.call(Method::GET, &path, &admin)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // A post handler changes the response: no catalog in new tokens.
    let mangler = create_binding(
        &s,
        &admin,
        json!({"name": "no-catalog", "events": ["auth.tokens.create"],
               "module": "ResponseMangler", "action": "delete",
               "options": {"path": "/token/catalog"}, "conditions": {"result": "success"}}),
    )
    .await;
    assert_eq!(mangler.status(), 201);
    let issued = s
        .issue(
            &password_body(
                "admin",
                ADMIN_PASSWORD,
                Some(json!({"project": {"name": "admin", "domain": {"id": "default"}}})),
            ),
            None,
        )
        .await;
    assert_eq!(issued.status(), 201);
    let body: Value = issued.json().await.unwrap();
    assert!(body["token"].get("catalog").is_none());
    assert!(body["token"]["roles"].is_array());

    // A pre handler that fails with abort_on_error stops the call (502);
    // without it the call goes on.
    let hook = create_binding(
        &s,
        &admin,
        json!({"name": "gate", "events": ["user.create"], "position": "pre",
               "module": "WebHook", "action": "post", "abort_on_error": true,
               "options": {"url": "http://127.0.0.1:9/closed", "timeout_ms": 500}}),
    )
    .await;
    assert_eq!(hook.status(), 201);
    let hook_id = hook.json::<Value>().await.unwrap()["event_handler"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let new_user = |name: &str| {
        s.call(Method::POST, "/v3/users", &admin)
            .json(&json!({"user": {"name": name, "password": "pw-pw-pw"}}))
            .send()
    };
    let blocked = new_user("blocked").await.unwrap();
    assert_eq!(blocked.status(), 502);
    assert!(
        s.storage()
            .find_user_by_name("default", "blocked")
            .await
            .is_err()
    );
    let patched = s
        .call(
            Method::PATCH,
            &format!("/v3/event-handlers/{hook_id}"),
            &admin,
        )
        .json(&json!({"event_handler": {"abort_on_error": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(new_user("allowed").await.unwrap().status(), 201);
}

#[tokio::test]
async fn file_bindings_and_the_user_locked_event() {
    let s = TestServer::start_with(
        r#"
        [security_compliance]
        lockout_failure_attempts = 2
        [[events.bindings]]
        name = "count-locks"
        events = ["user.locked"]
        module = "Counter"
        action = "increase"
        options = { counter_name = "locked-{user}" }
        "#,
    )
    .await;
    assert_eq!(wrong_login(&s).await, 401);
    assert_eq!(counter(&s, "locked-admin").await, 0);
    assert_eq!(wrong_login(&s).await, 401);
    assert_eq!(
        counter(&s, "locked-admin").await,
        1,
        "the second failure locks"
    );
    assert_eq!(wrong_login(&s).await, 401);
    assert_eq!(
        counter(&s, "locked-admin").await,
        1,
        "locked once, not per attempt"
    );
}

#[tokio::test]
async fn every_call_and_every_handler_run_is_audited() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let created = create_binding(
        &s,
        &admin,
        json!({"name": "log-logins", "events": ["auth.tokens.create"],
               "module": "Logging", "action": "log",
               "options": {"message": "{user} logged in from {client_ip}"}}),
    )
    .await;
    assert_eq!(created.status(), 201);
    assert_eq!(wrong_login(&s).await, 401);
    let token = subject(&s.admin_unscoped().await);
    s.state.dispatcher().wait_idle().await;
    s.state.dispatcher().audit().flush().await;

    let get = |query: &str| {
        s.call(Method::GET, &format!("/v3/audit{query}"), &admin)
            .send()
    };
    let logins: Value = get("?event=auth.tokens.create")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = logins["audit"].as_array().unwrap();
    // Newest first: the unscoped login, the failure, the admin's own login.
    let outcomes: Vec<bool> = rows
        .iter()
        .map(|r| r["success"].as_bool().unwrap())
        .collect();
    assert_eq!(outcomes, [true, false, true]);
    assert_eq!(rows[1]["detail"]["error"], "invalid_credentials");
    assert_eq!(rows[0]["user_id"], s.admin.user.id.as_str());
    assert!(rows[0]["request_id"].as_str().unwrap().starts_with("req-"));
    let failures: Value = get("?event=auth.tokens.create&success=false")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(failures["audit"].as_array().unwrap().len(), 1);
    let handler_rows: Value = get("?event=POST-EVENT%20auth.tokens.create%3E%3ELogging%3Alog")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(handler_rows["audit"].as_array().unwrap().len(), 2);
    assert_eq!(handler_rows["audit"][0]["kind"], "handler");

    // Paging with the marker the response links to.
    let page: Value = get("?limit=2").await.unwrap().json().await.unwrap();
    let next = page["links"]["next"].as_str().unwrap();
    let marker = next
        .split("marker=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let second: Value = get(&format!("?limit=2&marker={marker}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        second["audit"][0]["id"].as_i64().unwrap() < page["audit"][1]["id"].as_i64().unwrap() + 1
    );

    // Successful validations are not audited by default; failed ones are.
    for subject_token in [token.as_str(), "not-a-token"] {
        s.call(Method::GET, "/v3/auth/tokens", &admin)
            .header("X-Subject-Token", subject_token)
            .send()
            .await
            .unwrap();
    }
    s.state.dispatcher().audit().flush().await;
    let validations: Value = get("?event=auth.token.validate")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = validations["audit"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["success"], false);

    // Export: JSON lines of the same rows; bad filters are 400s.
    let export = get("/export?event=auth.tokens.create").await.unwrap();
    assert_eq!(export.headers()["content-type"], "application/x-ndjson");
    let text = export.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(get("?since=yesterday").await.unwrap().status(), 400);
    assert_eq!(get("?bogus=1").await.unwrap().status(), 400);
    // Not for everyone, and never a secret.
    let user = s
        .call(Method::GET, "/v3/audit", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(user.status(), 403, "an unscoped token has no admin role");
    let all = get("/export").await.unwrap().text().await.unwrap();
    assert!(!all.contains(ADMIN_PASSWORD));
}
