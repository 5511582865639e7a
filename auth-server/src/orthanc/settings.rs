//! `GET|PUT settings/roles`: the role → permissions map, in Orthanc's
//! shape; and the optional `server-id` restriction.

use auth_core::imaging::RoleMap;
use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::service_caller::ServiceCaller;
use crate::error::ServerError;
use crate::keystone::body::KeystoneJson;
use crate::services::imaging as service;
use crate::state::AppState;

/// `GET settings/roles`: the map in force (the stored one, else the
/// configured one).
pub async fn get_roles(
    State(state): State<AppState>,
    caller: ServiceCaller,
) -> Result<Json<RoleMap>, ServerError> {
    let map = state
        .imaging()
        .role_maps()
        .current(&state, caller.revision)
        .await?;
    Ok(Json(RoleMap::clone(&map)))
}

/// `PUT settings/roles`: stores the map (every node uses it from its next
/// call) and answers it. An unknown permission name is a 400 naming it.
pub async fn put_roles(
    State(state): State<AppState>,
    _caller: ServiceCaller,
    KeystoneJson(mut body): KeystoneJson<Value>,
) -> Result<Json<RoleMap>, ServerError> {
    let server_id = body
        .as_object_mut()
        .and_then(|fields| fields.remove("server-id"));
    check_server_id(&state, server_id.as_ref().and_then(Value::as_str))?;
    let map: RoleMap = serde_json::from_value(body)
        .map_err(|e| ServerError::BadRequest(format!("invalid role map: {e}")))?;
    service::set_role_map(&state.services(), &map).await?;
    Ok(Json(map))
}

/// With `[orthanc] server_ids` set, only those Orthanc servers may call.
pub fn check_server_id(state: &AppState, server_id: Option<&str>) -> Result<(), ServerError> {
    let allowed = &state.config().orthanc.server_ids;
    if allowed.is_empty() || server_id.is_some_and(|id| allowed.iter().any(|a| a == id)) {
        Ok(())
    } else {
        Err(auth_core::AuthError::Forbidden(
            "this server-id may not call the Orthanc authorization service".into(),
        )
        .into())
    }
}
