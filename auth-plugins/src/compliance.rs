//! Security compliance: lockout, password expiry, forced change on first
//! use, disabling inactive accounts, and the rules a new password must meet
//! (pattern, history, minimum age), with Keystone's option names
//! (`[security_compliance]`) and each rule's per-user exemption.
//!
//! One section governs every method that checks a secret, so a guesser
//! cannot spread attempts across `password` and `totp`: both count failures
//! on the same per-user counter and both refuse a locked account.

use std::fmt;

use auth_core::AuthError;
use auth_core::store::{PasswordRecord, PasswordStore, User, UserAuthState};
use chrono::{DateTime, Duration, Utc};
use fancy_regex::Regex;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

use crate::hashing::PasswordHasher;

/// The name of the shared configuration section.
pub const SECTION: &str = "security_compliance";

/// `[security_compliance]`. Every rule is off unless configured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityCompliance {
    /// Failed attempts after which the account locks (exemption:
    /// `ignore_lockout_failure_attempts`).
    pub lockout_failure_attempts: Option<u32>,
    /// How long a lock lasts, in seconds; `None` locks until an
    /// administrator resets the counter. Keystone's default, 1800.
    pub lockout_duration: Option<u64>,
    /// Days after which a password expires (exemption:
    /// `ignore_password_expiry`).
    pub password_expires_days: Option<u32>,
    /// Passwords set by an administrator expire at once, so the user must
    /// choose their own (exemption: `ignore_change_password_upon_first_use`).
    pub change_password_upon_first_use: bool,
    /// Days without a successful login after which the account counts as
    /// disabled (exemption: `ignore_user_inactivity`). Activity is recorded
    /// once per day, at the day's first login (see
    /// [`SecurityCompliance::record_success`]), so an account may count as
    /// inactive up to a day sooner than its last login plus this; Keystone,
    /// which keeps the date only, does the same.
    pub disable_user_account_days_inactive: Option<u32>,
    /// How many passwords, the new one included, must differ: a new
    /// password may not repeat any of the last `n - 1`. 0 or 1: no history.
    pub unique_last_password_count: u32,
    /// Days a self-chosen password must be kept before the user may change
    /// it again (so the history cannot be cycled through at once). An
    /// administrator's reset is never held back.
    pub minimum_password_age: u32,
    /// A pattern every new password must match, checked when the
    /// configuration loads.
    pub password_regex: Option<PasswordRegex>,
    /// What `password_regex` demands, in words, for the error message.
    pub password_regex_description: Option<String>,
}

impl Default for SecurityCompliance {
    fn default() -> Self {
        Self {
            lockout_failure_attempts: None,
            lockout_duration: Some(1800),
            password_expires_days: None,
            change_password_upon_first_use: false,
            disable_user_account_days_inactive: None,
            unique_last_password_count: 0,
            minimum_password_age: 0,
            password_regex: None,
            password_regex_description: None,
        }
    }
}

/// A compiled `password_regex`; an invalid pattern fails deserialization,
/// so a bad configuration stops start-up instead of every password change.
/// `fancy_regex`, because Keystone's documented patterns use look-ahead
/// (`^(?=.*\d)(?=.*[a-zA-Z]).{7,}$`) and should keep working unchanged.
#[derive(Clone)]
pub struct PasswordRegex(Regex);

impl PasswordRegex {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Self, AuthError> {
        Regex::new(pattern).map(Self).map_err(|e| {
            AuthError::invalid_config("security_compliance", format!("password_regex: {e}"))
        })
    }
}

impl<'de> Deserialize<'de> for PasswordRegex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pattern = String::deserialize(deserializer)?;
        Self::new(&pattern).map_err(serde::de::Error::custom)
    }
}

impl PartialEq for PasswordRegex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for PasswordRegex {}

impl fmt::Debug for PasswordRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PasswordRegex")
            .field(&self.0.as_str())
            .finish()
    }
}

/// Who sets a new password, which decides the rules it must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// An administrator creating the user: the pattern.
    Create,
    /// An administrator resetting it: the pattern and the history.
    Reset,
    /// The user changing their own: the pattern, the minimum age and the
    /// history.
    SelfService,
}

