//! `/v3/projects` and `/v3/roles`, and granting roles on projects and the
//! system (`PUT|HEAD|DELETE /v3/projects/{p}/users/{u}/roles/{r}`,
//! `/v3/system/users/{u}/roles/{r}`). Admin only.

use auth_core::AuthError;
use auth_core::store::{
    Actor, Assignment, DEFAULT_DOMAIN_ID, Project, RevocationEvent, Role, Target, new_id,
};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::{PublicBase, respond};
use crate::state::AppState;

/// `{"project": {...}}`.
#[derive(Debug, Deserialize)]
pub struct ProjectEnvelope {
    project: ProjectBody,
}

#[derive(Debug, Deserialize)]
struct ProjectBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    domain_id: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// `{"role": {"name": ...}}`.
#[derive(Debug, Deserialize)]
pub struct RoleEnvelope {
    role: RoleBody,
}

#[derive(Debug, Deserialize)]
struct RoleBody {
    name: String,
}

/// `?domain_id=` filter.
#[derive(Debug, Default, Deserialize)]
pub struct ProjectQuery {
    domain_id: Option<String>,
}

fn project_json(p: &Project, base: &str) -> Value {
    json!({
        "id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
        "enabled": p.enabled, "is_domain": false, "parent_id": p.domain_id,
        "links": {"self": format!("{base}/v3/projects/{}", p.id)},
    })
}

fn role_json(r: &Role, base: &str) -> Value {
    json!({"id": r.id, "name": r.name, "domain_id": r.domain_id,
           "links": {"self": format!("{base}/v3/roles/{}", r.id)}})
}

fn name_of(name: Option<String>) -> Result<String, AuthError> {
    super::required_name(name, 255)
}

/// `POST /v3/projects`.
pub async fn create_project(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<ProjectEnvelope>,
) -> Response {
    respond(&base, async {
        caller.require_admin("create_project")?;
        let body = body.project;
        let project = Project {
            id: new_id(),
            name: name_of(body.name)?,
            domain_id: body
                .domain_id
                .unwrap_or_else(|| DEFAULT_DOMAIN_ID.to_owned()),
            description: body.description.unwrap_or_default(),
            enabled: body.enabled.unwrap_or(true),
        };
        state.storage().get_domain(&project.domain_id).await?;
        state.storage().create_project(&project).await?;
        Ok((
            StatusCode::CREATED,
            Json(json!({"project": project_json(&project, &base)})),
        )
            .into_response())
    })
    .await
}

/// `GET /v3/projects`.
pub async fn list_projects(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<ProjectQuery>,
) -> Response {
    respond(&base, async {
        caller.require_admin("list_projects")?;
        let projects: Vec<Value> = state
            .storage()
            .list_projects(query.domain_id.as_deref())
            .await?
            .iter()
            .map(|p| project_json(p, &base))
            .collect();
        let links = json!({"self": format!("{base}/v3/projects"), "previous": null, "next": null});
        Ok(Json(json!({"projects": projects, "links": links})).into_response())
    })
    .await
}

/// `GET /v3/projects/{id}`.
pub async fn get_project(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    respond(&base, async {
        caller.require_admin("get_project")?;
        let project = state.storage().get_project(&id).await?;
        Ok(Json(json!({"project": project_json(&project, &base)})).into_response())
    })
    .await
}

/// `PATCH /v3/projects/{id}`; disabling a project revokes its tokens.
pub async fn update_project(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<ProjectEnvelope>,
) -> Response {
    respond(&base, async {
        caller.require_admin("update_project")?;
        let body = body.project;
        let mut project = state.storage().get_project(&id).await?;
        let was_enabled = project.enabled;
        if body.name.is_some() {
            project.name = name_of(body.name)?;
        }
        if let Some(description) = body.description {
            project.description = description;
        }
        if let Some(enabled) = body.enabled {
            project.enabled = enabled;
        }
        state.storage().update_project(&project).await?;
        if was_enabled && !project.enabled {
            let event = RevocationEvent {
                project_id: Some(project.id.clone()),
                ..RevocationEvent::at(state.clock().now())
            };
            state.storage().add_revocation(&event).await?;
        }
        Ok(Json(json!({"project": project_json(&project, &base)})).into_response())
    })
    .await
}

