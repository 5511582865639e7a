//! Who an association is: its User Identity item, authenticated by the
//! engine as a login of the configured method, or the anonymous role.
//!
//! Each identity type becomes the payload of one method (the defaults, and
//! `[dicom.identity_methods]`): type 2 the `password` method, type 1
//! `dicom_asserted`, type 5 `jwt` for a JWT whose issuer is external (it
//! has an `iss` claim and `jwt` is enabled) else `token` for a token of
//! this server, and any type a configured method, given the fields as
//! they came. The login runs through the same service as every login
//! (lockout, expiry, events and audit) with the door `dicom`, and yields a
//! session token of this server: the association's identity for each
//! later command, and the server response (0x59) a requestor may ask for.
//!
//! DICOM has no round trip within the negotiation, so a user whose MFA
//! rules need another factor is refused: nothing can carry the receipt.

use std::net::IpAddr;

use auth_core::AuthError;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::association::IdentityItem;
use super::config::DicomSettings;
use crate::events;
use crate::services::sessions;
use crate::services::tokens::Outcome;
use crate::state::AppState;

/// The door name the engine's methods see (`MethodContext::door`).
pub const DOOR: &str = "dicom";

/// What an association holds.
#[derive(Debug)]
pub enum Principal {
    /// A user, by a session token of this server.
    User {
        /// The token (what every command is checked with).
        token: SecretString,
        /// The user's id.
        user_id: String,
        /// The method that authenticated them.
        method: String,
    },
    /// No identity: the anonymous role, if any.
    Anonymous,
}

/// Why an identity was refused, for the association's event (never a
/// secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No method is configured for the type.
    NoMethod(u8),
    /// A field that must be text is not UTF-8.
    NotText,
    /// The engine refused the login (the error kind).
    Failed(String),
    /// The user's MFA rules need another factor.
    NeedsMoreFactors,
}

impl Refusal {
    /// A word for the audit log.
    pub fn word(&self) -> String {
        match self {
            Self::NoMethod(t) => format!("no method for identity type {t}"),
            Self::NotText => "identity fields are not UTF-8".to_owned(),
            Self::Failed(kind) => kind.clone(),
            Self::NeedsMoreFactors => "multi-factor rules need another method".to_owned(),
        }
    }
}

/// The method that checks `item`, if one is configured and enabled.
pub fn method_for(settings: &DicomSettings, item: &IdentityItem) -> Option<String> {
    if let Some(method) = settings.identity_methods.get(&item.identity_type) {
        return Some(method.clone());
    }
    (item.identity_type == 5).then(|| {
        if settings.jwt_enabled && has_issuer(&item.primary) {
            "jwt".to_owned()
        } else {
            "token".to_owned()
        }
    })
}

/// Whether a JWT's (unverified) payload names an issuer: tokens of this
/// server carry no `iss`, an external issuer's always do. Only picks the
/// method; the method verifies everything.
fn has_issuer(token: &[u8]) -> bool {
    let mut parts = token.split(|b| *b == b'.');
    let payload = parts.nth(1).and_then(|p| URL_SAFE_NO_PAD.decode(p).ok());
    payload
        .and_then(|p| serde_json::from_slice::<Value>(&p).ok())
        .is_some_and(|claims| claims.get("iss").is_some_and(Value::is_string))
}

/// The peer's side of the negotiation the payload may name.
#[derive(Debug, Clone, Copy)]
pub struct Peer<'a> {
    /// The calling AE title.
    pub calling_ae_title: &'a str,
    /// The called AE title.
    pub called_ae_title: &'a str,
    /// The peer's address.
    pub addr: IpAddr,
}

/// Keystone's `auth.identity` for `item` checked by `method`.
fn identity_body(
    settings: &DicomSettings,
    method: &str,
    item: &IdentityItem,
    peer: Peer<'_>,
) -> Result<Value, Refusal> {
    let text = |bytes: &[u8]| {
        std::str::from_utf8(bytes)
            .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
            .map_err(|_| Refusal::NotText)
    };
    let domain = settings.domain_for(peer.calling_ae_title);
    let payload = match method {
        "password" => json!({"user": {
            "name": text(&item.primary)?,
            "domain": {"id": domain},
            "password": text(&item.secondary)?,
        }}),
        "token" => json!({"id": text(&item.primary)?}),
        "jwt" => json!({"token": text(&item.primary)?}),
        "dicom_asserted" => json!({
            "user": {"name": text(&item.primary)?, "domain": {"id": domain}},
            "calling_ae_title": peer.calling_ae_title,
        }),
        _ => json!({
            "user_identity": {
                "type": item.identity_type,
                "primary_field": STANDARD.encode(&item.primary),
                "secondary_field": STANDARD.encode(&item.secondary),
            },
            "calling_ae_title": peer.calling_ae_title,
            "called_ae_title": peer.called_ae_title,
        }),
    };
    Ok(json!({"methods": [method], method: payload}))
}

/// Authenticates `item` from `peer`: the association's user, or why not.
/// Only the store failing is an `Err`.
pub async fn authenticate(
    state: &AppState,
    settings: &DicomSettings,
    item: &IdentityItem,
    peer: Peer<'_>,
) -> Result<Result<Principal, Refusal>, AuthError> {
    let Some(method) = method_for(settings, item) else {
        return Ok(Err(Refusal::NoMethod(item.identity_type)));
    };
    if !state.engine().methods().contains(&method) {
        return Ok(Err(Refusal::NoMethod(item.identity_type)));
    }
    let identity = match identity_body(settings, &method, item, peer) {
        Ok(identity) => identity,
        Err(refusal) => return Ok(Err(refusal)),
    };
    match sessions::open_identity(state, &identity, Some(peer.addr), Some(DOOR)).await {
        Ok(Outcome::Token(new)) => Ok(Ok(Principal::User {
            token: SecretString::from(new.issued.token),
            user_id: new.user.id,
            method,
        })),
        Ok(Outcome::Continue(_)) => Ok(Err(Refusal::NeedsMoreFactors)),
        Err(e @ (AuthError::StoreUnavailable(_) | AuthError::Internal(_))) => Err(e),
        Err(e) => {
            events::note(|facts| facts.error = Some((&e).into()));
            Ok(Err(Refusal::Failed(e.kind().to_owned())))
        }
    }
}

