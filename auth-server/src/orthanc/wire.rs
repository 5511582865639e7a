//! The plugin's JSON, typed: what it sends and what it accepts.
//!
//! Field names are the plugin's (`orthanc-id`, `token-value`, …). Unknown
//! fields are ignored, as newer plugins add some (`labels`). Token values
//! never appear in `Debug`.

use std::fmt;

use auth_core::imaging::{Access, Level, Method};
use serde::{Deserialize, Serialize};

use crate::error::ServerError;

/// A token as the plugin forwards it.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct TokenValue(String);

impl fmt::Debug for TokenValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "[redacted]"
        })
    }
}

/// The scheme of an `Authorization: Bearer …` header.
const BEARER: &str = "bearer";

impl TokenValue {
    /// The token itself: without the `Bearer ` of an `Authorization`
    /// header, `None` when empty (an anonymous request).
    pub fn token(&self) -> Option<&str> {
        let value = self.0.trim();
        // Only the first seven bytes are looked at: this runs on every call
        // Orthanc makes, and a token is a few hundred bytes long.
        let value = match value.get(..BEARER.len()) {
            Some(scheme)
                if scheme.eq_ignore_ascii_case(BEARER)
                    && value[BEARER.len()..]
                        .chars()
                        .next()
                        .is_none_or(char::is_whitespace) =>
            {
                value[BEARER.len()..].trim_start()
            }
            _ => value,
        };
        (!value.is_empty()).then_some(value)
    }
}

/// Which Orthanc asks: `server-id`, or the `identifier` of plugins before
/// 0.5.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServerId {
    #[serde(rename = "server-id", default)]
    server_id: Option<String>,
    #[serde(default)]
    identifier: Option<String>,
}

impl ServerId {
    /// The id, if the plugin has one configured.
    pub fn get(&self) -> Option<&str> {
        self.server_id
            .as_deref()
            .or(self.identifier.as_deref())
            .filter(|id| !id.is_empty())
    }
}

/// `POST tokens/validate`.
#[derive(Debug, Deserialize)]
pub struct ValidateRequest {
    /// `system`, `patient`, `study`, `series` or `instance`.
    pub level: Level,
    /// `get`, `post`, `put` or `delete`.
    pub method: Method,
    /// The URI, at the system level.
    #[serde(default)]
    pub uri: Option<String>,
    /// The resource's Orthanc id.
    #[serde(rename = "orthanc-id", default)]
    pub orthanc_id: Option<String>,
    /// The resource's DICOM UID (PatientID for a patient).
    #[serde(rename = "dicom-uid", default)]
    pub dicom_uid: Option<String>,
    /// The header or argument the token came in.
    #[serde(rename = "token-key", default)]
    pub token_key: Option<String>,
    /// The token; absent for an anonymous request.
    #[serde(rename = "token-value", default)]
    pub token_value: TokenValue,
    /// Which Orthanc asks.
    #[serde(flatten)]
    pub server: ServerId,
}

impl ValidateRequest {
    /// What is asked, for the decision; a 400 when a level lacks what
    /// names its resource.
    pub fn access(&self) -> Result<Access<'_>, ServerError> {
        let access = Access {
            level: self.level,
            method: self.method,
            uri: self.uri.as_deref(),
            orthanc_id: self.orthanc_id.as_deref().filter(|id| !id.is_empty()),
            dicom_uid: self.dicom_uid.as_deref().filter(|id| !id.is_empty()),
        };
        match access.level {
            Level::System if access.uri.is_none() => Err(ServerError::BadRequest(
                "a system-level validation needs a uri".into(),
            )),
            Level::System => Ok(access),
            _ if access.orthanc_id.is_none() && access.dicom_uid.is_none() => {
                Err(ServerError::BadRequest(
                    "a resource-level validation needs an orthanc-id or a dicom-uid".into(),
                ))
            }
            _ => Ok(access),
        }
    }
}

/// `{"granted": …, "validity": …}`.
#[derive(Debug, Serialize)]
pub struct ValidateResponse {
    /// The decision.
    pub granted: bool,
    /// How long Orthanc may keep it, in seconds (0: not at all).
    pub validity: u64,
}

