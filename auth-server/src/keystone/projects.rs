//! `/v3/projects`: Keystone's project API. Disabling a project revokes
//! every token scoped to it.

use auth_core::AuthError;
use auth_core::store::{DEFAULT_DOMAIN_ID, Project, new_id};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::PublicBase;
use super::body::KeystoneJson;
use super::caller::Caller;
use crate::error::ServerError;
use crate::services::projects;
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
/// `?domain_id=&name=` filters.
#[derive(Debug, Default, Deserialize)]
pub struct ProjectQuery {
    domain_id: Option<String>,
    name: Option<String>,
}
fn project_json(p: &Project, base: &str) -> Value {
    json!({
        "id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
        "enabled": p.enabled, "is_domain": false, "parent_id": p.domain_id,
        "links": {"self": format!("{base}/v3/projects/{}", p.id)},
    })
}
fn name_of(name: Option<String>) -> Result<String, AuthError> {
    super::required_name(name, 255)
}
/// `POST /v3/projects`.
pub async fn create(
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
    projects::create(&state.services(), &project).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"project": project_json(&project, &base)})),
    )
        .into_response())
}

/// `GET /v3/projects`.
pub async fn list(
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
pub async fn get(
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
pub async fn update(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<ProjectEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("update_project")?;
    let body = body.project;
    let current = state.storage().get_project(&id).await?;
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
    Ok(Json(json!({"project": project_json(&project, &base)})).into_response())
}

/// `DELETE /v3/projects/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("delete_project")?;
    projects::delete(&state.services(), &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
