//! Binding conditions: parsed once when a binding is saved or loaded,
//! evaluated for every event the binding is bound to. All must hold.
//!
//! A binding's `conditions` is a JSON object from condition name to value
//! (`null`, `{}` and `[]` mean none):
//!
//! ```json
//! {
//!   "result": "failure",
//!   "method": ["password", "totp"],
//!   "client_ip": "10.0.0.0/8, !10.0.0.7",
//!   "failure_count": ">= 3",
//!   "last_auth": {"value": "180d", "on_missing": "true"},
//!   "user_attribute": [
//!     {"path": "extra.department", "op": "==", "value": "ops"},
//!     "enabled == true"
//!   ]
//! }
//! ```
//!
//! | condition | value | holds when | data |
//! |---|---|---|---|
//! | `result` | `success`, `failure`, `continue`, or a list | the event's result is one of them | event |
//! | `method` | a method or a list | the event's method, or for request-wide events any of the request's methods, is one of them | event |
//! | `user` | a regular expression | it matches the user's name | user |
//! | `domain` | a domain id or a list | the event's domain is one of them | event |
//! | `project` | a project id or a list | the event's project is one of them | event |
//! | `client_ip` | networks with `!` exclusions, a string or a list | the client address is in them | event |
//! | `error` | an error kind or a list | the event's error kind is one of them | event |
//! | `error_message` | a regular expression | it matches the event's error message | event |
//! | `failure_count` | a comparison: `">= 3"`, `3`, or `{"op", "value"}` | the user's failed-login count compares so | user's auth state |
//! | `last_auth` | a duration `N[smhdwy]` | the user's last successful login is older than that | user's auth state |
//! | `user_attribute` | `{"path", "op", "value"}` or `"path op value"`, or a list of them (all must hold) | the user's attribute at the dotted `path` (`enabled`, `extra.email`, `options.lock_password`) compares so | user |
//! | `event_attribute` | likewise | the event's member at `path` (`attributes.required_methods`, `error.status`, `elapsed_us`) compares so | event |
//!
//! Comparators are listed in the `compare` module's docs.
//!
//! **Missing data.** Every condition may take the long form
//! `{"value": …, "on_missing": "true" | "false"}` (attribute conditions
//! take `on_missing` beside `path`). When the data a condition tests is
//! absent (no error on a success, no user, a user that cannot be loaded,
//! an attribute that is not there or `null`), the condition is
//! `on_missing`, by default **false**: missing data never makes a
//! condition true by accident, the trap privacyIDEA users fell into.
//!
//! An invalid condition (unknown name or member, bad regular expression,
//! network, comparator or duration) is refused with
//! [`AuthError::BadRequest`] naming the problem.

mod compare;
mod duration;
mod network;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde_json::{Map, Value, json};

use self::compare::{COMPARATORS, Comparison, regex};
use self::duration::parse_duration;
use self::network::Networks;
use super::subject::Subject;
use crate::AuthError;
use crate::events::{AuthEvent, EventResult};
use crate::store::{User, UserAuthState};

/// Every condition name with the data it needs and what it tests, for the
/// schema.
const CONDITIONS: &[(&str, &str, &str)] = &[
    (
        "result",
        "event",
        "the event's result is one of success, failure, continue",
    ),
    (
        "method",
        "event",
        "the event's method (or any of the request's methods) is one of these",
    ),
    (
        "user",
        "user",
        "a regular expression matches the user's name",
    ),
    ("domain", "event", "the event's domain id is one of these"),
    ("project", "event", "the event's project id is one of these"),
    (
        "client_ip",
        "event",
        "the client address is in these networks (!excluded ones not)",
    ),
    ("error", "event", "the event's error kind is one of these"),
    (
        "error_message",
        "event",
        "a regular expression matches the event's error message",
    ),
    (
        "failure_count",
        "auth_state",
        "the user's failed-login count compares so (\">= 3\")",
    ),
    (
        "last_auth",
        "auth_state",
        "the user's last successful login is older than N[smhdwy]",
    ),
    (
        "user_attribute",
        "user",
        "the user's attribute at a dotted path compares so",
    ),
    (
        "event_attribute",
        "event",
        "the event's member at a dotted path compares so",
    ),
];

