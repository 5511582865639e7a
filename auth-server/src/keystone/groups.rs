//! `/v3/groups`: Keystone's group API and group membership, plus
//! `GET /v3/users/{id}/groups`. Admin only, except that a user may list
//! their own groups. Role grants to groups are in [`super::grants`].
//!
//! As in Keystone, removing a user from a group revokes every token the
//! user holds (a user revocation event), and so does deleting a group that
//! held role assignments, for each of its members; adding a member
//! revokes nothing.

use auth_core::AuthError;
use auth_core::store::{DEFAULT_DOMAIN_ID, Group, GroupFilter, User, new_id};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::PublicBase;
use super::body::KeystoneJson;
use super::caller::Caller;
use super::users::user_json;
use crate::error::ServerError;
use crate::services::groups;
use crate::state::AppState;

/// `{"group": {...}}`.
#[derive(Debug, Deserialize)]
pub struct GroupEnvelope {
    group: GroupBody,
}

#[derive(Debug, Deserialize)]
struct GroupBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    domain_id: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// `?domain_id=&name=` filters.
#[derive(Debug, Default, Deserialize)]
pub struct GroupQuery {
    domain_id: Option<String>,
    name: Option<String>,
}

/// The JSON of a group, Keystone-shaped.
fn group_json(g: &Group, base: &str) -> Value {
    json!({
        "id": g.id, "name": g.name, "domain_id": g.domain_id, "description": g.description,
        "links": {"self": format!("{base}/v3/groups/{}", g.id)},
    })
}

/// `{"groups": [...], "links": {...}}`.
fn groups_page(groups: &[Group], base: &str, path: &str) -> Response {
    let groups: Vec<Value> = groups.iter().map(|g| group_json(g, base)).collect();
    Json(json!({"groups": groups, "links": super::collection_links(base, path)})).into_response()
}

/// Keystone's group names: 1 to 64 characters.
fn name_of(name: Option<String>) -> Result<String, AuthError> {
    super::required_name(name, 64)
}

/// `POST /v3/groups`: 201; the domain defaults to `default` and must exist
/// (404); a name taken in the domain is a 409.
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<GroupEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("create_group")?;
    let body = body.group;
    let group = Group {
        id: new_id(),
        name: name_of(body.name)?,
        domain_id: body
            .domain_id
            .unwrap_or_else(|| DEFAULT_DOMAIN_ID.to_owned()),
        description: body.description.unwrap_or_default(),
    };
    groups::create(&state.services(), &group).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"group": group_json(&group, &base)})),
    )
        .into_response())
}

/// `GET /v3/groups`, optionally filtered by `domain_id` and `name`.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<GroupQuery>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("list_groups")?;
    let filter = GroupFilter {
        domain_id: query.domain_id,
        name: query.name,
    };
    let groups = state.storage().list_groups(&filter).await?;
    Ok(groups_page(&groups, &base, "/v3/groups"))
}

/// `GET /v3/groups/{id}`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("get_group")?;
    let group = state.storage().get_group(&id).await?;
    Ok(Json(json!({"group": group_json(&group, &base)})).into_response())
}

/// `PATCH /v3/groups/{id}`: name and description. A group cannot move to
/// another domain (400, as in Keystone); a name taken in the domain is a
/// 409.
pub async fn update(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<GroupEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("update_group")?;
    let body = body.group;
    let mut group = state.storage().get_group(&id).await?;
    if body.domain_id.is_some_and(|d| d != group.domain_id) {
        return Err(AuthError::bad_request("Cannot change Domain ID").into());
    }
    if body.name.is_some() {
        group.name = name_of(body.name)?;
    }
    if let Some(description) = body.description {
        group.description = description;
    }
    groups::update(&state.services(), &group).await?;
    Ok(Json(json!({"group": group_json(&group, &base)})).into_response())
}

/// `DELETE /v3/groups/{id}`: the group, its memberships and its
/// assignments. If it held any assignment, its members' tokens are revoked,
/// as Keystone does.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("delete_group")?;
    groups::delete(&state.services(), &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v3/groups/{id}/users`: the members, Keystone-shaped users.
pub async fn list_users(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("list_users_in_group")?;
    state.storage().get_group(&id).await?;
    let mut users = Vec::new();
    for user in state.storage().list_group_users(&id).await? {
        users.push(user_json(&state, &user, &base).await);
    }
    let links = super::collection_links(&base, &format!("/v3/groups/{id}/users"));
    Ok(Json(json!({"users": users, "links": links})).into_response())
}

/// The group and the user a membership route names, both of which must
/// exist (404).
async fn group_and_user(
    state: &AppState,
    group_id: &str,
    user_id: &str,
) -> Result<(Group, User), ServerError> {
    let group = state.storage().get_group(group_id).await?;
    let user = state.storage().get_user(user_id).await?;
    Ok((group, user))
}

/// `PUT /v3/groups/{group}/users/{user}`: 204 (idempotent).
pub async fn add_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((group_id, user_id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("add_user_to_group")?;
    let (group, user) = group_and_user(&state, &group_id, &user_id).await?;
    groups::add_member(&state.services(), &group.id, &user).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET` or `HEAD /v3/groups/{group}/users/{user}`: 204 if the user is a member,
/// else 404.
pub async fn check_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((group_id, user_id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("check_user_in_group")?;
    group_and_user(&state, &group_id, &user_id).await?;
    let groups = state.storage().list_user_groups(&user_id).await?;
    if !groups.iter().any(|g| g.id == group_id) {
        return Err(AuthError::NotFound {
            what: format!("membership of user {user_id} in group {group_id}"),
        }
        .into());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /v3/groups/{group}/users/{user}`: 204, or 404 if the user was
/// not a member. Revokes the user's tokens, as Keystone does.
pub async fn remove_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((group_id, user_id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("remove_user_from_group")?;
    let (group, user) = group_and_user(&state, &group_id, &user_id).await?;
    groups::remove_member(&state.services(), &group.id, &user).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v3/users/{id}/groups` (admin, or the user themself).
pub async fn list_for_user(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin_or_self(&id, "list_groups_for_user")?;
    state.storage().get_user(&id).await?;
    let groups = state.storage().list_user_groups(&id).await?;
    Ok(groups_page(
        &groups,
        &base,
        &format!("/v3/users/{id}/groups"),
    ))
}
