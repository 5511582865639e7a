//! Conformance: lockout under concurrency (issue 11, hole 4).
//!
//! The claim itself (`PasswordStore::claim_auth_attempt`) on each driver,
//! then the `password` and `totp` methods through the engine on that
//! driver, with 50 concurrent attempts. The hashes verified are counted by
//! the method's own hasher ([`PasswordHasher::counts`]): the number of
//! guesses checked, which is what the limit bounds.

use std::collections::BTreeSet;
use std::sync::Arc;

use auth_core::store::*;
use auth_core::{AuthAttempt, AuthError, Engine, ManualClock, PluginConfig, Stores};
use auth_plugins::compliance::SecurityCompliance;
use auth_plugins::hashing::{HashingConfig, PasswordHasher};
use auth_plugins::methods::{password, totp};
use chrono::Duration;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::harness::{Fixture, at, password as password_record, user};

/// The lockout threshold of these tests.
const LIMIT: u32 = 5;
/// Concurrent attempts.
const TASKS: usize = 50;
/// Base32 of RFC 6238's SHA-1 test secret.
const TOTP_BLOB: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

pub(crate) async fn claims_admit_at_most_the_limit_and_locks_run_out(f: &Fixture) {
    let s = &f.storage;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, None).await.unwrap();
    let duration = Some(Duration::seconds(60));
    let tasks: Vec<_> = (0..60)
        .map(|_| {
            let (s, id) = (f.storage.clone(), alice.id.clone());
            tokio::spawn(async move { s.claim_auth_attempt(&id, LIMIT, duration, at(1)).await })
        })
        .collect();
    let mut counts = BTreeSet::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            Some(state) => assert!(counts.insert(state.failed_auth_count)),
            None => refused += 1,
        }
    }
    assert_eq!(counts, (1..=LIMIT).collect::<BTreeSet<_>>());
    assert_eq!(refused, 60 - LIMIT as usize);
    let state = s.auth_state(&alice.id).await.unwrap();
    assert_eq!(
        (state.failed_auth_count, state.failed_auth_at),
        (5, Some(at(1)))
    );

    // Refused claims wrote nothing: the lock still runs from at(1).
    assert_eq!(
        s.claim_auth_attempt(&alice.id, LIMIT, duration, at(60))
            .await
            .unwrap(),
        None
    );
    let renewed = s
        .claim_auth_attempt(&alice.id, LIMIT, duration, at(61))
        .await
        .unwrap()
        .expect("the lock ran out");
    assert_eq!(
        (renewed.failed_auth_count, renewed.failed_auth_at),
        (1, Some(at(61)))
    );
    // Without a duration a lock never runs out.
    for _ in 1..LIMIT {
        s.claim_auth_attempt(&alice.id, LIMIT, None, at(62))
            .await
            .unwrap()
            .unwrap();
    }
    let far = at(1_000_000_000);
    assert!(
        s.claim_auth_attempt(&alice.id, LIMIT, None, far)
            .await
            .unwrap()
            .is_none()
    );

    // A release gives one back, never below zero; the rest stays.
    s.release_auth_attempt(&alice.id).await.unwrap();
    let state = s.auth_state(&alice.id).await.unwrap();
    assert_eq!(
        (state.failed_auth_count, state.failed_auth_at),
        (4, Some(at(62)))
    );
    s.reset_auth_failures(&alice.id).await.unwrap();
    s.release_auth_attempt(&alice.id).await.unwrap();
    assert_eq!(s.auth_state(&alice.id).await.unwrap().failed_auth_count, 0);

    for missing in [
        s.claim_auth_attempt("ghost", LIMIT, duration, at(1))
            .await
            .map(drop),
        s.release_auth_attempt("ghost").await,
    ] {
        assert!(
            matches!(missing, Err(AuthError::NotFound { .. })),
            "{missing:?}"
        );
    }
}

/// A login engine over the fixture's store, with `password` (hashing with
/// `hasher`) and `totp`, and a user `alice` whose password is `right` and
/// who has a TOTP secret.
struct Logins {
    engine: Arc<Engine>,
    hasher: PasswordHasher,
    user_id: String,
    clock: Arc<ManualClock>,
}

