//! Comparisons: `left <op> right`, privacyIDEA's comparator set.
//!
//! | op | holds when |
//! |---|---|
//! | `==`, `!=` | the values are (not) equal; numbers compare as numbers (also when one is a numeric string), dates as instants |
//! | `<`, `>`, `<=`, `>=` | numbers as numbers; against a date (`2024-01-01T00:00:00Z`) or `{now}±N[smhdwy]`, the left side as a date; strings in byte order |
//! | `matches`, `!matches` | the regular expression (un)matches somewhere in the left side |
//! | `in`, `!in` | the left side is (not) one of the right side's list |
//! | `contains`, `!contains` | the left list has an element equal to the right side, or the left string contains the right string |
//!
//! A comparison between values that cannot be ordered (a number and a
//! word) does not hold; a missing left side is not a comparison at all: the
//! condition's `on_missing` decides.

use std::cmp::Ordering;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use regex::Regex;
use serde_json::Value;

use super::duration::parse_now;

/// Every comparator, for the schema.
pub(crate) const COMPARATORS: &[&str] = &[
    "==",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "matches",
    "!matches",
    "in",
    "!in",
    "contains",
    "!contains",
];

/// The longest regular expression (compiled size) a condition may use.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A compiled regular expression, for `matches` and regex conditions.
pub(crate) fn regex(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let detail = e.to_string();
            let last = detail.lines().last().unwrap_or_default().trim().to_owned();
            format!("bad regular expression '{pattern}': {last}")
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
    Matches,
    In,
    Contains,
}

/// The right side, parsed once.
#[derive(Debug, Clone)]
enum Operand {
    Value(Value),
    /// `{now}` plus an offset.
    Now(Duration),
    Date(DateTime<Utc>),
    Regex(Regex),
    List(Vec<Value>),
}

/// `op right`, ready to be applied to a left side.
#[derive(Debug, Clone)]
pub(crate) struct Comparison {
    op: Op,
    negated: bool,
    operand: Operand,
}

impl Comparison {
    /// Builds a comparison from an operator and its right side.
    pub(crate) fn new(op: &str, right: Value) -> Result<Self, String> {
        let (negated, name) = match op.strip_prefix('!') {
            Some(rest) if rest != "=" => (true, rest),
            _ => (false, op),
        };
        let (op, negated) = match (name, negated) {
            ("==", false) => (Op::Eq, false),
            ("!=", false) => (Op::Eq, true),
            ("<", false) => (Op::Lt, false),
            (">", false) => (Op::Gt, false),
            ("<=", false) => (Op::Le, false),
            (">=", false) => (Op::Ge, false),
            ("matches", n) => (Op::Matches, n),
            ("in", n) => (Op::In, n),
            ("contains", n) => (Op::Contains, n),
            _ => {
                return Err(format!(
                    "unknown comparator '{op}'; use one of: {}",
                    COMPARATORS.join(" ")
                ));
            }
        };
        let operand = match op {
            Op::Matches => match &right {
                Value::String(pattern) => Operand::Regex(regex(pattern)?),
                _ => return Err("'matches' needs a regular expression string".to_owned()),
            },
            Op::In => match right {
                Value::Array(items) => Operand::List(items),
                _ => return Err("'in' needs a list".to_owned()),
            },
            _ => match &right {
                Value::String(text) => match parse_now(text) {
                    Some(Ok(offset)) => Operand::Now(offset),
                    Some(Err(())) => {
                        return Err(format!(
                            "bad time '{text}': use {{now}}, {{now}}+N or {{now}}-N with \
                             N followed by s, m, h, d, w or y"
                        ));
                    }
                    None => match parse_date(text) {
                        Some(date) if matches!(op, Op::Lt | Op::Gt | Op::Le | Op::Ge) => {
                            Operand::Date(date)
                        }
                        _ => Operand::Value(right),
                    },
                },
                Value::Null | Value::Object(_)
                    if matches!(op, Op::Lt | Op::Gt | Op::Le | Op::Ge) =>
                {
                    return Err("an ordering needs a number, a string or a date".to_owned());
                }
                _ => Operand::Value(right),
            },
        };
        Ok(Self {
            op,
            negated,
            operand,
        })
    }

