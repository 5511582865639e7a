//! What a locked account is told over HTTP (issue 11, hole 7): by default
//! exactly what a wrong password is told; with `disclose_lockout`,
//! Keystone's message. The self-service password change is locked out as
//! a login is.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{ADMIN_PASSWORD, TestServer, password_body};

/// What a client can compare between two answers: the status, the
/// `WWW-Authenticate` header, the content type and the body.
async fn answer(response: reqwest::Response) -> (u16, Option<String>, Option<String>, Value) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (www, content_type) = (header("www-authenticate"), header("content-type"));
    let status = response.status().as_u16();
    (status, www, content_type, response.json().await.unwrap())
}

async fn login(s: &TestServer, user: &str, password: &str) -> reqwest::Response {
    s.issue(&password_body(user, password, None), None).await
}

const LOCKOUT: &str = r#"
    [security_compliance]
    lockout_failure_attempts = 2
    lockout_duration = 600
"#;

#[tokio::test]
async fn a_locked_account_answers_exactly_as_a_wrong_password() {
    let s = TestServer::start_with(LOCKOUT).await;
    let wrong = answer(login(&s, "admin", "not-it").await).await;
    assert_eq!(wrong.0, 401);
    assert_eq!(answer(login(&s, "admin", "not-it").await).await, wrong);
    // Locked now: the right password, a wrong one and an unknown user
    // all get the same answer.
    for (user, password) in [
        ("admin", ADMIN_PASSWORD),
        ("admin", "still-not-it"),
        ("nobody", "whatever"),
    ] {
        assert_eq!(
            answer(login(&s, user, password).await).await,
            wrong,
            "{user}/{password}"
        );
    }
    let id = s.admin.user.id.clone();
    let state = s.state.storage().auth_state(&id).await.unwrap();
    assert_eq!(
        state.failed_auth_count, 2,
        "the right password reset nothing"
    );
    s.clock.advance(chrono::Duration::seconds(600));
    let admin = s.admin_token().await;

    // The audit log keeps the truth the answers hide.
    s.state.dispatcher().audit().flush().await;
    let failures: Value = s
        .call(
            Method::GET,
            "/v3/audit?event=auth.tokens.create&success=false",
            &admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let errors: Vec<&str> = failures["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["detail"]["error"].as_str().unwrap())
        .collect();
    // Newest first.
    assert_eq!(
        errors,
        [
            "invalid_credentials",
            "account_locked",
            "account_locked",
            "invalid_credentials",
            "invalid_credentials"
        ]
    );
    // Paged two by two, each next page keeps the filters.
    let mut paged = Vec::new();
    let mut next = Some(format!(
        "{}/v3/audit?event=auth.tokens.create&success=false&limit=2",
        s.base
    ));
    while let Some(url) = next {
        let page: Value = s
            .client
            .get(&url)
            .header("X-Auth-Token", &admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for row in page["audit"].as_array().unwrap() {
            paged.push(row["detail"]["error"].as_str().unwrap().to_owned());
        }
        next = page["links"]["next"].as_str().map(str::to_owned);
    }
    assert_eq!(paged, errors);
}

#[tokio::test]
async fn disclose_lockout_gives_keystones_message() {
    let s = TestServer::start_with(&format!("{LOCKOUT}\ndisclose_lockout = true\n")).await;
    for _ in 0..2 {
        assert_eq!(login(&s, "admin", "not-it").await.status(), 401);
    }
    let (status, www, _, body) = answer(login(&s, "admin", ADMIN_PASSWORD).await).await;
    assert_eq!((status, www.is_some()), (401, true));
    assert_eq!(
        body["error"]["message"],
        format!("The account is locked for user: {}.", s.admin.user.id)
    );
}

/// `POST /v3/users/{id}/password` checks the original password under the
/// same lockout: counted before the hash, refused like a wrong password
/// once locked (after a dummy hash, checking nothing), and a right original
/// password refused for another reason (the history) counts as no failure.
#[tokio::test]
async fn the_password_change_is_locked_out_as_a_login_is() {
    let s = TestServer::start_with(&format!("{LOCKOUT}\nunique_last_password_count = 2\n")).await;
    let id = s.admin.user.id.clone();
    let change = |original: &str, password: &str| {
        s.client
            .post(s.url(&format!("/v3/users/{id}/password")))
            .json(&json!({"user": {"original_password": original, "password": password}}))
            .send()
    };
    let wrong = answer(change("not-it", "new-password-1").await.unwrap()).await;
    assert_eq!(wrong.0, 401);
    assert_eq!(
        answer(change("not-it", "new-password-1").await.unwrap()).await,
        wrong
    );
    let hasher = s.state.hasher();
    let before = hasher.counts();
    let locked = answer(change(ADMIN_PASSWORD, "new-password-1").await.unwrap()).await;
    assert_eq!(locked, wrong, "locked reads as wrong");
    let after = hasher.counts();
    assert_eq!(after.dummy, before.dummy + 1, "it cost a hash");
    assert_eq!(after.verified, before.verified, "no password was checked");
    // Neither the token API nor the change reset the lock.
    assert_eq!(login(&s, "admin", ADMIN_PASSWORD).await.status(), 401);
    let state = s.state.storage().auth_state(&id).await.unwrap();
    assert_eq!(state.failed_auth_count, 2);

    s.clock.advance(chrono::Duration::seconds(600));
    // Refused by the history, with the right original password: not a
    // failure, however often.
    for _ in 0..3 {
        let same = change(ADMIN_PASSWORD, ADMIN_PASSWORD).await.unwrap();
        assert_eq!(same.status(), 400);
    }
    let changed = change(ADMIN_PASSWORD, "new-password-1").await.unwrap();
    assert_eq!(changed.status(), 204);
    assert_eq!(login(&s, "admin", "new-password-1").await.status(), 201);
}
