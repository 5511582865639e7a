//! `/v3/OS-EP-FILTER`: endpoint groups and the endpoints and endpoint
//! groups associated with projects (`keystone/api/os_ep_filter.py`). A
//! project with associations sees only those endpoints in its tokens'
//! catalog (see [`crate::catalog`]). Each call asks the policy with no
//! target but its list filters, as Keystone does.

use auth_core::AuthError;
use auth_core::store::{EndpointGroup, ProjectAssociation, new_id};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::PublicBase;
use super::body::KeystoneJson;
use super::caller::Caller;
use super::catalog::{endpoint_json, member, nullable_string, string, update_member};
use super::projects::project_json;
use super::targets;
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::catalog;
use crate::state::AppState;

const PREFIX: &str = "/v3/OS-EP-FILTER";

fn group_json(g: &EndpointGroup, base: &str) -> Value {
    json!({
        "id": g.id, "name": g.name, "description": g.description, "filters": g.filters,
        "links": {"self": format!("{base}{PREFIX}/endpoint_groups/{}", g.id)},
    })
}

/// Keystone's checks of an endpoint group's fields: only `name`,
/// `description` and `filters`; filters on `service_id`, `region_id` and
/// `interface` only (`_require_valid_filter`), each a string.
fn check_group_fields(fields: &Map<String, Value>) -> Result<(), AuthError> {
    if let Some(unknown) = fields
        .keys()
        .find(|k| !["name", "description", "filters", "id"].contains(&k.as_str()))
    {
        return Err(AuthError::bad_request(format!(
            "Invalid input for field 'endpoint_group': additional property '{unknown}' is not \
             allowed"
        )));
    }
    if let Some(filters) = fields.get("filters") {
        let Value::Object(filters) = filters else {
            return Err(AuthError::bad_request(
                "Invalid input for field 'filters': an object is required",
            ));
        };
        for (key, value) in filters {
            let valid = match key.as_str() {
                "interface" => value
                    .as_str()
                    .is_some_and(|i| ["admin", "internal", "public"].contains(&i)),
                "service_id" => value.is_string(),
                "region_id" => value.is_string() || value.is_null(),
                _ => {
                    return Err(AuthError::bad_request(
                        "Expecting to find service_id or region_id or interface in \
                         endpoint_group. The server could not comply with the request since \
                         it is either malformed or otherwise incorrect. The client is assumed \
                         to be in error.",
                    ));
                }
            };
            if !valid {
                return Err(AuthError::bad_request(format!(
                    "Invalid input for field 'filters.{key}'"
                )));
            }
        }
    }
    Ok(())
}

fn filters_of(fields: &Map<String, Value>) -> Option<Map<String, Value>> {
    match fields.get("filters") {
        Some(Value::Object(filters)) => Some(filters.clone()),
        _ => None,
    }
}

/// `?name=`.
#[derive(Debug, Default, Deserialize)]
pub struct GroupQuery {
    name: Option<String>,
}

/// `GET /v3/OS-EP-FILTER/endpoint_groups`.
pub async fn list_groups(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<GroupQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let target = targets::with_filters(Target::new(), [("name", query.name.as_deref())]);
    super::authorize(&state, &caller, "identity:list_endpoint_groups", &target)?;
    let groups: Vec<Value> = state
        .storage()
        .list_endpoint_groups()
        .await?
        .iter()
        .filter(|g| super::name_matches(query.name.as_deref(), &g.name))
        .map(|g| group_json(g, &base))
        .collect();
    let links = super::collection_links(&base, &format!("{PREFIX}/endpoint_groups"));
    Ok(Json(json!({"endpoint_groups": groups, "links": links})))
}

/// `POST /v3/OS-EP-FILTER/endpoint_groups` (201): `name` and non-empty
/// `filters` required.
pub async fn create_group(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<Value>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:create_endpoint_group",
        &Target::new(),
    )?;
    let fields = member(body, "endpoint_group")?;
    check_group_fields(&fields)?;
    let name = string(&fields, "name", 1, 255)?
        .ok_or_else(|| AuthError::bad_request("'name' is a required property"))?;
    let filters = filters_of(&fields)
        .filter(|f| !f.is_empty())
        .ok_or_else(|| AuthError::bad_request("filters field is required and cannot be empty"))?;
    let description = nullable_string(&fields, "description")?.flatten();
    let group = EndpointGroup::new(new_id(), name, filters).with_description(description);
    catalog::create_endpoint_group(&state.services(), &group).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"endpoint_group": group_json(&group, &base)})),
    ))
}

