//! The audit log writer: [`AuditLog`].
//!
//! Every API call and every event-handler run leaves one row in the
//! [`AuditStore`]. Writing a row must never slow down or fail the request
//! it describes, so [`AuditLog::record`] only puts the row on a bounded
//! queue; a background task writes the queue in batches (one transaction
//! per batch, through [`AuditStore::append_audit`]).
//!
//! When the queue is full a row is dropped, but never silently: the drop
//! is counted ([`AuditStats::dropped`]) and, as soon as the writer has
//! room again, recorded as a row of its own (event [`OVERFLOW_EVENT`],
//! `detail: {"dropped": n}`), so a gap in the log is visible in the log.
//!
//! Rows are redacted before they are queued: any `detail` member whose
//! name looks like a secret (`password`, `token`, `secret`, …) is replaced,
//! at any depth. Callers should not put secrets there in the first place;
//! this is the second line of defence.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::clock::Clock;
use crate::events::{AuthEvent, EventResult};
use crate::store::{AuditKind, AuditRecord, AuditStore};

/// The event name of the row that records how many rows a full queue
/// dropped.
pub const OVERFLOW_EVENT: &str = "audit.overflow";

/// What replaces a redacted value.
pub const REDACTED: &str = "[redacted]";

/// Parts of a `detail` member name that mark its value as secret.
const SECRET_NAME_PARTS: &[&str] = &[
    "password",
    "passcode",
    "secret",
    "token",
    "authorization",
    "credential",
    "private",
    "cookie",
    "api_key",
    "apikey",
];

/// Sizes of the audit queue, e.g. `[audit]` in the server's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditLogConfig {
    /// How many rows may wait for the writer; more are dropped and counted.
    pub capacity: usize,
    /// At most this many rows per write transaction.
    pub batch_size: usize,
}

impl Default for AuditLogConfig {
    fn default() -> Self {
        Self {
            capacity: 4096,
            batch_size: 256,
        }
    }
}

/// What the writer has done so far, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Rows dropped because the queue was full (each also counted in an
    /// [`OVERFLOW_EVENT`] row).
    pub dropped: u64,
    /// Rows written.
    pub written: u64,
    /// Rows lost because the store refused a batch.
    pub write_failures: u64,
}

/// A cheap, cloneable handle to the audit queue and its writer task.
///
/// Built inside a Tokio runtime ([`AuditLog::new`] spawns the writer). The
/// writer stops when the last handle is dropped, after writing what was
/// queued; call [`AuditLog::flush`] first to wait for that.
#[derive(Clone)]
pub struct AuditLog {
    queue: Option<mpsc::Sender<Message>>,
    shared: Arc<Shared>,
}

enum Message {
    Row(Box<AuditRecord>),
    Flush(oneshot::Sender<()>),
}

#[derive(Default)]
struct Shared {
    dropped: AtomicU64,
    /// Dropped rows not yet recorded in an overflow row.
    unreported: AtomicU64,
    written: AtomicU64,
    write_failures: AtomicU64,
    /// Wakes an idle writer to record an overflow.
    overflowed: Notify,
}

impl AuditLog {
    /// A log writing to `store`, stamping overflow rows with `clock`.
    /// Spawns the writer task, so it must be called inside a Tokio runtime.
    pub fn new(store: Arc<dyn AuditStore>, clock: Arc<dyn Clock>, config: AuditLogConfig) -> Self {
        let (queue, rows) = mpsc::channel(config.capacity.max(1));
        let shared = Arc::new(Shared::default());
        let writer = Writer {
            store,
            clock,
            rows,
            shared: shared.clone(),
            batch_size: config.batch_size.max(1),
        };
        tokio::spawn(writer.run());
        Self {
            queue: Some(queue),
            shared,
        }
    }

    /// A log that keeps nothing: for embedders without an audit store.
    pub fn disabled() -> Self {
        Self {
            queue: None,
            shared: Arc::new(Shared::default()),
        }
    }

    /// Whether rows go anywhere.
    pub fn is_enabled(&self) -> bool {
        self.queue.is_some()
    }

    /// Queues one row, redacted. Never blocks and never fails: when the
    /// queue is full the row is dropped and counted.
    pub fn record(&self, mut record: AuditRecord) {
        let Some(queue) = &self.queue else {
            return;
        };
        redact(&mut record.detail);
        if queue.try_send(Message::Row(Box::new(record))).is_err() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            self.shared.unreported.fetch_add(1, Ordering::Relaxed);
            self.shared.overflowed.notify_one();
        }
    }

    /// Waits until every row queued before this call is written (or its
    /// batch failed), including the overflow row for drops so far. For
    /// tests and shutdown.
    pub async fn flush(&self) {
        let Some(queue) = &self.queue else {
            return;
        };
        let (done, written) = oneshot::channel();
        if queue.send(Message::Flush(done)).await.is_ok() {
            // The writer answers after writing; it only goes away when
            // every handle (including this one) is gone.
            let _ = written.await;
        }
    }

    /// Counters since start.
    pub fn stats(&self) -> AuditStats {
        AuditStats {
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            written: self.shared.written.load(Ordering::Relaxed),
            write_failures: self.shared.write_failures.load(Ordering::Relaxed),
        }
    }
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("enabled", &self.is_enabled())
            .field("stats", &self.stats())
            .finish()
    }
}

