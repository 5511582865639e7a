//! Injected time, so tests can move a session towards its expiry instead
//! of sleeping.

use std::fmt;

use chrono::{DateTime, Utc};

/// The wall clock the client compares `expires_at` with. The server's
/// `expires_at` is wall time, so this is wall time too (not `Instant`).
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock, the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
