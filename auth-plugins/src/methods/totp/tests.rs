use std::sync::Arc;

use auth_core::store::PasswordStore;
use auth_core::testkit::MemoryStore;
use auth_core::{AuthAttempt, AuthError, AuthOutcome, Clock, Engine, ManualClock, Stores};
use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;

/// Base32 of RFC 6238's SHA-1 test secret.
const BLOB: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const SECRET: &[u8] = b"12345678901234567890";

struct Setup {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
}

fn setup(shared: Value) -> Setup {
    let store = Arc::new(MemoryStore::new());
    store.add_user("u1", "alice");
    store.add_credential("cred-1", "u1", "totp", BLOB);
    store.add_user("u2", "bob");
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 10).unwrap(),
    ));
    let method =
        Totp::from_config(&PluginConfig::new(NAME, Value::Null).with_shared(shared)).unwrap();
    let engine = Engine::builder()
        .method(NAME, Arc::new(method))
        .stores(
            Stores::new()
                .with_users(store.clone())
                .with_passwords(store.clone())
                .with_credentials(store.clone()),
        )
        .clock(clock.clone())
        .build()
        .unwrap();
    Setup {
        engine,
        store,
        clock,
    }
}

async fn login(s: &Setup, user: Value, passcode: &str) -> Result<AuthOutcome, AuthError> {
    let mut user = user;
    user["passcode"] = json!(passcode);
    let body = json!({"auth": {"identity": {"methods": ["totp"], "totp": {"user": user}}}});
    s.engine.authenticate(AuthAttempt::from_json(body)).await
}

fn code(s: &Setup, offset_secs: i64) -> String {
    passcode_at(SECRET, s.clock.now() + Duration::seconds(offset_secs))
}

#[tokio::test]
async fn the_current_and_the_previous_window_are_accepted() {
    let s = setup(Value::Null);
    assert_eq!(
        login(&s, json!({"id": "u1"}), &code(&s, 0))
            .await
            .unwrap()
            .user_id(),
        Some("u1")
    );
    let by_name = json!({"name": "alice", "domain": {"id": "default"}});
    assert!(login(&s, by_name, &code(&s, -30)).await.is_ok());
    assert!(
        login(&s, json!({"id": "u1"}), &code(&s, -60))
            .await
            .is_err(),
        "two windows back"
    );
    assert!(
        login(&s, json!({"id": "u1"}), &code(&s, 30)).await.is_err(),
        "the next window"
    );
}

#[tokio::test]
async fn a_passcode_is_refused_when_replayed_within_its_validity() {
    let s = setup(Value::Null);
    let passcode = code(&s, 0);
    assert!(login(&s, json!({"id": "u1"}), &passcode).await.is_ok());
    let replay = login(&s, json!({"id": "u1"}), &passcode).await.unwrap_err();
    assert!(matches!(replay, AuthError::InvalidCredentials));
    // Still refused in the next step, while the code is a "previous window".
    s.clock.advance(Duration::seconds(30));
    assert!(login(&s, json!({"id": "u1"}), &passcode).await.is_err());
    assert!(login(&s, json!({"id": "u1"}), &code(&s, 0)).await.is_ok());
}

#[tokio::test]
async fn failures_count_towards_the_shared_lockout() {
    let s = setup(
        json!({"security_compliance": {"lockout_failure_attempts": 2, "lockout_duration": 300}}),
    );
    for _ in 0..2 {
        assert!(login(&s, json!({"id": "u1"}), "000000").await.is_err());
    }
    assert_eq!(s.store.auth_state("u1").await.unwrap().failed_auth_count, 2);
    let locked = login(&s, json!({"id": "u1"}), &code(&s, 0))
        .await
        .unwrap_err();
    // Answered as a wrong passcode, but known for what it is.
    assert!(matches!(
        locked,
        AuthError::AccountLocked {
            disclosed: false,
            ..
        }
    ));
    let wrong = AuthError::InvalidCredentials;
    assert_eq!(
        (locked.http_status(), locked.to_string()),
        (wrong.http_status(), wrong.to_string())
    );
    assert_eq!(
        s.store.auth_state("u1").await.unwrap().failed_auth_count,
        2,
        "the right code did not reset the counter"
    );
    s.clock.advance(Duration::seconds(300));
    assert!(login(&s, json!({"id": "u1"}), &code(&s, 0)).await.is_ok());
}