/// `POST user/get-profile`: a token's profile, or (with `user-id`) a
/// user's name.
#[derive(Debug, Deserialize)]
pub struct ProfileRequest {
    /// The header or argument the token came in; empty when anonymous.
    #[serde(rename = "token-key", default)]
    pub token_key: Option<String>,
    /// The token; empty when anonymous.
    #[serde(rename = "token-value", default)]
    pub token_value: TokenValue,
    /// The lookup form: a user's id, for names in Orthanc's audit logs.
    #[serde(rename = "user-id", default)]
    pub user_id: Option<String>,
    /// Which Orthanc asks.
    #[serde(flatten)]
    pub server: ServerId,
}

/// A profile, in the shape the plugin requires (`name`, `permissions` and
/// `authorized-labels` always present).
#[derive(Debug, Serialize)]
pub struct Profile {
    /// The user's name (`anonymous` without a token).
    pub name: String,
    /// The user's id; `null` when there is no user.
    #[serde(rename = "user-id")]
    pub user_id: Option<String>,
    /// Orthanc permission names.
    pub permissions: Vec<&'static str>,
    /// Labels (`*`: all).
    #[serde(rename = "authorized-labels")]
    pub authorized_labels: Vec<String>,
    /// How long Orthanc may keep it, in seconds; never 0, which the plugin
    /// reads as "forever".
    pub validity: u64,
}

/// `PUT tokens/{type}`.
#[derive(Debug, Deserialize)]
pub struct CreateShareRequest {
    /// What the token opens.
    pub resources: Vec<auth_core::imaging::SharedResource>,
    /// Its expiry, as a date.
    #[serde(rename = "expiration-date", default)]
    pub expiration_date: Option<String>,
    /// Its life, in seconds from now.
    #[serde(rename = "validity-duration", default)]
    pub validity_duration: Option<u64>,
    /// Which Orthanc asks.
    #[serde(flatten)]
    pub server: ServerId,
}

/// `POST tokens/decode`.
#[derive(Debug, Deserialize)]
pub struct DecodeRequest {
    /// The header or argument the token came in.
    #[serde(rename = "token-key", default)]
    pub token_key: Option<String>,
    /// The token.
    #[serde(rename = "token-value", default)]
    pub token_value: TokenValue,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_header_value_gives_its_token_and_empty_is_anonymous() {
        let value = |s: &str| TokenValue(s.to_owned());
        assert_eq!(value("Bearer abc").token(), Some("abc"));
        assert_eq!(value("bearer   abc ").token(), Some("abc"));
        assert_eq!(value("abc").token(), Some("abc"));
        assert_eq!(value("").token(), None);
        assert_eq!(value("Bearer ").token(), None);
        assert_eq!(value("BEARER").token(), None);
        assert_eq!(value("Bearer\tabc").token(), Some("abc"));
        // Not the scheme: a token that starts with the same letters.
        assert_eq!(value("bearerabc").token(), Some("bearerabc"));
        assert_eq!(value("beareé abc").token(), Some("beareé abc"));
        assert_eq!(format!("{:?}", value("secret")), "[redacted]");
    }

    #[test]
    fn the_plugins_validate_bodies_parse_and_levels_need_their_ids() {
        let system: ValidateRequest = serde_json::from_str(
            r#"{"level":"system","method":"get","uri":"/patients","server-id":null,"token-key":"token","token-value":"t"}"#,
        )
        .unwrap();
        assert!(system.access().is_ok());
        let study: ValidateRequest = serde_json::from_str(
            r#"{"level":"study","method":"get","orthanc-id":"a-b","dicom-uid":"1.2","server-id":"x","labels":[]}"#,
        )
        .unwrap();
        assert_eq!(study.server.get(), Some("x"));
        assert!(study.access().is_ok());
        let bare: ValidateRequest =
            serde_json::from_str(r#"{"level":"series","method":"get"}"#).unwrap();
        assert!(bare.access().is_err());
        let no_uri: ValidateRequest =
            serde_json::from_str(r#"{"level":"system","method":"get"}"#).unwrap();
        assert!(no_uri.access().is_err());
        assert!(
            serde_json::from_str::<ValidateRequest>(r#"{"level":"galaxy","method":"get"}"#)
                .is_err()
        );
        assert!(
            serde_json::from_str::<ValidateRequest>(r#"{"level":"study","method":"patch"}"#)
                .is_err()
        );
    }
}