/// What data beyond the event a set of conditions needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// The user record.
    pub user: bool,
    /// The user's failure count and last login.
    pub auth_state: bool,
}

/// What conditions are evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The event.
    pub event: &'a AuthEvent,
    /// The event's user, if loaded.
    pub user: Option<&'a User>,
    /// The user's auth state, if loaded.
    pub auth_state: Option<&'a UserAuthState>,
    /// The time `{now}` and `last_auth` mean.
    pub now: DateTime<Utc>,
}

/// A binding's conditions, compiled.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    items: Vec<Condition>,
}

#[derive(Debug, Clone)]
struct Condition {
    check: Check,
    on_missing: bool,
}

#[derive(Debug, Clone)]
enum Check {
    Result(Vec<EventResult>),
    Method(Vec<String>),
    User(Regex),
    Domain(Vec<String>),
    Project(Vec<String>),
    ClientIp(Networks),
    Error(Vec<String>),
    ErrorMessage(Regex),
    FailureCount(Comparison),
    LastAuth(chrono::Duration),
    UserAttribute(Vec<String>, Comparison),
    EventAttribute(Vec<String>, Comparison),
}

impl Conditions {
    /// Compiles a binding's `conditions`.
    pub fn compile(conditions: &Value) -> Result<Self, AuthError> {
        let members = match conditions {
            Value::Null => return Ok(Self::default()),
            Value::Array(items) if items.is_empty() => return Ok(Self::default()),
            Value::Object(members) => members,
            _ => {
                return Err(AuthError::bad_request(
                    "conditions must be a JSON object from condition name to value",
                ));
            }
        };
        let mut items = Vec::new();
        for (name, value) in members {
            let problem =
                |message: String| AuthError::bad_request(format!("condition '{name}': {message}"));
            match name.as_str() {
                "user_attribute" | "event_attribute" => {
                    let entries = match value {
                        Value::Array(entries) if !entries.is_empty() => entries.iter().collect(),
                        Value::Array(_) => return Err(problem("no comparison given".into())),
                        single => vec![single],
                    };
                    for entry in entries {
                        items.push(attribute(name, entry).map_err(problem)?);
                    }
                }
                _ => items.push(simple(name, value).map_err(problem)?),
            }
        }
        Ok(Self { items })
    }

    /// Whether there are none (the binding fires on every bound event).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The data beyond the event these conditions need.
    pub fn needs(&self) -> Needs {
        self.items.iter().fold(Needs::default(), |needs, c| {
            let own = c.check.needs();
            Needs {
                user: needs.user || own.user,
                auth_state: needs.auth_state || own.auth_state,
            }
        })
    }

    /// Whether every condition holds for `facts`.
    pub fn evaluate(&self, facts: &Facts<'_>) -> bool {
        self.items.iter().all(|c| c.holds(facts))
    }

    /// Whether every condition that needs nothing but the event holds: a
    /// cheap first pass before any data is loaded.
    pub(crate) fn event_conditions_hold(&self, event: &AuthEvent, now: DateTime<Utc>) -> bool {
        let facts = Facts {
            event,
            user: None,
            auth_state: None,
            now,
        };
        self.items
            .iter()
            .filter(|c| c.check.needs() == Needs::default())
            .all(|c| c.holds(&facts))
    }

    /// Whether every condition holds, loading what they need from the
    /// subject (once per event, shared by every binding).
    pub(crate) async fn hold(
        &self,
        event: &AuthEvent,
        subject: &Subject,
        now: DateTime<Utc>,
    ) -> bool {
        if !self.event_conditions_hold(event, now) {
            return false;
        }
        let needs = self.needs();
        let user = if needs.user {
            subject.user().await
        } else {
            None
        };
        let auth_state = if needs.auth_state {
            subject.auth_state().await
        } else {
            None
        };
        self.evaluate(&Facts {
            event,
            user,
            auth_state,
            now,
        })
    }
}

