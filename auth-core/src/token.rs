//! Tokens: what they assert, how providers sign and read them, and the one
//! validation routine every consumer uses.
//!
//! A [`TokenProvider`] turns [`TokenClaims`] into a string and back,
//! checking only its own signature. [`validate`] adds everything else a
//! token must pass: expiry (with an optional window for `allow_expired`),
//! a lifetime no longer than the provider issues, revocation events, and
//! that the user (and the application credential it came from) still
//! exists and is enabled. The server's token API and the `token` method
//! both call it, so a revoked token can be neither validated nor rescoped.
//!
//! # Issue times are exact
//!
//! JWS `iat` and `exp` are whole seconds (RFC 7519 `NumericDate`, and what
//! Keystone and every JWT library read). A second claim,
//! `openstack_iat_us`, carries the microseconds past `iat`, so a token's
//! issue time is known to the microsecond and a revocation event revokes
//! exactly the tokens issued before it, whatever the second: a token
//! issued 1 µs after a password change is valid, one issued 1 µs before is
//! not. Tokens without the claim (issued by an earlier version) count as
//! issued at the start of their second, so an event in that second revokes
//! them, as Keystone does.

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
    /// The microseconds past `iat` at which the token was issued
    /// (`0..1_000_000`), so revocation can be exact; `None` in tokens of
    /// earlier versions. See [`TokenClaims::set_issued_at`].
    #[serde(
        rename = "openstack_iat_us",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub iat_us: Option<u32>,
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
    /// The OAuth1 access token the token came from (Keystone's JWS claim
    /// name): its roles are the access token's, and it ends with it.
    #[serde(
        rename = "openstack_access_token_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub access_token_id: Option<String>,
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
    /// The trust a trust-scoped token was issued through (Keystone's
    /// `openstack_trust_id`); its user (`sub`) is the trustee.
    #[serde(
        rename = "openstack_trust_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub trust_id: Option<String>,
}

impl TokenClaims {
    /// When the token was issued, to the microsecond (to the second for a
    /// token without `openstack_iat_us`).
    pub fn issued_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.issued_at_micros()).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// The issue time in microseconds since the epoch: what revocation
    /// events are compared with.
    pub fn issued_at_micros(&self) -> i64 {
        let micros = self.iat_us.map_or(0, i64::from);
        self.iat.saturating_mul(1_000_000).saturating_add(micros)
    }

    /// Sets `iat` (whole seconds) and `openstack_iat_us` (the microseconds
    /// past it) from `at`, truncated to the microsecond as the stores keep
    /// times.
    pub fn set_issued_at(&mut self, at: DateTime<Utc>) {
        self.iat = at.timestamp();
        self.iat_us = Some(at.timestamp_subsec_micros().min(999_999));
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

    /// The longest lifetime (`exp - iat`) of a token this provider issues.
    /// [`validate`] refuses a token that claims a longer one, so a key
    /// stolen from a database dump cannot mint a token that lasts for
    /// years. `None` (the default) checks nothing.
    fn max_lifetime(&self) -> Option<Duration> {
        None
    }
}

/// How far ahead of this node's clock a token's issue time may be (clock
/// skew between nodes); a token issued later than that is refused, else a
/// token with a short lifetime far in the future would be valid until then.
pub const MAX_CLOCK_SKEW: Duration = Duration::seconds(60);

