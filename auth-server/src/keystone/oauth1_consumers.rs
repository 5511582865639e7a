//! `/v3/OS-OAUTH1/consumers`: the OAuth1 consumers (applications that may
//! later ask a user to delegate roles), as Keystone keeps them: an id, a
//! description and a secret shown once, at creation. The secret is needed
//! again in clear to check HMAC-SHA1 signatures, so it cannot be hashed:
//! it is sealed with the credential key set, like every credential blob,
//! before it is stored.

use auth_core::AuthError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::PublicBase;
use super::body::KeystoneJson;
use super::caller::Caller;
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::documents::{self, OAUTH1_CONSUMERS};
use crate::services::oauth1;
use crate::state::AppState;

/// `{"consumer": {...}}`. A client may send a `secret` (refused): `Debug`
/// shows the member names only.
#[derive(Deserialize)]
pub struct Envelope {
    consumer: Map<String, Value>,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("members", &self.consumer.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn rendered(id: &str, stored: &Value, base: &str) -> Value {
    json!({
        "id": id,
        "description": stored.get("description").cloned().unwrap_or(Value::Null),
        "links": {"self": format!("{base}/v3/OS-OAUTH1/consumers/{id}")},
    })
}

/// The description a create or an update sends: a string or null.
fn description(consumer: &Map<String, Value>) -> Result<Option<String>, AuthError> {
    match consumer.get("description") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(AuthError::bad_request(
            "'consumer.description' must be a string",
        )),
    }
}

fn not_found(id: &str) -> AuthError {
    AuthError::NotFound {
        what: format!("consumer: {id}"),
    }
}

/// `POST /v3/OS-OAUTH1/consumers`: the secret is in this answer only.
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<Envelope>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:create_consumer", &Target::new())?;
    if body.consumer.contains_key("secret") || body.consumer.contains_key("id") {
        return Err(
            AuthError::bad_request("a consumer's id and secret are made by the server").into(),
        );
    }
    let description = description(&body.consumer)?;
    let (id, stored, secret) =
        oauth1::create_consumer(&state.services(), state.credential_keys(), description).await?;
    let mut consumer = rendered(&id, &stored, &base);
    consumer["secret"] = json!(secrecy::ExposeSecret::expose_secret(&secret));
    Ok((StatusCode::CREATED, Json(json!({"consumer": consumer}))))
}

/// `GET /v3/OS-OAUTH1/consumers`.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:list_consumers", &Target::new())?;
    let consumers: Vec<Value> = state
        .storage()
        .list_documents(OAUTH1_CONSUMERS)
        .await?
        .iter()
        .map(|(id, stored)| rendered(id, stored, &base))
        .collect();
    let links = super::collection_links(&base, "/v3/OS-OAUTH1/consumers");
    Ok(Json(json!({"consumers": consumers, "links": links})))
}

/// `GET /v3/OS-OAUTH1/consumers/{id}`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:get_consumer", &Target::new())?;
    let stored = state
        .storage()
        .get_document(OAUTH1_CONSUMERS, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(json!({"consumer": rendered(&id, &stored, &base)})))
}

/// `PATCH /v3/OS-OAUTH1/consumers/{id}`: the description only (a secret
/// is a 400, as Keystone; an id other than the path's too).
pub async fn update(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<Envelope>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:update_consumer", &Target::new())?;
    if body.consumer.contains_key("secret") {
        return Err(AuthError::bad_request("a consumer's secret cannot be changed").into());
    }
    if body
        .consumer
        .get("id")
        .is_some_and(|sent| sent != &json!(id))
    {
        return Err(AuthError::bad_request("a consumer's id cannot be changed").into());
    }
    let description = description(&body.consumer)?;
    let mut stored = state
        .storage()
        .get_document(OAUTH1_CONSUMERS, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    stored["description"] = json!(description);
    documents::put(&state.services(), OAUTH1_CONSUMERS, &id, &stored).await?;
    Ok(Json(json!({"consumer": rendered(&id, &stored, &base)})))
}

/// `DELETE /v3/OS-OAUTH1/consumers/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:delete_consumer", &Target::new())?;
    oauth1::delete_consumer(&state.services(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
