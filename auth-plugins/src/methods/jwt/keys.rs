//! Where an issuer's verification keys come from: a JWKS URL (fetched,
//! cached, refreshed) or a file.
//!
//! An identity provider's outage must not become ours, so:
//!
//! - **No lock is held across a fetch.** The state sits behind a plain
//!   mutex held only to read or swap it; a fetch runs in its own task.
//!   Logins whose key is in the current set never wait for one.
//! - **One fetch at a time, at most one per `min_refresh`, whatever its
//!   outcome.** Every attempt, failed or not, starts the interval, and
//!   logins that need a fetch while one is running wait for that one
//!   (they coalesce), so neither made-up `kid`s nor an unreachable issuer
//!   can make us call it more often.
//! - **Stale while revalidating, and stale if error.** When the cache
//!   (`cache_for`) lapses, logins keep using the last good set while a
//!   background fetch refreshes it; if the fetch fails, the failure is
//!   logged and the last good set stays in use for up to `max_stale` past
//!   the cache's lapse. After that the keys are too old to trust (the
//!   issuer may have withdrawn one) and logins fail with 503 until a fetch
//!   succeeds.
//!
//! Intervals use tokio's monotonic clock (so tests drive them with
//! `tokio::time::pause`); token expiry is checked elsewhere against the
//! injected [`auth_core::Clock`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use auth_core::AuthError;
use jsonwebtoken::jwk::Jwk;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use super::NAME;
use super::algorithms::VerifyingKey;

/// How long one JWKS fetch may take, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The verification keys of one issuer.
#[derive(Debug)]
pub(super) struct KeySource {
    shared: Arc<Shared>,
}

/// How often to refetch and how long to trust what was fetched.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    /// How long a fetched set is fresh.
    pub(super) cache_for: Duration,
    /// The least time between two fetch attempts.
    pub(super) min_refresh: Duration,
    /// How long past `cache_for` the last good set may serve while fetches
    /// fail.
    pub(super) max_stale: Duration,
}

#[derive(Debug)]
struct Shared {
    /// The issuer, for logs.
    issuer: String,
    origin: Origin,
    timing: Timing,
    client: reqwest::Client,
    state: Mutex<State>,
}

#[derive(Debug)]
enum Origin {
    Url(String),
    File(PathBuf),
}

#[derive(Debug, Default)]
struct State {
    /// The last set fetched successfully.
    keys: Option<Arc<KeySet>>,
    /// When `keys` was fetched.
    fetched_at: Option<Instant>,
    /// When the last attempt, successful or not, started.
    attempted_at: Option<Instant>,
    /// The running fetch: closed when it ends.
    in_flight: Option<watch::Receiver<()>>,
}

/// An issuer's usable keys.
#[derive(Debug, Default)]
struct KeySet {
    keys: Vec<Arc<VerifyingKey>>,
}

impl KeySet {
    /// The key for `kid`; a token without `kid` matches a lone key.
    fn find(&self, kid: Option<&str>) -> Option<Arc<VerifyingKey>> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid() == Some(kid)).cloned(),
            None if self.keys.len() == 1 => self.keys.first().cloned(),
            None => None,
        }
    }
}

