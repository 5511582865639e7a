//! `/v3/groups`: Keystone's group API and group membership, plus
//! `GET /v3/users/{id}/groups`, each call asking the policy with the target
//! Keystone's `keystone/api/groups.py` (and `users.py`) builds. Role grants
//! to groups are in [`super::grants`].
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
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::users::{user_json, user_target};
use super::{ObjectTarget, PublicBase, deferred, targets};
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::groups;
use crate::state::AppState;

/// `{"group": {...}}`.
#[derive(Debug, Deserialize)]
pub struct GroupEnvelope {
    group: GroupBody,
}

/// The request's group; serialized back, it is what the request sent (a
/// create's policy target).
#[derive(Debug, Deserialize, Serialize)]
struct GroupBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    domain_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

/// The target of a call on one group (Keystone's
/// `_build_group_target_enforcement`): `group_id` from the path and
/// `target.group` when the group exists (its 404 deferred, see
/// [`deferred`]).
async fn group_target(state: &AppState, group_id: &str) -> Result<ObjectTarget<Group>, AuthError> {
    super::object_target(
        state.storage().get_group(group_id).await,
        ("group_id", group_id),
        ("target.group", targets::group),
    )
}

/// `POST /v3/groups`: 201; the domain defaults to `default` and must exist
/// (404); a name taken in the domain is a 409. Target: `target.group`, the
/// request's group as sent.
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<GroupEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let body = body.group;
    let sent = serde_json::to_value(&body).unwrap_or(Value::Null);
    let target = Target::new().with_object("target.group", &sent);
    super::authorize(&state, &caller, "identity:create_group", &target)?;
    let group = Group::new(
        new_id(),
        name_of(body.name)?,
        body.domain_id
            .unwrap_or_else(|| DEFAULT_DOMAIN_ID.to_owned()),
    )
    .with_description(body.description.unwrap_or_default());
    groups::create(&state.services(), &group).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"group": group_json(&group, &base)})),
    ))
}

/// `GET /v3/groups`, optionally filtered by `domain_id` and `name`.
/// Target: for a domain-scoped token, `target.group.domain_id` is its
/// domain; the filters under `filter_attr`. Such a token lists its own
/// domain's groups only, as Keystone.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<GroupQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let scoped = caller.domain_scope();
    let mut target = Target::new();
    if let Some(domain) = scoped {
        target = target.with("target.group.domain_id", domain);
    }
    let target = targets::with_filters(
        target,
        [
            ("domain_id", query.domain_id.as_deref()),
            ("name", query.name.as_deref()),
        ],
    );
    super::authorize(&state, &caller, "identity:list_groups", &target)?;
    let mut filter = GroupFilter::default();
    filter.domain_id = query.domain_id;
    filter.name = query.name;
    let mut groups = state.storage().list_groups(&filter).await?;
    if let Some(domain) = scoped {
        groups.retain(|g| g.domain_id == domain);
    }
    Ok(groups_page(&groups, &base, "/v3/groups"))
}

/// `GET /v3/groups/{id}`. Target: see `group_target`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, group) = group_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:get_group", &target)?;
    Ok(Json(json!({"group": group_json(&group?, &base)})))
}

/// `PATCH /v3/groups/{id}`: name and description. A group cannot move to
/// another domain (400, as in Keystone); a name taken in the domain is a
/// 409. Target: see `group_target`.
pub async fn update(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<GroupEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, group) = group_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:update_group", &target)?;
    let mut group = group?;
    let body = body.group;
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
    Ok(Json(json!({"group": group_json(&group, &base)})))
}

