//! `/v3/projects`: Keystone's project API, each call asking the policy with
//! the target Keystone's `keystone/api/projects.py` builds. Disabling a
//! project revokes every token scoped to it.

use auth_core::AuthError;
use auth_core::store::{DEFAULT_DOMAIN_ID, Project, new_id};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::{ObjectTarget, PublicBase, targets};
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::projects;
use crate::state::AppState;

/// `{"project": {...}}`.
#[derive(Debug, Deserialize)]
pub struct ProjectEnvelope {
    project: ProjectBody,
}

/// The request's project; serialized back, it is what the request sent (a
/// create's policy target).
#[derive(Debug, Deserialize, Serialize)]
struct ProjectBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    domain_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
}

/// `?domain_id=&name=` filters.
#[derive(Debug, Default, Deserialize)]
pub struct ProjectQuery {
    domain_id: Option<String>,
    name: Option<String>,
}

/// The JSON of a project, Keystone-shaped.
pub(super) fn project_json(p: &Project, base: &str) -> Value {
    json!({
        "id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
        "enabled": p.enabled, "is_domain": false, "parent_id": p.domain_id,
        "links": {"self": format!("{base}/v3/projects/{}", p.id)},
    })
}

fn name_of(name: Option<String>) -> Result<String, AuthError> {
    super::required_name(name, 255)
}

/// The target of a call on one project (Keystone's
/// `_build_project_target_enforcement`): `project_id` from the path and
/// `target.project` when the project exists (its 404 deferred, see
/// [`super::deferred`]).
async fn project_target(
    state: &AppState,
    project_id: &str,
) -> Result<ObjectTarget<Project>, AuthError> {
    super::object_target(
        state.storage().get_project(project_id).await,
        ("project_id", project_id),
        ("target.project", targets::project),
    )
}

/// `POST /v3/projects`. Target: `target.project`, the request's project as
/// sent (so without a `domain_id` if it names none, as in Keystone, which
/// fills in the default only after the check).
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<ProjectEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let body = body.project;
    let sent = serde_json::to_value(&body).unwrap_or(Value::Null);
    let target = Target::new().with_object("target.project", &sent);
    super::authorize(&state, &caller, "identity:create_project", &target)?;
    let project = Project::new(
        new_id(),
        name_of(body.name)?,
        body.domain_id
            .unwrap_or_else(|| DEFAULT_DOMAIN_ID.to_owned()),
    )
    .with_description(body.description.unwrap_or_default())
    .with_enabled(body.enabled.unwrap_or(true));
    projects::create(&state.services(), &project).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"project": project_json(&project, &base)})),
    ))
}

/// `GET /v3/projects`. Target: for a domain-scoped token,
/// `target.domain_id` is its domain; the filters under `filter_attr`. Such
/// a token lists its own domain's projects only, as Keystone.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<ProjectQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let scoped = caller.domain_scope();
    let mut target = Target::new();
    if let Some(domain) = scoped {
        target = target.with("target.domain_id", domain);
    }
    let target = targets::with_filters(
        target,
        [
            ("domain_id", query.domain_id.as_deref()),
            ("name", query.name.as_deref()),
        ],
    );
    super::authorize(&state, &caller, "identity:list_projects", &target)?;
    let projects: Vec<Value> = state
        .storage()
        .list_projects(query.domain_id.as_deref())
        .await?
        .iter()
        .filter(|p| {
            super::name_matches(query.name.as_deref(), &p.name)
                && scoped.is_none_or(|d| d == p.domain_id)
        })
        .map(|p| project_json(p, &base))
        .collect();
    let links = super::collection_links(&base, "/v3/projects");
    Ok(Json(json!({"projects": projects, "links": links})))
}

/// `GET /v3/projects/{id}`. Target: see `project_target`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, project) = project_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:get_project", &target)?;
    Ok(Json(json!({"project": project_json(&project?, &base)})))
}

/// `PATCH /v3/projects/{id}`; disabling a project revokes its tokens.
/// Target: see `project_target`.
pub async fn update(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<ProjectEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, current) = project_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:update_project", &target)?;
    let current = current?;
    let body = body.project;
    let mut project = current.clone();
    if body.name.is_some() {
        project.name = name_of(body.name)?;
    }
    if let Some(description) = body.description {
        project.description = description;
    }
    if let Some(enabled) = body.enabled {
        project.enabled = enabled;
    }
    projects::update(&state.services(), &current, &project).await?;
    Ok(Json(json!({"project": project_json(&project, &base)})))
}

/// `DELETE /v3/projects/{id}`. Target: see `project_target`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, project) = project_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:delete_project", &target)?;
    projects::delete(&state.services(), &project?.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/users/{id}/projects`: the enabled projects the user holds a
/// role on, directly or through a group, as Keystone's
/// `list_projects_for_user`. Target: the user's (see
/// `super::users::user_target`); the filters under `filter_attr`.
pub async fn list_for_user(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ProjectQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, user) = super::users::user_target(&state, &id).await?;
    let target = targets::with_filters(
        target,
        [
            ("domain_id", query.domain_id.as_deref()),
            ("name", query.name.as_deref()),
        ],
    );
    super::authorize(&state, &caller, "identity:list_user_projects", &target)?;
    user?;
    let mut projects: Vec<Value> = Vec::new();
    for scoped in state.storage().targets_for_user(&id).await? {
        let auth_core::store::Target::Project(project_id) = scoped else {
            continue;
        };
        let Ok(project) = state.storage().get_project(&project_id).await else {
            continue;
        };
        let wanted = project.enabled
            && super::name_matches(query.name.as_deref(), &project.name)
            && query
                .domain_id
                .as_ref()
                .is_none_or(|d| *d == project.domain_id);
        if wanted {
            projects.push(project_json(&project, &base));
        }
    }
    let links = super::collection_links(&base, &format!("/v3/users/{id}/projects"));
    Ok(Json(json!({"projects": projects, "links": links})))
}
