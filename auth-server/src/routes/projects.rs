//! `/v3/projects` and `/v3/roles`; role grants to users and groups on
//! projects, domains and the system (`PUT|HEAD|DELETE
//! /v3/projects/{p}/users/{u}/roles/{r}`, `…/groups/{g}/roles/{r}`, the
//! same under `/v3/domains/{d}` and `/v3/system`); and
//! `/v3/role_assignments`. Admin only.

use auth_core::AuthError;
use std::collections::HashMap;

use auth_core::store::{
    Actor, Assignment, AssignmentFilter, DEFAULT_DOMAIN_ID, Project, RevocationEvent, Role,
    Storage, Target, new_id,
};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::PublicBase;
use super::body::KeystoneJson;
use super::caller::Caller;
use crate::error::ServerError;
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
    #[serde(default)]
    name: Option<String>,
}

/// `?domain_id=&name=` filters.
#[derive(Debug, Default, Deserialize)]
pub struct ProjectQuery {
    domain_id: Option<String>,
    name: Option<String>,
}

/// `?name=` filter (how clients find a role by name).
#[derive(Debug, Default, Deserialize)]
pub struct RoleQuery {
    name: Option<String>,
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
) -> Result<impl IntoResponse, ServerError> {
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
}

/// `GET /v3/projects`.
pub async fn list_projects(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<ProjectQuery>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("list_projects")?;
    let projects: Vec<Value> = state
        .storage()
        .list_projects(query.domain_id.as_deref())
        .await?
        .iter()
        .filter(|p| super::name_matches(query.name.as_deref(), &p.name))
        .map(|p| project_json(p, &base))
        .collect();
    let links = super::collection_links(&base, "/v3/projects");
    Ok(Json(json!({"projects": projects, "links": links})).into_response())
}

/// `GET /v3/projects/{id}`.
pub async fn get_project(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("get_project")?;
    let project = state.storage().get_project(&id).await?;
    Ok(Json(json!({"project": project_json(&project, &base)})).into_response())
}

/// `PATCH /v3/projects/{id}`; disabling a project revokes its tokens.
pub async fn update_project(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<ProjectEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
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
}

/// `DELETE /v3/projects/{id}`.
pub async fn delete_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("delete_project")?;
    state.storage().delete_project(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v3/roles`.
pub async fn create_role(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<RoleEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("create_role")?;
    let role = Role {
        id: new_id(),
        name: name_of(body.role.name)?,
        domain_id: None,
    };
    state.storage().create_role(&role).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"role": role_json(&role, &base)})),
    )
        .into_response())
}

/// `GET /v3/roles`.
pub async fn list_roles(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<RoleQuery>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("list_roles")?;
    let roles: Vec<Value> = state
        .storage()
        .list_roles()
        .await?
        .iter()
        .filter(|r| super::name_matches(query.name.as_deref(), &r.name))
        .map(|r| role_json(r, &base))
        .collect();
    let links = super::collection_links(&base, "/v3/roles");
    Ok(Json(json!({"roles": roles, "links": links})).into_response())
}

/// `GET /v3/roles/{id}`.
pub async fn get_role(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("get_role")?;
    let role = state.storage().get_role(&id).await?;
    Ok(Json(json!({"role": role_json(&role, &base)})).into_response())
}

/// `PATCH /v3/roles/{id}`: renames the role (a name already taken is a
/// 409). Tokens show the new name at their next validation.
pub async fn update_role(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<RoleEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("update_role")?;
    let mut role = state.storage().get_role(&id).await?;
    if body.role.name.is_some() {
        role.name = name_of(body.role.name)?;
        state.storage().update_role(&role).await?;
    }
    Ok(Json(json!({"role": role_json(&role, &base)})).into_response())
}

/// `DELETE /v3/roles/{id}`.
pub async fn delete_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("delete_role")?;
    state.storage().delete_role(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v3/role_assignments` filters, with Keystone's dotted names, and
/// the `effective` and `include_names` flags.
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
    effective: Option<String>,
    include_names: Option<String>,
}

