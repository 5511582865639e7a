//! The built-in methods' verification costs.
//!
//! `cargo bench -p auth-plugins --bench methods`
//!
//! - `totp/verify`: checking a passcode against one secret with the default
//!   window (the current step and one previous), the arithmetic alone.
//! - `jwt/*`: a whole login with an RS256 or ES256 token through the engine
//!   (parse, signature, claims, mapping against an in-memory store).
//! - `token/*`: a rescope through the engine (JWS verification,
//!   revocation check, user check).
//! - `validate/*`: `auth_core::token::validate` alone (ES256 signature,
//!   expiry and lifetime, revocation events, user check) against an
//!   in-memory store holding no revocation event or 1,000 recent ones (for
//!   other users, as after a busy hour of password changes): the cost of
//!   comparing every event.
//! - `publickey/answer-with-receipt`: the second round (receipt opened,
//!   Ed25519 signature verified).
//! - `external/trusted-proxy`: a proxied login.
//! - `application_credential/*`: a login; dominated by argon2id.
//! - `password/*`: the method's overhead is measured with a minimal argon2
//!   (64 KiB), where the hash costs little: login minus verification is
//!   the method's own work, compared with the default (OWASP) argon2 cost.
//!   Timing two 16 ms operations against each other cannot resolve 3 % on
//!   this noisy machine; this can. The default-parameter login, the pooled
//!   verification and the argon2 crate's own verifier are shown too.
//!   `minimal-argon2-login-lockout-on` is the minimal login with
//!   `lockout_failure_attempts` set: the lockout bookkeeping's own cost
//!   against the in-memory store.

#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: set-up failures stop it

use std::sync::Arc;

use argon2::PasswordVerifier as _;
use auth_core::store::{PasswordRecord, PasswordStore};
use auth_core::testkit::MemoryStore;
use auth_core::{AuthAttempt, Engine, ManualClock, PluginConfig, Stores};
use auth_plugins::compliance::SecurityCompliance;
use auth_plugins::hashing::{HashingConfig, PasswordHasher};
use auth_plugins::methods::{jwt, password, totp};
use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

const RSA_PEM: &[u8] = include_bytes!("../src/methods/jwt/testdata/rsa.pem");
const EC_PEM: &[u8] = include_bytes!("../src/methods/jwt/testdata/ec.pem");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn bench_totp(c: &mut Criterion) {
    let secret = totp::decode_secret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    let passcode = totp::passcode_at(&secret, now);
    c.bench_function("totp/verify", |b| {
        b.iter(|| totp::matching_step(&secret, &passcode, now, 1).expect("matches"));
    });
}

fn bench_jwt(c: &mut Criterion) {
    let rt = runtime();
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    let dir = std::env::temp_dir().join(format!("bench-jwks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jwks = dir.join("jwks.json");
    std::fs::write(&jwks, include_str!("../src/methods/jwt/testdata/jwks.json")).unwrap();
    let store = Arc::new(MemoryStore::new());
    store.add_user("u-alice", "alice");
    let config = json!({"issuers": [{"issuer": "https://idp.test", "audiences": ["auth-framework"],
        "jwks_file": jwks, "mapping": {"user_claim": "preferred_username"}}]});
    let method = jwt::Jwt::from_config(&PluginConfig::new(jwt::NAME, config)).unwrap();
    let engine = Engine::builder()
        .method(jwt::NAME, Arc::new(method))
        .stores(Stores::new().with_users(store))
        .clock(Arc::new(ManualClock::new(now)))
        .build()
        .unwrap();
    let claims = json!({"iss": "https://idp.test", "aud": "auth-framework", "sub": "1",
        "preferred_username": "alice", "exp": now.timestamp() + 3600});
    for (name, alg, kid, key) in [
        (
            "jwt/login-rs256",
            Algorithm::RS256,
            "rsa-1",
            EncodingKey::from_rsa_pem(RSA_PEM).unwrap(),
        ),
        (
            "jwt/login-es256",
            Algorithm::ES256,
            "ec-1",
            EncodingKey::from_ec_pem(EC_PEM).unwrap(),
        ),
    ] {
        let mut header = Header::new(alg);
        header.kid = Some(kid.into());
        let token = encode(&header, &claims, &key).unwrap();
        let body = serde_json::to_vec(
            &json!({"auth": {"identity": {"methods": ["jwt"], "jwt": {"token": token}}}}),
        )
        .unwrap();
        c.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                engine
                    .authenticate(AuthAttempt::new(&body))
                    .await
                    .expect("ok")
            });
        });
    }
}

