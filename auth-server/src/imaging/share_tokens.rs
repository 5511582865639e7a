//! Share tokens: what they look like, and finding one by its digest.
//!
//! A share token is `shr_` and 43 characters of URL-safe base64 (256 random
//! bits). The database keeps only its SHA-256 digest (a key is not needed:
//! the token is far too long to guess, so a digest of it reveals nothing
//! usable), with the resources it opens and its expiry. A found token, and
//! the absence of one, is kept under the token revision, which creating or
//! revoking one moves: a revocation reaches every node at its next call.

use std::sync::Arc;

use auth_core::AuthError;
use auth_core::imaging::SharedResource;
use auth_core::store::ShareToken;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use quick_cache::sync::Cache;
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// What every share token starts with.
pub const PREFIX: &str = "shr_";

/// How many lookups are kept.
const KEPT: usize = 10_000;

/// Whether `token` has a share token's shape (it may still be unknown).
pub fn is_share_token(token: &str) -> bool {
    token.len() == PREFIX.len() + 43
        && token.starts_with(PREFIX)
        && token[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A new share token and the digest the database keeps of it.
pub fn generate() -> (SecretString, [u8; 32]) {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let digest = digest(&token);
    (SecretString::from(token), digest)
}

/// The digest a token is stored and looked up by.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A stored share token and its resources, parsed once.
#[derive(Debug)]
pub struct Found {
    /// The row.
    pub record: ShareToken,
    /// The resources it opens.
    pub resources: Arc<[SharedResource]>,
}

impl Found {
    /// Whether it has expired at `now` (the store keeps expired tokens a
    /// while, so that decoding one can say so).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.record.expires_at.is_some_and(|at| at <= now)
    }
}

/// Lookups kept under the revision they were made at.
#[derive(Debug)]
pub struct ShareTokenCache {
    entries: Cache<[u8; 32], (i64, Option<Arc<Found>>)>,
}

impl Default for ShareTokenCache {
    fn default() -> Self {
        Self {
            entries: Cache::new(KEPT),
        }
    }
}

impl ShareTokenCache {
    /// The share token `token`, if the database holds it (expired or not:
    /// the caller decides), as of `revision`.
    pub async fn find(
        &self,
        state: &AppState,
        token: &str,
        revision: Option<i64>,
    ) -> Result<Option<Arc<Found>>, AuthError> {
        let key = digest(token);
        if let Some(revision) = revision
            && let Some((kept_at, found)) = self.entries.get(&key)
            && kept_at == revision
        {
            return Ok(found);
        }
        let found = match state.storage().find_share_token(&key).await {
            Ok(record) => parse(record).map(Arc::new),
            Err(AuthError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        if let Some(revision) = revision {
            self.entries.insert(key, (revision, found.clone()));
        }
        Ok(found)
    }
}

/// A row whose resources no longer parse opens nothing.
fn parse(record: ShareToken) -> Option<Found> {
    match serde_json::from_value::<Vec<SharedResource>>(record.resources.clone()) {
        Ok(resources) => Some(Found {
            record,
            resources: Arc::from(resources),
        }),
        Err(error) => {
            tracing::warn!(id = %record.id, %error, "a stored share token's resources do not parse");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn generated_tokens_have_the_shape_and_digest_of_share_tokens() {
        let (token, digest_of) = generate();
        let token = token.expose_secret();
        assert!(is_share_token(token), "{token}");
        assert_eq!(digest(token), digest_of);
        let (other, _) = generate();
        assert_ne!(other.expose_secret(), token);
    }

    #[test]
    fn other_strings_are_not_share_tokens() {
        assert!(!is_share_token("shr_short"));
        assert!(!is_share_token(&format!("shr_{}", "a".repeat(42))));
        assert!(!is_share_token(&format!("shr_{}!", "a".repeat(42))));
        assert!(!is_share_token(&format!("xyz_{}", "a".repeat(43))));
        assert!(is_share_token(&format!("shr_{}", "a".repeat(43))));
    }
}
