//! `ec2credential`: a request signed with an EC2 credential's secret, as
//! S3 and EC2 clients sign theirs, vouched for by the service that received
//! it (Swift's `s3token` middleware, an EC2 API).
//!
//! Keystone's `/v3/ec2tokens` and `/v3/s3tokens` issue a token to whoever
//! presents a valid signature of an EC2 credential, scoped to the
//! credential's project. Since a presigned URL carries such a signature,
//! only a service or an administrator may present one (Keystone's
//! `identity:ec2tokens_validate` and `identity:s3tokens_validate` rules,
//! since Keystone 29). So this method is believed only through the
//! server's `ec2tokens` and `s3tokens` doors ([`MethodContext::door`]),
//! which check that rule first; a client writing the same payload to
//! `/v3/auth/tokens` gets a 401.
//!
//! Payload, Keystone's `credentials` object:
//! - through `ec2tokens`: `{"access", "signature", "host", "verb", "path",
//!   "params": {...}, "headers": {...}, "body_hash"}` (AWS signature
//!   versions 0, 1, 2 and 4, see [`signature`]);
//! - through `s3tokens`: `{"access", "token", "signature"}`, `token` being
//!   the base64 (URL-safe) string to sign.
//!
//! The credential is found by the SHA-256 of its access key (the id
//! Keystone gives it); the token is the credential owner's, scoped to the
//! credential's project. A credential made with an application credential
//! carries that credential's delegation (its roles and restrictions) into
//! the token. A signed timestamp (`Timestamp` or `X-Amz-Date`) older than
//! `auth_ttl_minutes` is refused, as Keystone's `[credential] auth_ttl`.
//!
//! Unlike Keystone, an unknown access key is the same 401 as a wrong
//! signature (Keystone answers 404), so access keys cannot be probed.

pub mod signature;

use std::collections::BTreeMap;

use async_trait::async_trait;
use auth_core::request::ScopeRequest;
use auth_core::store::Credential;
use auth_core::{
    AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload, PluginConfig,
    ResponseData,
};
use base64::Engine as _;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use signature::SignedRequest;

/// The registered name (the method Keystone names in these tokens).
pub const NAME: &str = "ec2credential";

/// The door of `POST /v3/ec2tokens`.
pub const EC2_DOOR: &str = "ec2tokens";

/// The door of `POST /v3/s3tokens`.
pub const S3_DOOR: &str = "s3tokens";

/// The credential type of EC2 credentials.
pub const EC2_CREDENTIAL_TYPE: &str = "ec2";

builtin_method!(Ec2Credential);

/// Configuration: the `[auth.method.ec2credential]` section (defaults
/// shown).
///
/// ```toml
/// [auth.method.ec2credential]
/// auth_ttl_minutes = 15   # how old a signed timestamp may be (Keystone's [credential] auth_ttl)
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ec2CredentialConfig {
    /// How long after its signed timestamp a request is still accepted, in
    /// minutes.
    pub auth_ttl_minutes: i64,
}

impl Default for Ec2CredentialConfig {
    fn default() -> Self {
        Self {
            auth_ttl_minutes: 15,
        }
    }
}

/// The id Keystone gives an EC2 credential: the SHA-256 (hex) of its
/// access key.
pub fn credential_id(access: &str) -> String {
    hex::encode(Sha256::digest(access.as_bytes()))
}

/// The `ec2credential` method.
#[derive(Debug, Clone)]
pub struct Ec2Credential {
    auth_ttl: Duration,
}

impl Ec2Credential {
    /// Builds the method from its configuration section.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let own: Ec2CredentialConfig = config.parse()?;
        if own.auth_ttl_minutes <= 0 {
            return Err(AuthError::invalid_config(
                NAME,
                "auth_ttl_minutes must be positive",
            ));
        }
        Ok(Self {
            auth_ttl: Duration::minutes(own.auth_ttl_minutes),
        })
    }
}

/// The `credentials` of `/v3/ec2tokens`.
#[derive(Deserialize)]
struct Ec2Payload {
    access: String,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    host: String,
    #[serde(default)]
    verb: String,
    #[serde(default)]
    path: String,
    /// Query parameters and headers come from an HTTP request: strings
    /// only (a number or `null` where a string belongs is a 400).
    #[serde(default)]
    params: BTreeMap<String, String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body_hash: Option<String>,
}

/// The `credentials` of `/v3/s3tokens`.
#[derive(Deserialize)]
struct S3Payload {
    access: String,
    token: String,
    signature: String,
}

/// The blob of a stored EC2 credential (Keystone's).
#[derive(Deserialize)]
struct Blob {
    access: String,
    secret: SecretString,
    #[serde(default)]
    trust_id: Option<String>,
    #[serde(default)]
    app_cred_id: Option<String>,
    #[serde(default)]
    access_token_id: Option<String>,
}

/// A stored EC2 credential and its decrypted blob.
struct Found {
    credential: Credential,
    blob: Blob,
}

