//! Security compliance: lockout, password expiry, forced change on first
//! use, disabling inactive accounts, and the rules a new password must meet
//! (pattern, history, minimum age), with Keystone's option names
//! (`[security_compliance]`) and each rule's per-user exemption.
//!
//! One section governs every method that checks a secret, so a guesser
//! cannot spread attempts across `password` and `totp`: both count failures
//! on the same per-user counter and both refuse a locked account.
//!
//! # Lockout under concurrency
//!
//! An attempt is counted *before* its secret is checked
//! ([`SecurityCompliance::begin_attempt`] claims it in the store, in one
//! atomic step), and a right secret gives the claim back. Checking first
//! and counting afterwards let every attempt already in flight through:
//! with a limit of 5, fifty simultaneous guesses were all checked, and a
//! right password among them, sent after the fifth, was accepted and reset
//! the counter. Now at most `lockout_failure_attempts` secrets are checked
//! per lockout, however many arrive at once. The price: attempts still in
//! flight count towards the limit, so one account cannot have more than
//! that many logins under way at once (service accounts that log in in
//! parallel get `ignore_lockout_failure_attempts`, whose logins write
//! nothing); and a claimed login writes twice (the claim, and its release
//! on success) where it wrote nothing when there was nothing to clear.
//! Users exempt from lockout, and deployments without it, keep the
//! write-free login. An attempt cut short by an error after its claim (the
//! database going away) stays counted as a failure.
//!
//! # What a locked account is told
//!
//! By default nothing: it is refused exactly as a wrong secret is, with the
//! same status and body after the same work (a dummy hash), so a guesser
//! cannot tell when their guesses stopped being checked, nor which
//! accounts they locked. The error's kind (`account_locked`) keeps the
//! truth for events and the audit log. `disclose_lockout = true` restores
//! Keystone's answer, `The account is locked for user: <id>.`, given at
//! once without checking the secret.

use std::fmt;

use auth_core::AuthError;
use auth_core::store::{PasswordRecord, PasswordStore, User, UserAuthState};
use chrono::{DateTime, Duration, Utc};
use fancy_regex::Regex;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

use crate::hashing::{PasswordHasher, Verified};

/// The name of the shared configuration section.
pub const SECTION: &str = "security_compliance";

/// `[security_compliance]`. Every rule is off unless configured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityCompliance {
    /// Failed attempts after which the account locks (exemption:
    /// `ignore_lockout_failure_attempts`); at least 1, as in Keystone.
    /// Attempts still being checked count too (see the module
    /// documentation).
    #[serde(deserialize_with = "at_least_one")]
    pub lockout_failure_attempts: Option<u32>,
    /// How long a lock lasts, in seconds from the last counted attempt;
    /// `None` locks until an administrator resets the counter. Keystone's
    /// default, 1800.
    pub lockout_duration: Option<u64>,
    /// Whether a locked account is told so, with Keystone's 401 `The
    /// account is locked for user: <id>.`, at once. Off by default: a
    /// locked account is answered exactly as a wrong secret, with the same
    /// work, so that nobody learns that guessing stopped counting or which
    /// accounts are locked (events and the audit log still say
    /// `account_locked`).
    pub disclose_lockout: bool,
    /// Days after which a password expires (exemption:
    /// `ignore_password_expiry`).
    pub password_expires_days: Option<u32>,
    /// Passwords set by an administrator expire at once, so the user must
    /// choose their own (exemption: `ignore_change_password_upon_first_use`).
    pub change_password_upon_first_use: bool,
    /// Days without a successful login after which the account counts as
    /// disabled (exemption: `ignore_user_inactivity`). Activity is recorded
    /// once per day, at the day's first login (see
    /// [`Attempt::succeeded`]), so an account may count as
    /// inactive up to a day sooner than its last login plus this; Keystone,
    /// which keeps the date only, does the same.
    pub disable_user_account_days_inactive: Option<u32>,
    /// How many of the user's most recent passwords, the current one
    /// included, a new password of their own may not repeat: 1 refuses the
    /// current password, 3 the current one and the two before it; 0 (the
    /// default) keeps no history. As in Keystone, only a user changing
    /// their own password is held to it, not an administrator's reset.
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
            disclose_lockout: false,
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

/// `lockout_failure_attempts`: unset, or at least 1 (Keystone's minimum;
/// 0 would lock every account for good).
fn at_least_one<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    match Option::<u32>::deserialize(deserializer)? {
        Some(0) => Err(serde::de::Error::custom(
            "lockout_failure_attempts must be at least 1 (leave it out to turn lockout off)",
        )),
        attempts => Ok(attempts),
    }
}

