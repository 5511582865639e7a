//! Users: create, update (which may disable the user or reset its
//! password), delete.

use auth_core::AuthError;
use auth_core::store::{PasswordRecord, User};
use auth_plugins::compliance::PasswordChange;
use secrecy::SecretString;

use super::{Context, note_user, passwords, revocations};

/// The password a new user starts with.
#[derive(Debug)]
pub enum InitialPassword {
    /// None: the user logs in by other methods, or not until an
    /// administrator sets one.
    None,
    /// Chosen by an administrator: it must meet the configured rules, and
    /// expires as they say (at once under `change_password_upon_first_use`).
    Chosen(SecretString),
    /// Hashed as given and never expiring, whatever the rules: what
    /// `keystone-manage bootstrap` gives the first administrator, who must
    /// be able to log in to configure the rest.
    Bootstrap(SecretString),
}

/// Creates `user` (its domain must exist: 404 otherwise; a name taken in
/// the domain is a 409) with its first password.
pub async fn create(
    cx: &Context<'_>,
    user: &User,
    password: InitialPassword,
) -> Result<(), AuthError> {
    let storage = cx.storage();
    storage.get_domain(&user.domain_id).await?;
    let record = match password {
        InitialPassword::None => None,
        InitialPassword::Chosen(secret) => {
            Some(passwords::new_record(cx, user, secret, PasswordChange::Create).await?)
        }
        InitialPassword::Bootstrap(secret) => Some(PasswordRecord::new(
            cx.hasher().hash_async(secret).await?,
            cx.now(),
        )),
    };
    storage.create_user(user, record.as_ref()).await?;
    note_user(&user.id, &user.domain_id);
    Ok(())
}

/// Saves `updated` over `current` (the same user as read before the
/// change), and resets its password if `new_password` is given (an
/// administrator's reset: see [`passwords::reset`]). Disabling the user
/// ends every session it has, as a password reset does.
pub async fn update(
    cx: &Context<'_>,
    current: &User,
    updated: &User,
    new_password: Option<SecretString>,
) -> Result<(), AuthError> {
    if updated.id != current.id {
        return Err(AuthError::Internal(
            "a user update must keep the user's id".into(),
        ));
    }
    cx.storage().update_user(updated).await?;
    note_user(&updated.id, &updated.domain_id);
    match new_password {
        Some(password) => passwords::reset(cx, updated, password).await,
        None if current.enabled && !updated.enabled => revocations::user(cx, &updated.id).await,
        None => Ok(()),
    }
}

/// Deletes a user, with its passwords, credentials, application
/// credentials, memberships and role assignments (the store's cascade);
/// its tokens fail validation from then on, as their user is gone.
pub async fn delete(cx: &Context<'_>, user: &User) -> Result<(), AuthError> {
    cx.storage().delete_user(&user.id).await?;
    note_user(&user.id, &user.domain_id);
    Ok(())
}
