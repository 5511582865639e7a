//! `/v3/domains`: Keystone's domain API. Admin only. Disabling a domain
//! revokes every token scoped to it, and a domain must be disabled before
//! it can be deleted, as in Keystone.

use auth_core::AuthError;
use auth_core::store::{Domain, new_id};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::PublicBase;
use super::body::KeystoneJson;
use super::caller::Caller;
use crate::error::ServerError;
use crate::services::domains;
use crate::state::AppState;

/// `?name=` filter (how clients find a domain by name).
#[derive(Debug, Default, Deserialize)]
pub struct DomainQuery {
    name: Option<String>,
}

/// `{"domain": {...}}`.
#[derive(Debug, Deserialize)]
pub struct DomainEnvelope {
    domain: DomainBody,
}

#[derive(Debug, Deserialize)]
struct DomainBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

fn domain_json(d: &Domain, base: &str) -> Value {
    json!({
        "id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled,
        "tags": [], "options": {},
        "links": {"self": format!("{base}/v3/domains/{}", d.id)},
    })
}

fn name_of(name: Option<String>) -> Result<String, AuthError> {
    super::required_name(name, 64)
}

/// `POST /v3/domains`.
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<DomainEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("create_domain")?;
    let body = body.domain;
    let domain = Domain {
        id: new_id(),
        name: name_of(body.name)?,
        description: body.description.unwrap_or_default(),
        enabled: body.enabled.unwrap_or(true),
    };
    domains::create(&state.services(), &domain).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"domain": domain_json(&domain, &base)})),
    )
        .into_response())
}

/// `GET /v3/domains`.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<DomainQuery>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("list_domains")?;
    let domains: Vec<Value> = state
        .storage()
        .list_domains()
        .await?
        .iter()
        .filter(|d| super::name_matches(query.name.as_deref(), &d.name))
        .map(|d| domain_json(d, &base))
        .collect();
    let links = super::collection_links(&base, "/v3/domains");
    Ok(Json(json!({"domains": domains, "links": links})).into_response())
}

/// `GET /v3/domains/{id}`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("get_domain")?;
    let domain = state.storage().get_domain(&id).await?;
    Ok(Json(json!({"domain": domain_json(&domain, &base)})).into_response())
}

/// `PATCH /v3/domains/{id}`; disabling a domain revokes its tokens.
pub async fn update(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<DomainEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("update_domain")?;
    let body = body.domain;
    let current = state.storage().get_domain(&id).await?;
    let mut domain = current.clone();
    if body.name.is_some() {
        domain.name = name_of(body.name)?;
    }
    if let Some(description) = body.description {
        domain.description = description;
    }
    if let Some(enabled) = body.enabled {
        domain.enabled = enabled;
    }
    domains::update(&state.services(), &current, &domain).await?;
    Ok(Json(json!({"domain": domain_json(&domain, &base)})).into_response())
}

/// `DELETE /v3/domains/{id}`: only a disabled domain, as in Keystone (403
/// otherwise); one still holding users, projects, groups or roles is a 409.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin("delete_domain")?;
    let domain = state.storage().get_domain(&id).await?;
    domains::delete(&state.services(), &domain).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
