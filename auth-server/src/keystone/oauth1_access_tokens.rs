//! `/v3/users/{user_id}/OS-OAUTH1/access_tokens`: the OAuth1 access tokens
//! a user authorized, listed, shown (never their secret) and deleted (the
//! tokens issued from one end with it), and the roles each delegates.
//! None of these may be called with a delegated token (Keystone's
//! `_block_delegated_token`), except the role listings.

use auth_core::AuthError;
use auth_core::store::OAuth1AccessToken;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::PublicBase;
use super::caller::Caller;
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::oauth1;
use crate::state::AppState;
use crate::token_body::timestamp;

fn access_token_json(access: &OAuth1AccessToken, base: &str) -> Value {
    let at = format!(
        "{base}/v3/users/{}/OS-OAUTH1/access_tokens/{}",
        access.authorizing_user_id, access.id
    );
    json!({
        "id": access.id,
        "consumer_id": access.consumer_id,
        "authorizing_user_id": access.authorizing_user_id,
        "project_id": access.project_id,
        "expires_at": access.expires_at.map(timestamp),
        "links": {"self": at, "roles": format!("{at}/roles")},
    })
}

fn target(user_id: &str) -> Target {
    Target::new().with("target.user.id", user_id)
}

/// Keystone's 403 for a delegated caller.
fn block_delegated(caller: &Caller) -> Result<(), ServerError> {
    let claims = caller.claims();
    if claims.app_cred_id.is_some() || claims.access_token_id.is_some() {
        return Err(AuthError::Forbidden(
            "Cannot manage OAuth access tokens with a token issued via delegation.".into(),
        )
        .into());
    }
    Ok(())
}

/// `GET /v3/users/{user_id}/OS-OAUTH1/access_tokens`.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:list_access_tokens",
        &target(&user_id),
    )?;
    block_delegated(&caller)?;
    let tokens: Vec<Value> = state
        .storage()
        .list_oauth1_access_tokens(&user_id)
        .await?
        .iter()
        .map(|t| access_token_json(t, &base))
        .collect();
    let links = super::collection_links(
        &base,
        &format!("/v3/users/{user_id}/OS-OAUTH1/access_tokens"),
    );
    Ok(Json(json!({"access_tokens": tokens, "links": links})))
}

/// `GET /v3/users/{user_id}/OS-OAUTH1/access_tokens/{id}`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path((user_id, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:get_access_token",
        &target(&user_id),
    )?;
    block_delegated(&caller)?;
    let access = oauth1::user_access_token(&state.services(), &user_id, &id).await?;
    Ok(Json(
        json!({"access_token": access_token_json(&access, &base)}),
    ))
}

/// `DELETE /v3/users/{user_id}/OS-OAUTH1/access_tokens/{id}`: Keystone
/// asks the policy of deleting an EC2 credential of that user.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((user_id, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:ec2_delete_credential",
        &target(&user_id).with("target.credential.user_id", user_id.as_str()),
    )?;
    block_delegated(&caller)?;
    oauth1::delete_access_token(&state.services(), &user_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A delegated role as Keystone shows it: the role without its
/// description.
async fn role_json(state: &AppState, role_id: &str, base: &str) -> Result<Value, AuthError> {
    let role = state.storage().get_role(role_id).await?;
    Ok(json!({
        "id": role.id,
        "name": role.name,
        "domain_id": role.domain_id,
        "links": {"self": format!("{base}/v3/roles/{}", role.id)},
    }))
}

/// `GET /v3/users/{user_id}/OS-OAUTH1/access_tokens/{id}/roles`.
pub async fn list_roles(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path((user_id, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:list_access_token_roles",
        &target(&user_id),
    )?;
    let access = oauth1::user_access_token(&state.services(), &user_id, &id).await?;
    let mut roles = Vec::new();
    for role_id in &access.role_ids {
        // A role deleted since is no longer delegated.
        match role_json(&state, role_id, &base).await {
            Ok(role) => roles.push(role),
            Err(AuthError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let links = super::collection_links(
        &base,
        &format!("/v3/users/{user_id}/OS-OAUTH1/access_tokens/{id}/roles"),
    );
    Ok(Json(json!({"roles": roles, "links": links})))
}

/// `GET /v3/users/{user_id}/OS-OAUTH1/access_tokens/{id}/roles/{role_id}`.
pub async fn get_role(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path((user_id, id, role_id)): Path<(String, String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:get_access_token_role",
        &target(&user_id),
    )?;
    let access = oauth1::user_access_token(&state.services(), &user_id, &id).await?;
    if !access.role_ids.contains(&role_id) {
        return Err(AuthError::NotFound {
            what: format!("role: {role_id}"),
        }
        .into());
    }
    Ok(Json(
        json!({"role": role_json(&state, &role_id, &base).await?}),
    ))
}
