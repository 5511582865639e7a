//! Tokens: issue (a login through the engine), validate, revoke.

use std::net::IpAddr;
use std::sync::Arc;

use auth_core::request::UserSelector;
use auth_core::store::{User, UserStore};
use auth_core::{AuthAttempt, AuthError, AuthOutcome, Continuation, RequestHeaders, RequestLine};
use chrono::Duration;
use serde::Deserialize;

use super::revocations;
use crate::state::AppState;
use crate::token_body::{self, Issued, PasswordExpiry};
use crate::validation::{self, Validated};

/// A login as a door received it.
#[derive(Debug)]
pub struct Login<'a> {
    /// The request body: Keystone's `{"auth": …}` (size-limited already).
    pub body: &'a [u8],
    /// The request headers (each method sees only those it declares).
    pub headers: RequestHeaders,
    /// The client's address.
    pub client_addr: Option<IpAddr>,
    /// The receipt of a login under way (`Openstack-Auth-Receipt`).
    pub receipt: Option<&'a str>,
    /// The door, when not the HTTP API (see `AuthAttempt::door`).
    pub door: Option<&'a str>,
    /// The HTTP method and URL, for methods that check a signature over
    /// the request (OAuth1); `None` for doors without one.
    pub request_line: Option<RequestLine>,
    /// What the token is scoped to.
    pub scope: LoginScope,
}

/// What a login's token is scoped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginScope {
    /// What the request's `scope` asks (Keystone's API).
    Requested,
    /// A session's scope, chosen for the user once authenticated (see
    /// `services::sessions`): for doors whose protocol names no scope.
    Session,
}

/// What a login comes to.
#[derive(Debug)]
pub enum Outcome {
    /// A signed token.
    Token(Box<NewToken>),
    /// More is needed: a receipt, challenges, the rules still to meet.
    Continue(Box<Continuation>),
}

/// A token just issued, with what its body needs.
#[derive(Debug)]
pub struct NewToken {
    /// The token, its claims, scope and roles.
    pub issued: Issued,
    /// Its user.
    pub user: User,
    /// The user's password expiry, if the login found it out.
    pub password_expiry: PasswordExpiry,
}

/// Runs a login through the engine and, once authenticated, authorizes its
/// scope and signs a token. A failed login notes the user the request
/// named (by id, or by name and domain, under any method) for the call's
/// event, as privacyIDEA's events carry the user of the request, and
/// logs a warn line `login failed` (user id, methods, reason kind, client).
pub async fn issue(state: &AppState, login: Login<'_>) -> Result<Outcome, AuthError> {
    let mut attempt = AuthAttempt::new(login.body).headers(login.headers);
    if let Some(addr) = login.client_addr {
        attempt = attempt.client_addr(addr);
    }
    if let Some(receipt) = login.receipt {
        attempt = attempt.receipt(receipt);
    }
    if let Some(door) = login.door {
        attempt = attempt.door(door);
    }
    if let Some(line) = login.request_line {
        attempt = attempt.request_line(line);
    }
    // Before any credential is checked: the token's issue time (see
    // token_body::issue).
    let started = state.clock().now();
    let outcome = match state.engine().authenticate(attempt).await {
        Ok(outcome) => outcome,
        Err(error) => {
            let user = note_named_user(state, login.body).await;
            // Operators watch logs, not only the audit table: one warn line
            // per failed login, with no credential in it (the methods, the
            // reason's kind, never the body or the error's text).
            tracing::warn!(
                user = user.as_deref().unwrap_or("-"),
                methods = %requested_methods(login.body).join(","),
                reason = error.kind(),
                client = %login.client_addr.map_or_else(|| "-".to_owned(), |a| a.to_string()),
                door = login.door.unwrap_or("api"),
                "login failed"
            );
            return Err(error);
        }
    };
    match outcome {
        AuthOutcome::Authenticated(mut done) => {
            if login.scope == LoginScope::Session {
                done.scope = super::sessions::scope_for(state, &done.user).await?;
            }
            let issued = token_body::issue(state, &done, started).await?;
            Ok(Outcome::Token(Box::new(NewToken {
                issued,
                password_expiry: PasswordExpiry::from_extras(&done.identity.extras),
                user: done.user,
            })))
        }
        AuthOutcome::Continue(more) => Ok(Outcome::Continue(Box::new(more))),
    }
}

/// The user a failed login's request names, noted for its event. Only on
/// failure, so a success costs nothing.
async fn note_named_user(state: &AppState, body: &[u8]) -> Option<String> {
    let request = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    let identity = &request["auth"]["identity"];
    let user = identity["methods"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str())
        .map(|m| &identity[m]["user"])
        .find(|u| u.is_object())?;
    let selector = UserSelector::deserialize(user).ok()?;
    let users: &dyn UserStore = state.storage().as_ref();
    let found = selector.find(users, "user").await.ok().flatten()?;
    let id = found.id.to_string();
    crate::events::note(|facts| {
        if facts.user_id.is_none() {
            facts.user_id = Some(found.id);
            facts.domain_id = Some(found.domain_id);
        }
    });
    Some(id)
}

/// The method names a login body lists (names only: for the log line).
fn requested_methods(body: &[u8]) -> Vec<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|r| r["auth"]["identity"]["methods"].as_array().cloned())
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(|m| m.chars().take(32).collect()))
        .take(8)
        .collect()
}

/// Validates `token` (Keystone's 404 for any failure of the token itself);
/// with `allow_expired`, a token expired less than `[token]
/// allow_expired_window` ago still validates.
pub async fn validate(
    state: &AppState,
    token: &str,
    allow_expired: bool,
) -> Result<Arc<Validated>, AuthError> {
    let window = if allow_expired {
        Duration::seconds(state.config().token.allow_expired_window)
    } else {
        Duration::zero()
    };
    validation::validate(state, token, window).await
}

/// Revokes the validated token `subject` (only it: tokens rescoped from it
/// carry their own audit id).
pub async fn revoke(state: &AppState, subject: &Validated) -> Result<(), AuthError> {
    let Some(audit_id) = subject.claims.audit_id() else {
        // An event with no audit id would match every token.
        return Err(AuthError::Internal(
            "a token without an audit id cannot be revoked alone".into(),
        ));
    };
    revocations::audit_id(&state.services(), audit_id).await?;
    crate::events::note(|facts| {
        facts.user_id = Some(subject.user.id.clone());
        facts.domain_id = Some(subject.user.domain_id.clone());
    });
    Ok(())
}
