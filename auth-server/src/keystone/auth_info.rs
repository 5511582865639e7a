//! `/v3/auth/projects`, `/v3/auth/domains` and `/v3/auth/catalog`: what the
//! caller's token may be scoped to, and the catalog.

use auth_core::store::Target;
use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::PublicBase;
use super::caller::Caller;
use crate::error::ServerError;
use crate::scope::Scope;
use crate::state::AppState;

/// `GET /v3/auth/projects`: the enabled projects the caller holds a role on.
pub async fn projects(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
) -> Result<impl IntoResponse, ServerError> {
    let mut projects: Vec<Value> = Vec::new();
    for target in state.storage().targets_for_user(&caller.claims.sub).await? {
        let Target::Project(id) = target else {
            continue;
        };
        let Ok(project) = state.storage().get_project(&id).await else {
            continue;
        };
        if project.enabled {
            projects.push(json!({
                "id": project.id, "name": project.name, "domain_id": project.domain_id,
                "enabled": true, "is_domain": false,
                "links": {"self": format!("{base}/v3/projects/{}", project.id)},
            }));
        }
    }
    let links = super::collection_links(&base, "/v3/auth/projects");
    Ok(Json(json!({"projects": projects, "links": links})).into_response())
}

/// `GET /v3/auth/domains`: the enabled domains the caller holds a role on.
pub async fn domains(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
) -> Result<impl IntoResponse, ServerError> {
    let mut domains: Vec<Value> = Vec::new();
    for target in state.storage().targets_for_user(&caller.claims.sub).await? {
        let Target::Domain(id) = target else { continue };
        let Ok(domain) = state.storage().get_domain(&id).await else {
            continue;
        };
        if domain.enabled {
            domains.push(json!({
                "id": domain.id, "name": domain.name, "enabled": true,
                "links": {"self": format!("{base}/v3/domains/{}", domain.id)},
            }));
        }
    }
    let links = super::collection_links(&base, "/v3/auth/domains");
    Ok(Json(json!({"domains": domains, "links": links})).into_response())
}

/// `GET /v3/auth/catalog`: the catalog, for a scoped token (403 for an
/// unscoped one, as Keystone).
pub async fn catalog(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
) -> Result<impl IntoResponse, ServerError> {
    if matches!(caller.scope, Scope::Unscoped) {
        return Err(ServerError::from(auth_core::AuthError::Forbidden(
            "The catalog needs a scoped token.".into(),
        )));
    }
    let catalog = state.validations().catalog(&state).await?;
    let links = super::collection_links(&base, "/v3/auth/catalog");
    Ok(Json(json!({"catalog": catalog, "links": links})).into_response())
}
