//! Tag replacement in option templates: `"{user} failed to log in from
//! {client_ip}"`.
//!
//! [`Tags`] holds the values of one handler run, taken from the event and,
//! when it was loaded, the user. A tag without a value (no user, no error)
//! becomes the empty string; an unknown `{word}` is left as written, so a
//! JSON body or a message may hold braces of its own.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::events::{AuthEvent, EventResult};
use crate::store::{HandlerPosition, User};

/// Every tag, with what it stands for (shown by the dispatcher's schema).
pub const TAGS: &[(&str, &str)] = &[
    ("event", "the event name, e.g. auth.tokens.create"),
    ("result", "success, failure or continue"),
    (
        "user",
        "the user's name, or its id when the user was not loaded",
    ),
    ("user_id", "the user's id"),
    ("user_name", "the user's name"),
    ("user_email", "the user's extra attribute email"),
    ("domain", "the domain id of the event, or else of the user"),
    ("project", "the project id"),
    ("client_ip", "the client's address"),
    ("method", "the method the event is about"),
    ("methods", "the request's methods, comma-separated"),
    ("error", "the error kind, e.g. invalid_credentials"),
    ("error_message", "the error's client-facing message"),
    ("status", "the HTTP status of the error"),
    ("request_id", "the request id"),
    ("time", "when the event happened, RFC 3339"),
    ("binding", "the binding's name"),
    ("module", "the handler module"),
    ("action", "the action"),
    ("position", "pre or post"),
];

/// The values of every tag for one handler run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    values: BTreeMap<&'static str, String>,
}

/// Who and what a handler run is about, beyond the event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunLabels<'a> {
    pub(crate) binding: &'a str,
    pub(crate) module: &'a str,
    pub(crate) action: &'a str,
    pub(crate) position: HandlerPosition,
}

impl Tags {
    /// The tags of a run about `event`, with `user` when it was loaded.
    pub(crate) fn build(event: &AuthEvent, user: Option<&User>, labels: RunLabels<'_>) -> Self {
        let mut values = BTreeMap::new();
        let mut set = |tag: &'static str, value: Option<String>| {
            values.insert(tag, value.unwrap_or_default());
        };
        set("event", Some(event.name.clone()));
        set(
            "result",
            event.result.map(|r| {
                match r {
                    EventResult::Success => "success",
                    EventResult::Failure => "failure",
                    EventResult::Continue => "continue",
                }
                .to_owned()
            }),
        );
        let user_name = user.map(|u| u.name.clone());
        set("user", user_name.clone().or_else(|| event.user_id.clone()));
        set("user_id", event.user_id.clone());
        set("user_name", user_name);
        set(
            "user_email",
            user.and_then(|u| u.extra.get("email"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        );
        set(
            "domain",
            event
                .domain_id
                .clone()
                .or_else(|| user.map(|u| u.domain_id.clone())),
        );
        set("project", event.project_id.clone());
        set("client_ip", event.client_addr.map(|a| a.to_string()));
        set("method", event.method.clone());
        set("methods", Some(event.methods.join(",")));
        set("error", event.error.as_ref().map(|e| e.kind.clone()));
        set(
            "error_message",
            event.error.as_ref().map(|e| e.message.clone()),
        );
        set("status", event.error.as_ref().map(|e| e.status.to_string()));
        set("request_id", event.request_id.clone());
        set("time", Some(event.at.to_rfc3339()));
        set("binding", Some(labels.binding.to_owned()));
        set("module", Some(labels.module.to_owned()));
        set("action", Some(labels.action.to_owned()));
        set(
            "position",
            Some(
                match labels.position {
                    HandlerPosition::Pre => "pre",
                    HandlerPosition::Post => "post",
                }
                .to_owned(),
            ),
        );
        Self { values }
    }

    /// The value of one tag (`"user"`, not `"{user}"`).
    pub fn get(&self, tag: &str) -> Option<&str> {
        self.values.get(tag).map(String::as_str)
    }

    /// `template` with every known `{tag}` replaced.
    pub fn render(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let name_len = after
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                .unwrap_or(after.len());
            let name = &after[..name_len];
            match (self.values.get(name), after[name_len..].starts_with('}')) {
                (Some(value), true) if !name.is_empty() => {
                    out.push_str(value);
                    rest = &after[name_len + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// `template` with every string in it (at any depth, not the keys)
    /// rendered: a JSON body template.
    pub fn render_json(&self, template: &Value) -> Value {
        match template {
            Value::String(s) => Value::String(self.render(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.render_json(v)).collect())
            }
            Value::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), self.render_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventError;
    use chrono::{DateTime, Utc};
    use serde_json::json;

    fn labels() -> RunLabels<'static> {
        RunLabels {
            binding: "notify",
            module: "Logging",
            action: "log",
            position: HandlerPosition::Post,
        }
    }

    fn event() -> AuthEvent {
        let mut e = AuthEvent::new(
            "auth.tokens.create",
            DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap(),
        );
        e.user_id = Some("u1".into());
        e.client_addr = Some("10.1.2.3".parse().unwrap());
        e.result = Some(EventResult::Failure);
        e.methods = vec!["password".into(), "totp".into()];
        e.error = Some(EventError {
            kind: "invalid_credentials".into(),
            status: 401,
            message: "The request you have made requires authentication.".into(),
        });
        e
    }

    #[test]
    fn tags_come_from_the_event_and_the_user() {
        let mut user = crate::testkit::MemoryStore::new().add_user("u1", "alice");
        user.extra
            .insert("email".into(), json!("alice@example.org"));
        let tags = Tags::build(&event(), Some(&user), labels());
        assert_eq!(
            tags.render("{user} ({user_email}) {result} from {client_ip}: {error}/{status}"),
            "alice (alice@example.org) failure from 10.1.2.3: invalid_credentials/401"
        );
        assert_eq!(
            tags.render("{methods} {time} {binding} {module}:{action} {position}"),
            "password,totp 2027-01-15T08:00:00+00:00 notify Logging:log post"
        );
        assert_eq!(tags.get("domain"), Some("default"));
    }

    #[test]
    fn missing_values_are_empty_and_unknown_tags_stay() {
        let tags = Tags::build(&AuthEvent::new("x", Utc::now()), None, labels());
        assert_eq!(
            tags.render("[{user}] {nope} {} {{event}} {User} {event"),
            "[] {nope} {} {x} {User} {event"
        );
        // Without a loaded user, {user} is the id.
        let tags = Tags::build(&event(), None, labels());
        assert_eq!(tags.render("{user}|{user_name}"), "u1|");
    }

    #[test]
    fn json_templates_render_strings_only() {
        let tags = Tags::build(&event(), None, labels());
        assert_eq!(
            tags.render_json(&json!({"text": "{user} {result}", "{user}": [1, "{event}", null]})),
            json!({"text": "u1 failure", "{user}": [1, "auth.tokens.create", null]})
        );
    }
}
