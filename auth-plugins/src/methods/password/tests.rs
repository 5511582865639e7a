use std::sync::Arc;

use auth_core::store::{PasswordRecord, PasswordStore, UserAuthState};
use auth_core::testkit::MemoryStore;
use auth_core::{AuthAttempt, AuthError, AuthOutcome, Clock, Engine, ManualClock, Stores};
use chrono::{Duration, TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::*;
use crate::hashing::tests::fast;

struct Setup {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    method: Password,
}

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

async fn setup(compliance: SecurityCompliance) -> Setup {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
    ));
    let method = Password::new(fast(), compliance);
    store.add_user("u1", "alice");
    let record = PasswordRecord::new(
        method.hasher().hash(&secret("correct horse")).unwrap(),
        clock.now(),
    )
    .with_self_service(true);
    store.set_password("u1", &record).await.unwrap();
    store.add_user("u2", "nopassword");
    let engine = Engine::builder()
        .method(NAME, Arc::new(method.clone()))
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
        method,
    }
}

fn body(user: Value, password: &str) -> Value {
    let mut user = user;
    user["password"] = json!(password);
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}})
}

async fn login(s: &Setup, user: Value, password: &str) -> Result<AuthOutcome, AuthError> {
    s.engine
        .authenticate(AuthAttempt::from_json(body(user, password)))
        .await
}

fn by_name() -> Value {
    json!({"name": "alice", "domain": {"name": "Default"}})
}

#[tokio::test]
async fn the_right_password_by_id_or_by_name_authenticates() {
    let s = setup(SecurityCompliance::default()).await;
    for user in [
        json!({"id": "u1"}),
        by_name(),
        json!({"name": "alice", "domain": {"id": "default"}}),
    ] {
        let outcome = login(&s, user, "correct horse").await.unwrap();
        assert_eq!(outcome.user_id(), Some("u1"));
    }
    let state = s.store.auth_state("u1").await.unwrap();
    assert_eq!(state.last_active_at, Some(s.clock.now()));
}

#[tokio::test]
async fn a_wrong_password_an_unknown_user_and_a_missing_password_look_alike() {
    let s = setup(SecurityCompliance::default()).await;
    let errors = [
        login(&s, json!({"id": "u1"}), "wrong").await.unwrap_err(),
        login(&s, json!({"id": "nobody"}), "correct horse")
            .await
            .unwrap_err(),
        login(
            &s,
            json!({"name": "alice", "domain": {"name": "Nowhere"}}),
            "x",
        )
        .await
        .unwrap_err(),
        login(&s, json!({"id": "u2"}), "anything")
            .await
            .unwrap_err(),
    ];
    for e in &errors {
        assert_eq!(e.http_status(), 401);
        assert_eq!(e.to_string(), AuthError::InvalidCredentials.to_string());
    }
}

#[tokio::test]
async fn lockout_counts_failures_refuses_the_right_password_and_expires() {
    let s = setup(SecurityCompliance {
        lockout_failure_attempts: Some(3),
        lockout_duration: Some(600),
        ..SecurityCompliance::default()
    })
    .await;
    for _ in 0..3 {
        assert!(matches!(
            login(&s, json!({"id": "u1"}), "wrong").await,
            Err(AuthError::InvalidCredentials)
        ));
    }
    assert_eq!(s.store.auth_state("u1").await.unwrap().failed_auth_count, 3);
    let e = login(&s, json!({"id": "u1"}), "correct horse")
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::AccountLocked { .. }));
    assert_eq!(
        s.store.auth_state("u1").await.unwrap().failed_auth_count,
        3,
        "the right password did not reset the counter"
    );
    s.clock.advance(Duration::seconds(600));
    assert!(
        login(&s, json!({"id": "u1"}), "correct horse")
            .await
            .is_ok()
    );
    assert_eq!(s.store.auth_state("u1").await.unwrap().failed_auth_count, 0);
}

