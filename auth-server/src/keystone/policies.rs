//! `/v3/policies`: policy blobs stored for other services, as Keystone
//! keeps them (its "policy" API: a `blob` and its MIME `type`, plus any
//! other attribute the caller sends). This server's own policy is not read
//! from them (see [`crate::policy`]); they are stored and served only.

use auth_core::AuthError;
use auth_core::store::new_id;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::{PublicBase, targets};
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::documents::{self, POLICIES};
use crate::state::AppState;

/// `{"policy": {...}}`.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    policy: Map<String, Value>,
}

/// Checks the attributes a create or an update sends: `blob` and `type`
/// strings (`type` at most 255 characters), no `id`. `creating` needs
/// both.
fn check(policy: &Map<String, Value>, creating: bool) -> Result<(), AuthError> {
    if policy.contains_key("id") {
        return Err(AuthError::bad_request("'id' cannot be set"));
    }
    for key in ["blob", "type"] {
        match policy.get(key) {
            Some(Value::String(text))
                if key != "type" || (!text.is_empty() && text.len() <= 255) => {}
            None if !creating => {}
            None => {
                return Err(AuthError::bad_request(format!(
                    "'{key}' is a required property"
                )));
            }
            Some(_) => {
                return Err(AuthError::bad_request(format!(
                    "'policy.{key}' must be a string (type: 1 to 255 characters)"
                )));
            }
        }
    }
    Ok(())
}

fn rendered(id: &str, stored: &Value, base: &str) -> Value {
    let mut policy = stored.as_object().cloned().unwrap_or_default();
    policy.insert("id".into(), json!(id));
    policy.insert(
        "links".into(),
        json!({"self": format!("{base}/v3/policies/{id}")}),
    );
    Value::Object(policy)
}

fn not_found(id: &str) -> AuthError {
    AuthError::NotFound {
        what: format!("policy: {id}"),
    }
}

/// `POST /v3/policies`.
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<Envelope>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:create_policy", &Target::new())?;
    check(&body.policy, true)?;
    let id = new_id();
    let stored = Value::Object(body.policy);
    documents::put(&state.services(), POLICIES, &id, &stored).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"policy": rendered(&id, &stored, &base)})),
    ))
}

/// `?type=`.
#[derive(Debug, Default, Deserialize)]
pub struct PolicyQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `GET /v3/policies`.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<PolicyQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let target = targets::with_filters(Target::new(), [("type", query.kind.as_deref())]);
    super::authorize(&state, &caller, "identity:list_policies", &target)?;
    let policies: Vec<Value> = state
        .storage()
        .list_documents(POLICIES)
        .await?
        .iter()
        .filter(|(_, p)| query.kind.as_deref().is_none_or(|k| p["type"] == k))
        .map(|(id, p)| rendered(id, p, &base))
        .collect();
    let links = super::collection_links(&base, "/v3/policies");
    Ok(Json(json!({"policies": policies, "links": links})))
}

/// `GET /v3/policies/{id}`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:get_policy", &Target::new())?;
    let stored = state
        .storage()
        .get_document(POLICIES, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(json!({"policy": rendered(&id, &stored, &base)})))
}

/// `PATCH /v3/policies/{id}`: the attributes sent replace those stored.
pub async fn update(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<Envelope>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:update_policy", &Target::new())?;
    check(&body.policy, false)?;
    let stored = state
        .storage()
        .get_document(POLICIES, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let mut policy = stored.as_object().cloned().unwrap_or_default();
    policy.extend(body.policy);
    let stored = Value::Object(policy);
    documents::put(&state.services(), POLICIES, &id, &stored).await?;
    Ok(Json(json!({"policy": rendered(&id, &stored, &base)})))
}

/// `DELETE /v3/policies/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:delete_policy", &Target::new())?;
    documents::delete(&state.services(), POLICIES, &id, "policy").await?;
    Ok(StatusCode::NO_CONTENT)
}
