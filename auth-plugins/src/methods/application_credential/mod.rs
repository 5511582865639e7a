//! `application_credential`: a secret a user delegated to a program.
//!
//! Payload: `{"id": ..., "secret": ...}` or `{"name": ..., "secret": ...,
//! "user": {"id"} | {"name", "domain"}}`.
//!
//! - The user is always the credential's owner (a caller-supplied user only
//!   helps find the credential by name; CVE-2026-42998).
//! - The scope is the credential's project and cannot be chosen: a request
//!   with an explicit scope is refused (Keystone's
//!   `ApplicationCredentialAuthError`).
//! - The token never outlives the credential: its `expires_at` caps the
//!   token's (CVE-2022-2447).
//! - The delegated roles, the `restricted` flag and the access rules travel
//!   in the result for the server to enforce.
//!
//! Unlike Keystone, an unknown credential is the same 401 as a wrong
//! secret (Keystone answers 404), and costs the same dummy hash
//! verification, so credential ids and names cannot be probed.

use async_trait::async_trait;
use auth_core::request::{ScopeRequest, UserSelector};
use auth_core::store::ApplicationCredential;
use auth_core::{
    AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload, PluginConfig,
    ResponseData,
};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use crate::hashing::{HashingConfig, PasswordHasher};

/// The registered name.
pub const NAME: &str = "application_credential";

builtin_method!(ApplicationCredentialMethod);

/// Configuration: the `[auth.method.application_credential]` section of the
/// server's file (defaults shown).
///
/// ```toml
/// [auth.method.application_credential.hashing]
/// memory_kib = 19456
/// iterations = 2
/// parallelism = 1
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplicationCredentialConfig {
    /// Argon2id parameters, for the dummy verification of unknown
    /// credentials (stored secrets verify with their own parameters).
    pub hashing: HashingConfig,
}

#[derive(Deserialize)]
struct AppCredPayload {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    user: Option<UserSelector>,
    secret: SecretString,
}

/// The `application_credential` method.
#[derive(Debug, Clone)]
pub struct ApplicationCredentialMethod {
    hasher: PasswordHasher,
}

impl ApplicationCredentialMethod {
    /// Builds the method from its configuration section.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let own: ApplicationCredentialConfig = config.parse()?;
        Ok(Self::new(PasswordHasher::new(own.hashing)?))
    }

    /// The method with an explicit hasher.
    pub fn new(hasher: PasswordHasher) -> Self {
        Self { hasher }
    }

    /// The credential the payload names, or `None` if there is none.
    async fn find(
        &self,
        payload: &AppCredPayload,
        ctx: &MethodContext<'_>,
    ) -> Result<Option<ApplicationCredential>, AuthError> {
        let credentials = ctx.stores().credentials()?;
        let found = match (&payload.id, &payload.name, &payload.user) {
            (Some(id), _, _) => credentials.get_application_credential(id).await,
            (None, Some(name), Some(user)) => {
                match user
                    .find(ctx.stores().users()?, "application_credential.user")
                    .await?
                {
                    Some(owner) => {
                        credentials
                            .find_application_credential(&owner.id, name)
                            .await
                    }
                    None => return Ok(None),
                }
            }
            _ => {
                return Err(AuthError::bad_request(
                    "'application_credential' needs an 'id', or a 'name' and a 'user'",
                ));
            }
        };
        match found {
            Ok(credential) => Ok(Some(credential)),
            Err(AuthError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl AuthMethodHandler for ApplicationCredentialMethod {
    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let payload: AppCredPayload = payload.parse()?;
        let credential = self.find(&payload, ctx).await?;
        let hash = credential.as_ref().map(|c| c.secret_hash.clone());
        let verified = self.hasher.verify_async(payload.secret, hash).await?;
        let (Some(credential), Some(_)) = (credential, verified) else {
            return Err(AuthError::InvalidCredentials);
        };
        if credential.expires_at.is_some_and(|at| ctx.now() >= at) {
            return Err(AuthError::InvalidCredentials);
        }
        if !matches!(ctx.scope(), ScopeRequest::Default) {
            return Err(AuthError::Unauthorized(
                "application credentials cannot request a scope; the token is scoped to the credential's project".into(),
            ));
        }
        // A credential bound to no project gives unscoped tokens (the
        // server reads the `application_credential` extra for that).
        let mut data = ResponseData::for_user(credential.user_id.clone());
        if let Some(project_id) = &credential.project_id {
            data = data.with_project(project_id.clone());
        }
        Ok(AuthHandlerResponse::success(delegation(&credential, data)))
    }
}

/// `data` carrying what `credential` delegates, for the server to enforce:
/// its roles, its `restricted` flag and access rules, and its expiry as the
/// token's cap. Also what a credential made with one (an EC2 credential)
/// passes on.
pub(crate) fn delegation(credential: &ApplicationCredential, data: ResponseData) -> ResponseData {
    let data = data
        .with_extra(
            "application_credential",
            json!({
                "id": credential.id,
                "name": credential.name,
                "restricted": !credential.unrestricted,
                "access_rules": credential.access_rules,
            }),
        )
        .with_extra("application_credential_roles", json!(credential.roles));
    match credential.expires_at {
        Some(at) => data.with_expires_at(at),
        None => data,
    }
}

#[cfg(test)]
mod tests;
