//! Tokens: what they assert, how providers sign and read them, and the one
//! validation routine every consumer uses.
//!
//! A [`TokenProvider`] turns [`TokenClaims`] into a string and back,
//! checking only its own signature. [`validate`] adds everything else a
//! token must pass: expiry (with an optional window for `allow_expired`),
//! revocation events, and that the user still exists and is enabled. The
//! server's token API and the `token` method both call it, so a revoked
//! token can be neither validated nor rescoped.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::AuthError;
use crate::store::{RevocationEvent, Stores, User};

/// What a token asserts, with Keystone's JWS claim names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The user id.
    pub sub: String,
    /// Issued at, in seconds since the epoch.
    pub iat: i64,
    /// Expires at, in seconds since the epoch.
    pub exp: i64,
    /// The methods used, carried forward by rescoping.
    #[serde(rename = "openstack_methods")]
    pub methods: Vec<String>,
    /// This token's audit id, then (for a rescoped token) its chain's.
    #[serde(rename = "openstack_audit_ids")]
    pub audit_ids: Vec<String>,
    /// The project, for a project-scoped token.
    #[serde(
        rename = "openstack_project_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub project_id: Option<String>,
    /// The domain, for a domain-scoped token.
    #[serde(
        rename = "openstack_domain_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub domain_id: Option<String>,
    /// `"all"`, for a system-scoped token.
    #[serde(
        rename = "openstack_system",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub system: Option<String>,
    /// The application credential the token came from.
    #[serde(
        rename = "openstack_app_cred_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub app_cred_id: Option<String>,
    /// Groups granted by a federated login.
    #[serde(
        rename = "openstack_group_ids",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub group_ids: Vec<String>,
    /// The identity provider of a federated login.
    #[serde(
        rename = "openstack_idp_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub idp_id: Option<String>,
}

impl TokenClaims {
    /// When the token was issued.
    pub fn issued_at(&self) -> DateTime<Utc> {
        seconds(self.iat)
    }

    /// When the token expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        seconds(self.exp)
    }

    /// This token's own audit id.
    pub fn audit_id(&self) -> Option<&str> {
        self.audit_ids.first().map(String::as_str)
    }

    /// The audit id of the chain: the original token's.
    pub fn audit_chain_id(&self) -> Option<&str> {
        self.audit_ids.last().map(String::as_str)
    }

    /// Whether the token is scoped to anything.
    pub fn is_scoped(&self) -> bool {
        self.project_id.is_some() || self.domain_id.is_some() || self.system.is_some()
    }
}

fn seconds(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Signs claims into token strings and verifies them.
#[async_trait]
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// The token string for `claims`.
    fn issue(&self, claims: &TokenClaims) -> Result<String, AuthError>;

    /// The claims of `token` if its signature verifies with a current key.
    /// Every failure is [`AuthError::NotFound`] (Keystone answers 404 for
    /// a bad token) and names no part of the token.
    async fn verify(&self, token: &str) -> Result<TokenClaims, AuthError>;
}

/// Whether `event` revokes the token `claims` describes (holding `roles`):
/// every field the event sets must match, and the token must have been
/// issued before the event.
///
/// Token issue times have whole-second precision. An event for one token
/// (by audit id) compares exactly. An event for many tokens (a user's, a
/// project's) revokes those issued in earlier seconds only, so a token
/// issued right after, say, a password change in the same second stays
/// valid; the price is that a token issued in the same second just
/// before the event survives it.
pub fn is_revoked_by(claims: &TokenClaims, roles: &[String], event: &RevocationEvent) -> bool {
    let matches = |wanted: &Option<String>, actual: Option<&str>| {
        wanted.as_deref().is_none_or(|w| actual == Some(w))
    };
    let in_time = if event.audit_id.is_some() {
        claims.issued_at() <= event.issued_before
    } else {
        claims.iat < event.issued_before.timestamp()
    };
    in_time
        && matches(&event.audit_id, claims.audit_id())
        && matches(&event.audit_chain_id, claims.audit_chain_id())
        && matches(&event.user_id, Some(&claims.sub))
        && matches(&event.project_id, claims.project_id.as_deref())
        && matches(&event.domain_id, claims.domain_id.as_deref())
        && event
            .role_id
            .as_ref()
            .is_none_or(|role| roles.iter().any(|r| r == role))
}

/// The error every failed validation gives: Keystone's 404.
pub fn not_found() -> AuthError {
    AuthError::NotFound {
        what: "token".into(),
    }
}

/// Validates `token` at `now`: signature, expiry (accepting tokens expired
/// less than `expired_window` ago, for `allow_expired`), revocation events
/// (role events are matched by the caller, which knows the roles), and the
/// user being present and enabled. Returns the claims and the user (so
/// callers need not load it again). Any failure is [`not_found`].
pub async fn validate(
    provider: &dyn TokenProvider,
    stores: &Stores,
    token: &str,
    now: DateTime<Utc>,
    expired_window: Duration,
) -> Result<(TokenClaims, User), AuthError> {
    let claims = provider.verify(token).await?;
    if now >= claims.expires_at() + expired_window {
        return Err(not_found());
    }
    let events = stores
        .revocations()?
        .list_revocations(claims.issued_at())
        .await?;
    if events
        .iter()
        .any(|event| is_revoked_by(&claims, &[], event))
    {
        return Err(not_found());
    }
    match stores.users()?.get_user(&claims.sub).await {
        Ok(user) if user.enabled => Ok((claims, user)),
        Ok(_) | Err(AuthError::NotFound { .. }) => Err(not_found()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> TokenClaims {
        TokenClaims {
            sub: "u1".into(),
            iat: 1_000,
            exp: 4_600,
            methods: vec!["password".into()],
            audit_ids: vec!["child".into(), "parent".into()],
            project_id: Some("p1".into()),
            domain_id: None,
            system: None,
            app_cred_id: None,
            group_ids: vec![],
            idp_id: None,
        }
    }

    fn event() -> RevocationEvent {
        RevocationEvent::at(seconds(2_000))
    }

    #[test]
    fn claims_serialize_with_keystone_names() {
        let json = serde_json::to_value(claims()).unwrap();
        assert_eq!(json["openstack_methods"][0], "password");
        assert_eq!(json["openstack_project_id"], "p1");
        assert!(
            json.get("openstack_domain_id").is_none(),
            "absent claims are dropped"
        );
    }

    #[test]
    fn events_match_on_every_field_they_set() {
        let c = claims();
        let by = |f: fn(&mut RevocationEvent)| {
            let mut e = event();
            f(&mut e);
            is_revoked_by(&c, &["r1".into()], &e)
        };
        assert!(by(|e| e.audit_id = Some("child".into())));
        assert!(!by(|e| e.audit_id = Some("parent".into())));
        assert!(by(|e| e.audit_chain_id = Some("parent".into())));
        assert!(by(|e| e.user_id = Some("u1".into())));
        assert!(!by(|e| e.user_id = Some("u2".into())));
        assert!(by(|e| e.project_id = Some("p1".into())));
        assert!(by(|e| e.role_id = Some("r1".into())));
        assert!(!by(|e| e.role_id = Some("r2".into())));
        assert!(
            !by(|e| {
                e.user_id = Some("u1".into());
                e.issued_before = seconds(999);
            }),
            "tokens issued after the event are not revoked"
        );
    }
}
