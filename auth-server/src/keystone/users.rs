//! `/v3/users`: create, get, list, update (including `options`), delete.
//!
//! Each handler asks the policy about Keystone's action with the target
//! Keystone's `keystone/api/users.py` builds, documented beside it.

use auth_core::AuthError;
use auth_core::store::{DEFAULT_DOMAIN_ID, User, UserFilter, UserOptions, new_id};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::{ObjectTarget, PublicBase, targets};
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::users::{self, InitialPassword};
use crate::state::AppState;
use crate::token_body::timestamp;

/// The JSON of a user, Keystone-shaped.
pub async fn user_json(state: &AppState, user: &User, base: &str) -> Value {
    let expires = state
        .storage()
        .current_password(&user.id)
        .await
        .ok()
        .flatten()
        .and_then(|p| p.expires_at)
        .map(timestamp);
    // Keystone shows the extra attributes (email, description, …) beside
    // the user's own, which win.
    let mut object = user.extra.clone();
    let own = json!({
        "id": user.id,
        "name": user.name,
        "domain_id": user.domain_id,
        "enabled": user.enabled,
        "default_project_id": user.default_project_id,
        "password_expires_at": expires,
        "options": user.options,
        "links": {"self": format!("{base}/v3/users/{}", user.id)},
    });
    if let Value::Object(own) = own {
        object.extend(own);
    }
    Value::Object(object)
}

/// The members of a request's `user` object that are the user's own; any
/// other is an extra attribute, kept as Keystone keeps them (`email`,
/// `description`, …). `id`, `links` and `password_expires_at` are the
/// server's and never stored.
const OWN_MEMBERS: [&str; 9] = [
    "id",
    "name",
    "domain_id",
    "enabled",
    "default_project_id",
    "password",
    "options",
    "links",
    "password_expires_at",
];

/// `{"user": {...}}`.
#[derive(Deserialize)]
pub struct UserEnvelope {
    user: Map<String, Value>,
}

impl std::fmt::Debug for UserEnvelope {
    /// The object may hold a password: only member names are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.user.keys()).finish()
    }
}

/// Applies the members of a request's `user` object to `user`.
fn apply(user: &mut User, fields: &Map<String, Value>) -> Result<(), AuthError> {
    let string = |key: &str| -> Result<Option<String>, AuthError> {
        match fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => Ok(Some(s.clone())),
            Some(_) => Err(AuthError::bad_request(format!(
                "'user.{key}' must be a string of 1 to 255 characters"
            ))),
        }
    };
    if let Some(name) = string("name")? {
        user.name = name;
    }
    if fields.contains_key("default_project_id") {
        user.default_project_id = string("default_project_id")?;
    }
    match fields.get("enabled") {
        None => {}
        Some(Value::Bool(enabled)) => user.enabled = *enabled,
        Some(_) => return Err(AuthError::bad_request("'user.enabled' must be a boolean")),
    }
    for (key, value) in fields {
        if !OWN_MEMBERS.contains(&key.as_str()) {
            user.extra.insert(key.clone(), value.clone());
        }
    }
    if let Some(options) = fields.get("options") {
        let Value::Object(options) = options else {
            return Err(AuthError::bad_request("'user.options' must be an object"));
        };
        // Keystone merges options; a null resets one to its default.
        let mut merged = serde_json::to_value(&user.options)
            .map_err(|e| AuthError::Internal(format!("encoding options: {e}")))?;
        let defaults = serde_json::to_value(UserOptions::default())
            .map_err(|e| AuthError::Internal(format!("encoding options: {e}")))?;
        for (key, value) in options {
            if defaults.get(key).is_none() {
                return Err(AuthError::bad_request(format!(
                    "unknown user option '{key}'"
                )));
            }
            merged[key] = if value.is_null() {
                defaults[key].clone()
            } else {
                value.clone()
            };
        }
        user.options = serde_json::from_value(merged)
            .map_err(|_| AuthError::bad_request("'user.options' has a value of the wrong type"))?;
        for rule in &user.options.multi_factor_auth_rules {
            let mut sorted = rule.clone();
            sorted.sort();
            sorted.dedup();
            if rule.is_empty() || sorted.len() != rule.len() {
                return Err(AuthError::bad_request(
                    "every multi-factor rule must list one or more methods, without repeats",
                ));
            }
        }
    }
    Ok(())
}

