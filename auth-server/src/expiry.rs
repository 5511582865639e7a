//! Expiry dates as clients send them.
//!
//! Keystone's `parse_expiration_date` takes an ISO 8601 time and, when it
//! carries no zone, reads it as UTC: Python clients send
//! `datetime.utcnow().isoformat()`, e.g. `2026-11-29T23:30:00.123456`. A
//! time that has already passed is refused. Both refusals are 400s.

use auth_core::AuthError;
use chrono::{DateTime, NaiveDateTime, Utc};

/// The instant `text` names, with its sub-second digits, if it is an ISO
/// 8601 date and time (with a zone, or without one: then UTC) not before
/// `now`.
pub fn parse_expiration_date(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, AuthError> {
    let at = DateTime::parse_from_rfc3339(text)
        .map(|at| at.to_utc())
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|at| at.and_utc())
        })
        .map_err(|_| {
            AuthError::bad_request(
                "Timestamp not in expected format: 'expires_at' must be an ISO 8601 date and time.",
            )
        })?;
    if at < now {
        return Err(AuthError::bad_request(
            "The 'expires_at' must not be before now.",
        ));
    }
    Ok(at)
}

/// `at` as Keystone's JSON encoder renders a stored time: Python's
/// `datetime.isoformat()` of the naive UTC time, without a zone, with
/// microseconds unless there are none (what tempest compares an
/// application credential's `expires_at` with).
pub fn isoformat(at: DateTime<Utc>) -> String {
    if at.timestamp_subsec_micros() == 0 {
        at.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn times_render_as_pythons_isoformat() {
        let at = |text| DateTime::parse_from_rfc3339(text).unwrap().to_utc();
        assert_eq!(
            isoformat(at("2099-01-02T03:04:05.123456Z")),
            "2099-01-02T03:04:05.123456"
        );
        assert_eq!(
            isoformat(at("2099-01-02T03:04:05.000100Z")),
            "2099-01-02T03:04:05.000100"
        );
        assert_eq!(isoformat(at("2099-01-02T03:04:05Z")), "2099-01-02T03:04:05");
    }

    #[test]
    fn a_time_without_a_zone_is_utc_and_keeps_its_microseconds() {
        let at = parse_expiration_date("2026-11-29T23:30:00.123456", now()).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-29T23:30:00.123456+00:00");
    }

    #[test]
    fn zones_are_honoured() {
        let at = parse_expiration_date("2026-11-30T01:30:00+02:00", now()).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-29T23:30:00+00:00");
        let z = parse_expiration_date("2026-11-29T23:30:00.5Z", now()).unwrap();
        assert_eq!(z.timestamp_subsec_micros(), 500_000);
    }

    #[test]
    fn the_past_and_garbage_are_400s() {
        for bad in [
            "2026-11-29T11:59:59.999999",
            "yesterday",
            "2026-13-01T00:00:00",
            "",
        ] {
            let error = parse_expiration_date(bad, now()).unwrap_err();
            assert_eq!(error.http_status(), 400, "{bad}");
        }
    }
}
