//! Times as stored: BIGINT unix microseconds, UTC.
//!
//! One integer representation serves both drivers with the same SQL and the
//! same comparisons (`at >= $1`), sorts correctly, and keeps the
//! microsecond precision `chrono` gives.

use auth_core::AuthError;
use chrono::{DateTime, Utc};

use super::error::corrupt;

/// A time as stored.
pub(crate) fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// An optional time as stored.
pub(crate) fn to_micros_opt(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(to_micros)
}

/// A stored time; `field` names it if it is out of range.
pub(crate) fn from_micros(micros: i64, field: &'static str) -> Result<DateTime<Utc>, AuthError> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| corrupt(field))
}

/// An optional stored time.
pub(crate) fn from_micros_opt(
    micros: Option<i64>,
    field: &'static str,
) -> Result<Option<DateTime<Utc>>, AuthError> {
    micros.map(|m| from_micros(m, field)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_at_microsecond_precision() {
        let at = DateTime::from_timestamp(1_800_000_000, 123_456_000).unwrap();
        assert_eq!(from_micros(to_micros(at), "t").unwrap(), at);
        assert!(from_micros(i64::MAX, "t").is_err());
    }
}