/// An engine with the password method and one user whose password is
/// hashed by `hasher`, and the body of a login.
fn password_login(
    rt: &tokio::runtime::Runtime,
    hasher: &PasswordHasher,
    compliance: SecurityCompliance,
) -> (Engine, Vec<u8>) {
    let secret = SecretString::from("correct horse battery staple".to_owned());
    let store = Arc::new(MemoryStore::new());
    store.add_user("u1", "alice");
    let record =
        PasswordRecord::new(hasher.hash(&secret).unwrap(), Utc::now()).with_self_service(true);
    rt.block_on(store.set_password("u1", &record)).unwrap();
    let engine = Engine::builder()
        .method(
            password::NAME,
            Arc::new(password::Password::new(hasher.clone(), compliance)),
        )
        .stores(
            Stores::new()
                .with_users(store.clone())
                .with_passwords(store),
        )
        .build()
        .unwrap();
    let body = serde_json::to_vec(&json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"name": "alice", "domain": {"id": "default"}, "password": "correct horse battery staple"}}}}}))
    .unwrap();
    (engine, body)
}

fn bench_password(c: &mut Criterion) {
    let rt = runtime();
    let secret = SecretString::from("correct horse battery staple".to_owned());
    let mut group = c.benchmark_group("password");

    // The method's own work, measured where the hash is negligible: the
    // same login and the same verification with a 64 KiB argon2. Their
    // difference over the default argon2 cost is the method's overhead.
    let minimal = PasswordHasher::new(HashingConfig {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    })
    .unwrap();
    let (engine, body) = password_login(&rt, &minimal, SecurityCompliance::default());
    let minimal_hash = minimal.hash(&secret).unwrap();
    group.bench_function("minimal-argon2-verify-on-blocking-pool", |b| {
        b.to_async(&rt).iter(|| async {
            minimal
                .verify_async(secret.clone(), Some(minimal_hash.clone()))
                .await
                .expect("runs")
                .expect("verifies")
        });
    });
    group.bench_function("minimal-argon2-login-through-engine", |b| {
        b.to_async(&rt).iter(|| async {
            engine
                .authenticate(AuthAttempt::new(&body))
                .await
                .expect("ok")
        });
    });

    // The same login with lockout on (`lockout_failure_attempts`): the
    // lockout bookkeeping of a successful login, against the in-memory
    // store (the SQL stores' cost of it is in the store bench).
    let lockout = SecurityCompliance {
        lockout_failure_attempts: Some(5),
        ..SecurityCompliance::default()
    };
    let (engine, body) = password_login(&rt, &minimal, lockout);
    group.bench_function("minimal-argon2-login-lockout-on", |b| {
        b.to_async(&rt).iter(|| async {
            engine
                .authenticate(AuthAttempt::new(&body))
                .await
                .expect("ok")
        });
    });

    // The default (OWASP) parameters.
    group.sample_size(30);
    let hasher = PasswordHasher::new(HashingConfig::default()).unwrap();
    let hash = hasher.hash(&secret).unwrap();
    let (engine, body) = password_login(&rt, &hasher, SecurityCompliance::default());
    group.bench_function("argon2id-verify-alone", |b| {
        b.iter(|| hasher.verify(&secret, &hash).expect("verifies"));
    });
    // The argon2 crate's own verifier, which allocates fresh memory each
    // time: the cost the pooled verification above avoids.
    let parsed = hash.expose_secret().to_owned();
    group.bench_function("argon2-crate-verify-fresh-memory", |b| {
        b.iter(|| {
            let parsed = argon2::password_hash::PasswordHash::new(&parsed).unwrap();
            argon2::Argon2::default()
                .verify_password(secret.expose_secret().as_bytes(), &parsed)
                .expect("verifies")
        });
    });
    group.bench_function("login-through-engine", |b| {
        b.to_async(&rt).iter(|| async {
            engine
                .authenticate(AuthAttempt::new(&body))
                .await
                .expect("ok")
        });
    });
    group.finish();
}

