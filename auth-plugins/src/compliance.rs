//! Security compliance: lockout, password expiry, forced change on first
//! use, and disabling inactive accounts, with Keystone's option names
//! (`[security_compliance]`) and each rule's per-user exemption.
//!
//! One section governs every method that checks a secret, so a guesser
//! cannot spread attempts across `password` and `totp`: both count failures
//! on the same per-user counter and both refuse a locked account.

use auth_core::AuthError;
use auth_core::store::{PasswordRecord, PasswordStore, User, UserAuthState};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

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
    /// disabled (exemption: `ignore_user_inactivity`).
    pub disable_user_account_days_inactive: Option<u32>,
}

impl Default for SecurityCompliance {
    fn default() -> Self {
        Self {
            lockout_failure_attempts: None,
            lockout_duration: Some(1800),
            password_expires_days: None,
            change_password_upon_first_use: false,
            disable_user_account_days_inactive: None,
        }
    }
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
                Ok(UserAuthState {
                    failed_auth_count: 0,
                    failed_auth_at: None,
                    ..state
                })
            }
        }
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
    use auth_core::store::UserOptions;
    use chrono::TimeZone;
    use secrecy::SecretString;

    fn user() -> User {
        User {
            id: "u".into(),
            name: "alice".into(),
            domain_id: "default".into(),
            enabled: true,
            default_project_id: None,
            options: UserOptions::default(),
            extra: Default::default(),
        }
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
        UserAuthState {
            failed_auth_count: count,
            failed_auth_at: Some(now() - Duration::seconds(ago_secs)),
            last_active_at: None,
        }
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
        let record = PasswordRecord {
            hash: SecretString::from("h".to_owned()),
            created_at: now(),
            expires_at: Some(now()),
            self_service: true,
        };
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
        let active = |days| UserAuthState {
            last_active_at: Some(now() - Duration::days(days)),
            ..UserAuthState::default()
        };
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
}
