//! A method's payload: its `identity.<method>` object, as raw JSON.
//!
//! The engine does not build a `serde_json::Value` tree for payloads: it
//! checks the body is well-formed and within limits, then hands each method
//! the exact bytes of its own object. A method deserializes them into its own
//! typed struct with [`Payload::parse`], which is several times cheaper than a
//! `Value` tree and gives it validation for free, or takes a
//! [`Payload::to_value`] for dynamic access.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::AuthError;

/// One method's `identity.<method>` object (always a JSON object).
pub struct Payload {
    method: String,
    raw: Box<RawValue>,
}

impl Payload {
    /// The payload `json` of `method`. Fails unless `json` is a JSON object.
    pub fn new(method: impl Into<String>, json: &str) -> Result<Self, AuthError> {
        let method = method.into();
        let raw = RawValue::from_string(json.to_owned()).map_err(|_| {
            AuthError::bad_request(format!("'auth.identity.{method}' is not valid JSON"))
        })?;
        Self::from_raw(method, raw)
    }

    pub(crate) fn from_raw(method: String, raw: Box<RawValue>) -> Result<Self, AuthError> {
        if !raw.get().starts_with('{') {
            return Err(AuthError::bad_request(format!(
                "'auth.identity.{method}' must be an object"
            )));
        }
        Ok(Self { method, raw })
    }

    /// Deserializes the payload into `T`.
    ///
    /// A payload of the wrong shape gives [`AuthError::BadRequest`] whose
    /// message names the method and what was expected, but never echoes a
    /// value from the payload (serde's own messages would, and a payload
    /// holds passwords).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, AuthError> {
        serde_json::from_str(self.raw.get()).map_err(|e| {
            AuthError::bad_request(format!(
                "invalid 'auth.identity.{}': {}",
                self.method,
                describe_without_values(&e)
            ))
        })
    }

    /// The payload as a `Value`, for dynamic access.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.raw.get()).unwrap_or(Value::Null)
    }

    /// The raw JSON text.
    pub fn raw(&self) -> &str {
        self.raw.get()
    }

    /// The method this payload is for.
    pub fn method(&self) -> &str {
        &self.method
    }
}

impl Clone for Payload {
    fn clone(&self) -> Self {
        Self {
            method: self.method.clone(),
            raw: self.raw.clone(),
        }
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Payloads carry credentials: only the size is shown.
        f.debug_struct("Payload")
            .field("method", &self.method)
            .field("bytes", &self.raw.get().len())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method && self.raw.get() == other.raw.get()
    }
}

/// serde_json's message for `error`, minus any value taken from the input.
///
/// "invalid type: string \"hunter2\", expected u32" becomes "invalid type,
/// expected u32"; messages that quote no input ("missing field `password`")
/// are kept whole.
pub fn describe_without_values(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = match message.split_once(" at line ") {
        Some((head, _)) => head.to_owned(),
        None => message,
    };
    let quotes_input = [
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown variant",
        "unknown field",
    ]
    .iter()
    .any(|prefix| message.starts_with(prefix));
    match (
        quotes_input,
        message.split_once(": "),
        message.rfind(", expected "),
    ) {
        (true, Some((kind, _)), Some(at)) => format!("{kind}{}", &message[at..]),
        (true, Some((kind, _)), None) => kind.to_owned(),
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Pin {
        pin: u32,
    }

    #[test]
    fn only_objects_are_payloads() {
        assert!(Payload::new("m", r#"{"a": 1}"#).is_ok());
        for bad in ["[]", "1", "\"x\"", "null", "{"] {
            assert_eq!(
                Payload::new("m", bad).unwrap_err().http_status(),
                400,
                "{bad}"
            );
        }
    }

    #[test]
    fn parse_errors_never_echo_values() {
        let p = Payload::new("m", r#"{"pin": "hunter2"}"#).unwrap();
        let e = p.parse::<Pin>().unwrap_err();
        let text = e.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("expected u32"), "{text}");
        let p = Payload::new("m", r#"{}"#).unwrap();
        assert!(
            p.parse::<Pin>()
                .unwrap_err()
                .to_string()
                .contains("missing field `pin`")
        );
    }

    #[test]
    fn debug_shows_no_content() {
        let p = Payload::new("password", r#"{"password": "hunter2"}"#).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
