//! What options an action takes ([`OptionSpec`]) and a binding's options
//! checked against them ([`ActionOptions`]).
//!
//! A binding's options are checked once, when it is saved or loaded, so a
//! typo (an unknown option, a string where a number belongs, a value
//! outside the allowed set) is refused by the admin API with a 400 instead
//! of failing at every event. Error messages name the option and what is
//! wrong, never the value given: it may be a secret.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::AuthError;
use crate::audit::REDACTED;

/// The type of an option's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OptionKind {
    /// Any string.
    String,
    /// A string in which tags such as `{user}` are replaced
    /// (see [`Tags`](super::Tags)).
    Template,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// An absolute `http` or `https` URL.
    Url,
    /// Any JSON value.
    Json,
    /// A string that is a secret (a bearer token, a password): never shown
    /// again by the admin API, in `Debug` output or in the audit log.
    Secret,
}

impl OptionKind {
    /// What a value of this kind must be, for error messages.
    fn expected(self) -> &'static str {
        match self {
            Self::String | Self::Template | Self::Secret => "a string",
            Self::Integer => "an integer",
            Self::Boolean => "true or false",
            Self::Url => "an absolute http(s) URL",
            Self::Json => "any JSON value",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match self {
            Self::String | Self::Template | Self::Secret => value.is_string(),
            Self::Integer => value.is_i64(),
            Self::Boolean => value.is_boolean(),
            Self::Url => value
                .as_str()
                .and_then(|s| url::Url::parse(s).ok())
                .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()),
            Self::Json => true,
        }
    }
}

/// One option of an action: its name, type, whether it is required, its
/// default and, optionally, the values it may take. Shown by
/// [`Dispatcher::schema`](super::Dispatcher::schema) so an admin UI can
/// build its form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionSpec {
    /// The option's name in a binding's `options`.
    pub name: String,
    /// What it does, for people.
    pub description: String,
    /// The type its value must have.
    pub kind: OptionKind,
    /// Whether a binding must give it (an option with a default never
    /// needs to be given).
    pub required: bool,
    /// The value used when a binding does not give one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// The only values allowed, when the choice is closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<Value>>,
}

impl OptionSpec {
    /// An optional option of `kind` without a default.
    pub fn new(name: impl Into<String>, kind: OptionKind, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            kind,
            required: false,
            default: None,
            allowed: None,
        }
    }

    /// A [`OptionKind::String`] option.
    pub fn string(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(name, OptionKind::String, description)
    }

    /// A [`OptionKind::Template`] option.
    pub fn template(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(name, OptionKind::Template, description)
    }

    /// An [`OptionKind::Integer`] option.
    pub fn integer(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(name, OptionKind::Integer, description)
    }

    /// A [`OptionKind::Boolean`] option.
    pub fn boolean(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(name, OptionKind::Boolean, description)
    }

    /// An [`OptionKind::Url`] option.
    pub fn url(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(name, OptionKind::Url, description)
    }

    /// An [`OptionKind::Json`] option.
    pub fn json(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(name, OptionKind::Json, description)
    }

    /// An [`OptionKind::Secret`] option.
    pub fn secret(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(name, OptionKind::Secret, description)
    }

    /// Makes the option required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Gives the option a default.
    pub fn default_value(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self
    }

    /// Restricts the option to `values`.
    pub fn allowed<V: Into<Value>>(mut self, values: impl IntoIterator<Item = V>) -> Self {
        self.allowed = Some(values.into_iter().map(Into::into).collect());
        self
    }

    /// Checks one given value; the error says what is wrong with it
    /// without quoting it.
    fn check(&self, value: &Value) -> Result<(), String> {
        if !self.kind.accepts(value) {
            return Err(format!("must be {}", self.kind.expected()));
        }
        match &self.allowed {
            Some(allowed) if !allowed.contains(value) => {
                let allowed: Vec<String> = allowed.iter().map(Value::to_string).collect();
                Err(format!("must be one of {}", allowed.join(", ")))
            }
            _ => Ok(()),
        }
    }
}

