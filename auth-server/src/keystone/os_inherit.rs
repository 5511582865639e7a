//! OS-INHERIT: roles granted on a domain or a project and held on every
//! project below it. `PUT|GET|HEAD|DELETE
//! /v3/OS-INHERIT/{domains/{d}|projects/{p}}/{users/{u}|groups/{g}}/roles/{r}/inherited_to_projects`,
//! and on a domain the listing `GET …/roles/inherited_to_projects`
//! (Keystone's `keystone/api/os_inherit.py`: no listing on a project).
//!
//! Each is the grant route of the same target and actor with the
//! `inherited` flag: the same reads before the check, the same actions
//! (`identity:create_grant`, `check_grant`, `revoke_grant`,
//! `list_grants`) and the same services.

use axum::extract::{Path, State};
use axum::response::IntoResponse;

use super::PublicBase;
use super::caller::Caller;
use super::grants::{GrantOp, GrantPath, ListPath, grant_op, list_roles};
use crate::error::ServerError;
use crate::state::AppState;

/// `PUT`: grants the role to every project below the target
/// (idempotent), 204.
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<GrantPath>,
) -> Result<impl IntoResponse, ServerError> {
    grant_op(&state, &caller, path, GrantOp::Grant, true).await
}

/// `GET` or `HEAD`: 204 if the role is granted inherited, else 404 (a
/// direct grant of the role on the target does not count).
pub async fn check(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<GrantPath>,
) -> Result<impl IntoResponse, ServerError> {
    grant_op(&state, &caller, path, GrantOp::Check, true).await
}

/// `DELETE`: revokes the inherited grant, 204 (404 if there was none; a
/// direct grant of the role on the target stays).
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<GrantPath>,
) -> Result<impl IntoResponse, ServerError> {
    grant_op(&state, &caller, path, GrantOp::Revoke, true).await
}

/// `GET /v3/OS-INHERIT/domains/{d}/{users/{u}|groups/{g}}/roles/inherited_to_projects`:
/// the roles the actor holds inherited from the domain, as the grant
/// listing shows direct ones.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(path): Path<ListPath>,
    uri: axum::http::Uri,
) -> Result<impl IntoResponse, ServerError> {
    list_roles(&state, &base, &caller, path, &uri, true).await
}
