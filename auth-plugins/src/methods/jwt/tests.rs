//! Tests against a JWKS served on loopback by the test itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use auth_core::store::UserStore;
use auth_core::testkit::MemoryStore;
use auth_core::{AuthAttempt, AuthError, AuthOutcome, Clock, Engine, ManualClock, Stores};
use chrono::{TimeZone, Utc};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use super::*;

const RSA_PEM: &[u8] = include_bytes!("testdata/rsa.pem");
const EC_PEM: &[u8] = include_bytes!("testdata/ec.pem");
const JWKS: &str = include_str!("testdata/jwks.json");
const ISSUER: &str = "https://idp.test";

/// Serves whatever JWKS it holds, counting requests.
struct JwksServer {
    url: String,
    hits: Arc<AtomicUsize>,
    body: Arc<Mutex<String>>,
}

async fn serve(body: String) -> JwksServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let body = Arc::new(Mutex::new(body));
    let (h, b) = (hits.clone(), body.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (h, b) = (h.clone(), b.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                h.fetch_add(1, Ordering::SeqCst);
                let body = b.lock().await.clone();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    JwksServer { url, hits, body }
}

/// The JWKS with only the keys whose kid is listed.
fn jwks_with(kids: &[&str]) -> String {
    let mut set: Value = serde_json::from_str(JWKS).unwrap();
    set["keys"]
        .as_array_mut()
        .unwrap()
        .retain(|k| kids.contains(&k["kid"].as_str().unwrap()));
    set.to_string()
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn claims(extra: Value) -> Value {
    let mut c = json!({
        "iss": ISSUER, "aud": "auth-framework", "sub": "0001",
        "preferred_username": "alice", "exp": now().timestamp() + 300, "iat": now().timestamp(),
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn rs256(kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(RSA_PEM).unwrap(),
    )
    .unwrap()
}

fn es256(kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.into());
    encode(&header, claims, &EncodingKey::from_ec_pem(EC_PEM).unwrap()).unwrap()
}

struct Setup {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
}

fn setup(issuer: Value) -> Setup {
    let store = Arc::new(MemoryStore::new());
    store.add_user("u-alice", "alice");
    store.add_group("g-admins", "admins", "default");
    store.add_group("g-ops", "ops", "default");
    let clock = Arc::new(ManualClock::new(now()));
    let method = Jwt::from_config(&PluginConfig::new(NAME, json!({"issuers": [issuer]}))).unwrap();
    let engine = Engine::builder()
        .method(NAME, Arc::new(method))
        .stores(Stores::new().with_users(store.clone()))
        .clock(clock.clone())
        .build()
        .unwrap();
    Setup {
        engine,
        store,
        clock,
    }
}

fn issuer(url: &str, mapping: Value) -> Value {
    json!({"issuer": ISSUER, "audiences": ["auth-framework"], "jwks_url": url, "min_refresh_secs": 0,
           "mapping": mapping})
}

fn by_username() -> Value {
    json!({"user_claim": "preferred_username"})
}

async fn login(s: &Setup, token: &str) -> Result<AuthOutcome, AuthError> {
    let body = json!({"auth": {"identity": {"methods": ["jwt"], "jwt": {"token": token}}}});
    s.engine.authenticate(AuthAttempt::from_json(body)).await
}

#[tokio::test]
async fn rs256_and_es256_tokens_log_in_an_existing_user() {
    let server = serve(JWKS.to_owned()).await;
    let s = setup(issuer(&server.url, by_username()));
    for token in [
        rs256("rsa-1", &claims(json!({}))),
        es256("ec-1", &claims(json!({}))),
    ] {
        assert_eq!(login(&s, &token).await.unwrap().user_id(), Some("u-alice"));
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 1, "the keys are cached");
}

#[tokio::test]
async fn first_logins_are_provisioned_only_when_allowed() {
    let server = serve(JWKS.to_owned()).await;
    let token = rs256("rsa-1", &claims(json!({"preferred_username": "newcomer"})));
    let closed = setup(issuer(&server.url, by_username()));
    assert!(matches!(
        login(&closed, &token).await,
        Err(AuthError::InvalidCredentials)
    ));
    let open = setup(issuer(
        &server.url,
        json!({"user_claim": "preferred_username", "provision": true}),
    ));
    let first = login(&open, &token)
        .await
        .unwrap()
        .user_id()
        .unwrap()
        .to_owned();
    let again = login(&open, &token)
        .await
        .unwrap()
        .user_id()
        .unwrap()
        .to_owned();
    assert_eq!(first, again);
    assert_eq!(
        open.store
            .find_user_by_name("default", "newcomer")
            .await
            .unwrap()
            .id,
        first
    );
}

#[tokio::test]
async fn mapped_groups_follow_the_token() {
    let server = serve(JWKS.to_owned()).await;
    let mapping = json!({"user_claim": "preferred_username", "groups_claim": "groups",
                         "groups": {"idp-admins": "g-admins", "idp-ops": "g-ops"}});
    let s = setup(issuer(&server.url, mapping));
    let both = rs256(
        "rsa-1",
        &claims(json!({"groups": ["idp-admins", "idp-ops", "unmapped"]})),
    );
    let a = login(&s, &both).await.unwrap().authenticated().unwrap();
    assert_eq!(a.identity.extras["group_ids"], json!(["g-admins", "g-ops"]));
    let ops_only = rs256("rsa-1", &claims(json!({"groups": ["idp-ops"]})));
    login(&s, &ops_only).await.unwrap();
    let groups: Vec<String> = s
        .store
        .list_user_groups("u-alice")
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(groups, ["g-ops"]);
}

#[tokio::test]
async fn expiry_and_not_before_use_the_clock_with_leeway() {
    let server = serve(JWKS.to_owned()).await;
    let s = setup(issuer(&server.url, by_username()));
    let token = rs256("rsa-1", &claims(json!({"exp": now().timestamp() - 30})));
    assert!(login(&s, &token).await.is_ok(), "within the 60 s leeway");
    s.clock.advance(chrono::Duration::seconds(31));
    assert!(matches!(
        login(&s, &token).await,
        Err(AuthError::InvalidCredentials)
    ));
    let early = rs256(
        "rsa-1",
        &claims(json!({"nbf": s.clock.now().timestamp() + 120})),
    );
    assert!(login(&s, &early).await.is_err());
}

#[tokio::test]
async fn wrong_issuer_audience_algorithm_or_signature_fail() {
    let server = serve(JWKS.to_owned()).await;
    let mut only_es = issuer(&server.url, by_username());
    only_es["algorithms"] = json!(["ES256"]);
    let s = setup(only_es);
    let bad = [
        es256("ec-1", &claims(json!({"iss": "https://evil.test"}))),
        es256("ec-1", &claims(json!({"aud": "someone-else"}))),
        rs256("rsa-1", &claims(json!({}))),
        // Signed with the EC key but claiming the RSA key's id.
        es256("rsa-1", &claims(json!({}))),
        "not.a.jwt".to_owned(),
        format!("{}x", es256("ec-1", &claims(json!({})))),
    ];
    for token in bad {
        assert!(
            matches!(login(&s, &token).await, Err(AuthError::InvalidCredentials)),
            "{token}"
        );
    }
    assert!(login(&s, &es256("ec-1", &claims(json!({})))).await.is_ok());
}

#[tokio::test]
async fn hmac_with_the_public_key_and_alg_none_are_refused() {
    let server = serve(JWKS.to_owned()).await;
    let s = setup(issuer(&server.url, by_username()));
    // The classic forgery: HS256 keyed with the issuer's public key.
    let public_pem = b"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n";
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-1".into());
    let forged = encode(
        &header,
        &claims(json!({})),
        &EncodingKey::from_secret(public_pem),
    )
    .unwrap();
    assert!(matches!(
        login(&s, &forged).await,
        Err(AuthError::InvalidCredentials)
    ));
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC50ZXN0In0.";
    assert!(matches!(
        login(&s, none).await,
        Err(AuthError::InvalidCredentials)
    ));
    let mut hmac_issuer = issuer(&server.url, by_username());
    hmac_issuer["algorithms"] = json!(["HS256"]);
    assert!(Jwt::from_config(&PluginConfig::new(NAME, json!({"issuers": [hmac_issuer]}))).is_err());
}

#[tokio::test]
async fn an_unknown_kid_refreshes_the_keys_but_not_too_often() {
    let server = serve(jwks_with(&["rsa-1"])).await;
    let mut cfg = issuer(&server.url, by_username());
    cfg["min_refresh_secs"] = json!(3600);
    let s = setup(cfg);
    assert!(login(&s, &rs256("rsa-1", &claims(json!({})))).await.is_ok());
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    // The issuer rotates in a new key; our refresh is rate-limited, so the
    // first token with the new kid fails until min_refresh has passed.
    *server.body.lock().await = jwks_with(&["rsa-1", "ec-1"]);
    for _ in 0..5 {
        assert!(login(&s, &es256("ec-1", &claims(json!({})))).await.is_err());
    }
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "made-up kids cannot hammer the issuer"
    );

    let server = serve(jwks_with(&["rsa-1"])).await;
    let s = setup(issuer(&server.url, by_username()));
    assert!(login(&s, &rs256("rsa-1", &claims(json!({})))).await.is_ok());
    *server.body.lock().await = jwks_with(&["rsa-1", "ec-1"]);
    assert!(
        login(&s, &es256("ec-1", &claims(json!({})))).await.is_ok(),
        "refreshed on the unknown kid"
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_jwks_file_works_too() {
    let dir = std::env::temp_dir().join(format!("jwks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("jwks.json");
    std::fs::write(&path, JWKS).unwrap();
    let s = setup(
        json!({"issuer": ISSUER, "audiences": ["auth-framework"], "jwks_file": path,
                         "mapping": by_username()}),
    );
    assert!(login(&s, &es256("ec-1", &claims(json!({})))).await.is_ok());
}

#[tokio::test]
async fn passes_the_conformance_kit() {
    use auth_core::testkit::conformance::{MethodCase, check};
    let server = serve(JWKS.to_owned()).await;
    let store = Arc::new(MemoryStore::new());
    store.add_user("u-alice", "alice");
    let method = Jwt::from_config(&PluginConfig::new(
        NAME,
        json!({"issuers": [issuer(&server.url, by_username())]}),
    ))
    .unwrap();
    let valid = rs256("rsa-1", &claims(json!({})));
    let mut forged = valid.clone();
    forged.replace_range(forged.len() - 8.., "AAAAAAAA");
    check(
        MethodCase::new(
            NAME,
            Arc::new(method),
            Stores::new().with_users(store),
            json!({"token": valid}),
            vec![json!({"token": forged}).into()],
        )
        .with_clock(Arc::new(ManualClock::new(now())))
        .with_unknown_user(vec![
            json!({"token": rs256("rsa-1", &claims(json!({"preferred_username": "ghost"})))})
                .into(),
        ])
        .with_malformed(vec![json!({}), json!({"jwt": "x"})])
        .with_secrets([valid]),
    )
    .await;
}

#[test]
fn issuers_need_one_key_source_an_audience_and_known_algorithms() {
    let build =
        |issuer: Value| Jwt::from_config(&PluginConfig::new(NAME, json!({"issuers": [issuer]})));
    assert!(
        build(json!({"issuer": "i", "audiences": ["a"]})).is_err(),
        "no key source"
    );
    assert!(
        build(json!({"issuer": "i", "audiences": [], "jwks_file": "/x"})).is_err(),
        "no audience"
    );
    assert!(
        build(json!({"issuer": "i", "audiences": ["a"], "jwks_file": "/x", "algorithms": ["XX1"]}))
            .is_err()
    );
    assert!(build(json!({"issuer": "i", "audiences": ["a"], "jwks_file": "/x"})).is_ok());
}