/// Checks `options` (a binding's `options`, an object or null) against
/// `specs`, filling in defaults. `owner` names the action in errors
/// (`WebHook:post`).
pub(crate) fn validate(
    owner: &str,
    specs: &[OptionSpec],
    options: &Value,
) -> Result<ActionOptions, AuthError> {
    let given = match options {
        Value::Null => Map::new(),
        Value::Object(map) => map.clone(),
        _ => {
            return Err(AuthError::bad_request(format!(
                "the options of {owner} must be a JSON object"
            )));
        }
    };
    for name in given.keys() {
        if !specs.iter().any(|s| s.name == *name) {
            let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(AuthError::bad_request(format!(
                "{owner} has no option '{name}'; its options are: {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let mut values = Map::new();
    let mut secret = BTreeSet::new();
    for spec in specs {
        if spec.kind == OptionKind::Secret {
            secret.insert(spec.name.clone());
        }
        let value = match given.get(&spec.name) {
            Some(Value::Null) | None => spec.default.clone(),
            Some(value) => Some(value.clone()),
        };
        match value {
            Some(value) => {
                spec.check(&value).map_err(|problem| {
                    AuthError::bad_request(format!("option '{}' of {owner} {problem}", spec.name))
                })?;
                values.insert(spec.name.clone(), value);
            }
            None if spec.required => {
                return Err(AuthError::bad_request(format!(
                    "option '{}' of {owner} is required",
                    spec.name
                )));
            }
            None => {}
        }
    }
    Ok(ActionOptions { values, secret })
}

/// Replaces the values of secret options in a binding's `options` with
/// [`REDACTED`], for showing a binding back (the admin API's listings).
pub(crate) fn redact(specs: &[OptionSpec], options: &Value) -> Value {
    let mut shown = options.clone();
    if let Value::Object(map) = &mut shown {
        for spec in specs.iter().filter(|s| s.kind == OptionKind::Secret) {
            if let Some(value) = map.get_mut(&spec.name) {
                if !value.is_null() {
                    *value = Value::String(REDACTED.to_owned());
                }
            }
        }
    }
    shown
}

/// A binding's options after validation: every given option is known and
/// well typed, every required one is present, defaults are filled in.
/// `Debug` shows secret options as [`REDACTED`].
#[derive(Clone, Default, PartialEq)]
pub struct ActionOptions {
    values: Map<String, Value>,
    secret: BTreeSet<String>,
}

impl ActionOptions {
    /// Options from `values` as they are, unchecked: for tests and for
    /// modules run outside a dispatcher.
    pub fn from_values(values: Map<String, Value>) -> Self {
        Self {
            values,
            secret: BTreeSet::new(),
        }
    }

    /// The value of `name`, if given or defaulted.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// A string option (also templates, URLs and secrets).
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// An integer option.
    pub fn i64(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    /// A boolean option.
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Value::as_bool)
    }

    /// A string option that must be there (validation guarantees it for
    /// required options; this turns a module's mistake into a 400, not a
    /// panic).
    pub fn require_str(&self, name: &str) -> Result<&str, AuthError> {
        self.str(name)
            .ok_or_else(|| AuthError::bad_request(format!("option '{name}' is required")))
    }

    /// Every option, secrets included. Handle with care.
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }
}

impl fmt::Debug for ActionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.values {
            if self.secret.contains(name) || crate::audit::is_secret_name(name) {
                map.entry(name, &REDACTED);
            } else {
                map.entry(name, value);
            }
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn specs() -> Vec<OptionSpec> {
        vec![
            OptionSpec::url("url", "where").required(),
            OptionSpec::integer("retries", "how often").default_value(2),
            OptionSpec::boolean("verbose", "chatty"),
            OptionSpec::string("level", "how loud")
                .allowed(["info", "warn"])
                .default_value("info"),
            OptionSpec::secret("token", "bearer"),
            OptionSpec::json("body", "what"),
            OptionSpec::template("message", "text"),
        ]
    }

    fn check(options: Value) -> Result<ActionOptions, String> {
        validate("WebHook:post", &specs(), &options).map_err(|e| {
            assert_eq!(e.http_status(), 400);
            e.to_string()
        })
    }

    #[test]
    fn defaults_are_filled_in_and_values_kept() {
        let o =
            check(json!({"url": "https://hooks.example/x", "verbose": true, "body": [1]})).unwrap();
        assert_eq!(o.str("url"), Some("https://hooks.example/x"));
        assert_eq!(o.i64("retries"), Some(2));
        assert_eq!(o.bool("verbose"), Some(true));
        assert_eq!(o.str("level"), Some("info"));
        assert_eq!(o.get("body"), Some(&json!([1])));
        assert_eq!(o.get("token"), None);
        // null means "not given".
        let o = check(json!({"url": "http://h/", "retries": null})).unwrap();
        assert_eq!(o.i64("retries"), Some(2));
    }

    #[test]
    fn each_problem_is_named_without_the_value() {
        let e = check(json!({"url": "http://h/", "colour": "red"})).unwrap_err();
        assert!(
            e.contains("no option 'colour'") && e.contains("retries"),
            "{e}"
        );
        let e = check(json!({})).unwrap_err();
        assert!(
            e.contains("option 'url' of WebHook:post is required"),
            "{e}"
        );
        let e = check(json!({"url": "http://h/", "retries": "3"})).unwrap_err();
        assert!(e.contains("'retries'") && e.contains("an integer"), "{e}");
        let e = check(json!({"url": "http://h/", "retries": 1.5})).unwrap_err();
        assert!(e.contains("an integer"), "{e}");
        let e = check(json!({"url": "http://h/", "verbose": "yes"})).unwrap_err();
        assert!(e.contains("true or false"), "{e}");
        let e = check(json!({"url": "http://h/", "level": "loud"})).unwrap_err();
        assert!(
            e.contains(r#"one of "info", "warn""#) && !e.contains("loud"),
            "{e}"
        );
        let e = check(json!({"url": "http://h/", "token": 5})).unwrap_err();
        assert!(e.contains("'token'"), "{e}");
        for bad in ["ftp://h/x", "not a url", "/relative", "mailto:a@b"] {
            let e = check(json!({ "url": bad })).unwrap_err();
            assert!(e.contains("http(s) URL") && !e.contains(bad), "{e}");
        }
        let e = check(json!(["url"])).unwrap_err();
        assert!(e.contains("must be a JSON object"), "{e}");
        assert!(check(Value::Null).unwrap_err().contains("required"));
    }

    #[test]
    fn secrets_stay_out_of_debug_and_listings() {
        let given = json!({"url": "http://h/", "token": "s3cr3t"});
        let o = check(given.clone()).unwrap();
        assert_eq!(o.str("token"), Some("s3cr3t"));
        let debug = format!("{o:?}");
        assert!(
            !debug.contains("s3cr3t") && debug.contains(REDACTED),
            "{debug}"
        );
        assert_eq!(
            redact(&specs(), &given),
            json!({"url": "http://h/", "token": REDACTED})
        );
    }
}
