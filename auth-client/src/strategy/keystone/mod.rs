//! Keystone v3 logins (`POST /v3/auth/tokens`): password, with further
//! factors through receipts, and application credentials.

mod application_credential;
mod factor;
mod password;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use secrecy::SecretString;
use serde_json::{Value, json};

pub use application_credential::ApplicationCredential;
pub use factor::{Challenge, Factor, NextFactor};
pub use password::KeystonePassword;

use super::LoginContext;
use crate::{Credential, LoginError, Session};

/// The header Keystone carries receipts in.
const RECEIPT: &str = "openstack-auth-receipt";

/// Factors after the first before giving up: a server that keeps asking is
/// not going to stop.
const MAX_FURTHER_FACTORS: usize = 4;

/// Where a Keystone token goes on each request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Placement {
    /// In a header of its own (`X-Auth-Token`, the default).
    Header(HeaderName),
    /// As `Authorization: Bearer`.
    Bearer,
}

impl Default for Placement {
    fn default() -> Self {
        Self::Header(HeaderName::from_static("x-auth-token"))
    }
}

/// A user, as Keystone names one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum UserRef {
    /// By id.
    Id(String),
    /// By name within a domain.
    Name {
        /// The user's name.
        name: String,
        /// The user's domain.
        domain: DomainRef,
    },
}

impl UserRef {
    /// The user `name` of `domain`.
    pub fn named(name: impl Into<String>, domain: DomainRef) -> Self {
        Self::Name {
            name: name.into(),
            domain,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Self::Id(id) => json!({"id": id}),
            Self::Name { name, domain } => json!({"name": name, "domain": domain.to_json()}),
        }
    }
}

/// A domain, as Keystone names one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DomainRef {
    /// By id (`default` is the default domain's).
    Id(String),
    /// By name.
    Name(String),
}

impl DomainRef {
    fn to_json(&self) -> Value {
        match self {
            Self::Id(id) => json!({"id": id}),
            Self::Name(name) => json!({"name": name}),
        }
    }
}

/// The tokens endpoint under `auth_url`, which may be the server's root or
/// its `/v3` (both are what Keystone clients are given).
fn tokens_url(auth_url: &Url) -> Url {
    let mut url = auth_url.clone();
    let path = url.path().trim_end_matches('/').to_owned();
    let tokens = if path.ends_with("/v3") {
        format!("{path}/auth/tokens")
    } else {
        format!("{path}/v3/auth/tokens")
    };
    url.set_path(&tokens);
    url
}

/// One Keystone login: `identity` first, then as many further factors as
/// `next` gives while the server answers with receipts.
async fn issue(
    cx: &LoginContext<'_>,
    auth_url: &Url,
    identity: Value,
    scope: Option<&Value>,
    next: Option<&dyn NextFactor>,
    placement: &Placement,
) -> Result<Session, LoginError> {
    let url = tokens_url(auth_url);
    let body = |identity: Value| {
        let mut body = json!({"auth": {"identity": identity}});
        if let Some(scope) = scope {
            body["auth"]["scope"] = scope.clone();
        }
        body
    };
    let mut request = body(identity);
    let mut receipt: Option<HeaderValue> = None;
    for _ in 0..=MAX_FURTHER_FACTORS {
        let mut call = cx.client.post(url.clone()).json(&request);
        if let Some(receipt) = &receipt {
            call = call.header(RECEIPT, receipt.clone());
        }
        let response = call.send().await?;
        if response.status().is_success() {
            return session(response, placement).await;
        }
        let Some(next_receipt) = response.headers().get(RECEIPT).cloned() else {
            return Err(LoginError::refused(response).await);
        };
        if response.status() != StatusCode::UNAUTHORIZED {
            return Err(LoginError::refused(response).await);
        }
        let challenge = challenge(response.json().await.unwrap_or(Value::Null));
        let factor = match next {
            Some(next) => next.next_factor(&challenge).await,
            None => None,
        };
        let Some(factor) = factor else {
            return Err(LoginError::FactorRequired {
                required: challenge.required,
            });
        };
        let (method, section) = factor.identity(&challenge.user_id);
        let mut identity = json!({"methods": [method]});
        identity[method] = section;
        request = body(identity);
        receipt = Some(next_receipt);
    }
    Err(LoginError::Malformed(
        "the server kept asking for further factors".into(),
    ))
}

fn challenge(body: Value) -> Challenge {
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Challenge {
        user_id: body["receipt"]["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        done: strings(&body["receipt"]["methods"]),
        required: body["required_auth_methods"]
            .as_array()
            .map(|sets| sets.iter().map(strings).collect())
            .unwrap_or_default(),
    }
}

/// The session of a successful token answer: `X-Subject-Token` and the
/// body's `token.expires_at`.
async fn session(
    response: reqwest::Response,
    placement: &Placement,
) -> Result<Session, LoginError> {
    let token = response
        .headers()
        .get("x-subject-token")
        .and_then(|value| value.to_str().ok())
        .map(|value| SecretString::from(value.to_owned()))
        .ok_or_else(|| LoginError::Malformed("no X-Subject-Token in the answer".into()))?;
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let expires_at = body["token"]["expires_at"]
        .as_str()
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .map(|at| at.with_timezone(&Utc));
    let credential = match placement {
        Placement::Header(name) => Credential::header(name.clone(), &token)?,
        Placement::Bearer => Credential::bearer(&token)?,
    };
    Ok(Session::new(credential).expiring_at(expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tokens_endpoint_is_found_from_root_or_v3() {
        for base in [
            "http://k:5000",
            "http://k:5000/",
            "http://k:5000/v3",
            "http://k:5000/v3/",
        ] {
            assert_eq!(
                tokens_url(&base.parse().unwrap()).as_str(),
                "http://k:5000/v3/auth/tokens",
                "{base}"
            );
        }
        assert_eq!(
            tokens_url(&"http://k/identity".parse().unwrap()).as_str(),
            "http://k/identity/v3/auth/tokens"
        );
    }

    #[test]
    fn debug_hides_passwords_secrets_and_passcodes() {
        let url: Url = "http://k:5000/v3".parse().unwrap();
        let user = UserRef::named("alice", DomainRef::Id("default".into()));
        let password = KeystonePassword::new(
            url.clone(),
            user.clone(),
            SecretString::from("pw-1x".to_owned()),
        )
        .next_factor(|_| async { None });
        let by_id =
            ApplicationCredential::by_id(url.clone(), "id", SecretString::from("ac-2y".to_owned()));
        let by_name =
            ApplicationCredential::by_name(url, "ci", user, SecretString::from("ac-3z".to_owned()));
        let factor = Factor::totp(SecretString::from("123456".to_owned()));
        let shown = format!("{password:?} {by_id:?} {by_name:?} {factor:?}");
        for secret in ["pw-1x", "ac-2y", "ac-3z", "123456"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn a_receipt_body_becomes_a_challenge() {
        let challenge = challenge(json!({
            "receipt": {"methods": ["password"], "user": {"id": "u1"}},
            "required_auth_methods": [["password", "totp"]]
        }));
        assert_eq!(challenge.user_id, "u1");
        assert_eq!(challenge.done, ["password"]);
        assert_eq!(challenge.required, [["password", "totp"]]);
    }
}