/// `DELETE /v3/groups/{id}`: the group, its memberships and its
/// assignments. If it held any assignment, its members' tokens are revoked,
/// as Keystone does. Target: `group_id` and `target.group`, which Keystone
/// loads before the policy check (its resource's member), so a missing
/// group is a 404 whoever asks.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let group = state.storage().get_group(&id).await?;
    let target = Target::new()
        .with("group_id", id.as_str())
        .with_object("target.group", &targets::group(&group));
    super::authorize(&state, &caller, "identity:delete_group", &target)?;
    groups::delete(&state.services(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/groups/{id}/users`: the members, Keystone-shaped users.
/// Target: see `group_target`; the filters under `filter_attr`. A
/// domain-scoped token sees its own domain's members only, as Keystone.
pub async fn list_users(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<GroupQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, group) = group_target(&state, &id).await?;
    let target = targets::with_filters(
        target,
        [
            ("domain_id", query.domain_id.as_deref()),
            ("name", query.name.as_deref()),
        ],
    );
    super::authorize(&state, &caller, "identity:list_users_in_group", &target)?;
    group?;
    let scoped = caller.domain_scope();
    let mut users = Vec::new();
    for user in state.storage().list_group_users(&id).await? {
        let wanted = super::name_matches(query.name.as_deref(), &user.name)
            && query
                .domain_id
                .as_ref()
                .is_none_or(|d| *d == user.domain_id)
            && scoped.is_none_or(|d| d == user.domain_id);
        if wanted {
            users.push(user_json(&state, &user, &base).await);
        }
    }
    let links = super::collection_links(&base, &format!("/v3/groups/{id}/users"));
    Ok(Json(json!({"users": users, "links": links})))
}

/// The target of a membership call (Keystone's
/// `UserGroupCRUDResource._build_enforcement_target_attr`): `group_id` and
/// `user_id` from the path, `target.group` and `target.user` for those that
/// exist; both must exist, but that is answered (404) after the policy.
async fn membership_target(
    state: &AppState,
    group_id: &str,
    user_id: &str,
) -> Result<(Target, Result<(Group, User), AuthError>), AuthError> {
    let (target, group) = group_target(state, group_id).await?;
    let user = deferred(state.storage().get_user(user_id).await)?;
    let mut target = target.with("user_id", user_id);
    if let Ok(user) = &user {
        target = target.with_object("target.user", &targets::user(user));
    }
    Ok((target, group.and_then(|g| user.map(|u| (g, u)))))
}

/// `PUT /v3/groups/{group}/users/{user}`: 204 (idempotent). Target: see
/// `membership_target`.
pub async fn add_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((group_id, user_id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, found) = membership_target(&state, &group_id, &user_id).await?;
    super::authorize(&state, &caller, "identity:add_user_to_group", &target)?;
    let (group, user) = found?;
    groups::add_member(&state.services(), &group.id, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET` or `HEAD /v3/groups/{group}/users/{user}`: 204 if the user is a
/// member, else 404. Target: see `membership_target`.
pub async fn check_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((group_id, user_id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, found) = membership_target(&state, &group_id, &user_id).await?;
    super::authorize(&state, &caller, "identity:check_user_in_group", &target)?;
    found?;
    let groups = state.storage().list_user_groups(&user_id).await?;
    if !groups.iter().any(|g| g.id == group_id) {
        return Err(AuthError::NotFound {
            what: format!("membership of user {user_id} in group {group_id}"),
        }
        .into());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v3/groups/{group}/users/{user}`: 204, or 404 if the user was
/// not a member. Revokes the user's tokens, as Keystone does. Target: see
/// `membership_target`.
pub async fn remove_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((group_id, user_id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, found) = membership_target(&state, &group_id, &user_id).await?;
    super::authorize(&state, &caller, "identity:remove_user_from_group", &target)?;
    let (group, user) = found?;
    groups::remove_member(&state.services(), &group.id, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/users/{id}/groups`. Target: the user's (see
/// `user_target`); the `name` filter under `filter_attr`. A domain-scoped
/// token sees its own domain's groups only, as Keystone.
pub async fn list_for_user(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<GroupQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, user) = user_target(&state, &id).await?;
    let target = targets::with_filters(target, [("name", query.name.as_deref())]);
    super::authorize(&state, &caller, "identity:list_groups_for_user", &target)?;
    user?;
    let scoped = caller.domain_scope();
    let mut groups = state.storage().list_user_groups(&id).await?;
    groups.retain(|g| {
        super::name_matches(query.name.as_deref(), &g.name)
            && scoped.is_none_or(|d| d == g.domain_id)
    });
    Ok(groups_page(
        &groups,
        &base,
        &format!("/v3/users/{id}/groups"),
    ))
}