fn bench_token(c: &mut Criterion) {
    use auth_core::{TokenClaims, TokenProvider};
    use auth_plugins::methods::token;
    use auth_plugins::tokens::jws::{JwsProvider, SigningAlgorithm, SigningKeySet};
    let rt = runtime();
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    for (name, algorithm) in [
        ("token/rescope-es256", SigningAlgorithm::ES256),
        ("token/rescope-eddsa", SigningAlgorithm::EdDSA),
    ] {
        let store = Arc::new(MemoryStore::new());
        store.add_user("u1", "alice");
        let tokens = Arc::new(JwsProvider::new(
            SigningKeySet::generate(algorithm).unwrap(),
        ));
        let engine = Engine::builder()
            .method(
                token::NAME,
                Arc::new(token::Token::from_config(&PluginConfig::empty(token::NAME)).unwrap()),
            )
            .stores(
                Stores::new()
                    .with_users(store.clone())
                    .with_revocations(store),
            )
            .clock(Arc::new(ManualClock::new(now)))
            .token_provider(tokens.clone())
            .build()
            .unwrap();
        let claims = TokenClaims {
            sub: "u1".into(),
            iat: now.timestamp(),
            iat_us: Some(0),
            exp: now.timestamp() + 3600,
            methods: vec!["password".into()],
            audit_ids: vec!["a".into()],
            project_id: None,
            domain_id: None,
            system: None,
            app_cred_id: None,
            access_token_id: None,
            group_ids: vec![],
            idp_id: None,
            trust_id: None,
        };
        let id = tokens.issue(&claims).unwrap();
        let body = serde_json::to_vec(
            &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": id}}}}),
        )
        .unwrap();
        c.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                engine
                    .authenticate(AuthAttempt::new(&body))
                    .await
                    .expect("ok")
            });
        });
    }
}

fn bench_validate(c: &mut Criterion) {
    use auth_core::store::{RevocationEvent, RevocationStore as _};
    use auth_core::{TokenClaims, TokenProvider, token};
    use auth_plugins::tokens::jws::{JwsProvider, SigningAlgorithm, SigningKeySet};
    let rt = runtime();
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    let issued = now - chrono::Duration::minutes(30);
    let tokens = JwsProvider::new(SigningKeySet::generate(SigningAlgorithm::ES256).unwrap());
    // Built from JSON so the claims read the same whatever fields the
    // struct grows.
    let claims: TokenClaims = serde_json::from_value(json!({
        "sub": "u1", "iat": issued.timestamp(), "exp": issued.timestamp() + 3600,
        "openstack_methods": ["password"], "openstack_audit_ids": ["a"],
        "openstack_project_id": "p1",
    }))
    .unwrap();
    let id = tokens.issue(&claims).unwrap();
    for (name, events) in [("validate/no-events", 0), ("validate/1000-events", 1000)] {
        let store = Arc::new(MemoryStore::new());
        store.add_user("u1", "alice");
        rt.block_on(async {
            for i in 0..events {
                let at = issued + chrono::Duration::milliseconds(i64::from(i) * 1700);
                let event = RevocationEvent::at(at).with_user(format!("other-{i}"));
                store.add_revocation(&event).await.unwrap();
            }
        });
        let stores = Stores::new()
            .with_users(store.clone())
            .with_revocations(store);
        c.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                token::validate(&tokens, &stores, &id, now, chrono::Duration::zero())
                    .await
                    .expect("valid")
            });
        });
    }
}

