//! `password`: Keystone's password method.
//!
//! Payload: `{"user": {"id": ...} | {"name": ..., "domain": {"id"|"name": ...}},
//! "password": ...}` inside `identity.password.user`.
//!
//! The checks run in Keystone's order: the user and its domain, lockout,
//! the password hash, the account being enabled and active, password
//! expiry. Lockout counts the attempt before the hash, so that concurrent
//! guesses cannot outrun it (see [`compliance`]). An
//! unknown user, a user without a password and (unless `disclose_lockout`)
//! a locked account cost one dummy hash verification, the same as a wrong
//! password, and get the same answer, so neither timing nor answers tell
//! which accounts exist or are locked. On success the failure counter is
//! cleared and `last_active_at` set (without lockout, a login that would
//! change neither writes nothing), and a hash in an imported format (or
//! weaker argon2 parameters) is replaced by an argon2id hash of the same
//! password.

use async_trait::async_trait;
use auth_core::request::UserSelector;
use auth_core::store::User;
use auth_core::{
    AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload, PluginConfig,
    ResponseData,
};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use crate::compliance::{self, SecurityCompliance};
use crate::hashing::{HashingConfig, PasswordHasher};

/// The registered name.
pub const NAME: &str = "password";

builtin_method!(Password);

/// Configuration: the `[auth.method.password]` section of the server's file
/// (defaults shown); lockout and expiry come from the shared
/// `[security_compliance]` section. The server hashes every password it
/// sets with these parameters too.
///
/// ```toml
/// [auth.method.password.hashing]
/// memory_kib = 19456
/// iterations = 2
/// parallelism = 1
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// Argon2id parameters for new hashes.
    pub hashing: HashingConfig,
}

#[derive(Deserialize)]
struct PasswordPayload {
    user: PasswordUser,
}

#[derive(Deserialize)]
struct PasswordUser {
    #[serde(flatten)]
    selector: UserSelector,
    password: SecretString,
}

/// The `password` method.
#[derive(Debug, Clone)]
pub struct Password {
    hasher: PasswordHasher,
    compliance: SecurityCompliance,
}

impl Password {
    /// Builds the method from its section and `[security_compliance]`.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let own: PasswordConfig = config.parse()?;
        Ok(Self::new(
            PasswordHasher::new(own.hashing)?,
            config.shared(compliance::SECTION)?,
        ))
    }

    /// The method with an explicit hasher and rules.
    pub fn new(hasher: PasswordHasher, compliance: SecurityCompliance) -> Self {
        Self { hasher, compliance }
    }

    /// The hasher (the server hashes new passwords with the same one).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Checks `password` for `user`, who exists, under the lockout rules
    /// (see [`compliance`](crate::compliance)): a locked account is refused
    /// before its password is checked, every attempt is counted before the
    /// hash and given back if the password is right.
    async fn check(
        &self,
        user: User,
        password: SecretString,
        ctx: &MethodContext<'_>,
    ) -> Result<ResponseData, AuthError> {
        let passwords = ctx.stores().passwords()?;
        let now = ctx.now();
        let checked = self
            .compliance
            .check_password(&self.hasher, passwords, &user, password.clone(), now)
            .await?;
        let refusal = if !user.enabled
            || self
                .compliance
                .is_inactive(&user, checked.attempt.state(), now)
        {
            Some(AuthError::UserDisabled)
        } else if self.compliance.is_expired(&user, &checked.current, now) {
            Some(AuthError::PasswordExpired)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            checked.attempt.refused(passwords).await?;
            return Err(refusal);
        }
        checked.attempt.succeeded(passwords, now).await?;
        if checked.verified.needs_rehash {
            let hash = self.hasher.hash_async(password).await?;
            passwords.rehash_password(&user.id, &hash).await?;
        }
        let expires = checked.current.expires_at.map(|at| at.to_rfc3339());
        Ok(ResponseData::for_loaded_user(user).with_extra("password_expires_at", json!(expires)))
    }
}

#[async_trait]
impl AuthMethodHandler for Password {
    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let PasswordPayload { user } = payload.parse()?;
        match user
            .selector
            .find(ctx.stores().users()?, "password.user")
            .await?
        {
            Some(found) => {
                let data = self.check(found, user.password, ctx).await?;
                Ok(AuthHandlerResponse::success(data))
            }
            None => {
                // Unknown user: spend what a real check spends, then fail
                // the same way.
                self.hasher.verify_async(user.password, None).await?;
                Err(AuthError::InvalidCredentials)
            }
        }
    }
}

#[cfg(test)]
mod tests;
