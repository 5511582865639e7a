//! `/v3/roles`: Keystone's role API, each call asking the policy with the
//! target Keystone's `keystone/api/roles.py` builds. A role is global, or
//! of a domain (made with a `domain_id`, listed with `?domain_id=`), and a
//! domain's role is governed by the `*_domain_role` actions, as in
//! Keystone.

use auth_core::AuthError;
use auth_core::store::{Role, new_id};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::{PublicBase, targets};
use crate::error::ServerError;
use crate::policy::Target;
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
    #[serde(default)]
    domain_id: Option<String>,
}

/// `?name=&domain_id=` filters (`name`: how clients find a role by name).
#[derive(Debug, Default, Deserialize)]
pub struct RoleQuery {
    name: Option<String>,
    domain_id: Option<String>,
}

fn role_json(r: &Role, base: &str) -> Value {
    json!({"id": r.id, "name": r.name, "domain_id": r.domain_id,
           "links": {"self": format!("{base}/v3/roles/{}", r.id)}})
}

fn name_of(name: Option<String>) -> Result<String, AuthError> {
    super::required_name(name, 255)
}

/// Asks the policy about `action` on the stored role `role_id` (read first:
/// Keystone loads a role before its check, so a missing one is a 404
/// whoever asks). Target: `role_id` and `target.role`; a domain's role
/// is checked under the `*_domain_role` variant of the action.
async fn authorize_on_role(
    state: &AppState,
    caller: &Caller,
    (global, of_domain): (&'static str, &'static str),
    role_id: &str,
) -> Result<Role, ServerError> {
    let role = state.storage().get_role(role_id).await?;
    let action = if role.domain_id.is_some() {
        of_domain
    } else {
        global
    };
    let target = Target::new()
        .with("role_id", role_id)
        .with_object("target.role", &targets::role(&role));
    super::authorize(state, caller, action, &target)?;
    Ok(role)
}

/// `POST /v3/roles`: a global role, or with a `domain_id` that domain's
/// (a domain that does not exist is a 404). Target, as Keystone's
/// `RolesResource.post`: none for a global role (`identity:create_role`);
/// `target.role`, the role as sent, for a domain's
/// (`identity:create_domain_role`).
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<RoleEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let body = body.role;
    // Keystone's `_is_domain_role`: a non-empty domain_id.
    let domain_id = body.domain_id.filter(|d| !d.is_empty());
    match &domain_id {
        None => super::authorize(&state, &caller, "identity:create_role", &Target::new())?,
        Some(domain) => {
            let sent = json!({"name": body.name, "domain_id": domain});
            let target = Target::new().with_object("target.role", &sent);
            super::authorize(&state, &caller, "identity:create_domain_role", &target)?;
        }
    }
    let mut role = Role::new(new_id(), name_of(body.name)?);
    if let Some(domain) = domain_id {
        role = role.with_domain(domain);
    }
    roles::create(&state.services(), &role).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"role": role_json(&role, &base)})),
    ))
}

/// `GET /v3/roles`: the global roles, or with `?domain_id=` that domain's
/// (`identity:list_domain_roles`), as Keystone. Target: the filters under
/// `filter_attr`.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<RoleQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let action = match query.domain_id {
        Some(_) => "identity:list_domain_roles",
        None => "identity:list_roles",
    };
    let target = targets::with_filters(
        Target::new(),
        [
            ("name", query.name.as_deref()),
            ("domain_id", query.domain_id.as_deref()),
        ],
    );
    super::authorize(&state, &caller, action, &target)?;
    let roles: Vec<Value> = state
        .storage()
        .list_roles()
        .await?
        .iter()
        .filter(|r| {
            super::name_matches(query.name.as_deref(), &r.name) && r.domain_id == query.domain_id
        })
        .map(|r| role_json(r, &base))
        .collect();
    let links = super::collection_links(&base, "/v3/roles");
    Ok(Json(json!({"roles": roles, "links": links})))
}

/// `GET /v3/roles/{id}`. Target: see `authorize_on_role`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let actions = ("identity:get_role", "identity:get_domain_role");
    let role = authorize_on_role(&state, &caller, actions, &id).await?;
    Ok(Json(json!({"role": role_json(&role, &base)})))
}

/// `PATCH /v3/roles/{id}`: renames the role (a name already taken is a
/// 409). Tokens show the new name at their next validation. Target: see
/// `authorize_on_role`.
pub async fn update(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<RoleEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let actions = ("identity:update_role", "identity:update_domain_role");
    let mut role = authorize_on_role(&state, &caller, actions, &id).await?;
    if body.role.name.is_some() {
        role.name = name_of(body.role.name)?;
        roles::update(&state.services(), &role).await?;
    }
    Ok(Json(json!({"role": role_json(&role, &base)})))
}

/// `DELETE /v3/roles/{id}`. Target: see `authorize_on_role`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let actions = ("identity:delete_role", "identity:delete_domain_role");
    authorize_on_role(&state, &caller, actions, &id).await?;
    roles::delete(&state.services(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
