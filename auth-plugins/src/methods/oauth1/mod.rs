//! `oauth1`: a consumer logs in with an OAuth1 access token a user
//! delegated to it (Keystone's `OS-OAUTH1`).
//!
//! Payload: `{}`. The credential is the request's `Authorization: OAuth …`
//! header, HMAC-SHA1 signed (RFC 5849) with the consumer's secret and the
//! access token's, over `POST` and the URL the request came in on (see
//! [`signature`]).
//!
//! - The user is the one who authorized the access token; the scope is its
//!   project, whatever the request asks (keystoneauth warns that scope
//!   parameters are ignored).
//! - The token never outlives the access token.
//! - The access token's id, its consumer and its role ids travel in the
//!   result; the server gives the token only those roles the user still
//!   holds (and what they imply), at issue and at every validation.
//! - A signature is checked once: a replayed nonce within the timestamp
//!   window, or a timestamp outside it, fails.
//!
//! Every refusal (unknown or expired access token, another consumer, a bad
//! signature, a stale timestamp, a replayed nonce) is the same 401, so
//! access token ids cannot be probed.

pub mod signature;

use async_trait::async_trait;
use auth_core::{
    AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload, PluginConfig,
    ResponseData,
};
use serde::Deserialize;
use serde_json::json;

use self::signature::OAuthParams;

/// The registered name.
pub const NAME: &str = "oauth1";

builtin_method!(OAuth1Method);

/// The one header the method reads.
const AUTHORIZATION: &str = "authorization";

/// Configuration: the `[auth.method.oauth1]` section has no settings (the
/// token lifetimes are the server's `[oauth1]` section, as in Keystone).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuth1Config {}

/// The payload: an empty object (anything in it is ignored, as Keystone).
#[derive(Deserialize)]
struct OAuth1Payload {}

/// The `oauth1` method.
#[derive(Debug, Clone)]
pub struct OAuth1Method {
    headers: Vec<String>,
}

impl Default for OAuth1Method {
    fn default() -> Self {
        Self {
            headers: vec![AUTHORIZATION.to_owned()],
        }
    }
}

impl OAuth1Method {
    /// Builds the method from its configuration section.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let _: OAuth1Config = config.parse()?;
        Ok(Self::default())
    }
}

#[async_trait]
impl AuthMethodHandler for OAuth1Method {
    fn declared_headers(&self) -> &[String] {
        &self.headers
    }

    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let _: OAuth1Payload = payload.parse()?;
        let header = ctx
            .header(AUTHORIZATION)
            .ok_or_else(|| AuthError::bad_request("Cannot retrieve Authorization headers"))?;
        let params = OAuthParams::from_authorization(header)?;
        let token_id = params
            .token()
            .ok_or_else(|| AuthError::bad_request("Invalid input for field 'oauth_token'"))?;
        // A door that cannot tell the URL (DICOM) cannot carry a signature.
        let line = ctx.request_line().ok_or_else(refused)?;
        let store = ctx.stores().oauth1()?;
        let access = match store.get_oauth1_access_token(token_id).await {
            Ok(access) => access,
            Err(AuthError::NotFound { .. }) => return Err(refused()),
            Err(e) => return Err(e),
        };
        let now = ctx.now();
        if access.expires_at.is_some_and(|end| now >= end)
            || params.consumer_key() != Some(access.consumer_id.as_str())
        {
            return Err(refused());
        }
        // Keystone signs the login as a POST to the URL it came in on.
        let line = auth_core::RequestLine::new("POST", line.url.clone());
        if signature::check(store, &line, &params, &access.secret, now)
            .await?
            .is_err()
        {
            return Err(refused());
        }
        let mut data = ResponseData::for_user(access.authorizing_user_id.clone())
            .with_project(access.project_id.clone())
            .with_extra(
                "oauth1",
                json!({
                    "access_token_id": access.id,
                    "consumer_id": access.consumer_id,
                    "role_ids": access.role_ids,
                }),
            );
        if let Some(end) = access.expires_at {
            data = data.with_expires_at(end);
        }
        Ok(AuthHandlerResponse::success(data))
    }
}

/// Keystone's answer to an access token that does not validate.
fn refused() -> AuthError {
    AuthError::Unauthorized("Could not validate the access token".into())
}

#[cfg(test)]
mod tests;