/// Where an account stands with respect to lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// Attempts are allowed.
    Open,
    /// Locked: refuse every attempt, even a right one.
    Locked,
    /// It was locked and the lock has run out: clear the counter first.
    LockExpired,
}

impl SecurityCompliance {
    /// Whether failures of `user` count towards a lockout.
    pub fn counts_failures(&self, user: &User) -> bool {
        self.lockout_failure_attempts.is_some() && !user.options.ignore_lockout_failure_attempts
    }

    /// The user's lock state at `now`.
    pub fn lock_state(&self, user: &User, state: &UserAuthState, now: DateTime<Utc>) -> LockState {
        let Some(limit) = self.lockout_failure_attempts else {
            return LockState::Open;
        };
        if !self.counts_failures(user) || state.failed_auth_count < limit {
            return LockState::Open;
        }
        match (self.lockout_duration, state.failed_auth_at) {
            (Some(secs), Some(at)) if now >= at + seconds(secs) => LockState::LockExpired,
            _ => LockState::Locked,
        }
    }

    /// Whether `password` has expired for `user` at `now`.
    pub fn is_expired(&self, user: &User, password: &PasswordRecord, now: DateTime<Utc>) -> bool {
        !user.options.ignore_password_expiry && password.expires_at.is_some_and(|at| now >= at)
    }

    /// Whether `user` has been inactive too long at `now`. A user who never
    /// logged in counts as active (Keystone's behaviour).
    pub fn is_inactive(&self, user: &User, state: &UserAuthState, now: DateTime<Utc>) -> bool {
        match (
            self.disable_user_account_days_inactive,
            state.last_active_at,
        ) {
            (Some(days), Some(last)) if !user.options.ignore_user_inactivity => {
                now >= last + Duration::days(i64::from(days))
            }
            _ => false,
        }
    }

    /// When a password set at `now` should expire: at once for one an
    /// administrator set under `change_password_upon_first_use`, after
    /// `password_expires_days` otherwise, or never.
    pub fn expiry_for_new_password(
        &self,
        user: &User,
        now: DateTime<Utc>,
        self_service: bool,
    ) -> Option<DateTime<Utc>> {
        if self.change_password_upon_first_use
            && !self_service
            && !user.options.ignore_change_password_upon_first_use
        {
            return Some(now);
        }
        if user.options.ignore_password_expiry {
            return None;
        }
        self.password_expires_days
            .map(|days| now + Duration::days(i64::from(days)))
    }

    /// Checks `password` against the rules for `change` and hashes it into
    /// the record to store for `user` (whose expiry follows
    /// [`Self::expiry_for_new_password`]). The errors are Keystone's 400s;
    /// none quotes the password.
    pub async fn new_password(
        &self,
        hasher: &PasswordHasher,
        passwords: &dyn PasswordStore,
        user: &User,
        password: SecretString,
        change: PasswordChange,
        now: DateTime<Utc>,
    ) -> Result<PasswordRecord, AuthError> {
        // A pattern that gives up (its backtracking limit) refuses.
        if let Some(PasswordRegex(pattern)) = &self.password_regex
            && !pattern.is_match(password.expose_secret()).unwrap_or(false)
        {
            let why = self
                .password_regex_description
                .as_deref()
                .unwrap_or("it does not match the configured pattern");
            return Err(AuthError::bad_request(format!(
                "Password validation error: The password does not meet the requirements: {why}"
            )));
        }
        if change == PasswordChange::SelfService && self.minimum_password_age > 0 {
            let current = passwords.current_password(&user.id).await?;
            if let Some(current) = current.filter(|c| c.self_service) {
                let allowed =
                    current.created_at + Duration::days(i64::from(self.minimum_password_age));
                if now < allowed {
                    let days_left = ((allowed - now).num_seconds() + 86_399) / 86_400;
                    return Err(AuthError::bad_request(format!(
                        "You cannot change your password at this time due to the minimum \
                         password age. Once you change your password, it must be used for {} \
                         day(s) before it can be changed. Please try again in {days_left} day(s) \
                         or contact your administrator to reset your password.",
                        self.minimum_password_age
                    )));
                }
            }
        }
        if change != PasswordChange::Create && self.unique_last_password_count > 1 {
            let previous = passwords
                .password_history(&user.id, self.unique_last_password_count - 1)
                .await?;
            for record in previous {
                if hasher
                    .verify_async(password.clone(), Some(record.hash))
                    .await?
                    .is_some()
                {
                    return Err(AuthError::bad_request(format!(
                        "The new password cannot be identical to a previous password. The \
                         total number which includes the new password must be unique is {}.",
                        self.unique_last_password_count
                    )));
                }
            }
        }
        let self_service = change == PasswordChange::SelfService;
        let mut record = PasswordRecord::new(hasher.hash_async(password).await?, now)
            .with_self_service(self_service);
        record.expires_at = self.expiry_for_new_password(user, now, self_service);
        Ok(record)
    }