/// Item 7 of issue 11: by default a locked account is answered exactly as
/// a wrong password is (status, message) after the same work (a hash);
/// `disclose_lockout` gives Keystone's message at once.
#[tokio::test]
async fn a_locked_account_answers_as_a_wrong_password_after_a_hash() {
    let s = setup(SecurityCompliance {
        lockout_failure_attempts: Some(2),
        ..SecurityCompliance::default()
    })
    .await;
    for _ in 0..2 {
        let _ = login(&s, json!({"id": "u1"}), "wrong").await;
    }
    let hasher = s.method.hasher();
    let before = hasher.counts();
    let wrong_user = login(&s, json!({"id": "nobody"}), "wrong")
        .await
        .unwrap_err();
    let after_unknown = hasher.counts();
    assert_eq!(after_unknown.dummy, before.dummy + 1);
    for password in ["wrong", "correct horse"] {
        let locked = login(&s, json!({"id": "u1"}), password).await.unwrap_err();
        assert!(matches!(
            locked,
            AuthError::AccountLocked {
                disclosed: false,
                ..
            }
        ));
        assert_eq!(
            (locked.http_status(), locked.to_string()),
            (wrong_user.http_status(), wrong_user.to_string())
        );
    }
    let after = hasher.counts();
    assert_eq!(after.dummy, after_unknown.dummy + 2, "each cost a hash");
    assert_eq!(after.verified, before.verified, "no password was checked");

    let told = setup(SecurityCompliance {
        lockout_failure_attempts: Some(1),
        disclose_lockout: true,
        ..SecurityCompliance::default()
    })
    .await;
    let _ = login(&told, json!({"id": "u1"}), "wrong").await;
    let before = told.method.hasher().counts();
    let locked = login(&told, json!({"id": "u1"}), "correct horse")
        .await
        .unwrap_err();
    assert_eq!(locked.http_status(), 401);
    assert_eq!(locked.to_string(), "The account is locked for user: u1.");
    assert_eq!(told.method.hasher().counts(), before, "answered at once");
}

/// A right password that is refused all the same (disabled, expired) is
/// neither a failure nor a success: the counter stays as it was.
#[tokio::test]
async fn a_right_password_refused_for_another_reason_leaves_the_counter() {
    let s = setup(SecurityCompliance {
        lockout_failure_attempts: Some(3),
        ..SecurityCompliance::default()
    })
    .await;
    let _ = login(&s, json!({"id": "u1"}), "wrong").await;
    s.store.update_user("u1", |u| u.enabled = false);
    for _ in 0..5 {
        assert!(matches!(
            login(&s, json!({"id": "u1"}), "correct horse").await,
            Err(AuthError::UserDisabled)
        ));
    }
    assert_eq!(s.store.auth_state("u1").await.unwrap().failed_auth_count, 1);
}

