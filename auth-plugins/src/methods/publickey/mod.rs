//! `publickey`: a genuinely two-round method, Ed25519 challenge–response.
//!
//! It exists to prove multi-step continuation end to end: no secret ever
//! crosses the wire, and the server keeps no state between the rounds (the
//! challenge travels in the sealed receipt).
//!
//! 1. The client sends `{"user": {"id": ...}}` (or `name` plus `domain`).
//!    The method answers `AuthHandlerResponse::challenge` with the body
//!    `{"challenge": "authpk1:<random>", "algorithm": "ed25519"}`; the
//!    engine returns it with a receipt.
//! 2. The client signs the challenge string's UTF-8 bytes with the private
//!    key and resends the receipt with `{"signature": "<base64>"}`. The
//!    method verifies the signature against each of the user's credentials
//!    of type `publickey`, whose blob is
//!    `{"algorithm": "ed25519", "public_key": "<base64 of 32 bytes>"}`.
//!
//! An unknown user still gets a challenge, and a signature for an unknown
//! user or one without keys is checked against a dummy key, so neither round
//! tells whether an account exists or has keys.
//!
//! A receipt and its signature can be replayed until the receipt expires
//! (300 s by default), like any bearer credential in transit; TLS protects
//! them, and the receipt lifetime bounds the window.

mod key;

pub use key::credential_blob;

use async_trait::async_trait;
use auth_core::request::UserSelector;
use auth_core::{
    AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload, PluginConfig,
    ResponseData,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::Signature;
use rand::RngCore;
use rand::rngs::OsRng;
use serde::Deserialize;
use serde_json::{Value, json};

use key::{dummy_key, parse_public_key};

/// The registered name.
pub const NAME: &str = "publickey";

/// The prefix of every challenge; signing it is domain separation, so a
/// signature made here is useless anywhere else.
const CHALLENGE_PREFIX: &str = "authpk1:";

builtin_method!(PublicKey);

/// Configuration: the `[auth.method.publickey]` section of the server's
/// file (default shown).
///
/// ```toml
/// [auth.method.publickey]
/// credential_type = "publickey"   # the credential type holding users' public keys
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicKeyConfig {
    /// The credential type holding users' public keys.
    pub credential_type: String,
}

impl Default for PublicKeyConfig {
    fn default() -> Self {
        Self {
            credential_type: "publickey".to_owned(),
        }
    }
}

/// `identity.publickey`: the user in round one, the signature in round two.
#[derive(Deserialize)]
struct PublicKeyPayload {
    #[serde(default)]
    user: Option<UserSelector>,
    #[serde(default)]
    signature: Option<String>,
}

/// The `publickey` method.
#[derive(Debug, Clone)]
pub struct PublicKey {
    config: PublicKeyConfig,
}

impl PublicKey {
    /// Builds the method from its configuration section.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        Ok(Self {
            config: config.parse()?,
        })
    }

    async fn issue_challenge(
        &self,
        user: Option<&UserSelector>,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let user = user.ok_or_else(|| AuthError::bad_request("'publickey.user' is required"))?;
        let user_id = user
            .find(ctx.stores().users()?, "publickey.user")
            .await?
            .map(|user| user.id);
        let mut random = [0u8; 32];
        OsRng.fill_bytes(&mut random);
        let challenge = format!("{CHALLENGE_PREFIX}{}", URL_SAFE_NO_PAD.encode(random));
        Ok(AuthHandlerResponse::challenge(
            json!({"challenge": challenge, "algorithm": "ed25519"}),
            json!({"challenge": challenge, "user_id": user_id}),
        ))
    }

    async fn verify(
        &self,
        state: &Value,
        signature: &str,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let signature = STANDARD
            .decode(signature)
            .ok()
            .and_then(|bytes| Signature::from_slice(&bytes).ok())
            .ok_or_else(|| {
                AuthError::bad_request("'publickey.signature' must be a base64 Ed25519 signature")
            })?;
        let challenge = state["challenge"]
            .as_str()
            .ok_or_else(|| AuthError::PluginContract {
                method: NAME.into(),
                message: "continuation state without a challenge".into(),
            })?;
        let keys = match state["user_id"].as_str() {
            Some(user_id) => ctx
                .stores()
                .credentials()?
                .list_credentials(user_id, &self.config.credential_type)
                .await?
                .iter()
                .filter_map(|c| parse_public_key(&c.blob))
                .collect(),
            None => Vec::new(),
        };
        let message = challenge.as_bytes();
        let verified = keys
            .iter()
            .any(|key| key.verify_strict(message, &signature).is_ok());
        if keys.is_empty() {
            // Same work as a user with one key, then the same answer.
            let _ = dummy_key().verify_strict(message, &signature);
        }
        match (verified, state["user_id"].as_str()) {
            (true, Some(user_id)) => Ok(AuthHandlerResponse::success(ResponseData::for_user(
                user_id,
            ))),
            _ => Err(AuthError::InvalidCredentials),
        }
    }
}

#[async_trait]
impl AuthMethodHandler for PublicKey {
    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let payload: PublicKeyPayload = payload.parse()?;
        match (ctx.continuation(), payload.signature.as_deref()) {
            (Some(state), Some(signature)) => self.verify(state, signature, ctx).await,
            (None, Some(_)) => Err(AuthError::bad_request(
                "there is no publickey challenge to answer: send the user first, then the signature with the receipt",
            )),
            (_, None) => self.issue_challenge(payload.user.as_ref(), ctx).await,
        }
    }
}

#[cfg(test)]
mod tests;
