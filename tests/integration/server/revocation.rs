//! Token lifetimes and exact revocation over HTTP: a token signed with the
//! real key but claiming too long a life is refused, an application
//! credential's token never outlives it, and a password change, a disable
//! or a revocation refuses the tokens issued 1 µs before it and accepts
//! those issued 1 µs after, within one second (the clock is the injected
//! one).

use auth_core::{Clock, TokenClaims, TokenProvider};
use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, admin_claims, password_body, subject};

/// `GET /v3/auth/tokens` of `token` on `node`, as `caller`.
async fn validate(node: &TestServer, caller: &str, token: &str) -> u16 {
    node.validate(caller, token).await.status().as_u16()
}

#[tokio::test]
async fn a_token_signed_with_the_real_key_but_too_long_a_life_is_refused() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let now = s.clock.now();
    let sign = |claims: &TokenClaims| s.state.tokens().issue(claims).unwrap();

    let honest = sign(&admin_claims(&s, now, now + Duration::hours(1)));
    assert_eq!(validate(&s, &admin, &honest).await, 200, "the control");
    let ten_years = sign(&admin_claims(&s, now, now + Duration::days(3650)));
    assert_eq!(validate(&s, &admin, &ten_years).await, 404);
    assert_eq!(
        validate(&s, &ten_years, &ten_years).await,
        401,
        "as a caller"
    );
    let a_second_too_long = sign(&admin_claims(&s, now, now + Duration::seconds(3601)));
    assert_eq!(validate(&s, &admin, &a_second_too_long).await, 404);
    // An hour-long token dated ten years ahead would be valid for ten years.
    let later = now + Duration::days(3650);
    let from_the_future = sign(&admin_claims(&s, later, later + Duration::hours(1)));
    assert_eq!(validate(&s, &admin, &from_the_future).await, 404);
    // Rescoping with the token method refuses it too.
    let rescope = json!({"auth": {"identity": {"methods": ["token"],
        "token": {"id": ten_years}}}});
    assert_eq!(s.issue(&rescope, None).await.status(), 404);
    // A rescoped token keeps the original expiry: shorter, so accepted.
    s.clock.advance(Duration::minutes(10));
    let rescope = json!({"auth": {"identity": {"methods": ["token"],
        "token": {"id": honest}},
        "scope": {"project": {"id": s.admin.project.id}}}});
    let rescoped = s.issue(&rescope, None).await;
    assert_eq!(rescoped.status(), 201);
    let body: Value = rescoped.json().await.unwrap();
    assert_eq!(
        body["token"]["expires_at"],
        auth_server::token_body::timestamp(
            DateTime::from_timestamp(now.timestamp() + 3600, 0).unwrap()
        )
    );
}

#[tokio::test]
async fn an_application_credentials_token_never_outlives_it() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let now = s.clock.now();
    let ends = now + Duration::minutes(30);
    let created = s
        .call(
            Method::POST,
            &format!("/v3/users/{}/application_credentials", s.admin.user.id),
            &admin,
        )
        .json(&json!({"application_credential": {"name": "ci",
            "expires_at": ends.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let id = created["application_credential"]["id"].as_str().unwrap();
    let login = s
        .issue(
            &json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"id": id,
                    "secret": created["application_credential"]["secret"]}}}}),
            None,
        )
        .await;
    assert_eq!(login.status(), 201);
    let issued = subject(&login);
    assert_eq!(validate(&s, &admin, &issued).await, 200);

    // Signed with the real key, claiming the credential but an hour's life.
    let mut claims = admin_claims(&s, now, now + Duration::hours(1));
    claims.app_cred_id = Some(id.to_owned());
    claims.methods = vec!["application_credential".into()];
    let outliving = s.state.tokens().issue(&claims).unwrap();
    assert_eq!(validate(&s, &admin, &outliving).await, 404);
    claims.exp = ends.timestamp();
    let within = s.state.tokens().issue(&claims).unwrap();
    assert_eq!(validate(&s, &admin, &within).await, 200, "the control");
}

/// The second `base` falls in, plus `micros` microseconds: every instant of
/// a test lies in one second.
fn in_second(base: DateTime<Utc>, micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(base.timestamp(), 0).unwrap() + Duration::microseconds(micros)
}

