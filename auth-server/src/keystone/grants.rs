//! Role grants to users and groups on projects, domains and the system:
//! `PUT|GET|HEAD|DELETE /v3/projects/{p}/users/{u}/roles/{r}`,
//! `…/groups/{g}/roles/{r}`, the same under `/v3/domains/{d}` and
//! `/v3/system`; and the list of an actor's roles on a target,
//! `GET /v3/projects/{p}/users/{u}/roles` and the like.

use auth_core::AuthError;
use auth_core::store::{Actor, Assignment, AssignmentFilter, Target};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::caller::Caller;
use super::{PublicBase, targets};
use crate::error::ServerError;
use crate::policy::Target as PolicyTarget;
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
    /// The assignment the path names, inherited (an OS-INHERIT route) or
    /// not.
    fn assignment(self, inherited: bool) -> Result<Assignment, AuthError> {
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
        Ok(if inherited {
            Assignment::inherited(self.role, actor, target)
        } else {
            Assignment::new(self.role, actor, target)
        })
    }
}

/// Grants, checks or revokes the assignment a grant route names.
///
/// Target, as Keystone's grant resources build it (`keystone/api/
/// projects.py`, `domains.py`, `system.py`): the path's arguments under
/// Keystone's names (`project_id` or `domain_id`, `user_id` or `group_id`,
/// `role_id`), `target.role`, `target.user` or `target.group`, and
/// `target.project` or `target.domain`, so a rule can read
/// `target.role.name` or `target.project.domain_id`. Each is read before
/// the policy check, as Keystone reads them, so a missing one is a 404
/// whoever asks; except that a revocation goes on without a user or group
/// that no longer exists (Keystone's `allow_non_existing`). OS-INHERIT's
/// routes (`inherited`) ask the same actions on the same target, as
/// Keystone's `os_inherit.py` does.
pub(super) async fn grant_op(
    state: &AppState,
    caller: &Caller,
    path: GrantPath,
    op: GrantOp,
    inherited: bool,
) -> Result<StatusCode, ServerError> {
    let assignment = path.assignment(inherited)?;
    let storage = state.storage();
    let role = storage.get_role(&assignment.role_id).await?;
    let mut target = PolicyTarget::new()
        .with("role_id", assignment.role_id.as_str())
        .with_object("target.role", &targets::role(&role));
    let actor = match &assignment.actor {
        Actor::User(id) => {
            target = target.with("user_id", id.as_str());
            storage
                .get_user(id)
                .await
                .map(|u| ("target.user", targets::user(&u)))
        }
        Actor::Group(id) => {
            target = target.with("group_id", id.as_str());
            storage
                .get_group(id)
                .await
                .map(|g| ("target.group", targets::group(&g)))
        }
    };
    match actor {
        Ok((key, object)) => target = target.with_object(key, &object),
        Err(AuthError::NotFound { .. }) if matches!(op, GrantOp::Revoke) => {}
        Err(e) => return Err(e.into()),
    }
    match &assignment.target {
        Target::Project(id) => {
            let project = storage.get_project(id).await?;
            target = target
                .with("project_id", id.as_str())
                .with_object("target.project", &targets::project(&project));
        }
        Target::Domain(id) => {
            let domain = storage.get_domain(id).await?;
            target = target
                .with("domain_id", id.as_str())
                .with_object("target.domain", &targets::domain(&domain));
        }
        Target::System => {}
    }
    super::authorize(state, caller, op.action(&assignment), &target)?;
    match op {
        GrantOp::Grant => grants::grant(&state.services(), &assignment).await?,
        GrantOp::Check => {
            let filter = AssignmentFilter::default()
                .with_role(assignment.role_id.clone())
                .with_actor(assignment.actor.clone())
                .with_target(assignment.target.clone())
                .with_inherited(assignment.inherited);
            if storage.list_assignments(&filter).await?.is_empty() {
                return Err(AuthError::NotFound {
                    what: "role assignment".into(),
                }
                .into());
            }
        }
        GrantOp::Revoke => grants::revoke(&state.services(), &assignment).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}

/// What a grant route does.
#[derive(Debug, Clone, Copy)]
pub(super) enum GrantOp {
    Grant,
    Check,
    Revoke,
}

impl GrantOp {
    /// Keystone's action: `*_grant` on a project or a domain, and the
    /// system's own actions for a user or a group.
    fn action(self, assignment: &Assignment) -> &'static str {
        let group = matches!(assignment.actor, Actor::Group(_));
        match (&assignment.target, self, group) {
            (Target::System, Self::Grant, false) => "identity:create_system_grant_for_user",
            (Target::System, Self::Check, false) => "identity:check_system_grant_for_user",
            (Target::System, Self::Revoke, false) => "identity:revoke_system_grant_for_user",
            (Target::System, Self::Grant, true) => "identity:create_system_grant_for_group",
            (Target::System, Self::Check, true) => "identity:check_system_grant_for_group",
            (Target::System, Self::Revoke, true) => "identity:revoke_system_grant_for_group",
            (_, Self::Grant, _) => "identity:create_grant",
            (_, Self::Check, _) => "identity:check_grant",
            (_, Self::Revoke, _) => "identity:revoke_grant",
        }
    }
}