fn bench_publickey(c: &mut Criterion) {
    use auth_core::AuthOutcome;
    use auth_plugins::methods::publickey;
    use base64::Engine as _;
    use ed25519_dalek::{Signer, SigningKey};
    let rt = runtime();
    let store = Arc::new(MemoryStore::new());
    store.add_user("u1", "alice");
    let key = SigningKey::from_bytes(&[5u8; 32]);
    store.add_credential(
        "c1",
        "u1",
        "publickey",
        &publickey::credential_blob(&key.verifying_key()),
    );
    let engine = Engine::builder()
        .method(
            publickey::NAME,
            Arc::new(
                publickey::PublicKey::from_config(&PluginConfig::empty(publickey::NAME)).unwrap(),
            ),
        )
        .stores(
            Stores::new()
                .with_users(store.clone())
                .with_credentials(store),
        )
        .build()
        .unwrap();
    let first = json!({"auth": {"identity": {"methods": ["publickey"], "publickey": {"user": {"id": "u1"}}}}});
    let Ok(AuthOutcome::Continue(c1)) =
        rt.block_on(engine.authenticate(AuthAttempt::from_json(first)))
    else {
        panic!("expected a challenge")
    };
    let challenge = c1.challenges["publickey"]["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let signature =
        base64::engine::general_purpose::STANDARD.encode(key.sign(challenge.as_bytes()).to_bytes());
    let body = serde_json::to_vec(&json!({"auth": {"identity": {"methods": ["publickey"],
        "publickey": {"signature": signature}}}}))
    .unwrap();
    c.bench_function("publickey/answer-with-receipt", |b| {
        b.to_async(&rt).iter(|| async {
            engine
                .authenticate(AuthAttempt::new(&body).receipt(&c1.receipt))
                .await
                .expect("ok")
        });
    });
}

fn bench_external(c: &mut Criterion) {
    use auth_core::RequestHeaders;
    use auth_plugins::methods::external;
    let rt = runtime();
    let store = Arc::new(MemoryStore::new());
    store.add_user("u1", "alice");
    let config = PluginConfig::new(external::NAME, json!({"trusted_proxies": ["10.0.0.0/8"]}));
    let engine = Engine::builder()
        .method(
            external::NAME,
            Arc::new(external::External::from_config(&config).unwrap()),
        )
        .stores(Stores::new().with_users(store))
        .build()
        .unwrap();
    let body = br#"{"auth": {"identity": {"methods": ["external"], "external": {}}}}"#;
    let headers = RequestHeaders::new().with("X-Remote-User", "alice");
    let proxy = "10.1.1.1".parse().unwrap();
    c.bench_function("external/trusted-proxy", |b| {
        b.to_async(&rt).iter(|| async {
            let attempt = AuthAttempt::new(body)
                .headers(headers.clone())
                .client_addr(proxy);
            engine.authenticate(attempt).await.expect("ok")
        });
    });
}

fn bench_application_credential(c: &mut Criterion) {
    use auth_core::store::ApplicationCredential;
    use auth_plugins::methods::application_credential as ac;
    let rt = runtime();
    let hasher = PasswordHasher::new(HashingConfig::default()).unwrap();
    let store = Arc::new(MemoryStore::new());
    store.add_user("u1", "alice");
    store.add_application_credential(ApplicationCredential::new(
        "ac1",
        "ci",
        "u1",
        "p1",
        hasher
            .hash(&SecretString::from("app-secret".to_owned()))
            .unwrap(),
        Utc::now(),
    ));
    let engine = Engine::builder()
        .method(
            ac::NAME,
            Arc::new(ac::ApplicationCredentialMethod::new(hasher)),
        )
        .stores(
            Stores::new()
                .with_users(store.clone())
                .with_credentials(store),
        )
        .build()
        .unwrap();
    let body = br#"{"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": "ac1", "secret": "app-secret"}}}}"#;
    let mut group = c.benchmark_group("application_credential");
    group.sample_size(30);
    group.bench_function("login-through-engine", |b| {
        b.to_async(&rt).iter(|| async {
            engine
                .authenticate(AuthAttempt::new(body))
                .await
                .expect("ok")
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_totp,
    bench_jwt,
    bench_token,
    bench_validate,
    bench_publickey,
    bench_external,
    bench_password,
    bench_application_credential
);
criterion_main!(benches);
