//! A fresh read of the store's token revision for every validation.
//!
//! A cached validation may only be served if no write that could change it
//! committed before the request arrived, on any node. So each request needs
//! a revision read that *started after it arrived*.
//!
//! Where the store can read it in place (SQLite on a file: see
//! [`RevocationStore::revision_reader`]), each request reads it on its own
//! thread, in microseconds, and nothing waits. Otherwise (PostgreSQL, a
//! round trip away) reads are coalesced: at most one is in flight, every
//! request arriving meanwhile waits for the next one (which starts as soon
//! as the current one ends), and one read answers everyone waiting for it.
//! Under load the store then sees one query per round trip rather than one
//! per request; an idle server pays one query per validation. An in-place
//! read that fails (it never waits for a lock) falls back to the same
//! coalesced read.
//!
//! [`RevocationStore::revision_reader`]: auth_core::store::RevocationStore::revision_reader

use std::sync::{Arc, Mutex, PoisonError};

use auth_core::AuthError;
use auth_core::store::{RevisionReader, Storage};
use tokio::sync::watch;

/// Coalesced, linearizable reads of the token revision.
#[derive(Clone)]
pub struct RevisionGate {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Arc<dyn Storage>,
    /// The store's in-place reader, if it has one.
    in_place: Option<Arc<dyn RevisionReader>>,
    state: Mutex<State>,
    published: watch::Sender<Published>,
}

#[derive(Default)]
struct State {
    /// Whether the reader task runs.
    reading: bool,
    /// How many reads have started.
    started: u64,
    /// Whether a request arrived after the current read started.
    want_more: bool,
}

struct Published {
    /// The number of the read this is the result of.
    read: u64,
    /// The revision, or why it could not be read.
    result: Result<Option<i64>, String>,
}

impl RevisionGate {
    /// A gate over `storage`'s [`token_revision`](auth_core::store::RevocationStore::token_revision).
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        let (published, _) = watch::channel(Published {
            read: 0,
            result: Ok(None),
        });
        Self {
            inner: Arc::new(Inner {
                in_place: storage.revision_reader(),
                storage,
                state: Mutex::new(State::default()),
                published,
            }),
        }
    }

    /// The revision, from a read that started after this call did.
    pub async fn current(&self) -> Result<Option<i64>, AuthError> {
        if let Some(reader) = &self.inner.in_place {
            match reader.read() {
                Ok(revision) => return Ok(Some(revision)),
                Err(error) => tracing::debug!(%error, "reading the revision through the store"),
            }
        }
        let mut results = self.inner.published.subscribe();
        let (needed, lead) = {
            let mut state = self.lock();
            if state.reading {
                state.want_more = true;
                (state.started + 1, false)
            } else {
                state.reading = true;
                state.started += 1;
                (state.started, true)
            }
        };
        if lead {
            tokio::spawn(self.clone().read_until_nobody_waits());
        }
        let published = results
            .wait_for(|p| p.read >= needed)
            .await
            .map_err(|_| AuthError::Internal("the revision reader stopped".to_owned()))?;
        published
            .result
            .clone()
            .map_err(AuthError::StoreUnavailable)
    }

    async fn read_until_nobody_waits(self) {
        loop {
            let result = match self.inner.storage.token_revision().await {
                Ok(revision) => Ok(revision),
                Err(AuthError::StoreUnavailable(why)) => Err(why),
                Err(other) => Err(other.to_string()),
            };
            let mut state = self.lock();
            let read = state.started;
            self.inner
                .published
                .send_replace(Published { read, result });
            if state.want_more {
                state.want_more = false;
                state.started += 1;
            } else {
                state.reading = false;
                return;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for RevisionGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevisionGate")
            .field("backend", &self.inner.storage.backend())
            .field("in_place", &self.inner.in_place.is_some())
            .finish_non_exhaustive()
    }
}