/// Who sets a new password, which decides the rules it must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// An administrator creating the user: the pattern.
    Create,
    /// An administrator resetting it: the pattern (Keystone holds an
    /// administrator to neither the history nor the minimum age).
    Reset,
    /// The user changing their own: the pattern, the minimum age and the
    /// history.
    SelfService,
}

/// One attempt at a user's secret that lockout let through
/// ([`SecurityCompliance::begin_attempt`]).
///
/// When failures count for the user, the attempt has already been counted
/// as one, so a wrong secret needs nothing more: drop the attempt. A right
/// secret ends it with [`Attempt::succeeded`], or with [`Attempt::refused`]
/// when the login is refused all the same (a disabled user, an expired
/// password).
#[derive(Debug)]
pub struct Attempt {
    user_id: String,
    state: UserAuthState,
    claimed: bool,
}

impl Attempt {
    /// The user's bookkeeping as the attempt found it; after a claim, as
    /// the claim left it (its count includes this attempt).
    pub fn state(&self) -> &UserAuthState {
        &self.state
    }

    /// Records a successful login: clears the failure counter (giving the
    /// claim back) and marks the day of activity. Without a claim (the user
    /// is exempt from lockout, or it is off) the write is skipped when it
    /// would change nothing, so a steady stream of logins costs no database
    /// write: the counter is already zero and `last_active_at` already
    /// falls on today (UTC). Inactivity is counted in whole days, as
    /// Keystone keeps `last_active_at` as a date.
    pub async fn succeeded(
        self,
        passwords: &dyn PasswordStore,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let active_today = self
            .state
            .last_active_at
            .is_some_and(|last| last.date_naive() == now.date_naive());
        if !self.claimed && self.state.failed_auth_count == 0 && active_today {
            return Ok(());
        }
        passwords.record_auth_success(&self.user_id, now).await
    }

    /// Ends an attempt whose secret was right but whose login is refused
    /// for another reason: gives its claim back, since Keystone counts
    /// such a refusal neither as a failure nor as a success.
    pub async fn refused(self, passwords: &dyn PasswordStore) -> Result<(), AuthError> {
        if self.claimed {
            passwords.release_auth_attempt(&self.user_id).await?;
        }
        Ok(())
    }
}

/// A password that verified ([`SecurityCompliance::check_password`]).
#[derive(Debug)]
pub struct CheckedPassword {
    /// The attempt, to end with [`Attempt::succeeded`] or
    /// [`Attempt::refused`].
    pub attempt: Attempt,
    /// The user's current password.
    pub current: PasswordRecord,
    /// What the verification found (whether to re-hash).
    pub verified: Verified,
}

impl SecurityCompliance {
    /// Whether failures of `user` count towards a lockout.
    pub fn counts_failures(&self, user: &User) -> bool {
        self.lockout_failure_attempts.is_some() && !user.options.ignore_lockout_failure_attempts
    }

    /// Lets one attempt at `user`'s secret through lockout, or answers
    /// `None` when the account is locked: then check nothing and refuse
    /// with [`SecurityCompliance::locked`] (after the work of a wrong
    /// secret, unless `disclose_lockout`). When failures count for `user`
    /// the attempt is claimed in the store, atomically, and so counted as
    /// a failure until it succeeds; otherwise the bookkeeping is only read.
    pub async fn begin_attempt(
        &self,
        passwords: &dyn PasswordStore,
        user: &User,
        now: DateTime<Utc>,
    ) -> Result<Option<Attempt>, AuthError> {
        let attempt = |state, claimed| Attempt {
            user_id: user.id.clone(),
            state,
            claimed,
        };
        match self.lockout_failure_attempts {
            Some(limit) if self.counts_failures(user) => {
                let duration = self.lockout_duration.map(seconds);
                let claimed = passwords
                    .claim_auth_attempt(&user.id, limit, duration, now)
                    .await?;
                Ok(claimed.map(|state| attempt(state, true)))
            }
            _ => Ok(Some(attempt(passwords.auth_state(&user.id).await?, false))),
        }
    }

    /// What a locked account is refused with: an
    /// [`AuthError::AccountLocked`] that reads as a wrong secret unless
    /// `disclose_lockout`.
    pub fn locked(&self, user: &User) -> AuthError {
        AuthError::AccountLocked {
            user_id: user.id.clone(),
            disclosed: self.disclose_lockout,
        }
    }

