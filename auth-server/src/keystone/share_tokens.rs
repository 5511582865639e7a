//! Share tokens, for administrators: `GET /v3/imaging/share-tokens` lists
//! them (never the tokens themselves, which are not stored) and `DELETE
//! /v3/imaging/share-tokens/{id}` revokes one. The imaging doors create
//! them ([`crate::orthanc::share_tokens`]).

use auth_core::store::ShareToken;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::caller::Caller;
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::imaging as service;
use crate::state::AppState;

/// `GET /v3/imaging/share-tokens` (`identity:list_share_tokens`), oldest
/// first.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:list_share_tokens",
        &Target::new(),
    )?;
    let tokens = service::list_share_tokens(&state.services()).await?;
    let tokens: Vec<Value> = tokens.iter().map(share_token_json).collect();
    Ok(Json(json!({"share_tokens": tokens})))
}

/// `DELETE /v3/imaging/share-tokens/{id}` (`identity:revoke_share_token`):
/// 204; every node refuses the token from its next call.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:revoke_share_token",
        &Target::new(),
    )?;
    service::revoke_share_token(&state.services(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn share_token_json(token: &ShareToken) -> Value {
    json!({
        "id": token.id,
        "type": token.token_type,
        "resources": token.resources,
        "server_id": token.server_id,
        "created_by": token.created_by,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
    })
}
