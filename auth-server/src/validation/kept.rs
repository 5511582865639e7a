//! One value kept under the token revision it was read at.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use auth_core::AuthError;

/// A value read from the store and kept while the token revision has not
/// moved: the implied-role rules, the imaging role map. Whatever changes
/// such a value moves the revision in the same transaction, so a kept copy
/// tagged with the revision a request reads is exactly what the store
/// holds.
#[derive(Debug)]
pub(crate) struct Kept<T> {
    slot: Mutex<Option<(i64, Arc<T>)>>,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Self {
            slot: Mutex::new(None),
        }
    }
}

impl<T> Kept<T> {
    /// The kept value if it was read at `revision`, otherwise `read`'s
    /// (kept under `revision`). `None` (caching off, or a store that cannot
    /// tell) reads every time. The revision must come from a read that
    /// started before `read` does, as the gate's do: then a value is never
    /// tagged with a revision newer than its data.
    pub(crate) async fn get_or_read<F, Fut>(
        &self,
        revision: Option<i64>,
        read: F,
    ) -> Result<Arc<T>, AuthError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, AuthError>>,
    {
        let Some(revision) = revision else {
            return read().await.map(Arc::new);
        };
        if let Some((kept_at, value)) = &*self.lock()
            && *kept_at == revision
        {
            return Ok(value.clone());
        }
        let value = Arc::new(read().await?);
        // A slower reader of an older revision does not replace a newer
        // value, which would cost the next request another read.
        let mut kept = self.lock();
        if kept
            .as_ref()
            .is_none_or(|(kept_at, _)| *kept_at <= revision)
        {
            *kept = Some((revision, value.clone()));
        }
        Ok(value)
    }

    /// Forgets the kept value.
    pub(crate) fn clear(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(i64, Arc<T>)>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_value_is_read_again_only_when_the_revision_moves() {
        let kept = Kept::default();
        let reads = std::sync::atomic::AtomicU32::new(0);
        let read = || async {
            Ok::<_, AuthError>(reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
        };
        assert_eq!(*kept.get_or_read(Some(1), read).await.unwrap(), 0);
        assert_eq!(*kept.get_or_read(Some(1), read).await.unwrap(), 0);
        assert_eq!(*kept.get_or_read(Some(2), read).await.unwrap(), 1);
        // An older revision is served its own read, and does not replace
        // the newer value.
        assert_eq!(*kept.get_or_read(Some(1), read).await.unwrap(), 2);
        assert_eq!(*kept.get_or_read(Some(2), read).await.unwrap(), 1);
        // Without a revision, nothing is kept.
        assert_eq!(*kept.get_or_read(None, read).await.unwrap(), 3);
        kept.clear();
        assert_eq!(*kept.get_or_read(Some(2), read).await.unwrap(), 4);
    }
}