/// `GET /v3/role_assignments` (admin), Keystone-shaped, each with its
/// `links.assignment`. With `effective` (Keystone's flag: present, with
/// any value but `0`), a group's assignments become one user assignment
/// per member, with `links.membership`: what the users really hold.
pub async fn list_assignments(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<AssignmentQuery>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("list_role_assignments")?;
    let effective = query.effective.as_deref().is_some_and(|v| v != "0");
    if effective && query.group.is_some() {
        return Err(AuthError::bad_request(
            "Combining effective and group filter will always result in an empty list.",
        )
        .into());
    }
    let filter = AssignmentFilter {
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
    let storage = state.storage().as_ref();
    let listed = if effective {
        effective_assignments(storage, filter).await?
    } else {
        let direct = storage.list_assignments(&filter).await?;
        direct.into_iter().map(|a| (a, None)).collect()
    };
    let mut assignments: Vec<Value> = listed
        .iter()
        .map(|(a, member)| assignment_json(a, member.as_deref(), &base))
        .collect();
    if query.include_names.as_deref().is_some_and(|v| v != "0") {
        let mut names = super::assignment_names::Names::new(storage);
        for entry in &mut assignments {
            names.name(entry).await;
        }
    }
    let links = super::collection_links(&base, "/v3/role_assignments");
    Ok(Json(json!({"role_assignments": assignments, "links": links})).into_response())
}

/// The assignments `filter` selects with every group assignment replaced
/// by one per member (the member beside it), as Keystone's `effective`
/// lists them. With a user filter: the user's own assignments, then those
/// of each of the user's groups, for that user only.
async fn effective_assignments(
    storage: &dyn Storage,
    filter: AssignmentFilter,
) -> Result<Vec<(Assignment, Option<String>)>, AuthError> {
    let mut listed = Vec::new();
    if let Some(Actor::User(user)) = &filter.actor {
        for a in storage.list_assignments(&filter).await? {
            listed.push((a, None));
        }
        for group in storage.list_user_groups(user).await? {
            let of_group = AssignmentFilter {
                actor: Some(Actor::Group(group.id)),
                ..filter.clone()
            };
            for a in storage.list_assignments(&of_group).await? {
                listed.push((a, Some(user.clone())));
            }
        }
        return Ok(listed);
    }
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    for a in storage.list_assignments(&filter).await? {
        let Actor::Group(group) = &a.actor else {
            listed.push((a, None));
            continue;
        };
        if !members.contains_key(group) {
            let users = storage.list_group_users(group).await?;
            members.insert(group.clone(), users.into_iter().map(|u| u.id).collect());
        }
        for member in members.get(group).into_iter().flatten() {
            listed.push((a.clone(), Some(member.clone())));
        }
    }
    Ok(listed)
}

/// One entry of `role_assignments`: the assignment, or for `member` (an
/// effective listing) that member's share of a group assignment.
fn assignment_json(a: &Assignment, member: Option<&str>, base: &str) -> Value {
    let actor = match (&a.actor, member) {
        (_, Some(user)) => json!({"user": {"id": user}}),
        (Actor::User(user), None) => json!({"user": {"id": user}}),
        (Actor::Group(group), None) => json!({"group": {"id": group}}),
    };
    let scope = match &a.target {
        Target::Project(id) => json!({"project": {"id": id}}),
        Target::Domain(id) => json!({"domain": {"id": id}}),
        Target::System => json!({"system": {"all": true}}),
    };
    let mut links = json!({"assignment": grant_url(a, base)});
    if let (Actor::Group(group), Some(user)) = (&a.actor, member) {
        links["membership"] = json!(format!("{base}/v3/groups/{group}/users/{user}"));
    }
    let mut entry = json!({"role": {"id": a.role_id}, "scope": scope, "links": links});
    if let (Some(entry), Value::Object(actor)) = (entry.as_object_mut(), actor) {
        entry.extend(actor);
    }
    entry
}

/// The grant route of an assignment, e.g.
/// `…/v3/projects/{p}/groups/{g}/roles/{r}`.
fn grant_url(a: &Assignment, base: &str) -> String {
    let target = match &a.target {
        Target::Project(id) => format!("projects/{id}"),
        Target::Domain(id) => format!("domains/{id}"),
        Target::System => "system".to_owned(),
    };
    let actor = match &a.actor {
        Actor::User(id) => format!("users/{id}"),
        Actor::Group(id) => format!("groups/{id}"),
    };
    format!("{base}/v3/{target}/{actor}/roles/{}", a.role_id)
}

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
        GrantOp::Grant => storage.grant(&assignment).await?,
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
        GrantOp::Revoke => {
            storage.revoke(&assignment).await?;
            // A user's tokens on that scope go, whatever roles remain (a
            // client re-authenticates to see the new set). A group's
            // members are left to validation, as Keystone leaves them:
            // roles are recomputed at every validation, so a member left
            // with no role on the scope gets 404 at the next one, and the
            // others keep their tokens with the roles they still hold.
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
            storage.add_revocation(&event).await?;
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