impl Logins {
    async fn new(f: &Fixture, compliance: Value, hashing: HashingConfig) -> Self {
        let alice = user("alice", DEFAULT_DOMAIN_ID);
        let hasher = PasswordHasher::new(hashing).unwrap();
        let hash = hasher.hash(&SecretString::from("right")).unwrap();
        let clock = Arc::new(ManualClock::new(at(0)));
        let mut record = password_record("", at(0));
        record.hash = hash;
        f.storage.create_user(&alice, Some(&record)).await.unwrap();
        f.storage
            .create_credential(&Credential::new(
                new_id(),
                alice.id.clone(),
                "totp",
                SecretString::from(TOTP_BLOB),
            ))
            .await
            .unwrap();
        let rules: SecurityCompliance = serde_json::from_value(compliance.clone()).unwrap();
        let shared = json!({ "security_compliance": compliance });
        let totp = totp::Totp::from_config(
            &PluginConfig::new(totp::NAME, Value::Null).with_shared(shared),
        )
        .unwrap();
        let engine = Engine::builder()
            .method(
                password::NAME,
                Arc::new(password::Password::new(hasher.clone(), rules)),
            )
            .method(totp::NAME, Arc::new(totp))
            .stores(Stores::from_storage(f.storage.clone()))
            .clock(clock.clone())
            .build()
            .unwrap();
        Self {
            engine: Arc::new(engine),
            hasher,
            user_id: alice.id,
            clock,
        }
    }

    /// A password login as alice, spawned.
    fn password(&self, password: &str) -> tokio::task::JoinHandle<Result<(), AuthError>> {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password":
            {"user": {"id": self.user_id, "password": password}}}}});
        let engine = self.engine.clone();
        tokio::spawn(async move {
            engine
                .authenticate(AuthAttempt::from_json(body))
                .await
                .map(drop)
        })
    }

    /// A TOTP login as alice, spawned.
    fn totp(&self, passcode: &str) -> tokio::task::JoinHandle<Result<(), AuthError>> {
        let body = json!({"auth": {"identity": {"methods": ["totp"], "totp":
            {"user": {"id": self.user_id, "passcode": passcode}}}}});
        let engine = self.engine.clone();
        tokio::spawn(async move {
            engine
                .authenticate(AuthAttempt::from_json(body))
                .await
                .map(drop)
        })
    }

    /// The passcode valid now.
    fn right_passcode(&self) -> String {
        let secret = totp::decode_secret(TOTP_BLOB).unwrap();
        totp::passcode_at(&secret, auth_core::Clock::now(self.clock.as_ref()))
    }

    /// A passcode valid in no accepted window (the current or the previous).
    fn wrong_passcode(&self, i: usize) -> String {
        let secret = totp::decode_secret(TOTP_BLOB).unwrap();
        let now = auth_core::Clock::now(self.clock.as_ref());
        let valid = [
            totp::passcode_at(&secret, now),
            totp::passcode_at(&secret, now - Duration::seconds(30)),
        ];
        (i..)
            .map(|n| format!("{:06}", n % 1_000_000))
            .find(|code| !valid.contains(code))
            .unwrap()
    }

    async fn failed_auth_count(&self, f: &Fixture) -> u32 {
        f.storage
            .auth_state(&self.user_id)
            .await
            .unwrap()
            .failed_auth_count
    }
}

/// A cheap hash (64 KiB): the count is under test, not the cost.
fn cheap() -> HashingConfig {
    HashingConfig {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    }
}

fn lockout() -> Value {
    json!({"lockout_failure_attempts": LIMIT, "lockout_duration": 600})
}

