//! The shared session and the one login in flight.
//!
//! Every login (successful or not) starts a new generation. A request
//! remembers the generation it saw; after waiting for the lock, a changed
//! generation means someone else logged in meanwhile, so it uses that
//! result instead of logging in again. That makes concurrent first use,
//! concurrent 401s and a failing password cost one login each.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::{Clock, LoginContext, LoginError, LoginStrategy, Session};

pub(super) struct Logins {
    strategy: Arc<dyn LoginStrategy>,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    margin: chrono::Duration,
    /// `state.generation`, readable without waiting for a login.
    generation: AtomicU64,
    /// Held during a login, so there is one at a time.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    generation: u64,
    current: Option<Current>,
    /// Why the last login failed, for the requests that waited on it.
    failure: Option<LoginError>,
}

struct Current {
    session: Session,
    /// When to log in again, if the session expires.
    renew_at: Option<DateTime<Utc>>,
}

impl Logins {
    pub(super) fn new(
        strategy: Arc<dyn LoginStrategy>,
        client: reqwest::Client,
        clock: Arc<dyn Clock>,
        margin: chrono::Duration,
    ) -> Self {
        Self {
            strategy,
            client,
            clock,
            margin,
            generation: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        }
    }

    /// The session to send and its generation. `refused` is the generation
    /// of a session the server just refused: if it is still the current
    /// one it is dropped and replaced.
    pub(super) async fn session(&self, refused: Option<u64>) -> Result<(u64, Session), LoginError> {
        let seen = refused.unwrap_or_else(|| self.generation.load(Ordering::Acquire));
        let mut state = self.state.lock().await;
        if refused == Some(state.generation) {
            state.current = None;
        }
        let moved_on = state.generation != seen;
        match &state.current {
            Some(current) if moved_on || !self.due(current) => {
                return Ok((state.generation, current.session.clone()));
            }
            None if moved_on => {
                if let Some(failure) = &state.failure {
                    return Err(failure.clone());
                }
            }
            _ => {}
        }
        // Dropped before logging in: a failed login leaves no stale session.
        state.current = None;
        let result = self
            .strategy
            .login(&LoginContext::new(&self.client, self.clock.as_ref()))
            .await;
        state.generation += 1;
        self.generation.store(state.generation, Ordering::Release);
        match result {
            Ok(session) => {
                tracing::debug!(generation = state.generation, "logged in");
                state.failure = None;
                state.current = Some(Current {
                    renew_at: self.renew_at(&session),
                    session: session.clone(),
                });
                Ok((state.generation, session))
            }
            Err(error) => {
                tracing::debug!(generation = state.generation, %error, "login failed");
                state.failure = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Drops the session of `generation` if it is still current, so the
    /// next request logs in (a refused request that cannot be retried).
    pub(super) async fn forget(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state.generation == generation {
            state.current = None;
        }
    }

    /// The margin before expiry, or half the remaining life when that is
    /// shorter (a five-minute token is not renewed on every request). A
    /// session already expired by this clock (skew) is renewed at once.
    fn renew_at(&self, session: &Session) -> Option<DateTime<Utc>> {
        let expires_at = session.expires_at()?;
        let half_life = ((expires_at - self.clock.now()) / 2).max(chrono::Duration::zero());
        Some(expires_at - self.margin.min(half_life))
    }

    fn due(&self, current: &Current) -> bool {
        current
            .renew_at
            .is_some_and(|renew_at| self.clock.now() >= renew_at)
    }
}

impl fmt::Debug for Logins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logins")
            .field("strategy", &self.strategy)
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}
