//! Passcode arithmetic (RFC 6238 with totp-rs), kept free of I/O so it can
//! be benchmarked on its own.

use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

/// The step length, in seconds.
pub const STEP_SECONDS: i64 = 30;

const DIGITS: usize = 6;

/// A secret nobody holds, for timing-equal failures.
pub(super) const DUMMY_SECRET: &[u8] = b"0123456789abcdefghij";

/// The raw secret of a base32 credential blob, forgiving case, spaces and
/// padding as authenticator apps write them; `None` if it is not base32.
pub fn decode_secret(blob: &str) -> Option<Vec<u8>> {
    let cleaned: String = blob
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Secret::Encoded(cleaned)
        .to_bytes()
        .ok()
        .filter(|b| !b.is_empty())
}

fn generator(secret: &[u8]) -> TOTP {
    // new_unchecked: Keystone's secrets may be shorter than the 128 bits
    // the checked constructor insists on.
    TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, 30, secret.to_vec())
}

/// The passcode for `secret` at `at`.
pub fn passcode_at(secret: &[u8], at: DateTime<Utc>) -> String {
    generator(secret).generate(u64::try_from(at.timestamp()).unwrap_or(0))
}

/// The step whose passcode `passcode` is, among the current step and
/// `previous_windows` earlier ones, compared in constant time.
pub fn matching_step(
    secret: &[u8],
    passcode: &str,
    now: DateTime<Utc>,
    previous_windows: u8,
) -> Option<i64> {
    let current = now.timestamp().div_euclid(STEP_SECONDS);
    let totp = generator(secret);
    let mut found = None;
    // Every window is computed, even after a match, so the time taken does
    // not tell which window matched.
    for back in 0..=i64::from(previous_windows) {
        let step = current - back;
        let Ok(time) = u64::try_from(step * STEP_SECONDS) else {
            continue;
        };
        let code = totp.generate(time);
        if bool::from(code.as_bytes().ct_eq(passcode.as_bytes())) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238 appendix B, SHA-1, truncated to 6 digits.
    #[test]
    fn rfc_6238_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            let at = Utc.timestamp_opt(time, 0).unwrap();
            assert_eq!(passcode_at(secret, at), code, "at {time}");
        }
    }

    #[test]
    fn previous_windows_only() {
        let secret = b"12345678901234567890";
        let now = Utc.timestamp_opt(1_111_111_111, 0).unwrap();
        let previous = passcode_at(secret, now - chrono::Duration::seconds(30));
        let next = passcode_at(secret, now + chrono::Duration::seconds(30));
        let current_step = 1_111_111_111 / 30;
        assert_eq!(
            matching_step(secret, &previous, now, 1),
            Some(current_step - 1)
        );
        assert_eq!(matching_step(secret, &previous, now, 0), None);
        assert_eq!(
            matching_step(secret, &next, now, 10),
            None,
            "never a future window"
        );
        assert_eq!(matching_step(secret, "12345", now, 1), None);
    }

    #[test]
    fn base32_blobs_are_read_forgivingly() {
        let canonical = decode_secret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        assert_eq!(canonical, b"12345678901234567890");
        assert_eq!(
            decode_secret("gezd gnbv gy3t qojq gezd gnbv gy3t qojq===="),
            Some(canonical)
        );
        assert_eq!(decode_secret("not base32!"), None);
        assert_eq!(decode_secret(""), None);
    }
}
