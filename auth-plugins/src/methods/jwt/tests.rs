//! Tests against a JWKS served on loopback by the test itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use auth_core::store::UserStore;
use auth_core::testkit::MemoryStore;
use auth_core::{AuthAttempt, AuthError, AuthOutcome, Clock, Engine, ManualClock, Stores};
use chrono::{TimeZone, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use super::*;

const RSA_PEM: &[u8] = include_bytes!("testdata/rsa.pem");
const EC_PEM: &[u8] = include_bytes!("testdata/ec.pem");
const JWKS: &str = include_str!("testdata/jwks.json");
const ISSUER: &str = "https://idp.test";

/// What the test's issuer does with a request for its JWKS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Answers with the key set.
    Up,
    /// Answers 503, as an issuer in an outage.
    Down,
    /// Reads the request and never answers.
    Hang,
}

/// Serves whatever JWKS it holds, counting requests.
struct JwksServer {
    url: String,
    hits: Arc<AtomicUsize>,
    body: Arc<Mutex<String>>,
    mode: Arc<std::sync::Mutex<Mode>>,
}

impl JwksServer {
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn serve(body: String) -> JwksServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let body = Arc::new(Mutex::new(body));
    let mode = Arc::new(std::sync::Mutex::new(Mode::Up));
    let (h, b, m) = (hits.clone(), body.clone(), mode.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (h, b, m) = (h.clone(), b.clone(), m.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                h.fetch_add(1, Ordering::SeqCst);
                let mode = *m.lock().unwrap();
                let response = match mode {
                    Mode::Up => {
                        let body = b.lock().await.clone();
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    }
                    Mode::Down => "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
                    Mode::Hang => {
                        // Hold the connection open and say nothing.
                        std::future::pending::<()>().await;
                        return;
                    }
                };
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    JwksServer {
        url,
        hits,
        body,
        mode,
    }
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
async fn audience_lists_and_malformed_claims() {
    let server = serve(JWKS.to_owned()).await;
    let s = setup(issuer(&server.url, by_username()));
    let listed = rs256(
        "rsa-1",
        &claims(json!({"aud": ["someone-else", "auth-framework"]})),
    );
    assert!(
        login(&s, &listed).await.is_ok(),
        "one listed audience is ours"
    );
    let bad = [
        claims(json!({"aud": ["someone-else"]})),
        claims(json!({"aud": []})),
        claims(json!({"aud": 7})),
        claims(json!({"aud": null})),
        claims(json!({"exp": "soon"})),
        claims(json!({"exp": null})),
        claims(json!({"nbf": "later"})),
        claims(json!({"iss": null})),
    ];
    for c in bad {
        assert!(
            matches!(
                login(&s, &rs256("rsa-1", &c)).await,
                Err(AuthError::InvalidCredentials)
            ),
            "{c}"
        );
    }
    // Two parts, four parts, a header that is not JSON.
    let good = rs256("rsa-1", &claims(json!({})));
    let (input, _) = good.rsplit_once('.').unwrap();
    for token in [
        input.to_owned(),
        format!("{good}.x"),
        format!("e30x{}", &good[good.find('.').unwrap()..]),
    ] {
        assert!(matches!(
            login(&s, &token).await,
            Err(AuthError::InvalidCredentials)
        ));
    }
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

// ---- Outages: an issuer that is down, hangs, or is flooded with made-up kids.

const GOOD_KID: &str = "rsa-1";

fn made_up_kid(n: usize) -> String {
    rs256(&format!("made-up-{n}"), &claims(json!({})))
}

/// `n` logins at once, each with its own token.
async fn at_once(s: &Arc<Setup>, tokens: Vec<String>) -> Vec<Result<AuthOutcome, AuthError>> {
    let mut set = tokio::task::JoinSet::new();
    for token in tokens {
        let s = s.clone();
        set.spawn(async move { login(&s, &token).await });
    }
    set.join_all().await
}

/// Lets spawned tasks run (without moving paused time) until `done`.
async fn until(done: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the condition never held");
}

fn refresh_every(url: &str, secs: u64) -> Value {
    let mut cfg = issuer(url, by_username());
    cfg["min_refresh_secs"] = json!(secs);
    cfg
}

fn refused(result: &Result<AuthOutcome, AuthError>) -> bool {
    matches!(result, Err(AuthError::InvalidCredentials))
}

fn unavailable(result: &Result<AuthOutcome, AuthError>) -> bool {
    matches!(result, Err(e) if e.http_status() == 503)
}

/// An issuer that is up, refetched at most every 30 s, and one login whose
/// key is now cached; the server, the setup and that login's token.
async fn logged_in_once() -> (JwksServer, Arc<Setup>, String) {
    let server = serve(JWKS.to_owned()).await;
    let s = Arc::new(setup(refresh_every(&server.url, 30)));
    let good = rs256(GOOD_KID, &claims(json!({})));
    assert!(login(&s, &good).await.is_ok());
    (server, s, good)
}

#[tokio::test(start_paused = true)]
async fn a_failing_issuer_is_asked_at_most_once_per_interval() {
    let (server, s, good) = logged_in_once().await;
    server.set(Mode::Down);
    tokio::time::advance(Duration::from_secs(31)).await;
    // Made-up kids, one after another and all at once: one failed fetch.
    for n in 0..20 {
        assert!(refused(&login(&s, &made_up_kid(n)).await), "kid {n}");
    }
    let flood = at_once(&s, (20..70).map(made_up_kid).collect()).await;
    assert!(flood.iter().all(refused));
    assert_eq!(server.hits(), 2, "failed fetches are rate-limited too");
    assert!(login(&s, &good).await.is_ok(), "cached keys still log in");
    // The next interval allows one more attempt, and no more.
    tokio::time::advance(Duration::from_secs(31)).await;
    for n in 0..5 {
        assert!(refused(&login(&s, &made_up_kid(n)).await));
    }
    assert_eq!(server.hits(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_issuer_delays_neither_cached_logins_nor_the_flood_twice() {
    let (server, s, good) = logged_in_once().await;
    server.set(Mode::Hang);
    tokio::time::advance(Duration::from_secs(31)).await;
    let flood = {
        let s = s.clone();
        tokio::spawn(async move { at_once(&s, (0..50).map(made_up_kid).collect()).await })
    };
    until(|| server.hits() == 2).await;
    // The fetch hangs; a login whose key is cached does not wait for it.
    let cached = tokio::time::timeout(Duration::from_millis(100), login(&s, &good)).await;
    assert!(
        matches!(cached, Ok(Ok(_))),
        "a login with cached keys waited behind the fetch"
    );
    // The flood waited for the one fetch (until it timed out), and it alone.
    let flood = flood.await.unwrap();
    assert!(flood.iter().all(refused));
    assert_eq!(server.hits(), 2, "concurrent refreshes coalesce");
}

#[tokio::test(start_paused = true)]
async fn the_last_good_keys_outlive_the_cache_during_an_outage() {
    let (server, s, good) = logged_in_once().await;
    server.set(Mode::Down);
    // The default cache is an hour; let it lapse while the issuer is down.
    tokio::time::advance(Duration::from_secs(3601)).await;
    for _ in 0..5 {
        assert!(login(&s, &good).await.is_ok(), "the keys have not changed");
    }
    until(|| server.hits() == 2).await;
    assert!(login(&s, &good).await.is_ok());
    // Back up, and rotated: the refresh (in the background) picks it up.
    *server.body.lock().await = jwks_with(&["rsa-1", "ec-1"]);
    server.set(Mode::Up);
    tokio::time::advance(Duration::from_secs(31)).await;
    assert!(login(&s, &good).await.is_ok());
    until(|| server.hits() == 3).await;
    assert!(login(&s, &es256("ec-1", &claims(json!({})))).await.is_ok());
    assert_eq!(server.hits(), 3);
}

#[tokio::test(start_paused = true)]
async fn stale_keys_stop_at_the_maximum_staleness() {
    let server = serve(JWKS.to_owned()).await;
    let mut cfg = refresh_every(&server.url, 30);
    cfg["max_stale_secs"] = json!(7200);
    let s = Arc::new(setup(cfg));
    let good = rs256(GOOD_KID, &claims(json!({})));
    assert!(login(&s, &good).await.is_ok());
    server.set(Mode::Down);
    // Fresh for an hour, then usable for two more while fetches fail.
    tokio::time::advance(Duration::from_secs(3601)).await;
    assert!(
        login(&s, &good).await.is_ok(),
        "stale but within the maximum"
    );
    until(|| server.hits() == 2).await;
    tokio::time::advance(Duration::from_secs(7200)).await;
    assert!(unavailable(&login(&s, &good).await), "too stale to trust");
    assert!(unavailable(&login(&s, &good).await));
    assert_eq!(server.hits(), 3, "and still rate-limited");
    server.set(Mode::Up);
    tokio::time::advance(Duration::from_secs(31)).await;
    assert!(login(&s, &good).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn an_issuer_down_from_the_start_is_asked_once_per_interval() {
    let server = serve(JWKS.to_owned()).await;
    server.set(Mode::Down);
    let s = Arc::new(setup(refresh_every(&server.url, 30)));
    let good = rs256(GOOD_KID, &claims(json!({})));
    let flood = at_once(&s, vec![good.clone(); 50]).await;
    assert!(flood.iter().all(unavailable), "no keys yet: 503");
    for _ in 0..5 {
        assert!(unavailable(&login(&s, &good).await));
    }
    assert_eq!(server.hits(), 1);
    server.set(Mode::Up);
    tokio::time::advance(Duration::from_secs(31)).await;
    assert!(login(&s, &good).await.is_ok());
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn one_unusable_key_does_not_hide_the_others() {
    let mut set: Value = serde_json::from_str(JWKS).unwrap();
    let keys = set["keys"].as_array_mut().unwrap();
    keys.insert(0, json!({"kty": "RSA", "kid": "broken"}));
    keys.insert(
        0,
        json!({"kty": "XYZ", "kid": "future", "alg": "ML-DSA-65"}),
    );
    let server = serve(set.to_string()).await;
    let s = setup(issuer(&server.url, by_username()));
    assert!(
        login(&s, &rs256(GOOD_KID, &claims(json!({}))))
            .await
            .is_ok()
    );
    assert!(refused(
        &login(&s, &rs256("broken", &claims(json!({})))).await
    ));
}

// ---- ES512 and the fully-specified `Ed25519` name (RFC 9864), which
// jsonwebtoken 11 does not know: signed here with aws-lc-rs directly.

mod more_algorithms {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
    };
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn jws(alg: &str, kid: &str, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let header = json!({"alg": alg, "kid": kid, "typ": "JWT"});
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let signature = sign(input.as_bytes());
        format!("{input}.{}", b64(signature))
    }

    fn p521() -> EcdsaKeyPair {
        EcdsaKeyPair::generate(&ECDSA_P521_SHA512_FIXED_SIGNING).unwrap()
    }

    fn p521_jwk(key: &EcdsaKeyPair, kid: &str) -> Value {
        let point = key.public_key().as_ref();
        assert_eq!(point.len(), 133);
        json!({"kty": "EC", "crv": "P-521", "kid": kid, "alg": "ES512", "use": "sig",
               "x": b64(&point[1..67]), "y": b64(&point[67..])})
    }

    fn es512(key: &EcdsaKeyPair, kid: &str, claims: &Value) -> String {
        jws("ES512", kid, claims, |m| {
            key.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec()
        })
    }

    fn ed25519_jwk(key: &Ed25519KeyPair, kid: &str, alg: &str) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": alg,
               "x": b64(key.public_key().as_ref())})
    }

    fn eddsa(alg: &str, key: &Ed25519KeyPair, kid: &str, claims: &Value) -> String {
        jws(alg, kid, claims, |m| key.sign(m).as_ref().to_vec())
    }

    #[tokio::test]
    async fn es512_and_ed25519_tokens_log_in() {
        let (ec, ed, other) = (
            p521(),
            Ed25519KeyPair::generate().unwrap(),
            Ed25519KeyPair::generate().unwrap(),
        );
        let set = json!({"keys": [
            p521_jwk(&ec, "p521-1"),
            ed25519_jwk(&ed, "ed-1", "Ed25519"),
            ed25519_jwk(&ed, "ed-legacy", "EdDSA"),
        ]});
        let server = serve(set.to_string()).await;
        let mut cfg = issuer(&server.url, by_username());
        cfg["algorithms"] = json!(["ES512", "Ed25519", "EdDSA"]);
        let s = setup(cfg);
        let c = claims(json!({}));
        for token in [
            es512(&ec, "p521-1", &c),
            eddsa("Ed25519", &ed, "ed-1", &c),
            eddsa("EdDSA", &ed, "ed-1", &c),
            eddsa("Ed25519", &ed, "ed-legacy", &c),
        ] {
            let outcome = login(&s, &token).await;
            assert_eq!(outcome.unwrap().user_id(), Some("u-alice"), "{token}");
        }
        let mut tampered = es512(&ec, "p521-1", &c);
        tampered.replace_range(tampered.len() - 6.., "AAAAAA");
        let bad = [
            // Another key, another family's key, another issuer, audience.
            eddsa("Ed25519", &other, "ed-1", &c),
            es512(&ec, "ed-1", &c),
            eddsa("Ed25519", &ed, "p521-1", &c),
            es512(&ec, "p521-1", &claims(json!({"iss": "https://evil.test"}))),
            es512(&ec, "p521-1", &claims(json!({"aud": "someone-else"}))),
            es512(
                &ec,
                "p521-1",
                &claims(json!({"exp": now().timestamp() - 3600})),
            ),
            eddsa("Ed448", &ed, "ed-1", &c),
            tampered,
        ];
        for token in bad {
            assert!(refused(&login(&s, &token).await), "{token}");
        }
    }

    #[tokio::test]
    async fn es512_and_ed25519_must_be_allowed_by_name() {
        let (ec, ed) = (p521(), Ed25519KeyPair::generate().unwrap());
        let set = json!({"keys": [p521_jwk(&ec, "p521-1"), ed25519_jwk(&ed, "ed-1", "Ed25519")]});
        let server = serve(set.to_string()).await;
        let s = setup(issuer(&server.url, by_username()));
        let c = claims(json!({}));
        assert!(refused(&login(&s, &es512(&ec, "p521-1", &c)).await));
        assert!(refused(
            &login(&s, &eddsa("Ed25519", &ed, "ed-1", &c)).await
        ));
    }
}