fn password_of(fields: &Map<String, Value>) -> Result<Option<SecretString>, AuthError> {
    match fields.get("password") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(p)) if !p.is_empty() && p.len() <= 4096 => {
            Ok(Some(SecretString::from(p.clone())))
        }
        Some(_) => Err(AuthError::bad_request(
            "'user.password' must be a string of 1 to 4096 characters",
        )),
    }
}

/// `POST /v3/users`. Target: `target.user`, the request's user as sent
/// (its password left out), as Keystone's `UsersResource.post`.
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<UserEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let mut sent = body.user.clone();
    sent.remove("password");
    let target = Target::new().with_object("target.user", &Value::Object(sent));
    super::authorize(&state, &caller, "identity:create_user", &target)?;
    let domain_id = match body.user.get("domain_id") {
        Some(Value::String(d)) => d.clone(),
        None => DEFAULT_DOMAIN_ID.to_owned(),
        Some(_) => {
            return Err(AuthError::bad_request("'user.domain_id' must be a string").into());
        }
    };
    if !body.user.contains_key("name") {
        return Err(AuthError::bad_request("'user.name' is required").into());
    }
    let mut user = User::new(new_id(), String::new(), domain_id);
    apply(&mut user, &body.user)?;
    let password = match password_of(&body.user)? {
        Some(p) => InitialPassword::Chosen(p),
        None => InitialPassword::None,
    };
    users::create(&state.services(), &user, password).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"user": user_json(&state, &user, &base).await})),
    ))
}

/// The target of a call on one user (Keystone's
/// `_build_user_target_enforcement`): `user_id` from the path and
/// `target.user`, the stored user, when there is one. The read's 404 is
/// deferred (see [`super::deferred`]).
pub(super) async fn user_target(
    state: &AppState,
    user_id: &str,
) -> Result<ObjectTarget<User>, AuthError> {
    super::object_target(
        state.storage().get_user(user_id).await,
        ("user_id", user_id),
        ("target.user", targets::user),
    )
}

/// `GET /v3/users/{id}`. Target: see `user_target`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, user) = user_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:get_user", &target)?;
    let user = user?;
    Ok(Json(json!({"user": user_json(&state, &user, &base).await})))
}

/// `?name=&domain_id=&enabled=` filters.
#[derive(Debug, Default, Deserialize)]
pub struct UserQuery {
    name: Option<String>,
    domain_id: Option<String>,
    enabled: Option<String>,
}

/// `GET /v3/users`. Target: for a domain-scoped token, `target.domain_id`
/// is its domain; the filters under `filter_attr`. As Keystone's
/// `_list_users`, a domain-scoped token lists its own domain's users only
/// (its domain is the default filter, and users of any other are dropped).
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<UserQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let mut target = Target::new();
    if let Some(domain) = caller.domain_scope() {
        target = target.with("target.domain_id", domain);
    }
    let target = targets::with_filters(
        target,
        [
            ("domain_id", query.domain_id.as_deref()),
            ("enabled", query.enabled.as_deref()),
            ("name", query.name.as_deref()),
        ],
    );
    super::authorize(&state, &caller, "identity:list_users", &target)?;
    let enabled = query.enabled.as_deref().map(super::projects::filter_bool);
    let scoped = caller.domain_scope();
    let mut filter = UserFilter::default();
    filter.domain_id = query.domain_id.or_else(|| scoped.map(str::to_owned));
    filter.name = query.name;
    let mut users = Vec::new();
    for user in state.storage().list_users(&filter).await? {
        if scoped.is_none_or(|domain| user.domain_id == domain)
            && enabled.is_none_or(|e| e == user.enabled)
        {
            users.push(user_json(&state, &user, &base).await);
        }
    }
    let links = super::collection_links(&base, "/v3/users");
    Ok(Json(json!({"users": users, "links": links})))
}

/// `PATCH /v3/users/{id}`. Target: see `user_target`.
pub async fn update(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<UserEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, current) = user_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:update_user", &target)?;
    let current = current?;
    if body
        .user
        .get("id")
        .is_some_and(|sent| *sent != Value::String(id.clone()))
    {
        return Err(AuthError::bad_request("Cannot change ID").into());
    }
    let mut user = current.clone();
    apply(&mut user, &body.user)?;
    let new_password = password_of(&body.user)?;
    users::update(&state.services(), &current, &user, new_password).await?;
    Ok(Json(json!({"user": user_json(&state, &user, &base).await})))
}

/// `DELETE /v3/users/{id}`. Target: see `user_target`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, user) = user_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:delete_user", &target)?;
    users::delete(&state.services(), &user?).await?;
    Ok(StatusCode::NO_CONTENT)
}
