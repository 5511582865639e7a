//! The Keystone v3 door: Keystone's Identity API, one file per API area.
//!
//! A handler only translates: it extracts the caller and the request,
//! asks the policy, calls a service, and renders Keystone's JSON.

pub mod application_credentials;
pub mod assignment_names;
pub mod audit;
pub mod auth_info;
pub mod body;
pub mod caller;
pub mod credentials;
pub mod discovery;
pub mod domains;
pub mod event_handlers;
pub mod grants;
pub mod groups;
pub mod passwords;
pub mod projects;
pub mod role_assignments;
pub mod roles;
pub mod targets;
pub mod tokens;
pub mod users;

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};

use crate::error::ServerError;
use crate::policy::Target;
use crate::state::AppState;
use caller::Caller;

/// Asks the policy whether `caller` may do `action` (Keystone's name, such
/// as `identity:get_user`) on `target`: Keystone's 403 if not. The action
/// is noted for the call's event (attribute `policy`) and audit row, allowed
/// or refused, so an operator sees which rule decided a call.
pub fn authorize(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    target: &Target,
) -> Result<(), ServerError> {
    crate::events::note(|facts| facts.policy = Some(action));
    state
        .policy()
        .enforce(action, caller.credentials(), target)?;
    Ok(())
}

/// A read of the object a call acts on, for its policy target, with
/// Keystone's order: a missing object leaves the target without it (the
/// policy decides without it) and answers 404 only once the policy has
/// allowed the call, so a caller learns nothing of what it may not see.
/// Any other failure is answered at once.
pub fn deferred<T>(
    read: Result<T, auth_core::AuthError>,
) -> Result<Result<T, auth_core::AuthError>, auth_core::AuthError> {
    match read {
        Err(e @ auth_core::AuthError::NotFound { .. }) => Ok(Err(e)),
        Err(e) => Err(e),
        Ok(found) => Ok(Ok(found)),
    }
}

/// A required name of 1 to `max` characters, not all blank, as Keystone's
/// schemas demand of project, domain, role and similar names.
pub fn required_name(name: Option<String>, max: usize) -> Result<String, auth_core::AuthError> {
    match name {
        Some(n) if !n.trim().is_empty() && n.len() <= max => Ok(n),
        _ => Err(auth_core::AuthError::bad_request(format!(
            "'name' is required: 1 to {max} characters"
        ))),
    }
}

/// A collection's `links`, as Keystone sends them: `self` (the collection
/// at `path` under the public `base`), and no paging.
pub fn collection_links(base: &str, path: &str) -> serde_json::Value {
    serde_json::json!({"self": format!("{base}{path}"), "previous": null, "next": null})
}

/// Whether `name` passes a listing's `?name=` filter (exact, as Keystone;
/// no filter passes everything).
pub fn name_matches(filter: Option<&str>, name: &str) -> bool {
    filter.is_none_or(|wanted| wanted == name)
}

/// The public base URL, as a handler argument.
#[derive(Debug, Clone)]
pub struct PublicBase(pub String);

impl FromRequestParts<AppState> for PublicBase {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self(public_base(state, &parts.headers)))
    }
}

/// The public base URL: configured, or from the request's `Host`.
pub fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    public_base_for_host(state, headers.get(axum::http::header::HOST))
}

/// [`public_base`] from the request's `Host` header alone (what a
/// middleware keeps of a request it has passed on).
pub fn public_base_for_host(state: &AppState, host: Option<&HeaderValue>) -> String {
    if let Some(url) = &state.config().server.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = host.and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}