impl Principal {
    /// The server response (0x59) for `item`: the session token, for types
    /// 3 to 5 whose requestor asked for one (PS3.7 D.3.3.7.2; pynetdicom
    /// answers types 1 and 2 with none either).
    pub fn server_response(&self, item: &IdentityItem) -> Option<Vec<u8>> {
        let Self::User { token, .. } = self else {
            return None;
        };
        let wanted = item.positive_response_requested && (3..=5).contains(&item.identity_type);
        wanted.then(|| token.expose_secret().as_bytes().to_vec())
    }

    /// The token commands are checked with (`None`: anonymous).
    pub fn token(&self) -> Option<&str> {
        match self {
            Self::User { token, .. } => Some(token.expose_secret()),
            Self::Anonymous => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::config::DicomSection;

    fn item(identity_type: u8, primary: &[u8], secondary: &[u8]) -> IdentityItem {
        IdentityItem {
            identity_type,
            positive_response_requested: true,
            primary: primary.to_vec(),
            secondary: secondary.to_vec(),
        }
    }

    fn settings(methods: &[&str]) -> DicomSettings {
        let mut section = DicomSection::default();
        section.domains.insert("CT_1".into(), "radiology".into());
        section
            .identity_methods
            .insert("3".into(), "kerberos".into());
        let mut enabled: Vec<String> = methods.iter().map(|m| m.to_string()).collect();
        enabled.push("kerberos".into());
        section.check(&enabled).unwrap()
    }

    fn peer(calling: &'static str) -> Peer<'static> {
        Peer {
            calling_ae_title: calling,
            called_ae_title: "AUTH_SCP",
            addr: "10.0.0.1".parse().unwrap(),
        }
    }

    #[test]
    fn each_type_becomes_its_methods_payload() {
        let s = settings(&["password", "token", "jwt", "dicom_asserted"]);
        let body = |i: &IdentityItem, calling| {
            identity_body(&s, &method_for(&s, i).unwrap(), i, peer(calling)).unwrap()
        };
        assert_eq!(
            body(&item(2, b"alice", b"secret"), "CT_1"),
            json!({"methods": ["password"], "password": {"user": {
                "name": "alice", "domain": {"id": "radiology"}, "password": "secret"}}})
        );
        assert_eq!(
            body(&item(1, b"alice", b""), "OTHER"),
            json!({"methods": ["dicom_asserted"], "dicom_asserted": {
                "user": {"name": "alice", "domain": {"id": "default"}},
                "calling_ae_title": "OTHER"}})
        );
        assert_eq!(
            body(&item(3, b"\x01\x02", b""), "CT_1"),
            json!({"methods": ["kerberos"], "kerberos": {
                "user_identity": {"type": 3, "primary_field": "AQI=", "secondary_field": ""},
                "calling_ae_title": "CT_1", "called_ae_title": "AUTH_SCP"}})
        );
        // An external JWT names its issuer; a token of this server does not.
        let external = format!(
            "e30.{}.sig",
            URL_SAFE_NO_PAD.encode(br#"{"iss":"https://idp","sub":"a"}"#)
        );
        let own = format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(br#"{"sub":"a"}"#));
        assert_eq!(
            body(&item(5, external.as_bytes(), b""), "CT_1"),
            json!({"methods": ["jwt"], "jwt": {"token": external}})
        );
        assert_eq!(
            body(&item(5, own.as_bytes(), b""), "CT_1"),
            json!({"methods": ["token"], "token": {"id": own}})
        );
        // Without the jwt method, every JWT is taken as this server's.
        let no_jwt = settings(&["password", "token"]);
        assert_eq!(
            method_for(&no_jwt, &item(5, external.as_bytes(), b"")).as_deref(),
            Some("token")
        );
    }

    #[test]
    fn types_without_a_method_and_fields_that_are_not_text_are_refused() {
        let s = settings(&["password"]);
        assert_eq!(method_for(&s, &item(1, b"alice", b"")), None);
        assert_eq!(method_for(&s, &item(4, b"<saml/>", b"")), None);
        assert_eq!(method_for(&s, &item(9, b"x", b"")), None);
        assert_eq!(
            identity_body(&s, "password", &item(2, b"al\xffce", b"pw"), peer("CT_1")),
            Err(Refusal::NotText)
        );
    }

    #[test]
    fn only_types_3_to_5_that_asked_get_a_server_response() {
        let user = Principal::User {
            token: SecretString::from("tok".to_owned()),
            user_id: "u".into(),
            method: "token".into(),
        };
        assert_eq!(
            user.server_response(&item(5, b"", b"")),
            Some(b"tok".to_vec())
        );
        assert_eq!(user.server_response(&item(2, b"", b"")), None);
        let mut quiet = item(5, b"", b"");
        quiet.positive_response_requested = false;
        assert_eq!(user.server_response(&quiet), None);
        assert_eq!(
            Principal::Anonymous.server_response(&item(5, b"", b"")),
            None
        );
        assert!(!format!("{user:?}").contains("tok\""));
    }
}