/// The background task: takes rows off the queue and writes them in
/// batches.
struct Writer {
    store: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
    rows: mpsc::Receiver<Message>,
    shared: Arc<Shared>,
    batch_size: usize,
}

impl Writer {
    async fn run(mut self) {
        let mut batch = Vec::with_capacity(self.batch_size);
        let mut flushes = Vec::new();
        loop {
            let first = tokio::select! {
                message = self.rows.recv() => match message {
                    Some(message) => Some(message),
                    None => break,
                },
                () = self.shared.overflowed.notified() => None,
            };
            let mut next = first;
            while let Some(message) = next {
                match message {
                    Message::Row(row) => batch.push(*row),
                    Message::Flush(done) => flushes.push(done),
                }
                if batch.len() >= self.batch_size {
                    break;
                }
                next = self.rows.try_recv().ok();
            }
            self.write(&mut batch).await;
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
        }
        self.write(&mut batch).await;
    }

    /// Writes `batch` plus an overflow row for drops not yet recorded.
    async fn write(&self, batch: &mut Vec<AuditRecord>) {
        let unreported = self.shared.unreported.swap(0, Ordering::Relaxed);
        if unreported > 0 {
            batch.push(overflow_row(unreported, self.clock.now()));
        }
        if batch.is_empty() {
            return;
        }
        let rows = u64::try_from(batch.len()).unwrap_or(u64::MAX);
        match self.store.append_audit(batch).await {
            Ok(()) => self.shared.written.fetch_add(rows, Ordering::Relaxed),
            Err(_) => self
                .shared
                .write_failures
                .fetch_add(rows, Ordering::Relaxed),
        };
        batch.clear();
    }
}

fn overflow_row(dropped: u64, at: chrono::DateTime<chrono::Utc>) -> AuditRecord {
    AuditRecord::new(at, AuditKind::Call, OVERFLOW_EVENT, false)
        .with_detail(json!({ "dropped": dropped }))
}

/// A row about `event`: its time, client, user, project and request id,
/// `success` from its result (a `continue` counts as a success: nothing
/// failed), and an empty detail. The server builds its per-call rows with
/// this; the dispatcher its per-handler rows.
pub fn record_for(event: &AuthEvent, kind: AuditKind, name: impl Into<String>) -> AuditRecord {
    let success = event.result != Some(EventResult::Failure) && event.error.is_none();
    let mut row = AuditRecord::new(event.at, kind, name, success);
    row.duration_us = event
        .elapsed_us
        .map(|us| i64::try_from(us).unwrap_or(i64::MAX));
    row.client_addr = event.client_addr.map(|a| a.to_string());
    row.user_id.clone_from(&event.user_id);
    row.project_id.clone_from(&event.project_id);
    row.request_id.clone_from(&event.request_id);
    row
}

