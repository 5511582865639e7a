use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use auth_core::store::{OAuth1AccessToken, OAuth1Store};
use auth_core::testkit::MemoryStore;
use auth_core::testkit::conformance::{self, MethodCase, Round};
use auth_core::{
    AuthAttempt, AuthError, AuthOutcome, Clock, Engine, ManualClock, RequestHeaders, RequestLine,
    Stores,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use secrecy::SecretString;
use serde_json::json;

use super::signature;
use super::*;

const URL: &str = "http://localhost:5000/v3/auth/tokens";

/// Just what the method reads: access tokens, nonces, consumer secrets.
#[derive(Debug, Default)]
struct Tokens {
    access: Mutex<HashMap<String, OAuth1AccessToken>>,
    nonces: Mutex<HashSet<(String, String)>>,
}

#[async_trait]
impl OAuth1Store for Tokens {
    async fn get_oauth1_access_token(&self, id: &str) -> Result<OAuth1AccessToken, AuthError> {
        self.access
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .ok_or_else(|| AuthError::NotFound { what: id.into() })
    }

    async fn claim_oauth1_nonce(
        &self,
        consumer_id: &str,
        nonce: &str,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<bool, AuthError> {
        Ok(self
            .nonces
            .lock()
            .unwrap()
            .insert((consumer_id.into(), nonce.into())))
    }

    async fn oauth1_consumer_secret(&self, consumer_id: &str) -> Result<SecretString, AuthError> {
        match consumer_id {
            "c1" => Ok(SecretString::from("consumer-s3cret")),
            _ => Err(AuthError::NotFound {
                what: consumer_id.into(),
            }),
        }
    }
}

struct Setup {
    engine: Engine,
    stores: Stores,
    tokens: Arc<Tokens>,
    clock: Arc<ManualClock>,
}

fn setup() -> Setup {
    let users = Arc::new(MemoryStore::new());
    users.add_user("u1", "alice");
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
    ));
    let tokens = Arc::new(Tokens::default());
    tokens.access.lock().unwrap().insert(
        "at1".into(),
        OAuth1AccessToken::new(
            "at1",
            SecretString::from("access-s3cret"),
            "c1",
            "u1",
            "p1",
            vec!["r1".into()],
            Some(clock.now() + Duration::hours(1)),
        ),
    );
    let stores = Stores::new().with_users(users).with_oauth1(tokens.clone());
    let engine = Engine::builder()
        .method(NAME, Arc::new(OAuth1Method::default()))
        .stores(stores.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    Setup {
        engine,
        stores,
        tokens,
        clock,
    }
}

/// The `Authorization` header a client signs a login with.
fn signed(token: &str, token_secret: &str, nonce: &str, at: DateTime<Utc>) -> String {
    let timestamp = at.timestamp().to_string();
    signature::authorization(
        &RequestLine::new("POST", URL),
        &[
            ("oauth_consumer_key", "c1"),
            ("oauth_token", token),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", &timestamp),
            ("oauth_nonce", nonce),
            ("oauth_version", "1.0"),
        ],
        &SecretString::from("consumer-s3cret"),
        &SecretString::from(token_secret.to_owned()),
    )
    .unwrap()
}

fn round(header: String) -> Round {
    Round::new(json!({})).with_headers(RequestHeaders::new().with("Authorization", header))
}

async fn login(s: &Setup, header: String) -> Result<AuthOutcome, AuthError> {
    let body = json!({"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}});
    s.engine
        .authenticate(
            AuthAttempt::from_json(body)
                .headers(RequestHeaders::new().with("Authorization", header))
                .request_line(RequestLine::new("POST", URL)),
        )
        .await
}

#[tokio::test]
async fn conformance() {
    let s = setup();
    let now = s.clock.now();
    conformance::check(
        MethodCase::new(
            NAME,
            Arc::new(OAuth1Method::default()),
            s.stores.clone(),
            round(signed("at1", "access-s3cret", "n1", now)),
            [round(signed("at1", "wrong", "n2", now))],
        )
        .with_clock(s.clock.clone())
        .with_request_line(RequestLine::new("POST", URL))
        .with_unknown_user([round(signed("nope", "access-s3cret", "n3", now))])
        .with_secrets(["consumer-s3cret", "access-s3cret"]),
    )
    .await;
}

#[tokio::test]
async fn the_access_token_names_user_project_and_delegation() {
    let s = setup();
    let AuthOutcome::Authenticated(done) =
        login(&s, signed("at1", "access-s3cret", "n", s.clock.now()))
            .await
            .unwrap()
    else {
        panic!("not authenticated");
    };
    assert_eq!(done.user.id, "u1");
    assert_eq!(done.identity.project_id.as_deref(), Some("p1"));
    assert_eq!(
        done.identity.expires_at,
        Some(s.clock.now() + Duration::hours(1))
    );
    assert_eq!(
        done.identity.extras["oauth1"],
        json!({"access_token_id": "at1", "consumer_id": "c1", "role_ids": ["r1"]})
    );
}

#[tokio::test]
async fn a_replayed_nonce_is_refused() {
    let s = setup();
    let header = signed("at1", "access-s3cret", "once", s.clock.now());
    login(&s, header.clone()).await.unwrap();
    assert_eq!(login(&s, header).await.unwrap_err().http_status(), 401);
}

#[tokio::test]
async fn a_stale_or_future_timestamp_is_refused() {
    let s = setup();
    for at in [
        s.clock.now() - Duration::minutes(11),
        s.clock.now() + Duration::minutes(11),
    ] {
        let header = signed("at1", "access-s3cret", &at.to_rfc3339(), at);
        assert_eq!(login(&s, header).await.unwrap_err().http_status(), 401);
    }
    // Nothing was claimed for them.
    assert!(s.tokens.nonces.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_expired_access_token_is_refused() {
    let s = setup();
    s.clock.advance(Duration::hours(1));
    let header = signed("at1", "access-s3cret", "late", s.clock.now());
    assert_eq!(login(&s, header).await.unwrap_err().http_status(), 401);
}

#[tokio::test]
async fn without_an_authorization_header_it_is_a_400() {
    let s = setup();
    let body = json!({"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}});
    let e = s
        .engine
        .authenticate(AuthAttempt::from_json(body).request_line(RequestLine::new("POST", URL)))
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), 400);
}