/// `DELETE /v3/projects/{id}`.
pub async fn delete_project(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    respond(&base, async {
        caller.require_admin("delete_project")?;
        state.storage().delete_project(&id).await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

/// `POST /v3/roles`.
pub async fn create_role(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<RoleEnvelope>,
) -> Response {
    respond(&base, async {
        caller.require_admin("create_role")?;
        let role = Role {
            id: new_id(),
            name: name_of(Some(body.role.name))?,
            domain_id: None,
        };
        state.storage().create_role(&role).await?;
        Ok((
            StatusCode::CREATED,
            Json(json!({"role": role_json(&role, &base)})),
        )
            .into_response())
    })
    .await
}

/// `GET /v3/roles`.
pub async fn list_roles(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
) -> Response {
    respond(&base, async {
        caller.require_admin("list_roles")?;
        let roles: Vec<Value> = state
            .storage()
            .list_roles()
            .await?
            .iter()
            .map(|r| role_json(r, &base))
            .collect();
        let links = json!({"self": format!("{base}/v3/roles"), "previous": null, "next": null});
        Ok(Json(json!({"roles": roles, "links": links})).into_response())
    })
    .await
}

/// `DELETE /v3/roles/{id}`.
pub async fn delete_role(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    respond(&base, async {
        caller.require_admin("delete_role")?;
        state.storage().delete_role(&id).await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

/// `GET /v3/role_assignments` filters, with Keystone's dotted names.
#[derive(Debug, Default, Deserialize)]
pub struct AssignmentQuery {
    #[serde(rename = "user.id")]
    user: Option<String>,
    #[serde(rename = "group.id")]
    group: Option<String>,
    #[serde(rename = "role.id")]
    role: Option<String>,
    #[serde(rename = "scope.project.id")]
    project: Option<String>,
    #[serde(rename = "scope.domain.id")]
    domain: Option<String>,
    #[serde(rename = "scope.system")]
    system: Option<String>,
}

/// `GET /v3/role_assignments` (admin): direct assignments, Keystone-shaped.
pub async fn list_assignments(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<AssignmentQuery>,
) -> Response {
    respond(&base, async {
        caller.require_admin("list_role_assignments")?;
        let filter = auth_core::store::AssignmentFilter {
            role_id: query.role,
            actor: match (query.user, query.group) {
                (Some(user), _) => Some(Actor::User(user)),
                (None, Some(group)) => Some(Actor::Group(group)),
                (None, None) => None,
            },
            target: match (query.project, query.domain, query.system) {
                (Some(project), _, _) => Some(Target::Project(project)),
                (None, Some(domain), _) => Some(Target::Domain(domain)),
                (None, None, Some(_)) => Some(Target::System),
                (None, None, None) => None,
            },
        };
        let assignments: Vec<Value> = state
            .storage()
            .list_assignments(&filter)
            .await?
            .iter()
            .map(|a| {
                let actor = match &a.actor {
                    Actor::User(id) => json!({"user": {"id": id}}),
                    Actor::Group(id) => json!({"group": {"id": id}}),
                };
                let scope = match &a.target {
                    Target::Project(id) => json!({"project": {"id": id}}),
                    Target::Domain(id) => json!({"domain": {"id": id}}),
                    Target::System => json!({"system": {"all": true}}),
                };
                let mut entry = json!({"role": {"id": a.role_id}, "scope": scope});
                if let (Some(entry), Value::Object(actor)) = (entry.as_object_mut(), actor) {
                    entry.extend(actor);
                }
                entry
            })
            .collect();
        let links =
            json!({"self": format!("{base}/v3/role_assignments"), "previous": null, "next": null});
        Ok(Json(json!({"role_assignments": assignments, "links": links})).into_response())
    })
    .await
}

/// How a grant request arrives: on a project or on the system.
async fn grant_op(
    state: &AppState,
    caller: &Caller,
    target: Target,
    user: String,
    role: String,
    op: GrantOp,
) -> Result<Response, crate::error::ServerError> {
    caller.require_admin(op.action())?;
    state.storage().get_user(&user).await?;
    state.storage().get_role(&role).await?;
    match &target {
        Target::Project(project) => drop(state.storage().get_project(project).await?),
        Target::Domain(domain) => drop(state.storage().get_domain(domain).await?),
        Target::System => {}
    }
    let assignment = Assignment {
        role_id: role,
        actor: Actor::User(user),
        target,
    };
    match op {
        GrantOp::Grant => state.storage().grant(&assignment).await?,
        GrantOp::Check => {
            let filter = auth_core::store::AssignmentFilter {
                role_id: Some(assignment.role_id.clone()),
                actor: Some(assignment.actor.clone()),
                target: Some(assignment.target.clone()),
            };
            if state.storage().list_assignments(&filter).await?.is_empty() {
                return Err(AuthError::NotFound {
                    what: "role assignment".into(),
                }
                .into());
            }
        }
        GrantOp::Revoke => {
            state.storage().revoke(&assignment).await?;
            // As Keystone does: the user's tokens on that scope go, whatever
            // roles remain (a client re-authenticates to see the new set).
            let Actor::User(user_id) = assignment.actor else {
                return Ok(StatusCode::NO_CONTENT.into_response());
            };
            let (project_id, domain_id) = match assignment.target {
                Target::Project(id) => (Some(id), None),
                Target::Domain(id) => (None, Some(id)),
                Target::System => (None, None),
            };
            let event = RevocationEvent {
                user_id: Some(user_id),
                project_id,
                domain_id,
                ..RevocationEvent::at(state.clock().now())
            };
            state.storage().add_revocation(&event).await?;
        }
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

macro_rules! grant_handlers {
    ($target:path, $doc:literal => $($name:ident, $op:expr;)*) => {$(
        #[doc = $doc]
        pub async fn $name(
            State(state): State<AppState>,
            PublicBase(base): PublicBase,
            caller: Caller,
            Path((owner, user, role)): Path<(String, String, String)>,
        ) -> Response {
            respond(&base, grant_op(&state, &caller, $target(owner), user, role, $op)).await
        }
    )*};
}

macro_rules! system_grant_handlers {
    ($($name:ident, $op:expr;)*) => {$(
        /// A role grant on the system (`/v3/system/users/{u}/roles/{r}`).
        pub async fn $name(
            State(state): State<AppState>,
            PublicBase(base): PublicBase,
            caller: Caller,
            Path((user, role)): Path<(String, String)>,
        ) -> Response {
            respond(&base, grant_op(&state, &caller, Target::System, user, role, $op)).await
        }
    )*};
}

grant_handlers! {
    Target::Project, "A role grant on a project (`/v3/projects/{p}/users/{u}/roles/{r}`)." =>
    grant_on_project, GrantOp::Grant;
    check_on_project, GrantOp::Check;
    revoke_on_project, GrantOp::Revoke;
}

grant_handlers! {
    Target::Domain, "A role grant on a domain (`/v3/domains/{d}/users/{u}/roles/{r}`)." =>
    grant_on_domain, GrantOp::Grant;
    check_on_domain, GrantOp::Check;
    revoke_on_domain, GrantOp::Revoke;
}

system_grant_handlers! {
    grant_on_system, GrantOp::Grant;
    check_on_system, GrantOp::Check;
    revoke_on_system, GrantOp::Revoke;
}