/// The EC2 credential of `access`, or `None`.
async fn find(ctx: &MethodContext<'_>, access: &str) -> Result<Option<Found>, AuthError> {
    let credential = match ctx
        .stores()
        .credentials()?
        .get_credential(&credential_id(access))
        .await
    {
        Ok(c) if c.kind == EC2_CREDENTIAL_TYPE => c,
        Ok(_) | Err(AuthError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Ok(blob) = serde_json::from_str::<Blob>(credential.blob.expose_secret()) else {
        return Ok(None);
    };
    if blob.access != access {
        return Ok(None);
    }
    Ok(Some(Found { credential, blob }))
}

/// Parses a signed timestamp as Keystone's `parse_isotime` does: ISO 8601,
/// extended (`2026-01-02T03:04:05Z`, with fractions or an offset) or basic
/// (`20260102T030405Z`, AWS's `X-Amz-Date`); no zone means UTC.
fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let naive = text.trim_end_matches('Z');
    ["%Y%m%dT%H%M%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(naive, format).ok())
        .map(|at| at.and_utc())
}

impl Ec2Credential {
    /// Refuses a request whose signed timestamp is older than the TTL. A
    /// request without one is left alone, as Keystone does (its signer
    /// chose not to sign a time).
    fn check_timestamp(
        &self,
        ctx: &MethodContext<'_>,
        payload: &Ec2Payload,
    ) -> Result<(), AuthError> {
        let Some(text) = payload
            .params
            .get("Timestamp")
            .or_else(|| payload.headers.get("X-Amz-Date"))
            .or_else(|| payload.params.get("X-Amz-Date"))
        else {
            return Ok(());
        };
        let at = parse_timestamp(text)
            .ok_or_else(|| AuthError::Unauthorized("Credential timestamp is invalid".into()))?;
        if ctx.now() > at + self.auth_ttl {
            return Err(AuthError::Unauthorized("Credential is expired".into()));
        }
        Ok(())
    }

    /// Checks an `ec2tokens` payload's signature, and its timestamp.
    async fn verify_ec2(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<Found, AuthError> {
        let payload: Ec2Payload = payload.parse()?;
        let Some(given) = payload.signature.as_deref() else {
            return Err(AuthError::Unauthorized(
                "EC2 signature not supplied.".into(),
            ));
        };
        let found = find(ctx, &payload.access)
            .await?
            .ok_or(AuthError::InvalidCredentials)?;
        let request = SignedRequest {
            verb: payload.verb.clone(),
            host: payload.host.clone(),
            path: payload.path.clone(),
            params: payload.params.clone(),
            headers: payload.headers.clone(),
            body_hash: payload.body_hash.clone(),
        };
        let secret = found.blob.secret.expose_secret().as_bytes();
        let mut valid = signature::matches(given, &signature::ec2_signature(secret, &request)?);
        // Some client libraries sign without the port: Keystone tries again
        // without it.
        if !valid && let Some(portless) = request.without_port() {
            valid = signature::matches(given, &signature::ec2_signature(secret, &portless)?);
        }
        if !valid {
            return Err(AuthError::InvalidCredentials);
        }
        self.check_timestamp(ctx, &payload)?;
        Ok(found)
    }

    /// Checks an `s3tokens` payload's signature.
    async fn verify_s3(payload: &Payload, ctx: &MethodContext<'_>) -> Result<Found, AuthError> {
        let payload: S3Payload = payload.parse()?;
        let string_to_sign = base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        )
        .decode(payload.token.trim())
        .map_err(|_| AuthError::bad_request("'token' is not URL-safe base64"))?;
        let found = find(ctx, &payload.access)
            .await?
            .ok_or(AuthError::InvalidCredentials)?;
        let expected = signature::s3_signature(
            found.blob.secret.expose_secret().as_bytes(),
            &string_to_sign,
        )?;
        if !signature::matches(&payload.signature, &expected) {
            return Err(AuthError::InvalidCredentials);
        }
        Ok(found)
    }
}

#[async_trait]
impl AuthMethodHandler for Ec2Credential {
    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let found = match ctx.door() {
            Some(EC2_DOOR) => self.verify_ec2(payload, ctx).await?,
            Some(S3_DOOR) => Self::verify_s3(payload, ctx).await?,
            door => {
                tracing::warn!(
                    ?door,
                    "ignoring an EC2 signature that did not come through the ec2tokens or s3tokens door"
                );
                return Err(AuthError::InvalidCredentials);
            }
        };
        if !matches!(ctx.scope(), ScopeRequest::Default) {
            return Err(AuthError::Unauthorized(
                "an EC2 signature cannot request a scope; the token is scoped to the credential's project".into(),
            ));
        }
        let Found { credential, blob } = found;
        let Some(project_id) = credential.project_id else {
            return Err(AuthError::Unauthorized(
                "the EC2 credential is bound to no project".into(),
            ));
        };
        if blob.trust_id.is_some() || blob.access_token_id.is_some() {
            return Err(AuthError::Unauthorized(
                "EC2 credentials made under a trust or an OAuth1 access token are not supported"
                    .into(),
            ));
        }
        let mut data =
            ResponseData::for_user(credential.user_id.clone()).with_project(project_id.clone());
        if let Some(app_cred_id) = &blob.app_cred_id {
            let delegated = match ctx
                .stores()
                .credentials()?
                .get_application_credential(app_cred_id)
                .await
            {
                Ok(c) => c,
                Err(AuthError::NotFound { .. }) => return Err(AuthError::InvalidCredentials),
                Err(e) => return Err(e),
            };
            if delegated.user_id != credential.user_id
                || delegated.project_id.as_deref() != Some(project_id.as_str())
            {
                return Err(AuthError::Unauthorized(
                    "EC2 credential project does not match the application credential project."
                        .into(),
                ));
            }
            if delegated.expires_at.is_some_and(|at| ctx.now() >= at) {
                return Err(AuthError::InvalidCredentials);
            }
            data = super::application_credential::delegation(&delegated, data);
        }
        Ok(AuthHandlerResponse::success(data))
    }
}

#[cfg(test)]
mod tests;
