//! A multi-step login through registry-built methods: MFA rules plus a
//! challenge, resumed on a second engine that shares only the receipt keys.

use std::sync::Arc;

use auth_core::testkit::MemoryStore;
use auth_core::{AuthAttempt, AuthOutcome, Engine, KeyRing, KeySet, Stores};
use auth_plugins::methods::publickey::credential_blob;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Map, json};

fn node(store: &Arc<MemoryStore>, keys: &Arc<KeyRing>) -> Engine {
    let methods = super::registry()
        .instantiate(&["publickey"], &Map::new())
        .unwrap();
    Engine::builder()
        .methods(methods)
        .stores(
            Stores::new()
                .with_users(store.clone())
                .with_credentials(store.clone()),
        )
        .receipt_keys(Arc::clone(keys))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_challenge_issued_by_one_node_is_answered_on_another() {
    let store = Arc::new(MemoryStore::new());
    store.add_user("u1", "alice");
    let key = SigningKey::from_bytes(&[3u8; 32]);
    store.add_credential(
        "c1",
        "u1",
        "publickey",
        &credential_blob(&key.verifying_key()),
    );
    let keys = Arc::new(KeyRing::new(KeySet::generate()));
    let (node_a, node_b) = (node(&store, &keys), node(&store, &keys));

    let first = json!({"auth": {"identity": {"methods": ["publickey"],
        "publickey": {"user": {"name": "alice", "domain": {"name": "Default"}}}}}});
    let Ok(AuthOutcome::Continue(c)) = node_a
        .authenticate(AuthAttempt::from_json(first.clone()))
        .await
    else {
        panic!("expected a challenge")
    };
    let challenge = c.challenges["publickey"]["challenge"].as_str().unwrap();
    let signature = STANDARD.encode(key.sign(challenge.as_bytes()).to_bytes());
    let second = json!({"auth": {"identity": {"methods": ["publickey"],
        "publickey": {"signature": signature}}}});
    let outcome = node_b
        .authenticate(AuthAttempt::from_json(second.clone()).receipt(&c.receipt))
        .await
        .unwrap();
    assert_eq!(outcome.user_id(), Some("u1"));

    // A node with other keys cannot resume it.
    let stranger = node(&store, &Arc::new(KeyRing::new(KeySet::generate())));
    let e = stranger
        .authenticate(AuthAttempt::from_json(second.clone()).receipt(&c.receipt))
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), 401);
}