    /// Parses privacyIDEA's string form, `op value` or just `value` (which
    /// means `==`): `">= 3"`, `"<{now}-7d"`, `"matches ^adm"`. The value
    /// is read as JSON when it is JSON (`true`, `3`, `["a","b"]`), else as
    /// the text itself.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let symbolic = |c: char| "<>=!~".contains(c);
        for symbol in ["==", "!=", "<=", ">=", "<", ">"] {
            if let Some(rest) = text.strip_prefix(symbol) {
                if rest.starts_with(symbolic) {
                    let op: String = text.chars().take_while(|c| symbolic(*c)).collect();
                    return Self::new(&op, Value::Null);
                }
                return Self::new(symbol, loose_json(rest));
            }
        }
        let word = text.split(char::is_whitespace).next().unwrap_or_default();
        if COMPARATORS.contains(&word) || (!word.is_empty() && word.chars().all(symbolic)) {
            let rest = &text[word.len()..];
            return Self::new(word, loose_json(rest));
        }
        Self::new("==", loose_json(text))
    }

    /// Whether the right side is a number (or a list of numbers), as a
    /// comparison with a count must be.
    pub(crate) fn is_numeric(&self) -> bool {
        match &self.operand {
            Operand::Value(v) => number(v).is_some(),
            Operand::List(items) => items.iter().all(|v| number(v).is_some()),
            _ => false,
        }
    }

    /// Whether `left <op> right` holds, `now` being the time `{now}` means.
    pub(crate) fn holds(&self, left: &Value, now: DateTime<Utc>) -> bool {
        let result = match (&self.op, &self.operand) {
            (Op::Eq, operand) => order(left, operand, now) == Some(Ordering::Equal),
            (Op::Lt, operand) => order(left, operand, now) == Some(Ordering::Less),
            (Op::Gt, operand) => order(left, operand, now) == Some(Ordering::Greater),
            (Op::Le, operand) => matches!(
                order(left, operand, now),
                Some(Ordering::Less | Ordering::Equal)
            ),
            (Op::Ge, operand) => matches!(
                order(left, operand, now),
                Some(Ordering::Greater | Ordering::Equal)
            ),
            (Op::Matches, Operand::Regex(re)) => text(left).is_some_and(|t| re.is_match(&t)),
            (Op::In, Operand::List(items)) => items.iter().any(|item| equal(left, item)),
            (Op::Contains, Operand::Value(right)) => match left {
                Value::Array(items) => items.iter().any(|item| equal(item, right)),
                Value::String(s) => right.as_str().is_some_and(|r| s.contains(r)),
                _ => false,
            },
            (Op::Contains, _) | (Op::Matches | Op::In, _) => false,
        };
        result != self.negated
    }
}

