//! `token`: authenticating with an existing token, to rescope it.
//!
//! Payload: `{"id": "<token>"}`. The token is validated like any other
//! (signature, expiry, revocation events, the user still enabled); a bad
//! token is Keystone's 404. The new token:
//!
//! - keeps the original's expiry, so rescoping never extends a session;
//! - joins the original's audit chain (`audit_chain_id` in the result);
//! - carries the original's methods forward, so MFA rules met at the first
//!   login stay met.
//!
//! Refused with 403: trust-scoped tokens (a new trust-scoped token is
//! asked for with the trustee's own credentials instead), tokens from
//! application credentials (their scope is
//! fixed), system-scoped tokens asking for a project or domain, and any
//! scoped token when `allow_rescope_scoped_token` is off.

use async_trait::async_trait;
use auth_core::request::ScopeRequest;
use auth_core::{
    AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload, PluginConfig,
    ResponseData, token,
};
use chrono::Duration;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

/// The registered name.
pub const NAME: &str = "token";

builtin_method!(Token);

/// Configuration: the `[auth.method.token]` section of the server's file
/// (default shown).
///
/// ```toml
/// [auth.method.token]
/// allow_rescope_scoped_token = true
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenConfig {
    /// Whether a scoped token may be rescoped (Keystone's default: yes).
    pub allow_rescope_scoped_token: bool,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            allow_rescope_scoped_token: true,
        }
    }
}

#[derive(Deserialize)]
struct TokenPayload {
    id: SecretString,
}

/// The `token` method.
#[derive(Debug, Clone)]
pub struct Token {
    config: TokenConfig,
}

impl Token {
    /// Builds the method from its configuration section.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        Ok(Self {
            config: config.parse()?,
        })
    }
}

#[async_trait]
impl AuthMethodHandler for Token {
    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let TokenPayload { id } = payload.parse()?;
        let (claims, _) = token::validate(
            ctx.tokens()?,
            ctx.stores(),
            id.expose_secret(),
            ctx.now(),
            Duration::zero(),
        )
        .await?;
        if claims.app_cred_id.is_some() {
            return Err(AuthError::Forbidden(
                "tokens from application credentials cannot be rescoped".into(),
            ));
        }
        if claims.trust_id.is_some() {
            // Keystone's words: a delegated token gives no other token.
            return Err(AuthError::Forbidden(
                "Using trust-scoped token to create another token. \
                 Create a new trust-scoped token instead"
                    .into(),
            ));
        }
        if claims.access_token_id.is_some() {
            // Keystone's words: a new OAuth-scoped token comes from the
            // access token, never from another token.
            return Err(AuthError::Forbidden(
                "Using OAuth-scoped token to create another token. \
                 Create a new OAuth-scoped token instead"
                    .into(),
            ));
        }
        let wants_target = matches!(
            ctx.scope(),
            ScopeRequest::Project(_) | ScopeRequest::Domain(_)
        );
        if claims.system.is_some() && wants_target {
            return Err(AuthError::Forbidden(
                "a system-scoped token cannot be rescoped to a project or a domain".into(),
            ));
        }
        if claims.is_scoped() && !self.config.allow_rescope_scoped_token {
            return Err(AuthError::Forbidden(
                "rescoping scoped tokens is disabled".into(),
            ));
        }
        let mut data = ResponseData::for_user(claims.sub.clone())
            .with_expires_at(claims.expires_at())
            .with_extra("audit_chain_id", json!(claims.audit_chain_id()))
            .with_method_names(claims.methods);
        if !claims.group_ids.is_empty() {
            data = data.with_extra("group_ids", json!(claims.group_ids));
        }
        if let Some(idp) = &claims.idp_id {
            data = data.with_extra("identity_provider", json!(idp));
        }
        Ok(AuthHandlerResponse::success(data))
    }
}

#[cfg(test)]
mod tests;