/// Whether `event` revokes the token `claims` describes (holding `roles`):
/// every field the event sets must match, and the token must have been
/// issued before the event.
///
/// The comparison is exact to the microsecond (both stores keep
/// microseconds, and tokens carry `openstack_iat_us`): a token issued 1 µs
/// before the event is revoked, one issued 1 µs after is not, whatever the
/// second. A token issued in the event's very microsecond counts as issued
/// after it (a login right after a password change, on a clock that has not
/// moved since), except for an event naming the token or its chain by
/// audit id: those tokens exist, so they were issued no later than the
/// event (a session ended in the microsecond it was renewed ends with the
/// renewal).
pub fn is_revoked_by(claims: &TokenClaims, roles: &[String], event: &RevocationEvent) -> bool {
    let matches = |wanted: &Option<String>, actual: Option<&str>| {
        wanted.as_deref().is_none_or(|w| actual == Some(w))
    };
    let issued = claims.issued_at_micros();
    let event_at = event.issued_before.timestamp_micros();
    let in_time = if event.audit_id.is_some() || event.audit_chain_id.is_some() {
        issued <= event_at
    } else {
        issued < event_at
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

/// Whether the times `claims` assert are ones a provider allowing
/// `max_lifetime` could have issued by `now`: a well-formed sub-second
/// part, an issue time no later than `now` plus [`MAX_CLOCK_SKEW`], an
/// expiry after the issue time, and (when the provider states one) a
/// lifetime no longer than `max_lifetime`. A rescoped token keeps its
/// original expiry and an application credential's token ends with the
/// credential, so both are shorter than the maximum, never longer.
pub fn has_plausible_times(
    claims: &TokenClaims,
    now: DateTime<Utc>,
    max_lifetime: Option<Duration>,
) -> bool {
    let lifetime = claims.exp.saturating_sub(claims.iat);
    claims.iat_us.is_none_or(|us| us < 1_000_000)
        && claims.issued_at() <= now + MAX_CLOCK_SKEW
        && lifetime > 0
        && max_lifetime.is_none_or(|max| lifetime <= max.num_seconds())
}

/// Validates `token` at `now`: signature, expiry (accepting tokens expired
/// less than `expired_window` ago, for `allow_expired`), plausible issue
/// time and lifetime ([`has_plausible_times`] with the provider's
/// [`TokenProvider::max_lifetime`]), revocation events (role events are
/// matched by the caller, which knows the roles), the user being present
/// and enabled, and, for a token from an application credential or an
/// OAuth1 access token, that credential still existing with the token
/// ending no later than it.
/// Returns the claims and the user (so callers need not load it again).
/// Any failure is [`not_found`].
pub async fn validate(
    provider: &dyn TokenProvider,
    stores: &Stores,
    token: &str,
    now: DateTime<Utc>,
    expired_window: Duration,
) -> Result<(TokenClaims, User), AuthError> {
    let claims = provider.verify(token).await?;
    if now >= claims.expires_at() + expired_window
        || !has_plausible_times(&claims, now, provider.max_lifetime())
    {
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
    let user = match stores.users()?.get_user(&claims.sub).await {
        Ok(user) if user.enabled => user,
        Ok(_) | Err(AuthError::NotFound { .. }) => return Err(not_found()),
        Err(e) => return Err(e),
    };
    if let Some(id) = &claims.app_cred_id {
        let credential = match stores.credentials()?.get_application_credential(id).await {
            Ok(credential) => credential,
            Err(AuthError::NotFound { .. }) => return Err(not_found()),
            Err(e) => return Err(e),
        };
        let outlives = credential
            .expires_at
            .is_some_and(|end| claims.expires_at() > end);
        if credential.user_id != claims.sub || outlives {
            return Err(not_found());
        }
    }
    if let Some(id) = &claims.access_token_id {
        let access = match stores.oauth1()?.get_oauth1_access_token(id).await {
            Ok(access) => access,
            Err(AuthError::NotFound { .. }) => return Err(not_found()),
            Err(e) => return Err(e),
        };
        let outlives = access
            .expires_at
            .is_some_and(|end| claims.expires_at() > end);
        let elsewhere = claims.project_id.as_deref() != Some(access.project_id.as_str());
        if access.authorizing_user_id != claims.sub || outlives || elsewhere {
            return Err(not_found());
        }
    }
    Ok((claims, user))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> TokenClaims {
        TokenClaims {
            sub: "u1".into(),
            iat: 1_000,
            iat_us: Some(250_000),
            exp: 4_600,
            methods: vec!["password".into()],
            audit_ids: vec!["child".into(), "parent".into()],
            project_id: Some("p1".into()),
            domain_id: None,
            system: None,
            app_cred_id: None,
            access_token_id: None,
            group_ids: vec![],
            idp_id: None,
            trust_id: None,
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
        assert!(json.get("openstack_trust_id").is_none());
        let trusted = TokenClaims {
            trust_id: Some("t1".into()),
            ..claims()
        };
        let json = serde_json::to_value(&trusted).unwrap();
        assert_eq!(
            json["openstack_trust_id"], "t1",
            "Keystone's JWS claim name"
        );
        let back: TokenClaims = serde_json::from_value(json).unwrap();
        assert_eq!(back, trusted);
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

    fn at_micros(micros: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(micros).unwrap()
    }

    #[test]
    fn revocation_is_exact_to_the_microsecond_within_a_second() {
        // Token issued at 1000.250000 s; a user event in the same second.
        let c = claims();
        let issued = c.issued_at_micros();
        assert_eq!(issued, 1_000_250_000);
        assert_eq!(c.issued_at(), at_micros(issued));
        let user_event = |micros: i64| RevocationEvent {
            user_id: Some("u1".into()),
            ..RevocationEvent::at(at_micros(micros))
        };
        assert!(
            is_revoked_by(&c, &[], &user_event(issued + 1)),
            "issued 1 µs before the event: revoked"
        );
        assert!(
            !is_revoked_by(&c, &[], &user_event(issued)),
            "issued in the event's microsecond: counts as after it"
        );
        assert!(
            !is_revoked_by(&c, &[], &user_event(issued - 1)),
            "issued 1 µs after the event: valid"
        );
        // Nanoseconds below the microsecond change nothing.
        let nanos = at_micros(issued - 1) + Duration::nanoseconds(999);
        assert!(!is_revoked_by(
            &c,
            &[],
            &RevocationEvent {
                user_id: Some("u1".into()),
                ..RevocationEvent::at(nanos)
            }
        ));
        // One token by audit id: the same rule.
        let by_audit = |micros: i64| RevocationEvent {
            audit_id: Some("child".into()),
            ..RevocationEvent::at(at_micros(micros))
        };
        assert!(is_revoked_by(&c, &[], &by_audit(issued + 1)));
        assert!(
            is_revoked_by(&c, &[], &by_audit(issued)),
            "the named token existed at its revocation"
        );
        assert!(!is_revoked_by(&c, &[], &by_audit(issued - 1)));
        // A chain by its audit id, likewise (a session ended as it slid).
        let by_chain = |micros: i64| RevocationEvent {
            audit_chain_id: Some("parent".into()),
            ..RevocationEvent::at(at_micros(micros))
        };
        assert!(is_revoked_by(&c, &[], &by_chain(issued)));
        assert!(!is_revoked_by(&c, &[], &by_chain(issued - 1)));
    }

    #[test]
    fn tokens_of_earlier_versions_count_from_the_start_of_their_second() {
        let legacy: TokenClaims = serde_json::from_value(serde_json::json!({
            "sub": "u1", "iat": 1_000, "exp": 4_600,
            "openstack_methods": ["password"], "openstack_audit_ids": ["a"],
        }))
        .unwrap();
        assert_eq!(legacy.iat_us, None);
        assert_eq!(legacy.issued_at(), seconds(1_000));
        let event = RevocationEvent {
            user_id: Some("u1".into()),
            ..RevocationEvent::at(at_micros(1_000_000_001))
        };
        assert!(
            is_revoked_by(&legacy, &[], &event),
            "an event in the same second revokes it, as Keystone does"
        );
        let before = RevocationEvent {
            user_id: Some("u1".into()),
            ..RevocationEvent::at(at_micros(999_999_999))
        };
        assert!(!is_revoked_by(&legacy, &[], &before));
    }

    #[test]
    fn set_issued_at_keeps_whole_seconds_in_iat_and_microseconds_beside() {
        let mut c = claims();
        let at = at_micros(1_700_000_000_123_456) + Duration::nanoseconds(789);
        c.set_issued_at(at);
        assert_eq!(c.iat, 1_700_000_000);
        assert_eq!(c.iat_us, Some(123_456));
        assert_eq!(c.issued_at(), at_micros(1_700_000_000_123_456));
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["iat"], 1_700_000_000, "iat stays an integer");
        assert_eq!(json["openstack_iat_us"], 123_456);
        // Before the epoch, the sub-second part is still 0..1_000_000 past iat.
        c.set_issued_at(at_micros(-1));
        assert_eq!((c.iat, c.iat_us), (-1, Some(999_999)));
        assert_eq!(c.issued_at_micros(), -1);
    }

    #[test]
    fn implausible_times_are_refused() {
        let c = claims(); // issued at 1000.25 s, a 3,600 s lifetime
        let now = seconds(2_000);
        let hour = Some(Duration::seconds(3_600));
        assert!(has_plausible_times(&c, now, hour));
        assert!(has_plausible_times(&c, now, None));
        assert!(!has_plausible_times(
            &c,
            now,
            Some(Duration::seconds(3_599))
        ));
        let ten_years = TokenClaims {
            exp: c.iat + 10 * 365 * 86_400,
            ..c.clone()
        };
        assert!(!has_plausible_times(&ten_years, now, hour));
        let from_the_future = TokenClaims {
            iat: 2_000 + 61,
            exp: 2_000 + 61 + 60,
            ..c.clone()
        };
        assert!(!has_plausible_times(&from_the_future, now, hour));
        let slightly_ahead = TokenClaims {
            iat: 2_000 + 30,
            exp: 2_000 + 90,
            ..c.clone()
        };
        assert!(
            has_plausible_times(&slightly_ahead, now, hour),
            "clock skew"
        );
        let backwards = TokenClaims {
            exp: c.iat,
            ..c.clone()
        };
        assert!(!has_plausible_times(&backwards, now, hour));
        let bad_micros = TokenClaims {
            iat_us: Some(1_000_000),
            ..c
        };
        assert!(!has_plausible_times(&bad_micros, now, hour));
    }
}
