//! `/v3/auth/projects`, `/v3/auth/domains`, `/v3/auth/system` and
//! `/v3/auth/catalog`: what the caller's token may be scoped to, and the
//! catalog. Each asks the policy about Keystone's `identity:get_auth_*`
//! action with no target, as Keystone's `keystone/api/auth.py`.

use auth_core::store::Target as Scoped;
use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::PublicBase;
use super::caller::Caller;
use crate::error::ServerError;
use crate::policy::Target;
use crate::scope::Scope;
use crate::state::AppState;

/// `GET /v3/auth/projects`: the enabled projects the caller holds a role on.
pub async fn projects(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:get_auth_projects",
        &Target::new(),
    )?;
    let mut projects: Vec<Value> = Vec::new();
    for scoped in state.storage().targets_for_user(&caller.user().id).await? {
        let Scoped::Project(id) = scoped else {
            continue;
        };
        let Ok(project) = state.storage().get_project(&id).await else {
            continue;
        };
        if project.enabled {
            projects.push(super::projects::project_json(&project, &base));
        }
    }
    let links = super::collection_links(&base, "/v3/auth/projects");
    Ok(Json(json!({"projects": projects, "links": links})))
}

/// `GET /v3/auth/domains`: the enabled domains the caller holds a role on.
pub async fn domains(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:get_auth_domains", &Target::new())?;
    let mut domains: Vec<Value> = Vec::new();
    for scoped in state.storage().targets_for_user(&caller.user().id).await? {
        let Scoped::Domain(id) = scoped else { continue };
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
    Ok(Json(json!({"domains": domains, "links": links})))
}

/// `GET /v3/auth/system`: `[{"all": true}]` if the caller holds a role on
/// the system, else `[]`, as Keystone.
pub async fn system(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:get_auth_system", &Target::new())?;
    let on_system = state
        .storage()
        .targets_for_user(&caller.user().id)
        .await?
        .contains(&Scoped::System);
    let system = if on_system {
        json!([{"all": true}])
    } else {
        json!([])
    };
    Ok(Json(json!({
        "system": system,
        "links": {"self": format!("{base}/v3/auth/system")},
    })))
}

/// `GET /v3/auth/catalog`: the catalog, for a project-scoped token only (a
/// 403 otherwise, as Keystone, whose catalog is a project's).
pub async fn catalog(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:get_auth_catalog", &Target::new())?;
    let Scope::Project(project, _) = caller.scope() else {
        return Err(ServerError::from(auth_core::AuthError::Forbidden(
            "A project-scoped token is required to produce a service catalog.".into(),
        )));
    };
    let catalog = state
        .validations()
        .catalog(&state, &caller.user().id, Some(&project.id))
        .await?;
    let links = super::collection_links(&base, "/v3/auth/catalog");
    Ok(Json(json!({"catalog": catalog, "links": links})))
}
