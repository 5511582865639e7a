//! `/v3/credentials`: TOTP secrets and other credentials (encrypted at
//! rest by the store).

use auth_core::AuthError;
use auth_core::store::{Credential, new_id};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::PublicBase;
use super::body::KeystoneJson;
use super::caller::Caller;
use crate::error::ServerError;
use crate::services::credentials;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
struct CredentialBody {
    user_id: String,
    #[serde(rename = "type")]
    kind: String,
    blob: SecretString,
    #[serde(default)]
    project_id: Option<String>,
}

/// `{"credential": {...}}`.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    credential: CredentialBody,
}

fn credential_json(c: &Credential, base: &str) -> Value {
    json!({
        "id": c.id,
        "user_id": c.user_id,
        "type": c.kind,
        "blob": c.blob.expose_secret(),
        "project_id": c.project_id,
        "links": {"self": format!("{base}/v3/credentials/{}", c.id)},
    })
}

/// `POST /v3/credentials` (admin, or the user for itself).
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<Envelope>,
) -> Result<impl IntoResponse, ServerError> {
    let body = body.credential;
    caller.require_admin_or_self(&body.user_id, "create_credential")?;
    if body.kind.is_empty() || body.kind.len() > 64 {
        return Err(AuthError::bad_request("'credential.type' must be 1 to 64 characters").into());
    }
    let credential = Credential {
        id: new_id(),
        user_id: body.user_id,
        kind: body.kind,
        project_id: body.project_id,
        blob: body.blob,
    };
    credentials::create(&state.services(), &credential).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"credential": credential_json(&credential, &base)})),
    )
        .into_response())
}

/// `?user_id=&type=` filters.
#[derive(Debug, Default, Deserialize)]
pub struct CredentialQuery {
    user_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `GET /v3/credentials`: every credential for an admin, else the
/// caller's own.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<CredentialQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let user = if caller.is_admin() {
        query.user_id
    } else {
        Some(caller.claims.sub.clone())
    };
    let credentials: Vec<Value> = state
        .storage()
        .list_all_credentials(user.as_deref())
        .await?
        .iter()
        .filter(|c| query.kind.as_ref().is_none_or(|k| *k == c.kind))
        .map(|c| credential_json(c, &base))
        .collect();
    let links = super::collection_links(&base, "/v3/credentials");
    Ok(Json(json!({"credentials": credentials, "links": links})).into_response())
}

/// `GET /v3/credentials/{id}` (admin or the owner).
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let credential = state.storage().get_credential(&id).await?;
    caller.require_admin_or_self(&credential.user_id, "get_credential")?;
    Ok(Json(json!({"credential": credential_json(&credential, &base)})).into_response())
}

/// `DELETE /v3/credentials/{id}` (admin or the owner).
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let credential = state.storage().get_credential(&id).await?;
    caller.require_admin_or_self(&credential.user_id, "delete_credential")?;
    credentials::delete(&state.services(), &credential).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
