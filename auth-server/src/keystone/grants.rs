//! Role grants to users and groups on projects, domains and the system:
//! `PUT|GET|HEAD|DELETE /v3/projects/{p}/users/{u}/roles/{r}`,
//! `…/groups/{g}/roles/{r}`, the same under `/v3/domains/{d}` and
//! `/v3/system`.

use auth_core::AuthError;
use auth_core::store::{Actor, Assignment, AssignmentFilter, Target};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::caller::Caller;
use crate::error::ServerError;
use crate::services::grants;
use crate::state::AppState;

/// The parameters of a grant route: a project, a domain or neither (the
/// system); a user or a group; the role. One struct serves every grant
/// route, since the route template names what it holds.
#[derive(Debug, Deserialize)]
pub struct GrantPath {
    project: Option<String>,
    domain: Option<String>,
    user: Option<String>,
    group: Option<String>,
    role: String,
}

impl GrantPath {
    /// The assignment the path names.
    fn assignment(self) -> Result<Assignment, AuthError> {
        let actor = match (self.user, self.group) {
            (Some(user), None) => Actor::User(user),
            (None, Some(group)) => Actor::Group(group),
            _ => {
                return Err(AuthError::Internal(
                    "a grant route names one user or one group".into(),
                ));
            }
        };
        let target = match (self.project, self.domain) {
            (Some(project), None) => Target::Project(project),
            (None, Some(domain)) => Target::Domain(domain),
            (None, None) => Target::System,
            (Some(_), Some(_)) => {
                return Err(AuthError::Internal(
                    "a grant route names one project, one domain or the system".into(),
                ));
            }
        };
        Ok(Assignment {
            role_id: self.role,
            actor,
            target,
        })
    }
}

/// Grants, checks or revokes the assignment a grant route names, after
/// checking that its actor, role and target exist (404 otherwise).
async fn grant_op(
    state: &AppState,
    caller: &Caller,
    path: GrantPath,
    op: GrantOp,
) -> Result<Response, crate::error::ServerError> {
    caller.require_admin(op.action())?;
    let assignment = path.assignment()?;
    let storage = state.storage();
    match &assignment.actor {
        Actor::User(user) => drop(storage.get_user(user).await?),
        Actor::Group(group) => drop(storage.get_group(group).await?),
    }
    storage.get_role(&assignment.role_id).await?;
    match &assignment.target {
        Target::Project(project) => drop(storage.get_project(project).await?),
        Target::Domain(domain) => drop(storage.get_domain(domain).await?),
        Target::System => {}
    }
    match op {
        GrantOp::Grant => grants::grant(&state.services(), &assignment).await?,
        GrantOp::Check => {
            let filter = AssignmentFilter {
                role_id: Some(assignment.role_id.clone()),
                actor: Some(assignment.actor.clone()),
                target: Some(assignment.target.clone()),
            };
            if storage.list_assignments(&filter).await?.is_empty() {
                return Err(AuthError::NotFound {
                    what: "role assignment".into(),
                }
                .into());
            }
        }
        GrantOp::Revoke => grants::revoke(&state.services(), &assignment).await?,
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Clone, Copy)]
enum GrantOp {
    Grant,
    Check,
    Revoke,
}

impl GrantOp {
    fn action(self) -> &'static str {
        match self {
            Self::Grant => "create_grant",
            Self::Check => "check_grant",
            Self::Revoke => "revoke_grant",
        }
    }
}

/// `PUT` on a grant route: grants the role (idempotent), 204.
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<GrantPath>,
) -> Result<impl IntoResponse, ServerError> {
    grant_op(&state, &caller, path, GrantOp::Grant).await
}

/// `GET` or `HEAD` on a grant route: 204 if the role is granted, else 404.
pub async fn check_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<GrantPath>,
) -> Result<impl IntoResponse, ServerError> {
    grant_op(&state, &caller, path, GrantOp::Check).await
}

/// `DELETE` on a grant route: revokes the role, 204 (404 if it was not
/// granted).
pub async fn revoke_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<GrantPath>,
) -> Result<impl IntoResponse, ServerError> {
    grant_op(&state, &caller, path, GrantOp::Revoke).await
}
