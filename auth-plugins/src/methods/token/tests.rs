use std::sync::Arc;

use auth_core::store::{RevocationEvent, RevocationStore};
use auth_core::testkit::MemoryStore;
use auth_core::{
    AuthAttempt, AuthOutcome, Clock, Engine, ManualClock, Stores, TokenClaims, TokenProvider,
};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::tokens::jws::{JwsProvider, SigningAlgorithm, SigningKeySet};

struct Setup {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    tokens: Arc<JwsProvider>,
}

fn setup(config: Value) -> Setup {
    let store = Arc::new(MemoryStore::new());
    store.add_user("u1", "alice");
    // Validation checks that a token's application credential still exists.
    store.add_application_credential(auth_core::store::ApplicationCredential::new(
        "ac1",
        "ci",
        "u1",
        "p1",
        secrecy::SecretString::from("unused"),
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
    ));
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
    ));
    let tokens = Arc::new(JwsProvider::new(
        SigningKeySet::generate(SigningAlgorithm::ES256).unwrap(),
    ));
    let engine = Engine::builder()
        .method(
            NAME,
            Arc::new(Token::from_config(&PluginConfig::new(NAME, config)).unwrap()),
        )
        .stores(
            Stores::new()
                .with_users(store.clone())
                .with_revocations(store.clone())
                .with_credentials(store.clone()),
        )
        .clock(clock.clone())
        .token_provider(tokens.clone())
        .build()
        .unwrap();
    Setup {
        engine,
        store,
        clock,
        tokens,
    }
}

fn claims(s: &Setup) -> TokenClaims {
    let now = s.clock.now().timestamp();
    TokenClaims {
        sub: "u1".into(),
        iat: now,
        iat_us: None,
        exp: now + 3600,
        methods: vec!["password".into(), "totp".into()],
        audit_ids: vec!["first-audit".into()],
        project_id: None,
        domain_id: None,
        system: None,
        app_cred_id: None,
        access_token_id: None,
        group_ids: vec![],
        idp_id: None,
        trust_id: None,
    }
}

async fn rescope(s: &Setup, token: &str, scope: Value) -> Result<AuthOutcome, AuthError> {
    let body = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}}, "scope": scope}});
    s.engine.authenticate(AuthAttempt::from_json(body)).await
}

fn project() -> Value {
    json!({"project": {"id": "p1"}})
}

#[tokio::test]
async fn rescoping_keeps_expiry_chain_and_methods() {
    let s = setup(Value::Null);
    let original = claims(&s);
    let token = s.tokens.issue(&original).unwrap();
    s.clock.advance(chrono::Duration::minutes(10));
    let a = rescope(&s, &token, project())
        .await
        .unwrap()
        .authenticated()
        .unwrap();
    assert_eq!(a.user.id, "u1");
    assert_eq!(
        a.identity.expires_at,
        Some(original.expires_at()),
        "never extended"
    );
    assert_eq!(a.identity.extras["audit_chain_id"], "first-audit");
    assert_eq!(a.methods(), ["token", "password", "totp"]);
}

#[tokio::test]
async fn bad_expired_and_revoked_tokens_are_404s() {
    let s = setup(Value::Null);
    let token = s.tokens.issue(&claims(&s)).unwrap();
    assert_eq!(
        rescope(&s, "garbage", project())
            .await
            .unwrap_err()
            .http_status(),
        404
    );
    s.store
        .add_revocation(&RevocationEvent::at(s.clock.now()).with_audit_id("first-audit"))
        .await
        .unwrap();
    assert_eq!(
        rescope(&s, &token, project())
            .await
            .unwrap_err()
            .http_status(),
        404
    );
    let s = setup(Value::Null);
    let token = s.tokens.issue(&claims(&s)).unwrap();
    s.clock.advance(chrono::Duration::hours(1));
    assert_eq!(
        rescope(&s, &token, project())
            .await
            .unwrap_err()
            .http_status(),
        404
    );
}

#[tokio::test]
async fn a_disabled_user_cannot_rescope() {
    let s = setup(Value::Null);
    let token = s.tokens.issue(&claims(&s)).unwrap();
    s.store.update_user("u1", |u| u.enabled = false);
    assert_eq!(
        rescope(&s, &token, project())
            .await
            .unwrap_err()
            .http_status(),
        404
    );
}

#[tokio::test]
async fn forbidden_rescopes_are_403s() {
    let s = setup(Value::Null);
    let app_cred = TokenClaims {
        app_cred_id: Some("ac1".into()),
        project_id: Some("p1".into()),
        ..claims(&s)
    };
    let system = TokenClaims {
        system: Some("all".into()),
        ..claims(&s)
    };
    let trust = TokenClaims {
        trust_id: Some("t1".into()),
        project_id: Some("p1".into()),
        ..claims(&s)
    };
    for (claims, scope) in [
        (app_cred, json!(null)),
        (system, project()),
        (trust.clone(), json!(null)),
        (trust, project()),
    ] {
        let token = s.tokens.issue(&claims).unwrap();
        assert_eq!(
            rescope(&s, &token, scope).await.unwrap_err().http_status(),
            403
        );
    }
    let strict = setup(json!({"allow_rescope_scoped_token": false}));
    let scoped = TokenClaims {
        project_id: Some("p1".into()),
        ..claims(&strict)
    };
    let token = strict.tokens.issue(&scoped).unwrap();
    assert_eq!(
        rescope(&strict, &token, json!({"project": {"id": "p2"}}))
            .await
            .unwrap_err()
            .http_status(),
        403
    );
    let unscoped = strict.tokens.issue(&claims(&strict)).unwrap();
    assert!(rescope(&strict, &unscoped, project()).await.is_ok());
}

#[tokio::test]
async fn passes_the_conformance_kit() {
    use auth_core::testkit::conformance::{MethodCase, check};
    let s = setup(Value::Null);
    let token = s.tokens.issue(&claims(&s)).unwrap();
    let stranger = JwsProvider::new(SigningKeySet::generate(SigningAlgorithm::ES256).unwrap());
    let forged = stranger.issue(&claims(&s)).unwrap();
    let ghost = s
        .tokens
        .issue(&TokenClaims {
            sub: "ghost".into(),
            ..claims(&s)
        })
        .unwrap();
    check(
        MethodCase::new(
            NAME,
            Arc::new(Token::from_config(&PluginConfig::empty(NAME)).unwrap()),
            Stores::new()
                .with_users(s.store.clone())
                .with_revocations(s.store.clone()),
            json!({"id": token}),
            vec![json!({"id": forged}).into()],
        )
        .with_clock(s.clock.clone())
        .with_tokens(s.tokens.clone())
        .with_unknown_user(vec![json!({"id": ghost}).into()])
        .with_failure_status(404)
        .with_malformed(vec![json!({}), json!({"token": "x"})])
        .with_secrets([token, forged]),
    )
    .await;
}
