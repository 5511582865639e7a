//! What a login gives: a credential to attach to each request, and when it
//! stops working.

use std::fmt;

use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::LoginError;

/// A logged-in session: what to attach and until when. Strategies make
/// them; the middleware attaches them and refreshes them before
/// `expires_at`.
#[derive(Debug, Clone)]
pub struct Session {
    credential: Credential,
    expires_at: Option<DateTime<Utc>>,
}

impl Session {
    /// A session with no known expiry: it lasts until a request is refused.
    pub fn new(credential: Credential) -> Self {
        Self {
            credential,
            expires_at: None,
        }
    }

    /// The same session, known to expire at `at` (the middleware logs in
    /// again shortly before).
    pub fn expiring_at(mut self, at: Option<DateTime<Utc>>) -> Self {
        self.expires_at = at;
        self
    }

    /// When the server stops accepting this session, if it said.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    /// What the session attaches.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// Puts the credential on `headers`, replacing one of the same header
    /// (a cookie joins the caller's own cookies instead).
    pub(crate) fn attach(&self, headers: &mut HeaderMap) {
        self.credential.attach(headers);
    }
}

/// A credential as it goes on the wire. The value is a sensitive header
/// value: never in `Debug`, and marked so HTTP/2 does not index it.
#[derive(Clone)]
pub struct Credential {
    place: Place,
    value: HeaderValue,
}

#[derive(Clone, Debug)]
enum Place {
    Header(HeaderName),
    Cookie,
}

impl Credential {
    /// `token` in the header `name` (Keystone's `X-Auth-Token`, say).
    pub fn header(name: HeaderName, token: &SecretString) -> Result<Self, LoginError> {
        Ok(Self {
            place: Place::Header(name),
            value: sensitive(token.expose_secret())?,
        })
    }

    /// `token` as `Authorization: Bearer <token>`.
    pub fn bearer(token: &SecretString) -> Result<Self, LoginError> {
        Ok(Self {
            place: Place::Header(AUTHORIZATION),
            value: sensitive(&format!("Bearer {}", token.expose_secret()))?,
        })
    }

    /// Cookie pairs (`name=value; other=value`) for the `Cookie` header, as
    /// a login's `Set-Cookie` gave them.
    pub fn cookies(pairs: &SecretString) -> Result<Self, LoginError> {
        Ok(Self {
            place: Place::Cookie,
            value: sensitive(pairs.expose_secret())?,
        })
    }

    fn attach(&self, headers: &mut HeaderMap) {
        match &self.place {
            Place::Header(name) => {
                headers.insert(name.clone(), self.value.clone());
            }
            Place::Cookie => {
                // One Cookie header (RFC 6265 5.4): the caller's cookies,
                // then the session's.
                let mut joined: Vec<u8> = Vec::new();
                for existing in headers.get_all(COOKIE) {
                    joined.extend_from_slice(existing.as_bytes());
                    joined.extend_from_slice(b"; ");
                }
                joined.extend_from_slice(self.value.as_bytes());
                let value = HeaderValue::from_bytes(&joined).map(|mut value| {
                    value.set_sensitive(true);
                    value
                });
                headers.insert(COOKIE, value.unwrap_or_else(|_| self.value.clone()));
            }
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match &self.place {
            Place::Header(name) => name.as_str(),
            Place::Cookie => "cookie",
        };
        f.debug_struct("Credential")
            .field("place", &place)
            .field("value", &"[REDACTED]")
            .finish()
    }
}

fn sensitive(value: &str) -> Result<HeaderValue, LoginError> {
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| LoginError::Malformed("the token is not a valid header value".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(value: &str) -> SecretString {
        SecretString::from(value.to_owned())
    }

    #[test]
    fn a_header_credential_replaces_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert("x-auth-token", HeaderValue::from_static("old"));
        let credential =
            Credential::header(HeaderName::from_static("x-auth-token"), &secret("new")).unwrap();
        Session::new(credential).attach(&mut headers);
        assert_eq!(headers.get_all("x-auth-token").iter().count(), 1);
        assert_eq!(headers["x-auth-token"], "new");
        assert!(headers["x-auth-token"].is_sensitive());
    }

    #[test]
    fn a_bearer_credential_is_an_authorization_header() {
        let mut headers = HeaderMap::new();
        Session::new(Credential::bearer(&secret("t0k")).unwrap()).attach(&mut headers);
        assert_eq!(headers[AUTHORIZATION], "Bearer t0k");
    }

    #[test]
    fn cookies_join_the_callers_own_in_one_header() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("theme=dark"));
        Session::new(Credential::cookies(&secret("session=abc")).unwrap()).attach(&mut headers);
        assert_eq!(headers.get_all(COOKIE).iter().count(), 1);
        assert_eq!(headers[COOKIE], "theme=dark; session=abc");
    }

    #[test]
    fn debug_never_shows_the_value() {
        let session = Session::new(Credential::bearer(&secret("hunter2")).unwrap());
        let shown = format!("{session:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("authorization"), "{shown}");
    }

    #[test]
    fn a_token_that_is_no_header_value_is_malformed() {
        let error = Credential::bearer(&secret("bad\ntoken")).unwrap_err();
        assert!(matches!(error, LoginError::Malformed(_)));
        assert!(!error.to_string().contains("bad"));
    }
}
