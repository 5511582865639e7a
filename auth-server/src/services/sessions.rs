//! Gateway sessions: renewing one before it ends, and ending one.
//!
//! A session is a token of this server (see `crate::gateway::session`).
//! Renewal mints a fresh token for the same user, scope and methods, with
//! a new audit id and the old token's audit chain, so that revoking the
//! chain (what logout does) ends every token the session slid through.
//! Renewal runs no method again: it only extends a session already
//! validated (user enabled, token not revoked, scope still held), and the
//! new token's scope and roles are authorized afresh.

use auth_core::request::{ProjectRef, ScopeRequest};
use auth_core::store::{DomainRef, User};
use auth_core::{AuthError, Authenticated, Identity};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::revocations;
use super::tokens::{self, Outcome};
use crate::scope::Scope;
use crate::state::AppState;
use crate::validation;

/// A header login as the gateway received it (`X-Userid`, `X-Password`,
/// the domain its `X-Realm` maps to, `X-Passcode`). Never shown in
/// `Debug` but for the user's name and domain.
pub struct HeaderLogin<'a> {
    /// The user's name.
    pub user: &'a str,
    /// The password.
    pub password: &'a str,
    /// The domain (id) the realm maps to.
    pub domain_id: &'a str,
    /// A TOTP code, for users whose MFA rules need one.
    pub passcode: Option<&'a str>,
    /// The client's address.
    pub client_addr: Option<std::net::IpAddr>,
}

impl std::fmt::Debug for HeaderLogin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderLogin")
            .field("user", &self.user)
            .field("domain_id", &self.domain_id)
            .finish_non_exhaustive()
    }
}

/// Opens a session: the credentials go through the engine as the
/// password method (and `totp` with a passcode), so lockout, expiry,
/// MFA rules, events and audit apply as to any login. The session is
/// scoped as [`scope_for`] says.
pub async fn open(state: &AppState, login: HeaderLogin<'_>) -> Result<Outcome, AuthError> {
    let user = json!({"name": login.user, "domain": {"id": login.domain_id}});
    let mut identity = json!({
        "methods": ["password"],
        "password": {"user": {"name": login.user, "domain": {"id": login.domain_id}, "password": login.password}},
    });
    if let Some(passcode) = login.passcode {
        identity["methods"] = json!(["password", "totp"]);
        identity["totp"] =
            json!({"user": {"name": user["name"], "domain": user["domain"], "passcode": passcode}});
    }
    open_identity(state, &identity, login.client_addr, None).await
}

/// Opens a session for `identity` (Keystone's `auth.identity` object,
/// which a door writes from what its protocol carries) through the engine,
/// as any login: lockout, expiry, MFA rules, events and audit apply. `door`
/// names the door when it is not the HTTP API, for methods believed from
/// one door only. The session is scoped as [`scope_for`] says.
pub async fn open_identity(
    state: &AppState,
    identity: &serde_json::Value,
    client_addr: Option<std::net::IpAddr>,
    door: Option<&str>,
) -> Result<Outcome, AuthError> {
    let body = serde_json::to_vec(&json!({"auth": {"identity": identity}}))
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    tokens::issue(
        state,
        tokens::Login {
            body: &body,
            headers: auth_core::RequestHeaders::new(),
            client_addr,
            receipt: None,
            door,
            request_line: None,
            scope: tokens::LoginScope::Session,
        },
    )
    .await
}

/// The scope of a session of `user`: their default project when they
/// hold a role there, else the first project by name in their domain on
/// which they hold one, else unscoped (the session then opens nothing).
pub async fn scope_for(state: &AppState, user: &User) -> Result<ScopeRequest, AuthError> {
    let storage = state.storage();
    let mut held = Vec::new();
    for target in storage.targets_for_user(&user.id).await? {
        let auth_core::store::Target::Project(id) = target else {
            continue;
        };
        match storage.get_project(&id).await {
            Ok(project) if project.enabled && project.domain_id == user.domain_id => {
                held.push(project);
            }
            _ => {}
        }
    }
    let chosen = match &user.default_project_id {
        Some(default) if held.iter().any(|p| &p.id == default) => Some(default.clone()),
        _ => held
            .into_iter()
            .min_by(|a, b| a.name.cmp(&b.name))
            .map(|p| p.id),
    };
    Ok(chosen.map_or(ScopeRequest::Unscoped, |id| {
        ScopeRequest::Project(ProjectRef::Id(id))
    }))
}

/// Whether a session issued at `issued_at` and ending at `expires_at` is
/// in the second half of its life at `now`: then it is renewed, so a
/// client that keeps working never meets an expired session.
pub fn is_due(now: DateTime<Utc>, issued_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> bool {
    let life = expires_at - issued_at;
    now < expires_at && now - issued_at >= life / 2
}

/// A fresh token for the session `token` if it is due ([`is_due`]), as of
/// the token revision `revision`; `None` when it is not due.
pub async fn renew_if_due(
    state: &AppState,
    token: &str,
    revision: Option<i64>,
) -> Result<Option<String>, AuthError> {
    // Read before the session is validated, so that a logout after the
    // validation revokes the renewed token too (see `token_body::issue`).
    let started = state.clock().now();
    let validated = validation::validate_at(state, token, Duration::zero(), revision).await?;
    let claims = &validated.claims;
    if !is_due(started, claims.issued_at(), claims.expires_at()) {
        return Ok(None);
    }
    let scope = match &validated.scope {
        Scope::Unscoped => ScopeRequest::Unscoped,
        Scope::Project(project, _) => ScopeRequest::Project(ProjectRef::Id(project.id.clone())),
        Scope::Domain(domain) => ScopeRequest::Domain(DomainRef::Id(domain.id.clone())),
        Scope::System => ScopeRequest::System,
    };
    let mut identity = Identity::default();
    identity.user_id = Some(validated.user.id.clone());
    identity.methods.clone_from(&claims.methods);
    if let Some(chain) = claims.audit_chain_id() {
        identity
            .extras
            .insert("audit_chain_id".into(), json!(chain));
    }
    let done = Authenticated::new(validated.user.clone(), identity, scope);
    let issued = crate::token_body::issue(state, &done, started).await?;
    Ok(Some(issued.token))
}

/// Ends the session `token`: revokes its audit chain, so every token it
/// slid through ends with it. A token that no longer validates has
/// nothing left to end.
pub async fn end(state: &AppState, token: &str) -> Result<(), AuthError> {
    let validated = match validation::validate(state, token, Duration::zero()).await {
        Ok(validated) => validated,
        Err(AuthError::StoreUnavailable(e)) => return Err(AuthError::StoreUnavailable(e)),
        Err(AuthError::Internal(e)) => return Err(AuthError::Internal(e)),
        Err(_) => return Ok(()),
    };
    let Some(chain) = validated.claims.audit_chain_id() else {
        return Err(AuthError::Internal(
            "a session without an audit id cannot be ended".into(),
        ));
    };
    revocations::audit_chain(&state.services(), chain).await?;
    super::note_user(&validated.user.id, &validated.user.domain_id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_due_from_half_life_until_expiry() {
        let issued = Utc::now();
        let expires = issued + Duration::hours(1);
        assert!(!is_due(issued + Duration::minutes(29), issued, expires));
        assert!(is_due(issued + Duration::minutes(30), issued, expires));
        assert!(is_due(issued + Duration::minutes(59), issued, expires));
        assert!(!is_due(expires, issued, expires));
    }
}