    /// Checks `password` against `user`'s current password under the
    /// lockout rules: a locked account is refused (with
    /// [`SecurityCompliance::locked`], after a dummy verification unless
    /// `disclose_lockout`), a wrong password (or none stored) with
    /// [`AuthError::InvalidCredentials`] and counted. A right one comes
    /// back with its [`Attempt`], for the caller to end once it has
    /// decided the rest (enabled, expired).
    pub async fn check_password(
        &self,
        hasher: &PasswordHasher,
        passwords: &dyn PasswordStore,
        user: &User,
        password: SecretString,
        now: DateTime<Utc>,
    ) -> Result<CheckedPassword, AuthError> {
        let Some(attempt) = self.begin_attempt(passwords, user, now).await? else {
            if !self.disclose_lockout {
                hasher.verify_async(password, None).await?;
            }
            return Err(self.locked(user));
        };
        let current = passwords.current_password(&user.id).await?;
        let stored_hash = current.as_ref().map(|record| record.hash.clone());
        match (hasher.verify_async(password, stored_hash).await?, current) {
            (Some(verified), Some(current)) => Ok(CheckedPassword {
                attempt,
                current,
                verified,
            }),
            // The claim has counted it.
            _ => Err(AuthError::InvalidCredentials),
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
        // Keystone's `_validate_password_history`, which only its
        // self-service `change_password` calls: the last n stored
        // passwords, the current one included.
        if change == PasswordChange::SelfService && self.unique_last_password_count > 0 {
            let previous = passwords
                .password_history(&user.id, self.unique_last_password_count)
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
}

/// `secs` as a duration, the longest one chrono has if it is longer.
fn seconds(secs: u64) -> Duration {
    i64::try_from(secs)
        .ok()
        .and_then(Duration::try_seconds)
        .unwrap_or(Duration::MAX)
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

    /// Begins `n` attempts at `at`; how many were let through.
    async fn attempts(
        c: &SecurityCompliance,
        store: &auth_core::testkit::MemoryStore,
        user: &User,
        n: u32,
        at: DateTime<Utc>,
    ) -> u32 {
        let mut through = 0;
        for _ in 0..n {
            if c.begin_attempt(store, user, at).await.unwrap().is_some() {
                through += 1;
            }
        }
        through
    }

    #[tokio::test]
    async fn lockout_starts_at_the_threshold_and_ends_after_the_duration() {
        let store = auth_core::testkit::MemoryStore::new();
        let c = lockout(3, Some(60));
        assert_eq!(attempts(&c, &store, &user(), 5, now()).await, 3);
        assert_eq!(store.auth_state("u").await.unwrap(), failures(3, 0));
        let later = |secs| now() + Duration::seconds(secs);
        assert_eq!(attempts(&c, &store, &user(), 1, later(59)).await, 0);
        assert_eq!(
            store.auth_state("u").await.unwrap(),
            failures(3, 0),
            "a refused attempt neither counts nor extends the lock"
        );
        // The lock ran out: a new count starts with this attempt.
        let attempt = c.begin_attempt(&store, &user(), later(60)).await.unwrap();
        assert_eq!(attempt.unwrap().state().failed_auth_count, 1);
        assert_eq!(attempts(&c, &store, &user(), 5, later(60)).await, 2);

        let forever = lockout(3, None);
        let store = auth_core::testkit::MemoryStore::new();
        assert_eq!(attempts(&forever, &store, &user(), 3, now()).await, 3);
        assert_eq!(
            attempts(&forever, &store, &user(), 1, later(999_999)).await,
            0
        );
    }

    #[tokio::test]
    async fn a_right_secret_gives_its_claim_back() {
        let store = auth_core::testkit::MemoryStore::new();
        let c = lockout(3, Some(60));
        assert_eq!(attempts(&c, &store, &user(), 2, now()).await, 2);
        // Refused for another reason (disabled, expired): not a failure,
        // and the earlier failures stay.
        let refused = c.begin_attempt(&store, &user(), now()).await.unwrap();
        refused.unwrap().refused(&store).await.unwrap();
        assert_eq!(store.auth_state("u").await.unwrap().failed_auth_count, 2);
        // A success clears them all.
        let success = c.begin_attempt(&store, &user(), now()).await.unwrap();
        success.unwrap().succeeded(&store, now()).await.unwrap();
        let state = store.auth_state("u").await.unwrap();
        assert_eq!(
            (state.failed_auth_count, state.last_active_at),
            (0, Some(now()))
        );
    }

    #[tokio::test]
    async fn the_exemption_and_the_default_count_nothing_and_write_nothing() {
        let mut exempt = user();
        exempt.options.ignore_lockout_failure_attempts = true;
        assert!(!lockout(1, None).counts_failures(&exempt));
        for (c, who) in [
            (lockout(1, None), exempt),
            (SecurityCompliance::default(), user()),
        ] {
            let store = auth_core::testkit::MemoryStore::new();
            store.set_auth_state("u", failures(99, 0));
            assert_eq!(attempts(&c, &store, &who, 5, now()).await, 5);
            assert_eq!(
                store.auth_state("u").await.unwrap(),
                failures(99, 0),
                "beginning an attempt only read"
            );
        }
    }

    #[test]
    fn lockout_after_zero_failures_is_refused_as_keystone_does() {
        let zero = serde_json::from_value::<SecurityCompliance>(
            serde_json::json!({"lockout_failure_attempts": 0}),
        );
        assert!(
            zero.unwrap_err()
                .to_string()
                .contains("lockout_failure_attempts must be at least 1")
        );
        let one: SecurityCompliance =
            serde_json::from_value(serde_json::json!({"lockout_failure_attempts": 1})).unwrap();
        assert_eq!(one.lockout_failure_attempts, Some(1));
        let huge: SecurityCompliance = serde_json::from_value(
            serde_json::json!({"lockout_failure_attempts": 1, "lockout_duration": u64::MAX}),
        )
        .unwrap();
        assert_eq!(huge.lockout_duration.map(seconds), Some(Duration::MAX));
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
    async fn without_lockout_a_success_writes_only_when_it_changes_the_counter_or_the_day() {
        let store = auth_core::testkit::MemoryStore::new();
        let alice = store.add_user("u", "alice");
        let c = SecurityCompliance::default();
        let at = |state: UserAuthState, now| {
            store.set_auth_state("u", state);
            let (store, c, alice) = (&store, &c, &alice);
            async move {
                let attempt = c.begin_attempt(store, alice, now).await.unwrap().unwrap();
                attempt.succeeded(store, now).await.unwrap();
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

    /// Keystone's `PasswordHistoryValidationTests`, case by case.
    #[tokio::test]
    async fn the_history_covers_the_last_n_passwords_the_current_one_included() {
        let c = SecurityCompliance {
            unique_last_password_count: 3,
            ..SecurityCompliance::default()
        };
        let store = auth_core::testkit::MemoryStore::new();
        store.put_user(user());
        let own = PasswordChange::SelfService;
        set(&c, &store, "p0", PasswordChange::Create, now())
            .await
            .unwrap();
        // The current password is in the history.
        let refused = message(set(&c, &store, "p0", own, now()).await);
        assert!(refused.contains("must be unique is 3"), "{refused}");
        for new in ["p1", "p2"] {
            set(&c, &store, new, own, now()).await.unwrap();
        }
        // The last three are p0, p1 and p2 (the current one).
        for old in ["p0", "p1", "p2"] {
            assert!(set(&c, &store, old, own, now()).await.is_err(), "{old}");
        }
        set(&c, &store, "p3", own, now()).await.unwrap();
        // p0 is four passwords back now: allowed again.
        set(&c, &store, "p0", own, now()).await.unwrap();
    }

    #[tokio::test]
    async fn one_refuses_only_the_current_password_and_zero_nothing() {
        let store = auth_core::testkit::MemoryStore::new();
        store.put_user(user());
        let own = PasswordChange::SelfService;
        let one = SecurityCompliance {
            unique_last_password_count: 1,
            ..SecurityCompliance::default()
        };
        set(&one, &store, "p0", PasswordChange::Create, now())
            .await
            .unwrap();
        let refused = message(set(&one, &store, "p0", own, now()).await);
        assert!(refused.contains("must be unique is 1"), "{refused}");
        set(&one, &store, "p1", own, now()).await.unwrap();
        set(&one, &store, "p0", own, now()).await.unwrap();
        let off = SecurityCompliance::default();
        set(&off, &store, "p0", own, now()).await.unwrap();
        set(&off, &store, "p0", own, now()).await.unwrap();
    }

    #[tokio::test]
    async fn an_administrators_password_is_never_held_to_the_history() {
        let c = SecurityCompliance {
            unique_last_password_count: 3,
            ..SecurityCompliance::default()
        };
        let store = auth_core::testkit::MemoryStore::new();
        store.put_user(user());
        for (password, change) in [
            ("p0", PasswordChange::Create),
            ("p1", PasswordChange::Reset),
            ("p1", PasswordChange::Reset),
            ("p0", PasswordChange::Reset),
        ] {
            set(&c, &store, password, change, now()).await.unwrap();
        }
        // The user, though, is held to it, whoever set the passwords.
        for old in ["p0", "p1"] {
            let own = set(&c, &store, old, PasswordChange::SelfService, now()).await;
            assert!(message(own).contains("must be unique is 3"));
        }
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
