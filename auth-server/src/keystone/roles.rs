//! `/v3/roles`: Keystone's role API (global roles).

use auth_core::AuthError;
use auth_core::store::{Role, new_id};
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
use crate::services::roles;
use crate::state::AppState;

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
/// `?name=` filter (how clients find a role by name).
#[derive(Debug, Default, Deserialize)]
pub struct RoleQuery {
    name: Option<String>,
}
fn role_json(r: &Role, base: &str) -> Value {
    json!({"id": r.id, "name": r.name, "domain_id": r.domain_id,
           "links": {"self": format!("{base}/v3/roles/{}", r.id)}})
}
fn name_of(name: Option<String>) -> Result<String, AuthError> {
    super::required_name(name, 255)
}
/// `POST /v3/roles`.
pub async fn create(
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
    roles::create(&state.services(), &role).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"role": role_json(&role, &base)})),
    )
        .into_response())
}

/// `GET /v3/roles`.
pub async fn list(
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
pub async fn get(
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
pub async fn update(
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
        roles::update(&state.services(), &role).await?;
    }
    Ok(Json(json!({"role": role_json(&role, &base)})).into_response())
}

/// `DELETE /v3/roles/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("delete_role")?;
    roles::delete(&state.services(), &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