impl KeySource {
    /// Keys fetched from `url`.
    pub(super) fn url(issuer: &str, url: String, timing: Timing) -> Result<Self, AuthError> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| AuthError::invalid_config(NAME, format!("HTTP client: {e}")))?;
        Ok(Self::new(issuer, Origin::Url(url), timing, client))
    }

    /// Keys read from a file: read once, and again (at most every
    /// `min_refresh`) when a token names a `kid` the file did not have, so
    /// replacing the file rotates keys without a restart.
    pub(super) fn file(issuer: &str, path: PathBuf, min_refresh: Duration) -> Self {
        let timing = Timing {
            cache_for: Duration::MAX,
            min_refresh,
            max_stale: Duration::MAX,
        };
        Self::new(issuer, Origin::File(path), timing, reqwest::Client::new())
    }

    fn new(issuer: &str, origin: Origin, timing: Timing, client: reqwest::Client) -> Self {
        Self {
            shared: Arc::new(Shared {
                issuer: issuer.to_owned(),
                origin,
                timing,
                client,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The key for `kid`, or `None` if the issuer has no such key.
    ///
    /// A key in the current set is returned at once, even while a fetch
    /// runs (and if the set is stale, a background fetch is started). An
    /// unknown `kid`, or no usable set at all, waits for the running fetch
    /// or starts one if the interval allows; otherwise it is answered from
    /// what we have. Fails (503) only when there is no set recent enough
    /// to use.
    pub(super) async fn key(
        &self,
        kid: Option<&str>,
    ) -> Result<Option<Arc<VerifyingKey>>, AuthError> {
        let shared = &self.shared;
        let (had_keys, fetch) = {
            let now = Instant::now();
            let mut state = shared.lock();
            let usable = shared.usable(&state, now);
            if let Some(key) = usable.as_ref().and_then(|set| set.find(kid)) {
                if !shared.fresh(&state, now) && shared.may_fetch(&state, now) {
                    shared.start(&mut state, now);
                }
                return Ok(Some(key));
            }
            let fetch = match &state.in_flight {
                Some(running) => Some(running.clone()),
                None if shared.may_fetch(&state, now) => Some(shared.start(&mut state, now)),
                None => None,
            };
            (usable.is_some(), fetch)
        };
        let Some(mut fetch) = fetch else {
            return if had_keys {
                Ok(None)
            } else {
                Err(shared.unavailable())
            };
        };
        // Closed when the fetch ends, whichever way.
        let _ = fetch.changed().await;
        let state = shared.lock();
        match shared.usable(&state, Instant::now()) {
            Some(set) => Ok(set.find(kid)),
            None => Err(shared.unavailable()),
        }
    }
}

impl Shared {
    /// The state, even if a panic elsewhere poisoned the lock: every
    /// update to it is a single assignment, so it is never half-written.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fresh(&self, state: &State, now: Instant) -> bool {
        state
            .fetched_at
            .is_some_and(|at| now.saturating_duration_since(at) < self.timing.cache_for)
    }

    /// The last good set, unless it is older than the cache plus the
    /// maximum staleness.
    fn usable(&self, state: &State, now: Instant) -> Option<Arc<KeySet>> {
        let limit = self.timing.cache_for.saturating_add(self.timing.max_stale);
        let at = state.fetched_at?;
        (now.saturating_duration_since(at) < limit)
            .then(|| state.keys.clone())
            .flatten()
    }

    /// Whether a new fetch may start: none running, and none started in
    /// the last `min_refresh`.
    fn may_fetch(&self, state: &State, now: Instant) -> bool {
        state.in_flight.is_none()
            && state
                .attempted_at
                .is_none_or(|at| now.saturating_duration_since(at) >= self.timing.min_refresh)
    }

    /// Starts a fetch in its own task and returns what closes when it ends.
    fn start(self: &Arc<Self>, state: &mut State, now: Instant) -> watch::Receiver<()> {
        let (done, running) = watch::channel(());
        state.attempted_at = Some(now);
        state.in_flight = Some(running.clone());
        let attempt = Attempt {
            shared: self.clone(),
            _done: done,
        };
        tokio::spawn(async move {
            let result = attempt.shared.load().await;
            attempt.shared.store(result);
            drop(attempt);
        });
        running
    }

    /// Keeps a successful fetch; logs a failed one (the last good set, if
    /// any, stays).
    fn store(&self, result: Result<KeySet, String>) {
        let mut state = self.lock();
        match result {
            Ok(set) => {
                state.keys = Some(Arc::new(set));
                state.fetched_at = Some(Instant::now());
            }
            Err(error) => {
                let serving = self.usable(&state, Instant::now()).is_some();
                tracing::warn!(
                    issuer = %self.issuer,
                    %error,
                    serving_last_good_keys = serving,
                    "could not refresh the issuer's JWKS"
                );
            }
        }
    }

    fn unavailable(&self) -> AuthError {
        match self.origin {
            Origin::Url(_) => AuthError::StoreUnavailable(
                "the identity provider's signing keys could not be fetched".into(),
            ),
            Origin::File(_) => {
                AuthError::invalid_config(NAME, "the issuer's JWKS file could not be read")
            }
        }
    }

    /// Fetches or reads the set. The error is for the log, not the client.
    async fn load(&self) -> Result<KeySet, String> {
        let text = match &self.origin {
            Origin::Url(url) => self
                .client
                .get(url)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| format!("fetching the JWKS failed: {}", e.without_url()))?
                .text()
                .await
                .map_err(|e| format!("reading the JWKS failed: {}", e.without_url()))?,
            Origin::File(path) => tokio::fs::read_to_string(path)
                .await
                .map_err(|e| format!("reading {}: {e}", path.display()))?,
        };
        parse(&text, &self.issuer)
    }
}

/// Closes the fetch's channel and clears it from the state when the fetch
/// ends, even by a panic or the runtime shutting down, so the next login
/// may start another.
#[derive(Debug)]
struct Attempt {
    shared: Arc<Shared>,
    _done: watch::Sender<()>,
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.shared.lock().in_flight = None;
    }
}

/// The usable keys of a JWKS document. Keys we cannot use (symmetric,
/// encryption, unknown types or algorithms, malformed) are skipped, so one
/// odd key does not hide the others.
fn parse(text: &str, issuer: &str) -> Result<KeySet, String> {
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<Value>,
    }
    let document: Document =
        serde_json::from_str(text).map_err(|_| "the JWKS is not a valid key set".to_owned())?;
    let keys = document
        .keys
        .into_iter()
        .filter_map(|raw| {
            let declared = raw.get("alg").and_then(Value::as_str).map(str::to_owned);
            let kid = raw.get("kid").and_then(Value::as_str).map(str::to_owned);
            let key = serde_json::from_value::<Jwk>(raw)
                .map_err(|_| "a malformed key")
                .and_then(|jwk| VerifyingKey::from_jwk(&jwk, declared.as_deref()));
            match key {
                Ok(key) => Some(Arc::new(key)),
                Err(why) => {
                    tracing::debug!(%issuer, kid = kid.as_deref().unwrap_or("-"), "skipping {why} in the JWKS");
                    None
                }
            }
        })
        .collect();
    Ok(KeySet { keys })
}
