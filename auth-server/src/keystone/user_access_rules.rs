//! `/v3/users/{user_id}/access_rules`: a user's access rules, shared by
//! their application credentials (see
//! `services::application_credentials`), listed, shown and deleted as
//! Keystone does: a rule an application credential still names cannot be
//! deleted (403).

use auth_core::AuthError;
use auth_core::store::AccessRule;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::PublicBase;
use super::application_credentials;
use super::caller::Caller;
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::application_credentials as services;
use crate::state::AppState;

fn rule_json(rule: &AccessRule, user_id: &str, base: &str) -> Value {
    json!({
        "id": rule.id,
        "service": rule.service,
        "path": rule.path,
        "method": rule.method,
        "links": {"self": format!("{base}/v3/users/{user_id}/access_rules/{}", rule.id)},
    })
}

fn target(user_id: &str) -> Target {
    Target::new().with("target.user.id", user_id)
}

/// `GET /v3/users/{user_id}/access_rules`.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:list_access_rules",
        &target(&user_id),
    )?;
    application_credentials::refuse_delegated(&caller)?;
    let rules: Vec<Value> = state
        .storage()
        .list_access_rules(&user_id)
        .await?
        .iter()
        .map(|r| rule_json(r, &user_id, &base))
        .collect();
    let links = super::collection_links(&base, &format!("/v3/users/{user_id}/access_rules"));
    Ok(Json(json!({"access_rules": rules, "links": links})))
}

/// `GET /v3/users/{user_id}/access_rules/{rule_id}`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path((user_id, rule_id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:get_access_rule",
        &target(&user_id),
    )?;
    application_credentials::refuse_delegated(&caller)?;
    let rule = state
        .storage()
        .list_access_rules(&user_id)
        .await?
        .into_iter()
        .find(|r| r.id == rule_id)
        .ok_or(AuthError::NotFound {
            what: format!("access rule: {rule_id}"),
        })?;
    Ok(Json(
        json!({"access_rule": rule_json(&rule, &user_id, &base)}),
    ))
}

/// `DELETE /v3/users/{user_id}/access_rules/{rule_id}`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((user_id, rule_id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:delete_access_rule",
        &target(&user_id),
    )?;
    application_credentials::refuse_delegated(&caller)?;
    services::delete_access_rule(&state.services(), &user_id, &rule_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