    /// Refuses a locked account; clears the counter of one whose lock ran
    /// out. Call before checking the secret.
    pub async fn ensure_unlocked(
        &self,
        passwords: &dyn PasswordStore,
        user: &User,
        now: DateTime<Utc>,
    ) -> Result<UserAuthState, AuthError> {
        let state = passwords.auth_state(&user.id).await?;
        match self.lock_state(user, &state, now) {
            LockState::Open => Ok(state),
            LockState::Locked => Err(AuthError::AccountLocked),
            LockState::LockExpired => {
                passwords.reset_auth_failures(&user.id).await?;
                let mut state = state;
                state.failed_auth_count = 0;
                state.failed_auth_at = None;
                Ok(state)
            }
        }
    }

    /// Records a successful login of `user`, whose bookkeeping read before
    /// the check was `state`: clears the failure counter and marks the day
    /// of activity. The write is skipped when it would change nothing, so
    /// a steady stream of logins costs no database write: the counter is
    /// already zero and `last_active_at` already falls on today (UTC).
    /// Inactivity is counted in whole days, as Keystone keeps
    /// `last_active_at` as a date.
    pub async fn record_success(
        &self,
        passwords: &dyn PasswordStore,
        user: &User,
        state: &UserAuthState,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let active_today = state
            .last_active_at
            .is_some_and(|last| last.date_naive() == now.date_naive());
        if state.failed_auth_count == 0 && active_today {
            return Ok(());
        }
        passwords.record_auth_success(&user.id, now).await
    }

    /// Counts one failure of `user` (if failures count for them).
    pub async fn record_failure(
        &self,
        passwords: &dyn PasswordStore,
        user: &User,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        if self.counts_failures(user) {
            passwords.record_auth_failure(&user.id, now).await?;
        }
        Ok(())
    }
}