/// Replaces, at any depth, every object member whose name looks like a
/// secret with [`REDACTED`].
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for (name, member) in members.iter_mut() {
                if is_secret_name(name) {
                    *member = Value::String(REDACTED.to_owned());
                } else {
                    redact(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Whether a member name marks its value as secret.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAME_PARTS.iter().any(|part| name.contains(part))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ManualClock;
    use crate::store::AuditQuery;
    use crate::testkit::MemoryStore;
    use async_trait::async_trait;
    use chrono::{DateTime, Utc};

    fn row(n: i64) -> AuditRecord {
        AuditRecord::new(
            DateTime::from_timestamp(1_800_000_000 + n, 0).unwrap(),
            AuditKind::Call,
            "auth.tokens.create",
            true,
        )
        .with_duration_us(n)
        .with_user("u1")
        .with_request_id(format!("req-{n}"))
        .with_detail(json!({ "n": n }))
    }

    fn clock() -> Arc<dyn Clock> {
        Arc::new(ManualClock::new(
            DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
        ))
    }

    async fn all(store: &MemoryStore) -> Vec<AuditRecord> {
        let mut rows = store.query_audit(&AuditQuery::new(10_000)).await.unwrap();
        rows.reverse();
        rows
    }

    #[tokio::test]
    async fn rows_are_written_in_order_in_batches() {
        let store = Arc::new(MemoryStore::new());
        let log = AuditLog::new(
            store.clone(),
            clock(),
            AuditLogConfig {
                capacity: 100,
                batch_size: 7,
            },
        );
        for n in 0..50 {
            log.record(row(n));
        }
        log.flush().await;
        let rows = all(&store).await;
        assert_eq!(rows.len(), 50);
        assert!(rows.iter().enumerate().all(|(i, r)| r.detail["n"] == i));
        assert_eq!(
            log.stats(),
            AuditStats {
                dropped: 0,
                written: 50,
                write_failures: 0
            }
        );
    }

    /// A store that holds every write until told to go on.
    #[derive(Debug)]
    struct Gated {
        open: tokio::sync::Semaphore,
        inner: MemoryStore,
    }

    impl Gated {
        fn closed() -> Arc<Self> {
            Arc::new(Self {
                open: tokio::sync::Semaphore::new(0),
                inner: MemoryStore::new(),
            })
        }
    }

    #[async_trait]
    impl AuditStore for Gated {
        async fn append_audit(&self, records: &[AuditRecord]) -> Result<(), crate::AuthError> {
            self.open.acquire().await.unwrap().forget();
            self.inner.append_audit(records).await
        }
        async fn query_audit(
            &self,
            query: &AuditQuery,
        ) -> Result<Vec<AuditRecord>, crate::AuthError> {
            self.inner.query_audit(query).await
        }
        async fn prune_audit(&self, before: DateTime<Utc>) -> Result<u64, crate::AuthError> {
            self.inner.prune_audit(before).await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_drops_counts_and_then_records_the_drop() {
        let store = Gated::closed();
        let log = AuditLog::new(
            store.clone(),
            clock(),
            AuditLogConfig {
                capacity: 2,
                batch_size: 1,
            },
        );
        log.record(row(0));
        // Let the writer take row 0 and block on the store.
        tokio::time::sleep(Duration::from_millis(20)).await;
        for n in 1..=5 {
            log.record(row(n)); // 1 and 2 fit; 3, 4 and 5 are dropped
        }
        assert_eq!(log.stats().dropped, 3);
        store.open.add_permits(100);
        log.flush().await;
        let rows = all(&store.inner).await;
        let events: Vec<_> = rows.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(rows.len(), 4, "{events:?}");
        let overflow = rows.iter().find(|r| r.event == OVERFLOW_EVENT).unwrap();
        assert_eq!(overflow.detail, json!({"dropped": 3}));
        assert!(!overflow.success);
        // Nothing is reported twice.
        log.record(row(9));
        log.flush().await;
        assert_eq!(
            all(&store.inner)
                .await
                .iter()
                .filter(|r| r.event == OVERFLOW_EVENT)
                .count(),
            1
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_writer_records_an_overflow_without_more_rows() {
        let store = Gated::closed();
        let log = AuditLog::new(
            store.clone(),
            clock(),
            AuditLogConfig {
                capacity: 1,
                batch_size: 1,
            },
        );
        log.record(row(0));
        tokio::time::sleep(Duration::from_millis(20)).await;
        log.record(row(1));
        log.record(row(2)); // dropped
        store.open.add_permits(100);
        for _ in 0..100 {
            if all(&store.inner).await.len() == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let rows = all(&store.inner).await;
        assert_eq!(rows.len(), 3);
        let overflows: Vec<_> = rows.iter().filter(|r| r.event == OVERFLOW_EVENT).collect();
        assert_eq!(overflows.len(), 1);
        assert_eq!(overflows[0].detail, json!({"dropped": 1}));
    }

    #[tokio::test]
    async fn secrets_are_redacted_at_any_depth() {
        let store = Arc::new(MemoryStore::new());
        let log = AuditLog::new(store.clone(), clock(), AuditLogConfig::default());
        let mut r = row(1);
        r.detail = json!({
            "binding": "notify",
            "password": "hunter2",
            "options": {"bearer_token": "abc", "url": "http://x"},
            "list": [{"X-Auth-Token": "t"}]
        });
        log.record(r);
        log.flush().await;
        let stored = &all(&store).await[0];
        assert_eq!(
            stored.detail,
            json!({
                "binding": "notify",
                "password": REDACTED,
                "options": {"bearer_token": REDACTED, "url": "http://x"},
                "list": [{"X-Auth-Token": REDACTED}]
            })
        );
    }

    #[tokio::test]
    async fn a_disabled_log_keeps_nothing_and_flushes_at_once() {
        let log = AuditLog::disabled();
        log.record(row(1));
        log.flush().await;
        assert!(!log.is_enabled());
        assert_eq!(log.stats(), AuditStats::default());
    }

    #[test]
    fn rows_for_events_take_the_event_fields() {
        let mut event = AuthEvent::new("auth.tokens.create", Utc::now());
        event.client_addr = Some("10.0.0.1".parse().unwrap());
        event.user_id = Some("u1".into());
        event.result = Some(EventResult::Failure);
        event.elapsed_us = Some(12);
        let r = record_for(&event, AuditKind::Call, "auth.tokens.create");
        assert_eq!(r.client_addr.as_deref(), Some("10.0.0.1"));
        assert_eq!(r.user_id.as_deref(), Some("u1"));
        assert_eq!(r.duration_us, Some(12));
        assert!(!r.success);
        event.result = Some(EventResult::Continue);
        assert!(record_for(&event, AuditKind::Call, "x").success);
    }
}
