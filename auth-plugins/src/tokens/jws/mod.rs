//! JWS tokens: Keystone's JWT provider, signed with ES256 (default) or
//! EdDSA.
//!
//! Tokens are compact JWS with Keystone's claim names
//! ([`TokenClaims`]) and a `kid` naming the key
//! that signed them. Keys form a [`SigningKeySet`] that rotates like the
//! receipt keys: a staged key (published, never signing), the primary key
//! (signing) and secondary keys (still verifying). Nodes that share the set
//! (through the database's key store, or a key directory) verify each
//! other's tokens, and a rotation is seen by every node before any token is
//! signed with the new key.

mod keys;

use std::fmt;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use auth_core::token::not_found;
use auth_core::{AuthError, TokenClaims, TokenProvider};
use chrono::Duration;
use jsonwebtoken::{Header, Validation};

pub use keys::{SigningAlgorithm, SigningKeySet};

/// Signs and verifies JWS tokens with a swappable key set.
pub struct JwsProvider {
    keys: RwLock<Arc<SigningKeySet>>,
    max_lifetime: Option<Duration>,
}

impl JwsProvider {
    /// A provider using `keys`, stating no maximum lifetime.
    pub fn new(keys: SigningKeySet) -> Self {
        Self {
            keys: RwLock::new(Arc::new(keys)),
            max_lifetime: None,
        }
    }

    /// States the longest lifetime of the tokens this provider issues (the
    /// server's `[token] expiration`), so that
    /// [`auth_core::token::validate`] refuses a token claiming a longer one
    /// even when its signature is good: a key stolen from a database dump
    /// cannot mint a token that lasts for years.
    pub fn with_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = Some(max);
        self
    }

    /// The current key set.
    pub fn keys(&self) -> Arc<SigningKeySet> {
        Arc::clone(&self.keys.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Replaces the key set (after a rotation, here or on another node).
    pub fn replace_keys(&self, keys: SigningKeySet) {
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
    }
}

impl fmt::Debug for JwsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwsProvider")
            .field("keys", &self.keys())
            .field("max_lifetime", &self.max_lifetime)
            .finish()
    }
}

#[async_trait]
impl TokenProvider for JwsProvider {
    fn issue(&self, claims: &TokenClaims) -> Result<String, AuthError> {
        let keys = self.keys();
        let key = keys.primary();
        let mut header = Header::new(key.algorithm().jws());
        header.kid = Some(key.kid().to_owned());
        jsonwebtoken::encode(&header, claims, key.encoding())
            .map_err(|e| AuthError::Internal(format!("signing a token failed: {e}")))
    }

    async fn verify(&self, token: &str) -> Result<TokenClaims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| not_found())?;
        let keys = self.keys();
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| keys.find(kid))
            .filter(|key| key.algorithm().jws() == header.alg)
            .ok_or_else(not_found)?;
        let mut validation = Validation::new(header.alg);
        // Expiry is checked by auth_core::token::validate against the
        // injected clock, with the allow_expired window.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["sub", "exp", "iat"]);
        jsonwebtoken::decode::<TokenClaims>(token, key.decoding(), &validation)
            .map(|data| data.claims)
            .map_err(|_| not_found())
    }

    fn max_lifetime(&self) -> Option<Duration> {
        self.max_lifetime
    }
}

#[cfg(test)]
mod tests;
