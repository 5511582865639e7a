//! Embeds the auth engine in a plain program: no HTTP, no database.
//!
//! Alice must use two methods (her MFA rule is `[api_key, publickey]`):
//!
//! 1. she sends her API key: the engine answers *continue* with a receipt,
//!    because her rule is not met yet;
//! 2. she sends the receipt and asks for `publickey`: the method answers with
//!    a challenge, sealed into a new receipt;
//! 3. she signs the challenge and sends it with that receipt: authenticated.
//!
//! Run it with `cargo run -p example-embedded`.

use std::error::Error;
use std::sync::Arc;

use auth_core::testkit::MemoryStore;
use auth_core::{AuthAttempt, AuthOutcome, Engine, MethodRegistration, Registry, Stores};
use auth_plugins::methods::publickey;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use example_api_key_method::hash_key;
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    walkthrough().await
}

async fn walkthrough() -> Result<(), Box<dyn Error>> {
    // Keep the built-in plugins' registrations in this binary (see
    // auth_core::registry on the linker pitfall): just publickey, the one
    // auth-plugins feature this program compiles. The api_key plugin is
    // kept because we call its hash_key below.
    auth_plugins::link();
    let registry = Registry::<MethodRegistration>::from_inventory()?;
    println!("registered methods: {:?}", registry.names());

    // Your user directory implements auth_core::store::UserStore and
    // CredentialStore; here, the in-memory one from the testkit.
    let store = Arc::new(MemoryStore::new());
    store.add_user("u-alice", "alice");
    store.update_user("u-alice", |u| {
        u.options.multi_factor_auth_rules = vec![vec!["api_key".into(), "publickey".into()]];
    });
    let device_key = SigningKey::from_bytes(&[11u8; 32]);
    let blob = publickey::credential_blob(&device_key.verifying_key());
    store.add_credential("cred-1", "u-alice", "publickey", &blob);

    // Enable two methods, each with its configuration section.
    let sections = json!({
        "api_key": {"keys": [{"user_id": "u-alice", "sha256": hash_key("alice-api-key")}]},
    });
    let sections = sections.as_object().ok_or("sections are an object")?;
    let methods = registry.instantiate(&["api_key", "publickey"], sections)?;
    let engine = Engine::builder()
        .methods(methods)
        .stores(
            Stores::new()
                .with_users(store.clone())
                .with_credentials(store),
        )
        .build()?;

    // Round 1: the API key alone does not satisfy the MFA rule.
    let first = json!({"auth": {"identity": {"methods": ["api_key"],
        "api_key": {"key": "alice-api-key"}}}});
    let AuthOutcome::Continue(step) = engine.authenticate(AuthAttempt::from_json(first)).await?
    else {
        return Err("expected the MFA rule to ask for more".into());
    };
    println!(
        "1. passed {:?}; still required: {:?}",
        step.methods, step.required_auth_methods
    );

    // Round 2: ask publickey for a challenge, carrying the receipt.
    let second = json!({"auth": {"identity": {"methods": ["publickey"],
        "publickey": {"user": {"name": "alice", "domain": {"id": "default"}}}}}});
    let attempt = AuthAttempt::from_json(second).receipt(&step.receipt);
    let AuthOutcome::Continue(step) = engine.authenticate(attempt).await? else {
        return Err("expected a challenge".into());
    };
    let challenge = step.challenges["publickey"]["challenge"]
        .as_str()
        .ok_or("the challenge is a string")?;
    println!("2. publickey challenge: {challenge}");

    // Round 3: answer with a signature.
    let signature = STANDARD.encode(device_key.sign(challenge.as_bytes()).to_bytes());
    let third = json!({"auth": {"identity": {"methods": ["publickey"],
        "publickey": {"signature": signature}}}});
    let attempt = AuthAttempt::from_json(third).receipt(&step.receipt);
    match engine.authenticate(attempt).await? {
        AuthOutcome::Authenticated(done) => {
            println!(
                "3. authenticated {} with {:?}",
                done.user.name,
                done.methods()
            );
            Ok(())
        }
        AuthOutcome::Continue(_) => Err("expected to be done".into()),
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_walkthrough_completes() {
        super::walkthrough().await.unwrap();
    }
}