/// The text as JSON if it is JSON, else as a string.
fn loose_json(text: &str) -> Value {
    let text = text.trim();
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// A date in RFC 3339, or privacyIDEA's `2017-10-12T10:00+0200`.
fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .or_else(|_| DateTime::<FixedOffset>::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M%z"))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// A number, or a string holding one.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Scalars as text, for `matches`.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn equal(left: &Value, right: &Value) -> bool {
    compare_values(left, right) == Some(Ordering::Equal)
}

fn order(left: &Value, operand: &Operand, now: DateTime<Utc>) -> Option<Ordering> {
    match operand {
        Operand::Now(offset) => Some(left.as_str().and_then(parse_date)?.cmp(&(now + *offset))),
        Operand::Date(date) => Some(left.as_str().and_then(parse_date)?.cmp(date)),
        Operand::Value(right) => compare_values(left, right),
        Operand::Regex(_) | Operand::List(_) => None,
    }
}

/// Orders two values where that means something: numbers (numeric strings
/// included) by value, two dates by instant, two strings by bytes, and
/// anything else only by equality.
fn compare_values(left: &Value, right: &Value) -> Option<Ordering> {
    if left.is_number() || right.is_number() {
        return number(left)?.partial_cmp(&number(right)?);
    }
    match (left, right) {
        (Value::String(l), Value::String(r)) => match (parse_date(l), parse_date(r)) {
            (Some(l), Some(r)) => Some(l.cmp(&r)),
            _ => Some(l.cmp(r)),
        },
        (l, r) if l == r => Some(Ordering::Equal),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        parse_date("2030-06-01T12:00:00Z").unwrap()
    }

    fn holds(op: &str, left: Value, right: Value) -> bool {
        Comparison::new(op, right).unwrap().holds(&left, now())
    }

    #[test]
    fn equality_is_typed_but_numbers_are_numbers() {
        assert!(holds("==", json!(3), json!(3)));
        assert!(holds("==", json!(3), json!(3.0)));
        assert!(holds("==", json!("3"), json!(3)));
        assert!(holds("==", json!("ops"), json!("ops")));
        assert!(!holds("==", json!("Ops"), json!("ops")));
        assert!(holds("==", json!(true), json!(true)));
        assert!(!holds("==", json!("true"), json!(true)));
        assert!(!holds("==", json!("x"), json!(3)));
        assert!(holds("!=", json!("x"), json!(3)));
        assert!(holds("!=", json!(4), json!(3)));
        assert!(!holds("!=", json!(3), json!(3)));
        assert!(holds("==", json!(["a"]), json!(["a"])));
        assert!(holds(
            "==",
            json!("2030-01-01T00:00:00Z"),
            json!("2030-01-01T01:00:00+01:00")
        ));
    }

    #[test]
    fn orderings() {
        assert!(holds("<", json!(2), json!(3)));
        assert!(!holds("<", json!(3), json!(3)));
        assert!(holds("<=", json!(3), json!(3)));
        assert!(holds(">", json!(10), json!("9")));
        assert!(holds(">=", json!(3), json!(3)));
        assert!(!holds(">=", json!(2), json!(3)));
        assert!(holds("<", json!("abc"), json!("abd")));
        // Unorderable pairs hold for no ordering.
        for op in ["<", ">", "<=", ">="] {
            assert!(!holds(op, json!("x"), json!(3)), "{op}");
            assert!(!holds(op, json!(true), json!(false)), "{op}");
        }
    }

    #[test]
    fn dates_and_now_offsets() {
        let date = json!("2030-05-30T12:00:00Z"); // two days before now
        assert!(holds("<", date.clone(), json!("{now}")));
        assert!(holds("<", date.clone(), json!("{now}-1d")));
        assert!(!holds("<", date.clone(), json!("{now}-3d")));
        assert!(holds(">", date.clone(), json!("{now}-3d")));
        assert!(holds(
            ">",
            json!("2030-06-11T12:00:01Z"),
            json!("{now}+10d")
        ));
        assert!(holds("<", date.clone(), json!("2030-06-01T00:00:00Z")));
        assert!(holds(">", date.clone(), json!("2017-10-12T10:00+0200")));
        assert!(holds(">=", json!("2030-06-01T12:00:00Z"), json!("{now}")));
        // A left side that is no date is no match.
        assert!(!holds("<", json!("soon"), json!("{now}")));
        assert!(!holds(">", json!(5), json!("{now}")));
    }

    #[test]
    fn matches_in_and_contains() {
        assert!(holds("matches", json!("admin-7"), json!("^admin-\\d$")));
        assert!(holds("matches", json!(42), json!("^4")));
        assert!(!holds("matches", json!(["admin"]), json!("admin")));
        assert!(holds("!matches", json!("bob"), json!("^adm")));
        assert!(holds("in", json!("ops"), json!(["dev", "ops"])));
        assert!(holds("in", json!(2), json!([1, "2"])));
        assert!(!holds("in", json!("qa"), json!(["dev", "ops"])));
        assert!(holds("!in", json!("qa"), json!(["dev", "ops"])));
        assert!(holds(
            "contains",
            json!(["oncall", "admin"]),
            json!("admin")
        ));
        assert!(holds(
            "contains",
            json!("alice@example.org"),
            json!("@example.")
        ));
        assert!(!holds("contains", json!(["oncall"]), json!("admin")));
        assert!(!holds("contains", json!(5), json!("5")));
        assert!(holds("!contains", json!(["oncall"]), json!("admin")));
    }

    #[test]
    fn string_forms() {
        let c = |text: &str| Comparison::parse(text).unwrap();
        assert!(c(">= 3").holds(&json!(3), now()));
        assert!(c(">=3").holds(&json!(4), now()));
        assert!(!c("<3").holds(&json!(3), now()));
        assert!(c("5").holds(&json!(5), now()));
        assert!(c("ops").holds(&json!("ops"), now()));
        assert!(c("== true").holds(&json!(true), now()));
        assert!(c("!= \"a b\"").holds(&json!("a"), now()));
        assert!(c("matches ^a.c$").holds(&json!("abc"), now()));
        assert!(c("in [\"a\", \"b\"]").holds(&json!("b"), now()));
        assert!(c("contains x").holds(&json!(["x"]), now()));
        assert!(c("< {now}-1d").holds(&json!("2030-05-30T12:00:00Z"), now()));
    }

    #[test]
    fn bad_comparisons_are_named() {
        let e = Comparison::new("=~", json!(1)).unwrap_err();
        assert!(e.contains("unknown comparator '=~'"), "{e}");
        assert!(Comparison::new("!==", json!(1)).is_err());
        let e = Comparison::new("matches", json!("(")).unwrap_err();
        assert!(e.contains("bad regular expression '('"), "{e}");
        assert!(Comparison::new("matches", json!(3)).is_err());
        assert!(Comparison::new("in", json!("a")).is_err());
        let e = Comparison::new("<", json!("{now}+3q")).unwrap_err();
        assert!(e.contains("bad time"), "{e}");
        assert!(Comparison::new(">", json!({"a": 1})).is_err());
        assert!(Comparison::parse("in nope").is_err());
        for bad in ["~ 3", "<> 3", "=< 3", "!! x", "=~ a"] {
            let e = Comparison::parse(bad).unwrap_err();
            assert!(e.contains("unknown comparator"), "{bad}: {e}");
        }
    }
}
