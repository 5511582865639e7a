//! `totp`: RFC 6238 one-time passcodes (Keystone's method, hardened).
//!
//! Payload: `identity.totp.user` = `{"id": ...}` or `{"name": ..., "domain":
//! {...}}`, plus `"passcode": "123456"`. The user's credentials of type
//! `totp` hold base32 secrets (Keystone's format). Codes are HMAC-SHA1,
//! 6 digits, 30-second steps; the current step and
//! `included_previous_windows` earlier ones (default 1) are accepted, never
//! future ones.
//!
//! Beyond Keystone:
//! - a passcode accepted once is refused if replayed while it is still
//!   valid: every accepted (credential, step) is claimed in the store,
//!   atomically across nodes;
//! - wrong and replayed passcodes count towards the account lockout of
//!   `[security_compliance]`, shared with `password`: each attempt is
//!   counted before its passcode is checked, so concurrent guesses cannot
//!   outrun the limit, and a locked account is refused (answered as a wrong
//!   passcode, after the same work, unless `disclose_lockout`).

mod code;

use async_trait::async_trait;
use auth_core::request::UserSelector;
use auth_core::store::User;
use auth_core::{
    AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload, PluginConfig,
    ResponseData,
};
use chrono::{DateTime, TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use code::{STEP_SECONDS, decode_secret, matching_step, passcode_at};

use crate::compliance::{self, SecurityCompliance};

/// The registered name.
pub const NAME: &str = "totp";

/// The most previous windows Keystone allows.
const MAX_PREVIOUS_WINDOWS: u8 = 10;

builtin_method!(Totp);

/// Configuration: the `[auth.method.totp]` section of the server's file
/// (defaults shown; lockout comes from `[security_compliance]`).
///
/// ```toml
/// [auth.method.totp]
/// included_previous_windows = 1   # earlier 30-second windows still accepted (0 to 10)
/// credential_type = "totp"        # the credential type holding the secrets
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TotpConfig {
    /// Earlier 30-second windows still accepted (0 to 10).
    pub included_previous_windows: u8,
    /// The credential type holding the secrets.
    pub credential_type: String,
}

impl Default for TotpConfig {
    fn default() -> Self {
        Self {
            included_previous_windows: 1,
            credential_type: "totp".to_owned(),
        }
    }
}

#[derive(Deserialize)]
struct TotpPayload {
    user: TotpUser,
}

#[derive(Deserialize)]
struct TotpUser {
    #[serde(flatten)]
    selector: UserSelector,
    passcode: SecretString,
}

/// The `totp` method.
#[derive(Debug, Clone)]
pub struct Totp {
    config: TotpConfig,
    compliance: SecurityCompliance,
}

impl Totp {
    /// Builds the method from its section and `[security_compliance]`.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let own: TotpConfig = config.parse()?;
        if own.included_previous_windows > MAX_PREVIOUS_WINDOWS {
            return Err(AuthError::invalid_config(
                NAME,
                format!("included_previous_windows must be 0 to {MAX_PREVIOUS_WINDOWS}"),
            ));
        }
        Ok(Self {
            config: own,
            compliance: config.shared(compliance::SECTION)?,
        })
    }

    async fn check(
        &self,
        user: User,
        passcode: &SecretString,
        ctx: &MethodContext<'_>,
    ) -> Result<ResponseData, AuthError> {
        let passwords = ctx.stores().passwords()?;
        let now = ctx.now();
        let Some(attempt) = self.compliance.begin_attempt(passwords, &user, now).await? else {
            if !self.compliance.disclose_lockout {
                // The work of a wrong passcode, then its answer.
                self.matching_credential(&user, passcode, ctx, now).await?;
            }
            return Err(self.compliance.locked(&user));
        };
        let accepted = match self.matching_credential(&user, passcode, ctx, now).await? {
            Some((credential_id, step)) => {
                let windows = self.config.included_previous_windows;
                let valid_until = step_start(step + 1 + i64::from(windows));
                ctx.stores()
                    .credentials()?
                    .claim_passcode(&credential_id, step, valid_until)
                    .await?
            }
            None => false,
        };
        if !accepted {
            // The attempt was counted when it began.
            return Err(AuthError::InvalidCredentials);
        }
        if !user.enabled {
            attempt.refused(passwords).await?;
            return Err(AuthError::UserDisabled);
        }
        attempt.succeeded(passwords, now).await?;
        Ok(ResponseData::for_loaded_user(user))
    }

    /// The user's credential `passcode` matches, and its step, if any.
    async fn matching_credential(
        &self,
        user: &User,
        passcode: &SecretString,
        ctx: &MethodContext<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, i64)>, AuthError> {
        let windows = self.config.included_previous_windows;
        let credentials = ctx
            .stores()
            .credentials()?
            .list_credentials(&user.id, &self.config.credential_type)
            .await?;
        for credential in credentials {
            let Some(secret) = decode_secret(credential.blob.expose_secret()) else {
                continue;
            };
            if let Some(step) = matching_step(&secret, passcode.expose_secret(), now, windows) {
                return Ok(Some((credential.id, step)));
            }
        }
        Ok(None)
    }
}

/// The instant a step begins.
fn step_start(step: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(step.saturating_mul(STEP_SECONDS), 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[async_trait]
impl AuthMethodHandler for Totp {
    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let TotpPayload { user } = payload.parse()?;
        match user
            .selector
            .find(ctx.stores().users()?, "totp.user")
            .await?
        {
            Some(found) => Ok(AuthHandlerResponse::success(
                self.check(found, &user.passcode, ctx).await?,
            )),
            None => {
                // Unknown user: compute codes anyway, so the answer takes as
                // long as a wrong passcode.
                let _ = matching_step(
                    code::DUMMY_SECRET,
                    user.passcode.expose_secret(),
                    ctx.now(),
                    self.config.included_previous_windows,
                );
                Err(AuthError::InvalidCredentials)
            }
        }
    }
}

#[cfg(test)]
mod tests;