#[tokio::test]
async fn exempt_users_are_never_locked() {
    let s = setup(SecurityCompliance {
        lockout_failure_attempts: Some(1),
        ..SecurityCompliance::default()
    })
    .await;
    s.store
        .update_user("u1", |u| u.options.ignore_lockout_failure_attempts = true);
    for _ in 0..5 {
        let _ = login(&s, json!({"id": "u1"}), "wrong").await;
    }
    assert_eq!(
        s.store.auth_state("u1").await.unwrap(),
        UserAuthState::default(),
        "their attempts write nothing"
    );
    assert!(
        login(&s, json!({"id": "u1"}), "correct horse")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn disabled_users_are_refused_only_with_the_right_password() {
    let s = setup(SecurityCompliance::default()).await;
    s.store.update_user("u1", |u| u.enabled = false);
    assert!(matches!(
        login(&s, json!({"id": "u1"}), "wrong").await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(matches!(
        login(&s, json!({"id": "u1"}), "correct horse").await,
        Err(AuthError::UserDisabled)
    ));
}

#[tokio::test]
async fn expired_passwords_are_refused_unless_exempt() {
    let s = setup(SecurityCompliance::default()).await;
    let record = PasswordRecord::new(
        s.method.hasher().hash(&secret("new one")).unwrap(),
        s.clock.now(),
    )
    .with_expires_at(s.clock.now() + Duration::days(1));
    s.store.set_password("u1", &record).await.unwrap();
    assert!(login(&s, json!({"id": "u1"}), "new one").await.is_ok());
    s.clock.advance(Duration::days(1));
    assert!(matches!(
        login(&s, json!({"id": "u1"}), "new one").await,
        Err(AuthError::PasswordExpired)
    ));
    s.store
        .update_user("u1", |u| u.options.ignore_password_expiry = true);
    assert!(login(&s, json!({"id": "u1"}), "new one").await.is_ok());
}

#[tokio::test]
async fn inactive_users_are_disabled_unless_exempt() {
    let s = setup(SecurityCompliance {
        disable_user_account_days_inactive: Some(30),
        ..SecurityCompliance::default()
    })
    .await;
    s.store.set_auth_state(
        "u1",
        UserAuthState::default().with_last_active_at(s.clock.now() - Duration::days(31)),
    );
    assert!(matches!(
        login(&s, json!({"id": "u1"}), "correct horse").await,
        Err(AuthError::UserDisabled)
    ));
    s.store
        .update_user("u1", |u| u.options.ignore_user_inactivity = true);
    assert!(
        login(&s, json!({"id": "u1"}), "correct horse")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn imported_keystone_hashes_are_rehashed_to_argon2id() {
    let s = setup(SecurityCompliance::default()).await;
    let bcrypt = PasswordRecord::new(
        secret("$2b$04$Pity8eEst1Pd15ti8kvneunu4/LoFm4KVMYJB5zVPJnJZAwdWAQMG"),
        s.clock.now(),
    );
    s.store.set_password("u1", &bcrypt).await.unwrap();
    assert!(
        login(&s, json!({"id": "u1"}), "correct horse")
            .await
            .is_ok()
    );
    let current = s.store.current_password("u1").await.unwrap().unwrap();
    assert!(current.hash.expose_secret().starts_with("$argon2id$"));
    assert!(
        login(&s, json!({"id": "u1"}), "correct horse")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn malformed_payloads_are_400s_that_do_not_echo_the_password() {
    let s = setup(SecurityCompliance::default()).await;
    for user in [
        json!({"id": "u1", "password": 12345678}),
        json!({"name": "alice", "password": "hunter2"}),
        json!({"password": "hunter2"}),
        json!("alice"),
    ] {
        let b =
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}});
        let e = s
            .engine
            .authenticate(AuthAttempt::from_json(b))
            .await
            .unwrap_err();
        assert_eq!(e.http_status(), 400, "{e}");
        assert!(
            !e.to_string().contains("hunter2") && !e.to_string().contains("12345678"),
            "{e}"
        );
    }
}

#[test]
fn the_config_reads_its_section_and_security_compliance() {
    let config = PluginConfig::new(
        NAME,
        json!({"hashing": {"memory_kib": 64, "iterations": 1, "parallelism": 1}}),
    )
    .with_shared(json!({"security_compliance": {"lockout_failure_attempts": 5}}));
    let method = Password::from_config(&config).unwrap();
    assert_eq!(method.compliance.lockout_failure_attempts, Some(5));
    let bad = PluginConfig::new(NAME, json!({"hashing": {"memory_kib": 1}}));
    assert!(Password::from_config(&bad).is_err());
}

#[tokio::test]
async fn passes_the_conformance_kit() {
    use auth_core::testkit::conformance::{MethodCase, check};
    let s = setup(SecurityCompliance::default()).await;
    let stores = Stores::new()
        .with_users(s.store.clone())
        .with_passwords(s.store.clone())
        .with_credentials(s.store.clone());
    check(
        MethodCase::new(
            NAME,
            Arc::new(s.method.clone()),
            stores,
            json!({"user": {"id": "u1", "password": "correct horse"}}),
            [json!({"user": {"id": "u1", "password": "Tr0ub4dor&3"}}).into()],
        )
        .with_clock(s.clock.clone())
        .with_unknown_user([json!({
            "user": {"name": "ghost", "domain": {"id": "default"}, "password": "correct horse"}
        })
        .into()])
        .with_malformed([
            json!({"user": {"password": "correct horse"}}),
            json!({"user": {"name": "alice", "password": "correct horse"}}),
            json!({}),
        ])
        .with_secrets(["correct horse", "Tr0ub4dor&3"]),
    )
    .await;
}

#[tokio::test]
async fn current_hashes_are_not_rehashed() {
    let s = setup(SecurityCompliance::default()).await;
    let before = s.store.current_password("u1").await.unwrap().unwrap();
    login(&s, json!({"id": "u1"}), "correct horse")
        .await
        .unwrap();
    let after = s.store.current_password("u1").await.unwrap().unwrap();
    assert_eq!(before.hash.expose_secret(), after.hash.expose_secret());
}
