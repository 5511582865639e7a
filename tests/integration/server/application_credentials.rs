//! Application credentials and what happens to them when their owner loses
//! a role, or when they are deleted.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{ADMIN_PASSWORD, TestServer, password_body, subject};

/// Creates the user `name` through the API and returns its id.
async fn create_user(s: &TestServer, admin: &str, name: &str) -> String {
    let user: Value = s
        .call(Method::POST, "/v3/users", admin)
        .json(&json!({"user": {"name": name, "password": "pass-word"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    user["user"]["id"].as_str().unwrap().to_owned()
}

/// Creates a project (or a role) through the API and returns its id.
async fn create(s: &TestServer, admin: &str, kind: &str, name: &str) -> String {
    let created: Value = s
        .call(Method::POST, &format!("/v3/{kind}s"), admin)
        .json(&json!({kind: {"name": name}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created[kind]["id"].as_str().unwrap().to_owned()
}

fn grant_path(project: &str, user: &str, role: &str) -> String {
    format!("/v3/projects/{project}/users/{user}/roles/{role}")
}

/// The user `name` with `password` (`user` its id) logs in on `project`
/// and creates an application credential there; returns its id and secret.
async fn app_cred_on(
    s: &TestServer,
    (name, password): (&str, &str),
    user: &str,
    project: &str,
) -> (String, String) {
    let scope = json!({"project": {"id": project}});
    let login = s
        .issue(&password_body(name, password, Some(scope)), None)
        .await;
    assert_eq!(login.status(), 201);
    let created = s
        .call(
            Method::POST,
            &format!("/v3/users/{user}/application_credentials"),
            subject(&login),
        )
        .json(&json!({"application_credential": {"name": format!("ci-{project}")}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    let credential = &body["application_credential"];
    (
        credential["id"].as_str().unwrap().to_owned(),
        credential["secret"].as_str().unwrap().to_owned(),
    )
}

/// The status of `GET` on the application credential, as the admin.
async fn status_of(s: &TestServer, admin: &str, user: &str, id: &str) -> u16 {
    s.call(
        Method::GET,
        &format!("/v3/users/{user}/application_credentials/{id}"),
        admin,
    )
    .send()
    .await
    .unwrap()
    .status()
    .as_u16()
}

#[tokio::test]
async fn losing_a_role_on_a_project_deletes_the_application_credentials_there() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let ursula = create_user(&s, &admin, "ursula").await;
    let member = s.storage().find_role_by_name("member").await.unwrap().id;
    let deployer = create(&s, &admin, "role", "deployer").await;
    let dev = create(&s, &admin, "project", "dev").await;
    let ops = create(&s, &admin, "project", "ops").await;
    let lab = create(&s, &admin, "project", "lab").await;
    for (project, role) in [(&dev, &member), (&ops, &member), (&lab, &deployer)] {
        let put = s
            .call(Method::PUT, &grant_path(project, &ursula, role), &admin)
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 204);
    }
    let (on_dev, _) = app_cred_on(&s, ("ursula", "pass-word"), &ursula, &dev).await;
    let (on_ops, _) = app_cred_on(&s, ("ursula", "pass-word"), &ursula, &ops).await;
    let (on_lab, _) = app_cred_on(&s, ("ursula", "pass-word"), &ursula, &lab).await;

    // A revoked grant on dev: the credential on dev goes, ops keeps its own.
    let revoked = s
        .call(Method::DELETE, &grant_path(&dev, &ursula, &member), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(status_of(&s, &admin, &ursula, &on_dev).await, 404);
    assert_eq!(status_of(&s, &admin, &ursula, &on_ops).await, 200);
    assert_eq!(status_of(&s, &admin, &ursula, &on_lab).await, 200);

    // A deleted role: every project where ursula held it directly.
    let deleted = s
        .call(Method::DELETE, &format!("/v3/roles/{deployer}"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(status_of(&s, &admin, &ursula, &on_lab).await, 404);
    assert_eq!(status_of(&s, &admin, &ursula, &on_ops).await, 200);
}

#[tokio::test]
async fn deleting_an_application_credential_recomputes_cached_validations_of_its_tokens() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let admin_id = s.admin.user.id.clone();
    let (id, secret) = app_cred_on(
        &s,
        ("admin", ADMIN_PASSWORD),
        &admin_id,
        &s.admin.project.id,
    )
    .await;
    let login = s
        .issue(
            &json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"id": id, "secret": secret}}}}),
            None,
        )
        .await;
    assert_eq!(login.status(), 201);
    let token = subject(&login);
    let validate = || {
        s.call(Method::GET, "/v3/auth/tokens", &admin)
            .header("X-Subject-Token", &token)
            .send()
    };
    let hits = || {
        let metrics = s.state.metrics().render();
        let line = metrics
            .lines()
            .find(|l| l.starts_with("auth_token_cache_total{result=\"hit\"}"))
            .map(str::to_owned)
            .unwrap_or_default();
        line.rsplit(' ')
            .next()
            .unwrap_or("0")
            .parse::<u64>()
            .unwrap_or(0)
    };
    assert_eq!(validate().await.unwrap().status(), 200);
    let before = hits();
    assert_eq!(validate().await.unwrap().status(), 200);
    assert!(hits() > before, "a repeated validation missed the cache");

    let deleted = s
        .call(
            Method::DELETE,
            &format!("/v3/users/{admin_id}/application_credentials/{id}"),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let before = hits();
    validate().await.unwrap();
    assert_eq!(
        hits(),
        before,
        "a validation computed before the delete was served from the cache"
    );
}
