//! Who calls the service: Orthanc, with basic auth as a service user.
//!
//! The service user is a user of the identity store in `[orthanc]
//! service_domain` holding `[orthanc] service_role` (as OpenStack services
//! hold `service`). Its password goes through the engine's `password`
//! method, with lockout and events, once; Orthanc then calls several times
//! per request, so the verified credential is kept, under an HMAC of the
//! `Authorization` header with a key made at start-up (the cache never
//! holds a password, and its keys are useless outside this process), and
//! tagged with the token revision: disabling the user, changing its
//! password or its roles moves the revision and the next call verifies
//! again.

use auth_core::store::User;
use auth_core::{AuthAttempt, AuthError, AuthOutcome};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use quick_cache::sync::Cache;
use rand::RngCore;
use serde_json::json;
use sha2::Sha256;

use crate::error::{Challenge, ServerError};
use crate::forwarded::ClientOrigin;
use crate::state::AppState;

/// How many verified credentials are kept (a deployment has a few
/// Orthanc servers).
const KEPT: usize = 64;

/// An authenticated call from Orthanc.
#[derive(Debug, Clone)]
pub struct ServiceCaller {
    /// The service user's id.
    pub user_id: String,
    /// The token revision read for this request: every decision the call
    /// makes is taken as of it.
    pub revision: Option<i64>,
}

/// The verified credentials, by keyed digest.
#[derive(Debug)]
pub struct VerifiedCredentials {
    /// HMAC-SHA256 keyed once with a random key: each call clones it
    /// rather than deriving the key's pads again.
    keyed: Hmac<Sha256>,
    entries: Cache<[u8; 32], Verified>,
}

#[derive(Debug, Clone)]
struct Verified {
    user_id: String,
    revision: i64,
    at: DateTime<Utc>,
}

impl Default for VerifiedCredentials {
    fn default() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self {
            // HMAC accepts a key of any length; this cannot fail.
            keyed: <Hmac<Sha256> as Mac>::new_from_slice(&key)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
            entries: Cache::new(KEPT),
        }
    }
}

impl VerifiedCredentials {
    fn digest(&self, authorization: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(authorization);
        mac.finalize().into_bytes().into()
    }
}

/// Why a call is refused: a 401 with a basic-auth challenge, or a 403 for
/// a user who is not a service.
#[derive(Debug)]
pub enum Refusal {
    /// No or wrong credentials.
    Unauthenticated(ServerError),
    /// Authenticated, but not allowed to call the service.
    NotAService,
    /// Anything else (the store down: 503).
    Failed(ServerError),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthenticated(error) => {
                let mut response = error.into_response();
                *response.status_mut() = StatusCode::UNAUTHORIZED;
                // Basic, not Keystone's token challenge.
                response.extensions_mut().remove::<Challenge>();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"orthanc\""),
                );
                response
            }
            Self::NotAService => ServerError::from(AuthError::Forbidden(
                "this user may not call the Orthanc authorization service".into(),
            ))
            .into_response(),
            Self::Failed(error) => error.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for ServiceCaller {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refusal> {
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| unauthenticated("this service needs basic authentication"))?;
        let revision = state
            .validations()
            .revision()
            .await
            .map_err(|e| Refusal::Failed(e.into()))?;
        let kept = state.imaging().service_credentials();
        let digest = kept.digest(authorization.as_bytes());
        let now = state.clock().now();
        let ttl = Duration::seconds(
            i64::try_from(state.config().orthanc.credential_cache_ttl).unwrap_or(i64::MAX),
        );
        if let Some(revision) = revision
            && let Some(hit) = kept.entries.get(&digest)
            && hit.revision == revision
            && now - hit.at < ttl
        {
            return Ok(Self {
                user_id: hit.user_id,
                revision: Some(revision),
            });
        }
        let (name, password) = basic_credentials(authorization)?;
        let client = ClientOrigin::of(&parts.extensions, &parts.headers).client_addr();
        let user = verify(state, &name, &password, client).await?;
        if !holds_service_role(state, &user, revision).await? {
            return Err(Refusal::NotAService);
        }
        crate::events::note(|facts| {
            facts.user_id = Some(user.id.clone());
            facts.domain_id = Some(user.domain_id.clone());
        });
        if let Some(revision) = revision {
            kept.entries.insert(
                digest,
                Verified {
                    user_id: user.id.clone(),
                    revision,
                    at: now,
                },
            );
        }
        Ok(Self {
            user_id: user.id,
            revision,
        })
    }
}