/// `GET /v3/OS-EP-FILTER/endpoint_groups/{id}`.
pub async fn get_group(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:get_endpoint_group",
        &Target::new(),
    )?;
    let group = state.storage().get_endpoint_group(&id).await?;
    Ok(Json(json!({"endpoint_group": group_json(&group, &base)})))
}

/// `PATCH /v3/OS-EP-FILTER/endpoint_groups/{id}`.
pub async fn update_group(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<Value>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:update_endpoint_group",
        &Target::new(),
    )?;
    let fields = update_member(body, "endpoint_group", &id)?;
    check_group_fields(&fields)?;
    let name = string(&fields, "name", 1, 255)?;
    let description = nullable_string(&fields, "description")?;
    let mut group = state.storage().get_endpoint_group(&id).await?;
    if let Some(name) = name {
        group.name = name;
    }
    if let Some(description) = description {
        group.description = description;
    }
    if let Some(filters) = filters_of(&fields) {
        group.filters = filters;
    }
    catalog::update_endpoint_group(&state.services(), &group).await?;
    Ok(Json(json!({"endpoint_group": group_json(&group, &base)})))
}

/// `DELETE /v3/OS-EP-FILTER/endpoint_groups/{id}` (204), with its project
/// associations.
pub async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:delete_endpoint_group",
        &Target::new(),
    )?;
    catalog::delete_endpoint_group(&state.services(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/OS-EP-FILTER/endpoint_groups/{id}/endpoints`: the endpoints
/// the group's filters match.
pub async fn group_endpoints(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:list_endpoints_associated_with_endpoint_group",
        &Target::new(),
    )?;
    let group = state.storage().get_endpoint_group(&id).await?;
    let endpoints: Vec<Value> = state
        .storage()
        .list_endpoints()
        .await?
        .iter()
        .filter(|e| group.matches(e))
        .map(|e| endpoint_json(e, &base))
        .collect();
    let links = super::collection_links(&base, &format!("{PREFIX}/endpoint_groups/{id}/endpoints"));
    Ok(Json(json!({"endpoints": endpoints, "links": links})))
}

/// `GET /v3/OS-EP-FILTER/endpoint_groups/{id}/projects`: the projects
/// the group is associated with.
pub async fn group_projects(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:list_projects_associated_with_endpoint_group",
        &Target::new(),
    )?;
    let storage = state.storage();
    let mut projects = Vec::new();
    for link in storage
        .list_project_endpoint_groups()
        .await?
        .iter()
        .filter(|l| l.id == id)
    {
        projects.push(project_json(
            &storage.get_project(&link.project_id).await?,
            &base,
        ));
    }
    let links = super::collection_links(&base, &format!("{PREFIX}/endpoint_groups/{id}/projects"));
    Ok(Json(json!({"projects": projects, "links": links})))
}

/// `GET /v3/OS-EP-FILTER/endpoint_groups/{group}/projects/{project}`: the
/// association (404 for a missing project, group or association).
pub async fn get_group_project(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path((group, project)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:get_endpoint_group_in_project",
        &Target::new(),
    )?;
    let storage = state.storage();
    storage.get_project(&project).await?;
    storage.get_endpoint_group(&group).await?;
    if !storage
        .list_project_endpoint_groups()
        .await?
        .iter()
        .any(|l| l.id == group && l.project_id == project)
    {
        return Err(AuthError::NotFound {
            what: "Endpoint Group Project Association".into(),
        }
        .into());
    }
    Ok(Json(json!({"project_endpoint_group": {
        "endpoint_group_id": group, "project_id": project,
        "links": {"self": format!("{base}{PREFIX}/endpoint_groups/{group}/projects/{project}")},
    }})))
}

/// `PUT /v3/OS-EP-FILTER/endpoint_groups/{group}/projects/{project}` (204).
pub async fn add_group_project(
    State(state): State<AppState>,
    caller: Caller,
    Path((group, project)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:add_endpoint_group_to_project",
        &Target::new(),
    )?;
    let link = ProjectAssociation::new(group, project);
    catalog::add_project_endpoint_group(&state.services(), &link).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v3/OS-EP-FILTER/endpoint_groups/{group}/projects/{project}`
/// (204).
pub async fn remove_group_project(
    State(state): State<AppState>,
    caller: Caller,
    Path((group, project)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:remove_endpoint_group_from_project",
        &Target::new(),
    )?;
    let link = ProjectAssociation::new(group, project);
    catalog::remove_project_endpoint_group(&state.services(), &link).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/OS-EP-FILTER/endpoints/{id}/projects`: the projects the
/// endpoint is associated with (404 for a missing endpoint).
pub async fn endpoint_projects(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:list_projects_for_endpoint",
        &Target::new(),
    )?;
    let storage = state.storage();
    storage.get_endpoint(&id).await?;
    let mut projects = Vec::new();
    for link in storage
        .list_project_endpoints()
        .await?
        .iter()
        .filter(|l| l.id == id)
    {
        projects.push(project_json(
            &storage.get_project(&link.project_id).await?,
            &base,
        ));
    }
    let links = super::collection_links(&base, &format!("{PREFIX}/endpoints/{id}/projects"));
    Ok(Json(json!({"projects": projects, "links": links})))
}

/// `GET /v3/OS-EP-FILTER/projects/{project}/endpoints/{endpoint}` (204):
/// whether the endpoint is associated with the project itself (404s for a
/// missing endpoint, project or association).
pub async fn check_project_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path((project, endpoint)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:check_endpoint_in_project",
        &Target::new(),
    )?;
    let storage = state.storage();
    storage.get_endpoint(&endpoint).await?;
    storage.get_project(&project).await?;
    if !storage
        .list_project_endpoints()
        .await?
        .iter()
        .any(|l| l.id == endpoint && l.project_id == project)
    {
        return Err(AuthError::NotFound {
            what: format!("endpoint {endpoint} in project {project}"),
        }
        .into());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v3/OS-EP-FILTER/projects/{project}/endpoints/{endpoint}` (204).
pub async fn add_project_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path((project, endpoint)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:add_endpoint_to_project",
        &Target::new(),
    )?;
    let link = ProjectAssociation::new(endpoint, project);
    catalog::add_project_endpoint(&state.services(), &link).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v3/OS-EP-FILTER/projects/{project}/endpoints/{endpoint}`
/// (204; 404 without the association).
pub async fn remove_project_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path((project, endpoint)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:remove_endpoint_from_project",
        &Target::new(),
    )?;
    let link = ProjectAssociation::new(endpoint, project);
    catalog::remove_project_endpoint(&state.services(), &link).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/OS-EP-FILTER/projects/{project}/endpoints`: the endpoints the
/// project is associated with, directly or through endpoint groups.
pub async fn project_endpoints(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(project): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:list_endpoints_for_project",
        &Target::new(),
    )?;
    state.storage().get_project(&project).await?;
    let data = state.validations().catalog_data(&state).await?;
    let endpoints: Vec<Value> = data
        .endpoints_for_project(&project)
        .values()
        .map(|e| endpoint_json(e, &base))
        .collect();
    let links = super::collection_links(&base, &format!("{PREFIX}/projects/{project}/endpoints"));
    Ok(Json(json!({"endpoints": endpoints, "links": links})))
}

/// `GET /v3/OS-EP-FILTER/projects/{project}/endpoint_groups`: the groups
/// associated with the project (404 for a missing project).
pub async fn project_groups(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(project): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:list_endpoint_groups_for_project",
        &Target::new(),
    )?;
    let storage = state.storage();
    storage.get_project(&project).await?;
    let groups = storage.list_endpoint_groups().await?;
    let linked: Vec<Value> = storage
        .list_project_endpoint_groups()
        .await?
        .iter()
        .filter(|l| l.project_id == project)
        .filter_map(|l| groups.iter().find(|g| g.id == l.id))
        .map(|g| group_json(g, &base))
        .collect();
    let links = super::collection_links(
        &base,
        &format!("{PREFIX}/projects/{project}/endpoint_groups"),
    );
    Ok(Json(json!({"endpoint_groups": linked, "links": links})))
}