/// `PUT` on a grant route: grants the role (idempotent), 204.
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<GrantPath>,
) -> Result<impl IntoResponse, ServerError> {
    grant_op(&state, &caller, path, GrantOp::Grant, false).await
}

/// `GET` or `HEAD` on a grant route: 204 if the role is granted, else 404.
pub async fn check_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<GrantPath>,
) -> Result<impl IntoResponse, ServerError> {
    grant_op(&state, &caller, path, GrantOp::Check, false).await
}

/// `DELETE` on a grant route: revokes the role, 204 (404 if it was not
/// granted).
pub async fn revoke_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<GrantPath>,
) -> Result<impl IntoResponse, ServerError> {
    grant_op(&state, &caller, path, GrantOp::Revoke, false).await
}

/// The parameters of a route listing an actor's roles on a target: a
/// project, a domain or neither (the system); a user or a group.
#[derive(Debug, Deserialize)]
pub struct ListPath {
    project: Option<String>,
    domain: Option<String>,
    user: Option<String>,
    group: Option<String>,
}

/// `GET /v3/{projects/{p}|domains/{d}|system}/{users/{u}|groups/{g}}/roles`:
/// the roles granted directly to the actor on the target, as Keystone's
/// `list_grants` (or, on the system, `list_system_grants_for_user` and
/// `_for_group`). Target: as for a grant, without a role (Keystone's
/// `_build_enforcement_target_attr` with no `role_id`); every object is
/// read before the check, so a missing one is a 404 whoever asks.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(path): Path<ListPath>,
    uri: axum::http::Uri,
) -> Result<impl IntoResponse, ServerError> {
    list_roles(&state, &base, &caller, path, &uri, false).await
}

/// The roles granted to the path's actor on its target, directly or
/// (`inherited`, OS-INHERIT's listing) inherited to the projects below it:
/// Keystone's `list_grants` with its `inherited_to_projects`.
pub(super) async fn list_roles(
    state: &AppState,
    base: &str,
    caller: &Caller,
    path: ListPath,
    uri: &axum::http::Uri,
    inherited: bool,
) -> Result<Json<Value>, ServerError> {
    let storage = state.storage();
    let mut target = PolicyTarget::new();
    let actor = match (path.user, path.group) {
        (Some(id), None) => {
            let user = storage.get_user(&id).await?;
            target = target
                .with("user_id", id.as_str())
                .with_object("target.user", &targets::user(&user));
            Actor::User(id)
        }
        (None, Some(id)) => {
            let group = storage.get_group(&id).await?;
            target = target
                .with("group_id", id.as_str())
                .with_object("target.group", &targets::group(&group));
            Actor::Group(id)
        }
        _ => {
            return Err(
                AuthError::Internal("a grant listing names one user or one group".into()).into(),
            );
        }
    };
    let on = match (path.project, path.domain) {
        (Some(id), None) => {
            let project = storage.get_project(&id).await?;
            target = target
                .with("project_id", id.as_str())
                .with_object("target.project", &targets::project(&project));
            Target::Project(id)
        }
        (None, Some(id)) => {
            let domain = storage.get_domain(&id).await?;
            target = target
                .with("domain_id", id.as_str())
                .with_object("target.domain", &targets::domain(&domain));
            Target::Domain(id)
        }
        (None, None) => Target::System,
        (Some(_), Some(_)) => {
            return Err(AuthError::Internal(
                "a grant listing names one project, one domain or the system".into(),
            )
            .into());
        }
    };
    let action = match (&on, &actor) {
        (Target::System, Actor::User(_)) => "identity:list_system_grants_for_user",
        (Target::System, Actor::Group(_)) => "identity:list_system_grants_for_group",
        _ => "identity:list_grants",
    };
    super::authorize(state, caller, action, &target)?;
    let filter = AssignmentFilter::default()
        .with_actor(actor)
        .with_target(on)
        .with_inherited(inherited);
    let mut roles: Vec<Value> = Vec::new();
    for assignment in storage.list_assignments(&filter).await? {
        // A role deleted meanwhile is left out.
        if let Ok(role) = storage.get_role(&assignment.role_id).await {
            roles.push(
                json!({"id": role.id, "name": role.name, "domain_id": role.domain_id,
                              "links": {"self": format!("{base}/v3/roles/{}", role.id)}}),
            );
        }
    }
    let links = super::collection_links(base, uri.path());
    Ok(Json(json!({"roles": roles, "links": links})))
}