/// (a) Fifty concurrent wrong passwords: at most `LIMIT` of them are
/// checked against the stored hash; the rest are refused as locked, each
/// after a dummy hash, with the same answer.
pub(crate) async fn concurrent_wrong_passwords_check_at_most_the_limit(f: &Fixture) {
    let logins = Logins::new(f, lockout(), cheap()).await;
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| logins.password(&format!("wrong-{i}")))
        .collect();
    let mut answers = BTreeSet::new();
    for task in tasks {
        let e = task.await.unwrap().unwrap_err();
        answers.insert((e.http_status(), e.to_string()));
    }
    let counts = logins.hasher.counts();
    assert!(
        counts.verified <= u64::from(LIMIT),
        "{} hashes verified with a limit of {LIMIT}",
        counts.verified
    );
    assert_eq!(
        counts.verified + counts.dummy,
        TASKS as u64,
        "every answer cost a hash"
    );
    let wrong = AuthError::InvalidCredentials;
    assert_eq!(
        answers,
        BTreeSet::from([(wrong.http_status(), wrong.to_string())]),
        "locked and wrong answer alike"
    );
    assert_eq!(logins.failed_auth_count(f).await, LIMIT);

    // The next lockout window admits `LIMIT` more, no more.
    logins.clock.advance(Duration::seconds(600));
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| logins.password(&format!("again-{i}")))
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_err());
    }
    assert!(logins.hasher.counts().verified <= 2 * u64::from(LIMIT));
    assert_eq!(logins.failed_auth_count(f).await, LIMIT);
}

/// (b) A right password sent after `LIMIT` wrong ones are under way (and
/// their checks started) is refused, and does not reset the counter.
/// The hashes are slower here (4 MiB), so that the wrong ones are still
/// being checked when the right one arrives.
pub(crate) async fn a_right_password_after_the_limit_is_refused_and_resets_nothing(f: &Fixture) {
    let logins = Logins::new(
        f,
        lockout(),
        HashingConfig {
            memory_kib: 4096,
            iterations: 1,
            parallelism: 1,
        },
    )
    .await;
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| logins.password(&format!("wrong-{i}")))
        .collect();
    while logins.hasher.counts().verified < u64::from(LIMIT) {
        tokio::task::yield_now().await;
    }
    let right = logins.password("right");
    let refused = right.await.unwrap().unwrap_err();
    assert_eq!(
        refused.to_string(),
        AuthError::InvalidCredentials.to_string()
    );
    for task in tasks {
        assert!(task.await.unwrap().is_err(), "every attempt refused");
    }
    let state = f.storage.auth_state(&logins.user_id).await.unwrap();
    assert_eq!(state.failed_auth_count, LIMIT, "not reset");
    assert_eq!(state.last_active_at, None, "no login succeeded");
    assert!(logins.hasher.counts().verified <= u64::from(LIMIT));
    // Once the lock runs out, the right password works again.
    logins.clock.advance(Duration::seconds(600));
    logins.password("right").await.unwrap().unwrap();
    assert_eq!(logins.failed_auth_count(f).await, 0);
}

/// `totp` claims on the same counter as `password`: wrong passcodes and
/// wrong passwords sent together get `LIMIT` checks between them, and a
/// right passcode afterwards is refused.
pub(crate) async fn passwords_and_passcodes_share_one_limit(f: &Fixture) {
    let logins = Logins::new(f, lockout(), cheap()).await;
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            if i % 2 == 0 {
                logins.password(&format!("wrong-{i}"))
            } else {
                logins.totp(&logins.wrong_passcode(i))
            }
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_err());
    }
    assert_eq!(logins.failed_auth_count(f).await, LIMIT);
    assert!(logins.hasher.counts().verified <= u64::from(LIMIT));
    let right = logins.totp(&logins.right_passcode()).await.unwrap();
    assert_eq!(
        right.unwrap_err().to_string(),
        AuthError::InvalidCredentials.to_string()
    );
    assert_eq!(logins.failed_auth_count(f).await, LIMIT);
}

/// Users exempt from lockout are not claimed for: however many attempts,
/// their bookkeeping is only read.
pub(crate) async fn exempt_users_logins_write_nothing(f: &Fixture) {
    let logins = Logins::new(f, lockout(), cheap()).await;
    let mut alice = f.storage.get_user(&logins.user_id).await.unwrap();
    alice.options.ignore_lockout_failure_attempts = true;
    f.storage.update_user(&alice).await.unwrap();
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| logins.password(&format!("wrong-{i}")))
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_err());
    }
    assert_eq!(logins.hasher.counts().verified, TASKS as u64);
    assert_eq!(
        f.storage.auth_state(&logins.user_id).await.unwrap(),
        UserAuthState::default()
    );
    logins.password("right").await.unwrap().unwrap();
}
