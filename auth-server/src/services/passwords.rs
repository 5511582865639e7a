//! Passwords: a user changing their own, an administrator resetting one,
//! and clearing a lockout.
//!
//! A changed or reset password ends every session the user has: a
//! revocation event for the user.

use auth_core::AuthError;
use auth_core::store::{PasswordRecord, User};
use auth_plugins::compliance::PasswordChange;
use secrecy::{ExposeSecret, SecretString};

use super::{Context, note_user, revocations};

/// The longest password accepted, as Keystone's schema.
const MAX_LENGTH: usize = 4096;

/// `password` checked against the rules for `change` and hashed into the
/// record to store for `user`.
pub(super) async fn new_record(
    cx: &Context<'_>,
    user: &User,
    password: SecretString,
    change: PasswordChange,
) -> Result<PasswordRecord, AuthError> {
    cx.compliance()
        .new_password(cx.hasher(), cx.storage(), user, password, change, cx.now())
        .await
}

/// The user `user_id` changing their own password, proving it with the
/// original one, which is the credential: as in Keystone this needs no
/// token (it is the way out of an expired password and of
/// `change_password_upon_first_use`). A wrong original password counts
/// towards lockout like a failed login (and an unknown user costs the same
/// hash); a locked account cannot change its password.
pub async fn change_own(
    cx: &Context<'_>,
    user_id: &str,
    original: SecretString,
    password: SecretString,
) -> Result<(), AuthError> {
    let new_len = password.expose_secret().len();
    if new_len == 0 || new_len > MAX_LENGTH {
        return Err(AuthError::bad_request(
            "the new password must be 1 to 4096 characters",
        ));
    }
    let storage = cx.storage();
    let now = cx.now();
    let user = match storage.get_user(user_id).await {
        Ok(user) => user,
        Err(AuthError::NotFound { .. }) => {
            // Spend what a real check costs, then fail like one.
            cx.hasher().verify_async(original, None).await?;
            return Err(AuthError::InvalidCredentials);
        }
        Err(e) => return Err(e),
    };
    note_user(&user.id, &user.domain_id);
    cx.compliance().ensure_unlocked(storage, &user, now).await?;
    let current = storage.current_password(&user.id).await?;
    let verified = cx
        .hasher()
        .verify_async(original, current.map(|c| c.hash))
        .await?;
    if verified.is_none() {
        cx.compliance().record_failure(storage, &user, now).await?;
        return Err(AuthError::InvalidCredentials);
    }
    if !user.enabled {
        return Err(AuthError::UserDisabled);
    }
    if user.options.lock_password {
        return Err(AuthError::bad_request(
            "You cannot change your password at this time.",
        ));
    }
    let record = new_record(cx, &user, password, PasswordChange::SelfService).await?;
    storage.set_password(&user.id, &record).await?;
    storage.record_auth_success(&user.id, now).await?;
    revocations::user(cx, &user.id).await
}

/// An administrator setting `user`'s password (the rules for a reset
/// apply; under `change_password_upon_first_use` it expires at once, so
/// the user must choose their own).
pub async fn reset(cx: &Context<'_>, user: &User, password: SecretString) -> Result<(), AuthError> {
    let record = new_record(cx, user, password, PasswordChange::Reset).await?;
    cx.storage().set_password(&user.id, &record).await?;
    note_user(&user.id, &user.domain_id);
    revocations::user(cx, &user.id).await
}

/// Clears `user`'s failed-login counter, lifting a lockout.
pub async fn unlock(cx: &Context<'_>, user: &User) -> Result<(), AuthError> {
    cx.storage().reset_auth_failures(&user.id).await?;
    note_user(&user.id, &user.domain_id);
    Ok(())
}
