//! Each Keystone strategy logs in to this server, and a refused login is a
//! typed error.

use std::sync::{Arc, Mutex};

use auth_client::keystone::{
    ApplicationCredential, Challenge, DomainRef, Factor, KeystonePassword, Placement, UserRef,
};
use auth_client::{AuthMiddleware, LoginError, login_error};
use auth_plugins::methods::totp;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::{add_user, logins, recorded};
use crate::server::harness::{ADMIN_PASSWORD, TestServer};

fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_owned())
}

fn password_login(s: &TestServer, user: &str, password: &str) -> KeystonePassword {
    KeystonePassword::new(
        s.url("/v3").parse().unwrap(),
        UserRef::named(user, DomainRef::Id("default".into())),
        secret(password),
    )
}

#[tokio::test]
async fn a_password_login_attaches_its_token_as_x_auth_token() {
    let s = TestServer::start().await;
    let before = logins(&s, "password").await;
    let scope = json!({"project": {"name": "admin", "domain": {"id": "default"}}});
    let (client, recorder) = recorded(AuthMiddleware::new(
        password_login(&s, "admin", ADMIN_PASSWORD).scope(scope),
    ));
    let projects: Value = client
        .get(s.url("/v3/auth/projects"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(projects["projects"][0]["name"], "admin");
    let users = client.get(s.url("/v3/users")).send().await.unwrap();
    assert_eq!(users.status(), 200, "scoped to the admin project");
    let sent = recorder.sent();
    assert_eq!(sent.len(), 2);
    assert!(
        sent[0].0.is_some() && sent[0].0 == sent[1].0,
        "one token, reused"
    );
    assert_eq!(logins(&s, "password").await, before + 1);
}

#[tokio::test]
async fn a_token_can_go_as_a_bearer_header_instead() {
    let s = TestServer::start().await;
    let strategy = password_login(&s, "admin", ADMIN_PASSWORD).attach_as(Placement::Bearer);
    let (client, recorder) = recorded(AuthMiddleware::new(strategy));
    let response = client.get(s.url("/v3/auth/projects")).send().await.unwrap();
    // This server reads X-Auth-Token only: the bearer header is not it.
    assert_eq!(response.status(), 401);
    assert_eq!(recorder.sent(), [(None, 401), (None, 401)]);
}

#[tokio::test]
async fn a_receipt_is_continued_with_the_passcode_from_the_callback() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let options = json!({"multi_factor_auth_rules": [["password", "totp"]]});
    let user_id = add_user(&s, &admin, "mfa", "mfa-pass", options).await;
    let blob = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let created = s
        .call(Method::POST, "/v3/credentials", &admin)
        .json(&json!({"credential": {"user_id": user_id, "type": "totp", "blob": blob}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let asked: Arc<Mutex<Vec<Challenge>>> = Arc::default();
    let (log, clock) = (asked.clone(), s.clock.clone());
    let strategy = password_login(&s, "mfa", "mfa-pass").next_factor(move |challenge| {
        log.lock().unwrap().push(challenge);
        let key = totp::decode_secret(blob).unwrap();
        let code = totp::passcode_at(&key, auth_core::Clock::now(clock.as_ref()));
        async move { Some(Factor::totp(SecretString::from(code))) }
    });
    let (client, _) = recorded(AuthMiddleware::new(strategy));
    let response = client.get(s.url("/v3/auth/projects")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].user_id, user_id);
    assert_eq!(asked[0].done, ["password"]);
    assert_eq!(asked[0].required, [["password", "totp"]]);
    assert_eq!(logins(&s, "totp").await, 1);

    // Without a callback the same login is a typed error naming the rule.
    let (client, recorder) = recorded(AuthMiddleware::new(password_login(&s, "mfa", "mfa-pass")));
    let error = client
        .get(s.url("/v3/auth/projects"))
        .send()
        .await
        .unwrap_err();
    match login_error(&error) {
        Some(LoginError::FactorRequired { required }) => {
            assert_eq!(required, &[["password", "totp"]]);
        }
        other => panic!("{other:?}"),
    }
    assert!(recorder.sent().is_empty());
}

#[tokio::test]
async fn an_application_credential_logs_in_by_id_or_by_name() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let path = format!("/v3/users/{}/application_credentials", s.admin.user.id);
    let created: Value = s
        .call(Method::POST, &path, &admin)
        .json(&json!({"application_credential": {"name": "ci"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let credential = &created["application_credential"];
    let (id, app_secret) = (
        credential["id"].as_str().unwrap(),
        credential["secret"].as_str().unwrap(),
    );
    let auth_url: reqwest::Url = s.base.parse().unwrap();
    let by_id = ApplicationCredential::by_id(auth_url.clone(), id, secret(app_secret));
    let by_name = ApplicationCredential::by_name(
        auth_url,
        "ci",
        UserRef::Id(s.admin.user.id.clone()),
        secret(app_secret),
    );
    for strategy in [by_id, by_name] {
        let (client, recorder) = recorded(AuthMiddleware::new(strategy));
        let project = format!("/v3/projects/{}", s.admin.project.id);
        let response = client.get(s.url(&project)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(recorder.sent()[0].0.is_some());
    }
    assert_eq!(logins(&s, "application_credential").await, 2);
}

#[tokio::test]
async fn a_wrong_password_is_a_typed_error_with_status_401() {
    let s = TestServer::start().await;
    let (client, recorder) = recorded(AuthMiddleware::new(password_login(
        &s,
        "admin",
        "Tr0ub4dor-guess",
    )));
    let error = client
        .get(s.url("/v3/auth/projects"))
        .send()
        .await
        .unwrap_err();
    let login = login_error(&error).expect("a login error");
    assert_eq!(login.status(), Some(reqwest::StatusCode::UNAUTHORIZED));
    assert!(matches!(login, LoginError::Refused { .. }));
    assert!(
        login.to_string().starts_with("login failed. 401"),
        "{login}"
    );
    let shown = format!("{error:?} {error}");
    assert!(
        !shown.contains("Tr0ub4dor"),
        "no secret in the error: {shown}"
    );
    assert!(recorder.sent().is_empty(), "nothing sent without a token");
}