/// The conditions and comparators, for the dispatcher's schema.
pub(crate) fn schema() -> Value {
    let conditions: Vec<Value> = CONDITIONS
        .iter()
        .map(|(name, data, description)| json!({"name": name, "data": data, "description": description}))
        .collect();
    json!({
        "conditions": conditions,
        "comparators": COMPARATORS,
        "on_missing": ["true", "false"],
        "on_missing_default": "false",
    })
}

impl Condition {
    fn holds(&self, facts: &Facts<'_>) -> bool {
        self.check.test(facts).unwrap_or(self.on_missing)
    }
}

impl Check {
    fn needs(&self) -> Needs {
        match self {
            Self::User(_) | Self::UserAttribute(..) => Needs {
                user: true,
                auth_state: false,
            },
            Self::FailureCount(_) | Self::LastAuth(_) => Needs {
                user: false,
                auth_state: true,
            },
            _ => Needs::default(),
        }
    }

    /// `Some(holds)`, or `None` when the data is missing.
    fn test(&self, facts: &Facts<'_>) -> Option<bool> {
        let event = facts.event;
        match self {
            Self::Result(results) => Some(results.contains(&event.result?)),
            Self::Method(methods) => match &event.method {
                Some(method) => Some(methods.contains(method)),
                None if event.methods.is_empty() => None,
                None => Some(event.methods.iter().any(|m| methods.contains(m))),
            },
            Self::User(re) => Some(re.is_match(&facts.user?.name)),
            Self::Domain(ids) => Some(ids.contains(event.domain_id.as_ref()?)),
            Self::Project(ids) => Some(ids.contains(event.project_id.as_ref()?)),
            Self::ClientIp(networks) => Some(networks.contains(event.client_addr?)),
            Self::Error(kinds) => Some(kinds.contains(&event.error.as_ref()?.kind)),
            Self::ErrorMessage(re) => Some(re.is_match(&event.error.as_ref()?.message)),
            Self::FailureCount(comparison) => {
                let count = facts.auth_state?.failed_auth_count;
                Some(comparison.holds(&json!(count), facts.now))
            }
            Self::LastAuth(age) => {
                let last = facts.auth_state?.last_active_at?;
                Some(facts.now - last > *age)
            }
            Self::UserAttribute(path, comparison) => {
                let root = serde_json::to_value(facts.user?).ok()?;
                Some(comparison.holds(lookup(&root, path)?, facts.now))
            }
            Self::EventAttribute(path, comparison) => {
                let root = serde_json::to_value(event).ok()?;
                Some(comparison.holds(lookup(&root, path)?, facts.now))
            }
        }
    }
}

/// The member at `path` (object keys, array indexes); `None` when absent
/// or `null`.
fn lookup<'v>(root: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter()
        .try_fold(root, |value, segment| match value {
            Value::Object(members) => members.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
        .filter(|value| !value.is_null())
}

/// A condition's value, its `on_missing`, and the long form's members.
type LongForm<'v> = (&'v Value, bool, Option<&'v Map<String, Value>>);

/// Splits the long form `{"value": …, "on_missing": …, "op": …}` (only
/// `allowed` members) from a short value.
fn long_form<'v>(value: &'v Value, allowed: &[&str]) -> Result<LongForm<'v>, String> {
    let Value::Object(members) = value else {
        return Ok((value, false, None));
    };
    if let Some(unknown) = members.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "unknown member '{unknown}'; allowed: {}",
            allowed.join(", ")
        ));
    }
    let inner = members.get("value").ok_or("'value' is missing")?;
    Ok((inner, on_missing(members)?, Some(members)))
}

fn on_missing(members: &Map<String, Value>) -> Result<bool, String> {
    match members.get("on_missing") {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" => Ok(true),
        Some(Value::String(s)) if s == "false" => Ok(false),
        Some(_) => Err("'on_missing' must be \"true\" or \"false\"".to_owned()),
    }
}

/// One or more strings.
fn strings(value: &Value) -> Result<Vec<String>, String> {
    let list = match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or("must be a string or a list of strings")?,
        _ => return Err("must be a string or a list of strings".to_owned()),
    };
    if list.is_empty() {
        return Err("the list is empty".to_owned());
    }
    Ok(list)
}