fn seconds(secs: u64) -> Duration {
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use secrecy::SecretString;

    fn user() -> User {
        User::new("u", "alice", "default")
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    fn lockout(attempts: u32, duration: Option<u64>) -> SecurityCompliance {
        SecurityCompliance {
            lockout_failure_attempts: Some(attempts),
            lockout_duration: duration,
            ..SecurityCompliance::default()
        }
    }

    fn failures(count: u32, ago_secs: i64) -> UserAuthState {
        UserAuthState::default().with_failures(count, now() - Duration::seconds(ago_secs))
    }

    #[test]
    fn lockout_starts_at_the_threshold_and_ends_after_the_duration() {
        let c = lockout(3, Some(60));
        assert_eq!(
            c.lock_state(&user(), &failures(2, 0), now()),
            LockState::Open
        );
        assert_eq!(
            c.lock_state(&user(), &failures(3, 59), now()),
            LockState::Locked
        );
        assert_eq!(
            c.lock_state(&user(), &failures(3, 60), now()),
            LockState::LockExpired
        );
        let forever = lockout(3, None);
        assert_eq!(
            forever.lock_state(&user(), &failures(3, 999_999), now()),
            LockState::Locked
        );
    }

    #[test]
    fn the_exemption_and_the_default_leave_accounts_open() {
        let mut exempt = user();
        exempt.options.ignore_lockout_failure_attempts = true;
        assert_eq!(
            lockout(1, None).lock_state(&exempt, &failures(9, 0), now()),
            LockState::Open
        );
        assert!(!lockout(1, None).counts_failures(&exempt));
        let off = SecurityCompliance::default();
        assert_eq!(
            off.lock_state(&user(), &failures(99, 0), now()),
            LockState::Open
        );
    }

    #[test]
    fn expiry_and_its_exemption() {
        let c = SecurityCompliance::default();
        let record = PasswordRecord::new(SecretString::from("h".to_owned()), now())
            .with_expires_at(now())
            .with_self_service(true);
        assert!(c.is_expired(&user(), &record, now()));
        assert!(!c.is_expired(&user(), &record, now() - Duration::seconds(1)));
        let mut exempt = user();
        exempt.options.ignore_password_expiry = true;
        assert!(!c.is_expired(&exempt, &record, now()));
    }

    #[test]
    fn inactivity_and_its_exemption() {
        let c = SecurityCompliance {
            disable_user_account_days_inactive: Some(90),
            ..SecurityCompliance::default()
        };
        let active =
            |days| UserAuthState::default().with_last_active_at(now() - Duration::days(days));
        assert!(!c.is_inactive(&user(), &active(89), now()));
        assert!(c.is_inactive(&user(), &active(90), now()));
        assert!(
            !c.is_inactive(&user(), &UserAuthState::default(), now()),
            "never logged in"
        );
        let mut exempt = user();
        exempt.options.ignore_user_inactivity = true;
        assert!(!c.is_inactive(&exempt, &active(900), now()));
    }

    #[test]
    fn new_passwords_expire_by_the_rules() {
        let c = SecurityCompliance {
            password_expires_days: Some(30),
            change_password_upon_first_use: true,
            ..SecurityCompliance::default()
        };
        assert_eq!(
            c.expiry_for_new_password(&user(), now(), false),
            Some(now())
        );
        assert_eq!(
            c.expiry_for_new_password(&user(), now(), true),
            Some(now() + Duration::days(30))
        );
        let mut exempt = user();
        exempt.options.ignore_change_password_upon_first_use = true;
        exempt.options.ignore_password_expiry = true;
        assert_eq!(c.expiry_for_new_password(&exempt, now(), false), None);
    }

    /// A cheap hasher: the rules, not the cost, are under test.
    fn hasher() -> PasswordHasher {
        PasswordHasher::new(crate::hashing::HashingConfig {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    /// Sets `password` as `change` at `at`, as the server does.
    async fn set(
        c: &SecurityCompliance,
        store: &auth_core::testkit::MemoryStore,
        password: &str,
        change: PasswordChange,
        at: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let record = c
            .new_password(&hasher(), store, &user(), secret(password), change, at)
            .await?;
        store.set_password("u", &record).await
    }

    fn message(result: Result<(), AuthError>) -> String {
        match result {
            Err(AuthError::BadRequest(message)) => message,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_success_writes_only_when_it_changes_the_counter_or_the_day() {
        let store = auth_core::testkit::MemoryStore::new();
        let alice = store.add_user("u", "alice");
        let c = SecurityCompliance::default();
        let at = |state: UserAuthState, now| {
            store.set_auth_state("u", state.clone());
            let (store, c, alice) = (&store, &c, &alice);
            async move {
                c.record_success(store, alice, &state, now).await.unwrap();
                store.auth_state("u").await.unwrap()
            }
        };
        let earlier_today = now() - Duration::hours(11);
        let active = |last| UserAuthState::default().with_last_active_at(last);
        // Already active today with no failures: nothing to write.
        assert_eq!(
            at(active(earlier_today), now()).await,
            active(earlier_today)
        );
        // Never active, active yesterday, or with failures: written.
        assert_eq!(at(UserAuthState::default(), now()).await, active(now()));
        let yesterday = now() - Duration::hours(13);
        assert_eq!(at(active(yesterday), now()).await, active(now()));
        let mut failed = active(earlier_today);
        failed.failed_auth_count = 2;
        assert_eq!(at(failed, now()).await.failed_auth_count, 0);
    }

    #[tokio::test]
    async fn the_pattern_applies_to_every_new_password_and_keystones_look_aheads_work() {
        let c: SecurityCompliance = serde_json::from_value(serde_json::json!({
            "password_regex": "^(?=.*\\d)(?=.*[a-zA-Z]).{7,}$",
            "password_regex_description": "at least 7 characters, a letter and a digit",
        }))
        .unwrap();
        let store = auth_core::testkit::MemoryStore::new();
        store.put_user(user());
        for change in [
            PasswordChange::Create,
            PasswordChange::Reset,
            PasswordChange::SelfService,
        ] {
            let refused = message(set(&c, &store, "lettersonly", change, now()).await);
            assert!(
                refused.ends_with("at least 7 characters, a letter and a digit"),
                "{refused}"
            );
            assert!(
                !refused.contains("lettersonly"),
                "the password is never echoed"
            );
            set(&c, &store, &format!("s3cret-{change:?}"), change, now())
                .await
                .unwrap();
        }
        let invalid = serde_json::from_value::<SecurityCompliance>(
            serde_json::json!({"password_regex": "(unclosed"}),
        );
        assert!(invalid.unwrap_err().to_string().contains("password_regex"));
    }

    #[tokio::test]
    async fn the_history_refuses_the_last_n_minus_one_passwords_except_at_creation() {
        let c = SecurityCompliance {
            unique_last_password_count: 3,
            ..SecurityCompliance::default()
        };
        let store = auth_core::testkit::MemoryStore::new();
        store.put_user(user());
        set(&c, &store, "first", PasswordChange::Create, now())
            .await
            .unwrap();
        set(&c, &store, "second", PasswordChange::SelfService, now())
            .await
            .unwrap();
        for change in [PasswordChange::Reset, PasswordChange::SelfService] {
            for old in ["first", "second"] {
                let refused = message(set(&c, &store, old, change, now()).await);
                assert!(refused.contains("must be unique is 3"), "{refused}");
            }
        }
        set(&c, &store, "third", PasswordChange::Reset, now())
            .await
            .unwrap();
        // "first" is now three passwords back: allowed again.
        set(&c, &store, "first", PasswordChange::SelfService, now())
            .await
            .unwrap();
        // Without the rule, repeats are fine.
        let off = SecurityCompliance::default();
        set(&off, &store, "first", PasswordChange::SelfService, now())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_minimum_age_holds_back_only_the_users_own_changes() {
        let c = SecurityCompliance {
            minimum_password_age: 2,
            ..SecurityCompliance::default()
        };
        let store = auth_core::testkit::MemoryStore::new();
        store.put_user(user());
        // An administrator's password may be changed at once.
        set(&c, &store, "by-admin", PasswordChange::Create, now())
            .await
            .unwrap();
        set(&c, &store, "mine", PasswordChange::SelfService, now())
            .await
            .unwrap();
        let hour_later = now() + Duration::hours(1);
        let refused =
            message(set(&c, &store, "again", PasswordChange::SelfService, hour_later).await);
        assert!(
            refused.contains("Please try again in 2 day(s)"),
            "{refused}"
        );
        let day_later = now() + Duration::days(1) + Duration::hours(1);
        let refused =
            message(set(&c, &store, "again", PasswordChange::SelfService, day_later).await);
        assert!(
            refused.contains("Please try again in 1 day(s)"),
            "{refused}"
        );
        // An administrator's reset is never held back; then the user may change it.
        set(&c, &store, "reset", PasswordChange::Reset, hour_later)
            .await
            .unwrap();
        set(
            &c,
            &store,
            "mine-2",
            PasswordChange::SelfService,
            hour_later,
        )
        .await
        .unwrap();
        let two_days = hour_later + Duration::days(2);
        set(&c, &store, "mine-3", PasswordChange::SelfService, two_days)
            .await
            .unwrap();
    }
}
