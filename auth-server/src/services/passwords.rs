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
/// towards lockout like a failed login, and is counted before it is
/// checked, as a login is (an unknown user costs the same hash); a locked
/// account cannot change its password.
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
    // Lockout as for a login: the attempt is counted before the hash.
    let checked = cx
        .compliance()
        .check_password(cx.hasher(), storage, &user, original, now)
        .await?;
    let record = async {
        if !user.enabled {
            return Err(AuthError::UserDisabled);
        }
        if user.options.lock_password {
            return Err(AuthError::bad_request(
                "You cannot change your password at this time.",
            ));
        }
        new_record(cx, &user, password, PasswordChange::SelfService).await
    }
    .await;
    let record = match record {
        Ok(record) => record,
        Err(refused) => {
            // The original password was right: not a failure.
            checked.attempt.refused(storage).await?;
            return Err(refused);
        }
    };
    storage.set_password(&user.id, &record).await?;
    checked.attempt.succeeded(storage, now).await?;
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