fn unauthenticated(message: &str) -> Refusal {
    Refusal::Unauthenticated(AuthError::Unauthorized(message.to_owned()).into())
}

/// The name and password of a `Basic` header.
fn basic_credentials(header: &HeaderValue) -> Result<(String, String), Refusal> {
    let malformed = || unauthenticated("malformed basic authentication");
    let value = header.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(unauthenticated("this service needs basic authentication"));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (name, password) = decoded.split_once(':').ok_or_else(malformed)?;
    if name.is_empty() {
        return Err(malformed());
    }
    Ok((name.to_owned(), password.to_owned()))
}

/// The password through the engine: lockout, expiry and events apply. A
/// user whose rules want a second factor cannot be a service user.
async fn verify(
    state: &AppState,
    name: &str,
    password: &str,
    client: Option<std::net::IpAddr>,
) -> Result<User, Refusal> {
    let domain = &state.config().orthanc.service_domain;
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"id": domain}, "password": password}}}}});
    let mut attempt = AuthAttempt::from_json(body);
    if let Some(client) = client {
        attempt = attempt.client_addr(client);
    }
    match state.engine().authenticate(attempt).await {
        Ok(AuthOutcome::Authenticated(done)) => Ok(done.user),
        Ok(AuthOutcome::Continue(_)) => Err(unauthenticated(
            "a service user cannot need a second factor",
        )),
        Err(e @ (AuthError::StoreUnavailable(_) | AuthError::Internal(_))) => {
            Err(Refusal::Failed(e.into()))
        }
        Err(e) => Err(Refusal::Unauthenticated(e.into())),
    }
}

/// Whether `user` holds the service role on any project, domain or the
/// system, directly, through a group or by implication.
async fn holds_service_role(
    state: &AppState,
    user: &User,
    revision: Option<i64>,
) -> Result<bool, Refusal> {
    let wanted = &state.config().orthanc.service_role;
    let failed = |e: AuthError| Refusal::Failed(e.into());
    let storage = state.storage();
    let graph = state
        .validations()
        .role_graph_at(state, revision)
        .await
        .map_err(failed)?;
    for target in storage.targets_for_user(&user.id).await.map_err(failed)? {
        let direct = storage
            .effective_roles(&user.id, &target)
            .await
            .map_err(failed)?;
        if graph
            .expand(direct)
            .iter()
            .any(|role| role.name.eq_ignore_ascii_case(wanted))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// With `[orthanc] server_ids` set, only those Orthanc servers may call.
pub fn check_server_id(state: &AppState, server_id: Option<&str>) -> Result<(), ServerError> {
    let allowed = &state.config().orthanc.server_ids;
    if allowed.is_empty() || server_id.is_some_and(|id| allowed.iter().any(|a| a == id)) {
        Ok(())
    } else {
        Err(auth_core::AuthError::Forbidden(
            "this server-id may not call the Orthanc authorization service".into(),
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_read_and_malformed_ones_refused() {
        let header = |s: &str| HeaderValue::from_str(s).unwrap();
        let encoded = STANDARD.encode("orthanc:pa:ss");
        let (name, password) = basic_credentials(&header(&format!("Basic {encoded}"))).unwrap();
        assert_eq!((name.as_str(), password.as_str()), ("orthanc", "pa:ss"));
        assert!(basic_credentials(&header("Bearer abc")).is_err());
        assert!(basic_credentials(&header("Basic !!!")).is_err());
        let no_colon = STANDARD.encode("orthanc");
        assert!(basic_credentials(&header(&format!("Basic {no_colon}"))).is_err());
        let no_name = STANDARD.encode(":pw");
        assert!(basic_credentials(&header(&format!("Basic {no_name}"))).is_err());
    }

    #[test]
    fn the_digest_is_keyed() {
        let a = VerifiedCredentials::default();
        let b = VerifiedCredentials::default();
        assert_eq!(a.digest(b"Basic x"), a.digest(b"Basic x"));
        assert_ne!(a.digest(b"Basic x"), b.digest(b"Basic x"));
        assert_ne!(a.digest(b"Basic x"), a.digest(b"Basic y"));
    }
}
