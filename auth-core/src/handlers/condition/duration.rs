//! Durations as conditions write them: `180d`, `7h`, `1y`, and `{now}`
//! offsets such as `{now}+10d` or `{now}-5h`.

use chrono::Duration;

/// The units a duration may use, with their length in seconds.
const UNITS: &[(char, i64)] = &[
    ('s', 1),
    ('m', 60),
    ('h', 3_600),
    ('d', 86_400),
    ('w', 7 * 86_400),
    ('y', 365 * 86_400),
];

/// Parses `N[smhdwy]` (`180d`). `None` for anything else.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let (_, seconds) = UNITS.iter().find(|(u, _)| *u == unit)?;
    let number = &text[..text.len() - unit.len_utf8()];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = number.parse().ok()?;
    Duration::try_seconds(n.checked_mul(*seconds)?)
}

/// Parses `{now}`, `{now}+N[smhdwy]` or `{now}-N[smhdwy]` (spaces allowed
/// around the sign) into the offset from now. `None` if `text` does not
/// start with `{now}`; `Some(Err(()))` if it does but the offset is bad.
pub(crate) fn parse_now(text: &str) -> Option<Result<Duration, ()>> {
    let rest = text.trim().strip_prefix("{now}")?.trim();
    if rest.is_empty() {
        return Some(Ok(Duration::zero()));
    }
    let (sign, amount) = match rest.split_at(1) {
        ("+", amount) => (1, amount),
        ("-", amount) => (-1, amount),
        _ => return Some(Err(())),
    };
    Some(parse_duration(amount).map(|d| d * sign).ok_or(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("180d"), Some(Duration::days(180)));
        assert_eq!(parse_duration(" 7h "), Some(Duration::hours(7)));
        assert_eq!(parse_duration("1y"), Some(Duration::days(365)));
        assert_eq!(parse_duration("2w"), Some(Duration::days(14)));
        assert_eq!(parse_duration("90m"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("0s"), Some(Duration::zero()));
        for bad in [
            "",
            "d",
            "10",
            "10x",
            "-1d",
            "1.5h",
            "+3d",
            "99999999999999999999y",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn now_offsets() {
        assert_eq!(parse_now("{now}"), Some(Ok(Duration::zero())));
        assert_eq!(parse_now("{now}+10d"), Some(Ok(Duration::days(10))));
        assert_eq!(parse_now("{now} - 5h"), Some(Ok(Duration::hours(-5))));
        assert_eq!(parse_now("{now}*2"), Some(Err(())));
        assert_eq!(parse_now("{now}+"), Some(Err(())));
        assert_eq!(parse_now("2024-01-01"), None);
    }
}
