//! Where an issuer's verification keys come from: a JWKS URL (fetched,
//! cached, refreshed when a token names an unknown `kid`) or a file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use auth_core::AuthError;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The verification keys of one issuer.
#[derive(Debug)]
pub(super) struct KeySource {
    origin: Origin,
    cache_for: Duration,
    min_refresh: Duration,
    cached: Mutex<Cached>,
    client: reqwest::Client,
}

#[derive(Debug)]
enum Origin {
    Url(String),
    File(PathBuf),
}

#[derive(Debug, Default)]
struct Cached {
    keys: Arc<Vec<(Option<String>, Jwk)>>,
    fetched_at: Option<Instant>,
}

impl KeySource {
    pub(super) fn url(
        url: String,
        cache_for: Duration,
        min_refresh: Duration,
    ) -> Result<Self, AuthError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| AuthError::invalid_config("jwt", format!("HTTP client: {e}")))?;
        Ok(Self::new(Origin::Url(url), cache_for, min_refresh, client))
    }

    pub(super) fn file(path: PathBuf) -> Self {
        Self::new(
            Origin::File(path),
            Duration::MAX,
            Duration::MAX,
            reqwest::Client::new(),
        )
    }

    fn new(
        origin: Origin,
        cache_for: Duration,
        min_refresh: Duration,
        client: reqwest::Client,
    ) -> Self {
        Self {
            origin,
            cache_for,
            min_refresh,
            cached: Mutex::new(Cached::default()),
            client,
        }
    }

    /// The decoding key for `kid` (a token without `kid` matches a lone
    /// key). Fetches when the cache is empty or stale, and once more when
    /// `kid` is unknown, but never more often than `min_refresh`, so tokens
    /// with made-up `kid`s cannot make us hammer the issuer.
    pub(super) async fn key(
        &self,
        kid: Option<&str>,
    ) -> Result<Option<(DecodingKey, Jwk)>, AuthError> {
        let mut cached = self.cached.lock().await;
        let stale = cached
            .fetched_at
            .is_none_or(|at| at.elapsed() >= self.cache_for);
        if stale {
            self.refresh(&mut cached).await?;
        }
        if let Some(found) = find(&cached.keys, kid) {
            return Ok(Some(found));
        }
        let may_refresh = cached
            .fetched_at
            .is_none_or(|at| at.elapsed() >= self.min_refresh);
        if !stale && may_refresh {
            self.refresh(&mut cached).await?;
            return Ok(find(&cached.keys, kid));
        }
        Ok(None)
    }

    async fn refresh(&self, cached: &mut Cached) -> Result<(), AuthError> {
        let set = self.load().await?;
        let keys = set
            .keys
            .into_iter()
            // Symmetric keys never verify tokens from an issuer: a public
            // key used as an HMAC secret is the classic JWT forgery.
            .filter(|jwk| !matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)))
            .map(|jwk| (jwk.common.key_id.clone(), jwk))
            .collect();
        cached.keys = Arc::new(keys);
        cached.fetched_at = Some(Instant::now());
        Ok(())
    }

    async fn load(&self) -> Result<JwkSet, AuthError> {
        match &self.origin {
            Origin::Url(url) => {
                let response = self
                    .client
                    .get(url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| {
                        AuthError::StoreUnavailable(format!(
                            "fetching the JWKS failed: {}",
                            e.without_url()
                        ))
                    })?;
                response.json::<JwkSet>().await.map_err(|_| {
                    AuthError::StoreUnavailable("the issuer's JWKS is not a valid key set".into())
                })
            }
            Origin::File(path) => {
                let text = tokio::fs::read_to_string(path).await.map_err(|e| {
                    AuthError::invalid_config("jwt", format!("reading {}: {e}", path.display()))
                })?;
                serde_json::from_str(&text).map_err(|e| {
                    AuthError::invalid_config(
                        "jwt",
                        format!("{} is not a JWKS: {e}", path.display()),
                    )
                })
            }
        }
    }
}

fn find(keys: &[(Option<String>, Jwk)], kid: Option<&str>) -> Option<(DecodingKey, Jwk)> {
    let jwk = match kid {
        Some(kid) => keys.iter().find(|(id, _)| id.as_deref() == Some(kid)),
        None if keys.len() == 1 => keys.first(),
        None => None,
    }?;
    DecodingKey::from_jwk(&jwk.1)
        .ok()
        .map(|key| (key, jwk.1.clone()))
}