/// A user with `password`, created through the API; returns its id.
async fn user(s: &TestServer, admin: &str, name: &str, password: &str) -> String {
    let created: Value = s
        .call(Method::POST, "/v3/users", admin)
        .json(&json!({"user": {"name": name, "password": password}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["user"]["id"].as_str().unwrap().to_owned()
}

async fn login(s: &TestServer, name: &str, password: &str) -> (String, Value) {
    let response = s.issue(&password_body(name, password, None), None).await;
    assert_eq!(response.status(), 201);
    let token = subject(&response);
    (token, response.json().await.unwrap())
}

#[tokio::test]
async fn a_password_change_revokes_exactly_the_tokens_issued_before_it() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let id = user(&s, &admin, "erin", "first-pass").await;
    // Next whole second + 0.5 s: the change at .500000.
    let second = s.clock.now() + Duration::seconds(2);
    s.clock.set(in_second(second, 499_999));
    let (before, body) = login(&s, "erin", "first-pass").await;
    assert!(
        body["token"]["issued_at"]
            .as_str()
            .unwrap()
            .ends_with(".499999Z"),
        "issued_at keeps microseconds: {body}"
    );
    s.clock.set(in_second(second, 500_000));
    let changed = s
        .client
        .post(s.url(&format!("/v3/users/{id}/password")))
        .header("X-Auth-Token", &before)
        .json(&json!({"user": {"original_password": "first-pass", "password": "second-pass"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    s.clock.set(in_second(second, 500_001));
    let (after, body) = login(&s, "erin", "second-pass").await;
    assert!(
        body["token"]["issued_at"]
            .as_str()
            .unwrap()
            .ends_with(".500001Z")
    );
    assert_eq!(validate(&s, &admin, &before).await, 404, "1 µs before");
    assert_eq!(validate(&s, &admin, &after).await, 200, "1 µs after");
}

#[tokio::test]
async fn disabling_a_user_revokes_exactly_the_tokens_issued_before_it() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let id = user(&s, &admin, "fay", "fay-pass-1").await;
    let second = s.clock.now() + Duration::seconds(2);
    s.clock.set(in_second(second, 99));
    let (before, _) = login(&s, "fay", "fay-pass-1").await;
    let set_enabled = |enabled: bool| {
        s.call(Method::PATCH, &format!("/v3/users/{id}"), &admin)
            .json(&json!({"user": {"enabled": enabled}}))
            .send()
    };
    s.clock.set(in_second(second, 100));
    assert_eq!(set_enabled(false).await.unwrap().status(), 200);
    s.clock.set(in_second(second, 101));
    assert_eq!(set_enabled(true).await.unwrap().status(), 200);
    let (after, _) = login(&s, "fay", "fay-pass-1").await;
    assert_eq!(validate(&s, &admin, &before).await, 404, "1 µs before");
    assert_eq!(
        validate(&s, &admin, &after).await,
        200,
        "after, same second"
    );
}

#[tokio::test]
async fn revoking_a_token_spares_the_next_one_issued_in_the_same_second() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    user(&s, &admin, "gus", "gus-pass-1").await;
    let second = s.clock.now() + Duration::seconds(2);
    s.clock.set(in_second(second, 999_998));
    let (before, _) = login(&s, "gus", "gus-pass-1").await;
    s.clock.set(in_second(second, 999_999));
    let revoked = s
        .call(Method::DELETE, "/v3/auth/tokens", &admin)
        .header("X-Subject-Token", &before)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let (same_instant, _) = login(&s, "gus", "gus-pass-1").await;
    s.clock.set(in_second(second, 1_000_000));
    let (next_second, _) = login(&s, "gus", "gus-pass-1").await;
    assert_eq!(validate(&s, &admin, &before).await, 404);
    assert_eq!(validate(&s, &admin, &same_instant).await, 200);
    assert_eq!(validate(&s, &admin, &next_second).await, 200);
}

/// The race that exactness must survive: a login checks the old password,
/// an administrator resets it (its revocation event is written), and only
/// then does the login sign its token. The token is dated from the start
/// of its login, so the event refuses it whenever it is signed.
#[tokio::test]
async fn a_login_that_checked_the_old_password_is_refused_whenever_it_signs() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let id = user(&s, &admin, "gus", "gus-pass-1").await;

    // The login begins, and checks the password, at T0...
    let started = s.clock.now();
    let body = password_body("gus", "gus-pass-1", None).to_string();
    let outcome = s
        .state
        .engine()
        .authenticate(auth_core::AuthAttempt::new(body.as_bytes()))
        .await
        .unwrap();
    let auth_core::AuthOutcome::Authenticated(done) = outcome else {
        panic!("a one-step login");
    };
    // ...the administrator resets it at T0 + 1 µs...
    s.clock.advance(Duration::microseconds(1));
    let reset = s
        .call(Method::PATCH, &format!("/v3/users/{id}"), &admin)
        .json(&json!({"user": {"password": "gus-pass-2"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    // ...and the login signs its token at T0 + 2 µs.
    s.clock.advance(Duration::microseconds(1));
    let issued = auth_server::token_body::issue(&s.state, &done, started)
        .await
        .unwrap();
    assert_eq!(validate(&s, &admin, &issued.token).await, 404);
}
