use std::sync::Arc;

use auth_core::testkit::MemoryStore;
use auth_core::{AuthAttempt, AuthError, AuthOutcome, Engine, Stores};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

use super::*;

struct Setup {
    engine: Engine,
    store: Arc<MemoryStore>,
    key: SigningKey,
}

fn setup() -> Setup {
    let store = Arc::new(MemoryStore::new());
    store.add_user("u1", "alice");
    store.add_user("u2", "bob");
    let key = SigningKey::from_bytes(&[42u8; 32]);
    store.add_credential(
        "c1",
        "u1",
        "publickey",
        &credential_blob(&key.verifying_key()),
    );
    store.add_credential("c2", "u1", "publickey", "not json");
    let method = PublicKey::from_config(&PluginConfig::empty(NAME)).unwrap();
    let engine = Engine::builder()
        .method(NAME, Arc::new(method))
        .stores(
            Stores::new()
                .with_users(store.clone())
                .with_credentials(store.clone()),
        )
        .build()
        .unwrap();
    Setup { engine, store, key }
}

async fn round(
    engine: &Engine,
    payload: Value,
    receipt: Option<&str>,
) -> Result<AuthOutcome, AuthError> {
    let body = json!({"auth": {"identity": {"methods": [NAME], NAME: payload}}});
    let attempt = AuthAttempt::from_json(body);
    let attempt = match receipt {
        Some(r) => attempt.receipt(r),
        None => attempt,
    };
    engine.authenticate(attempt).await
}

/// Round one for `user`; returns (challenge, receipt).
async fn challenge(engine: &Engine, user: Value) -> (String, String) {
    match round(engine, json!({"user": user}), None).await {
        Ok(AuthOutcome::Continue(c)) => (
            c.challenges[NAME]["challenge"].as_str().unwrap().to_owned(),
            c.receipt,
        ),
        other => panic!("expected a challenge, got {other:?}"),
    }
}

fn sign(key: &SigningKey, challenge: &str) -> String {
    STANDARD.encode(key.sign(challenge.as_bytes()).to_bytes())
}

#[tokio::test]
async fn two_rounds_authenticate() {
    let s = setup();
    let (challenge, receipt) = challenge(
        &s.engine,
        json!({"name": "alice", "domain": {"id": "default"}}),
    )
    .await;
    assert!(challenge.starts_with(CHALLENGE_PREFIX));
    let outcome = round(
        &s.engine,
        json!({"signature": sign(&s.key, &challenge)}),
        Some(&receipt),
    )
    .await;
    match outcome {
        Ok(AuthOutcome::Authenticated(a)) => {
            assert_eq!(a.user.id, "u1");
            assert_eq!(a.methods(), [NAME]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn challenges_are_fresh_each_time() {
    let s = setup();
    let (a, _) = challenge(&s.engine, json!({"id": "u1"})).await;
    let (b, _) = challenge(&s.engine, json!({"id": "u1"})).await;
    assert_ne!(a, b);
}

#[tokio::test]
async fn a_wrong_key_an_old_challenge_or_garbage_fail() {
    let s = setup();
    let (challenge1, receipt1) = challenge(&s.engine, json!({"id": "u1"})).await;
    let (_, receipt2) = challenge(&s.engine, json!({"id": "u1"})).await;
    let stranger = SigningKey::from_bytes(&[9u8; 32]);
    let cases = [
        (sign(&stranger, &challenge1), receipt1.as_str()),
        // A valid signature over another round's challenge.
        (sign(&s.key, &challenge1), receipt2.as_str()),
        (STANDARD.encode([0u8; 64]), receipt1.as_str()),
    ];
    for (signature, receipt) in cases {
        let e = round(&s.engine, json!({"signature": signature}), Some(receipt))
            .await
            .unwrap_err();
        assert!(matches!(e, AuthError::InvalidCredentials), "{e}");
    }
}

#[tokio::test]
async fn unknown_users_and_users_without_keys_look_the_same() {
    let s = setup();
    for user in [json!({"id": "ghost"}), json!({"id": "u2"})] {
        let (challenge, receipt) = challenge(&s.engine, user).await;
        let e = round(
            &s.engine,
            json!({"signature": sign(&s.key, &challenge)}),
            Some(&receipt),
        )
        .await
        .unwrap_err();
        assert_eq!(e.to_string(), AuthError::InvalidCredentials.to_string());
    }
}

#[tokio::test]
async fn a_disabled_user_is_refused_after_the_signature_verifies() {
    let s = setup();
    s.store.update_user("u1", |u| u.enabled = false);
    let (challenge, receipt) = challenge(&s.engine, json!({"id": "u1"})).await;
    let e = round(
        &s.engine,
        json!({"signature": sign(&s.key, &challenge)}),
        Some(&receipt),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, AuthError::UserDisabled));
}

#[tokio::test]
async fn malformed_payloads_are_400s() {
    let s = setup();
    let (_, receipt) = challenge(&s.engine, json!({"id": "u1"})).await;
    for (payload, receipt) in [
        (json!({}), None),
        (json!({"user": "alice"}), None),
        (json!({"user": {"name": "alice"}}), None),
        (json!({"signature": "AAAA"}), None),
        (json!({"signature": 5}), Some(receipt.as_str())),
        (json!({"signature": "not base64!"}), Some(receipt.as_str())),
    ] {
        let e = round(&s.engine, payload.clone(), receipt)
            .await
            .unwrap_err();
        assert_eq!(e.http_status(), 400, "{payload} gave {e}");
    }
}

#[test]
fn unknown_config_keys_are_refused() {
    let e = PublicKey::from_config(&PluginConfig::new(NAME, json!({"typo": 1}))).unwrap_err();
    assert!(matches!(e, AuthError::InvalidConfig { .. }));
}

#[tokio::test]
async fn passes_the_conformance_kit() {
    use auth_core::testkit::conformance::{MethodCase, check};
    let s = setup();
    let stranger = SigningKey::from_bytes(&[9u8; 32]);
    // The signature is over a challenge the kit cannot know in advance, so
    // the second round signs a fixed text: wrong for any challenge.
    let bogus = STANDARD.encode(stranger.sign(b"not the challenge").to_bytes());
    check(
        MethodCase::new(
            NAME,
            Arc::new(PublicKey::from_config(&PluginConfig::empty(NAME)).unwrap()),
            Stores::new()
                .with_users(s.store.clone())
                .with_credentials(s.store.clone()),
            json!({"user": {"id": "u1"}}),
            vec![
                json!({"user": {"id": "u1"}}).into(),
                json!({"signature": bogus}).into(),
            ],
        )
        .with_unknown_user(vec![
            json!({"user": {"id": "ghost"}}).into(),
            json!({"signature": bogus}).into(),
        ])
        .with_malformed(vec![
            json!({}),
            json!({"signature": "AAAA"}),
            json!({"user": {"name": "alice"}}),
        ]),
    )
    .await;
}