#[tokio::test]
async fn disclose_lockout_says_the_account_is_locked() {
    let s = setup(json!({"security_compliance": {
        "lockout_failure_attempts": 1, "disclose_lockout": true}}));
    assert!(login(&s, json!({"id": "u1"}), "000000").await.is_err());
    let locked = login(&s, json!({"id": "u1"}), &code(&s, 0))
        .await
        .unwrap_err();
    assert_eq!(locked.http_status(), 401);
    assert_eq!(locked.to_string(), "The account is locked for user: u1.");
}

#[tokio::test]
async fn unknown_users_users_without_secrets_and_wrong_codes_look_alike() {
    let s = setup(Value::Null);
    let right = code(&s, 0);
    for (user, passcode) in [
        (json!({"id": "ghost"}), right.as_str()),
        (json!({"id": "u2"}), right.as_str()),
        (json!({"id": "u1"}), "999999"),
        (json!({"id": "u1"}), "not digits"),
    ] {
        let e = login(&s, user, passcode).await.unwrap_err();
        assert_eq!(e.to_string(), AuthError::InvalidCredentials.to_string());
    }
}

#[tokio::test]
async fn a_disabled_user_is_refused_after_a_right_code() {
    let s = setup(Value::Null);
    s.store.update_user("u1", |u| u.enabled = false);
    assert!(matches!(
        login(&s, json!({"id": "u1"}), &code(&s, 0)).await,
        Err(AuthError::UserDisabled)
    ));
}

#[tokio::test]
async fn malformed_payloads_are_400s() {
    let s = setup(Value::Null);
    for user in [
        json!({"id": "u1", "passcode": 123456}),
        json!({"passcode": "123456"}),
        json!({"id": "u1"}),
    ] {
        let body = json!({"auth": {"identity": {"methods": ["totp"], "totp": {"user": user}}}});
        let e = s
            .engine
            .authenticate(AuthAttempt::from_json(body))
            .await
            .unwrap_err();
        assert_eq!(e.http_status(), 400, "{e}");
        assert!(!e.to_string().contains("123456"));
    }
}

#[test]
fn the_window_count_is_bounded() {
    let config = |n: u8| PluginConfig::new(NAME, json!({"included_previous_windows": n}));
    assert!(Totp::from_config(&config(10)).is_ok());
    assert!(Totp::from_config(&config(11)).is_err());
}

#[tokio::test]
async fn passes_the_conformance_kit() {
    use auth_core::testkit::conformance::{MethodCase, check};
    let s = setup(Value::Null);
    let method = Totp::from_config(&PluginConfig::empty(NAME)).unwrap();
    let right = code(&s, 0);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    check(
        MethodCase::new(
            NAME,
            Arc::new(method),
            Stores::new()
                .with_users(s.store.clone())
                .with_passwords(s.store.clone())
                .with_credentials(s.store.clone()),
            json!({"user": {"id": "u1", "passcode": right}}),
            vec![json!({"user": {"id": "u1", "passcode": wrong}}).into()],
        )
        .with_clock(s.clock.clone())
        .with_unknown_user(vec![
            json!({"user": {"id": "ghost", "passcode": code(&s, -30)}}).into(),
        ])
        .with_malformed(vec![
            json!({"user": {"passcode": "123456"}}),
            json!({"user": {"id": "u1"}}),
        ])
        .with_secrets([BLOB.to_owned(), right]),
    )
    .await;
}