fn simple(name: &str, value: &Value) -> Result<Condition, String> {
    let allowed: &[&str] = if name == "failure_count" {
        &["value", "op", "on_missing"]
    } else {
        &["value", "on_missing"]
    };
    let (value, on_missing, members) = long_form(value, allowed)?;
    let pattern = || value.as_str().ok_or("must be a regular expression string");
    let check = match name {
        "result" => Check::Result(
            strings(value)?
                .iter()
                .map(|r| match r.as_str() {
                    "success" => Ok(EventResult::Success),
                    "failure" => Ok(EventResult::Failure),
                    "continue" => Ok(EventResult::Continue),
                    other => Err(format!(
                        "unknown result '{other}'; use success, failure or continue"
                    )),
                })
                .collect::<Result<_, _>>()?,
        ),
        "method" => Check::Method(strings(value)?),
        "user" => Check::User(regex(pattern()?)?),
        "domain" => Check::Domain(strings(value)?),
        "project" => Check::Project(strings(value)?),
        "client_ip" => Check::ClientIp(Networks::parse(value)?),
        "error" => Check::Error(strings(value)?),
        "error_message" => Check::ErrorMessage(regex(pattern()?)?),
        "failure_count" => {
            let op = members.and_then(|m| m.get("op"));
            let comparison = match (op, value) {
                (Some(Value::String(op)), value) => Comparison::new(op, value.clone())?,
                (Some(_), _) => return Err("'op' must be a comparator string".to_owned()),
                (None, Value::String(text)) => Comparison::parse(text)?,
                (None, Value::Number(_)) => Comparison::new("==", value.clone())?,
                (None, _) => return Err("must be a number or a comparison like \">= 3\"".into()),
            };
            if !comparison.is_numeric() {
                return Err("compares the count with a number, e.g. \">= 3\"".to_owned());
            }
            Check::FailureCount(comparison)
        }
        "last_auth" => Check::LastAuth(
            value
                .as_str()
                .and_then(parse_duration)
                .ok_or("must be a duration: a number followed by s, m, h, d, w or y (\"180d\")")?,
        ),
        _ => {
            let known: Vec<&str> = CONDITIONS.iter().map(|(n, ..)| *n).collect();
            return Err(format!("unknown condition; known: {}", known.join(", ")));
        }
    };
    Ok(Condition { check, on_missing })
}

/// A `user_attribute` or `event_attribute` comparison, long or string form.
fn attribute(name: &str, entry: &Value) -> Result<Condition, String> {
    let (path, comparison, on_missing) = match entry {
        Value::String(text) => {
            let text = text.trim();
            let (path, rest) = text
                .split_once(char::is_whitespace)
                .ok_or("write \"path op value\", e.g. \"extra.department == ops\"")?;
            (path, Comparison::parse(rest)?, false)
        }
        Value::Object(members) => {
            let allowed = ["path", "op", "value", "on_missing"];
            if let Some(unknown) = members.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(format!(
                    "unknown member '{unknown}'; allowed: {}",
                    allowed.join(", ")
                ));
            }
            let path = members
                .get("path")
                .and_then(Value::as_str)
                .ok_or("'path' must be a string")?;
            let op = match members.get("op") {
                None => "==",
                Some(Value::String(op)) => op.as_str(),
                Some(_) => return Err("'op' must be a comparator string".to_owned()),
            };
            let value = members.get("value").ok_or("'value' is missing")?;
            (
                path,
                Comparison::new(op, value.clone())?,
                on_missing(members)?,
            )
        }
        _ => return Err("must be {\"path\", \"op\", \"value\"} or \"path op value\"".to_owned()),
    };
    let path: Vec<String> = path.split('.').map(str::to_owned).collect();
    if path.iter().any(String::is_empty) {
        return Err("the path has an empty segment".to_owned());
    }
    let check = if name == "user_attribute" {
        Check::UserAttribute(path, comparison)
    } else {
        Check::EventAttribute(path, comparison)
    };
    Ok(Condition { check, on_missing })
}
