//! `/v3/domains`: Keystone's domain API, each call asking the policy with
//! the target Keystone's `keystone/api/domains.py` builds. Disabling a domain
//! revokes every token scoped to it, and a domain must be disabled before
//! it can be deleted, with everything it holds, as in Keystone.

use auth_core::AuthError;
use auth_core::store::{Domain, new_id};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::{PublicBase, targets};
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::domains;
use crate::state::AppState;

/// `?name=&enabled=` filters (`name`: how clients find a domain by name).
#[derive(Debug, Default, Deserialize)]
pub struct DomainQuery {
    name: Option<String>,
    enabled: Option<String>,
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

/// The target of a call on one domain: `domain_id` from the path and
/// `target.domain`.
fn domain_target(domain_id: &str, domain: &Domain) -> Target {
    Target::new()
        .with("domain_id", domain_id)
        .with_object("target.domain", &targets::domain(domain))
}

/// `POST /v3/domains`. Target: none (Keystone's `DomainsResource.post`).
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<DomainEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:create_domain", &Target::new())?;
    let body = body.domain;
    let domain = Domain::new(new_id(), name_of(body.name)?)
        .with_description(body.description.unwrap_or_default())
        .with_enabled(body.enabled.unwrap_or(true));
    domains::create(&state.services(), &domain).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"domain": domain_json(&domain, &base)})),
    ))
}

/// `GET /v3/domains`. Target: for a domain-scoped token,
/// `target.domain.id` is its domain; the `name` filter under
/// `filter_attr`. Such a token lists its own domain only, as Keystone.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<DomainQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let scoped = caller.domain_scope();
    let mut target = Target::new();
    if let Some(domain) = scoped {
        target = target.with("target.domain.id", domain);
    }
    let target = targets::with_filters(
        target,
        [
            ("name", query.name.as_deref()),
            ("enabled", query.enabled.as_deref()),
        ],
    );
    super::authorize(&state, &caller, "identity:list_domains", &target)?;
    let enabled = query.enabled.as_deref().map(super::projects::filter_bool);
    let domains: Vec<Value> = state
        .storage()
        .list_domains()
        .await?
        .iter()
        .filter(|d| {
            super::name_matches(query.name.as_deref(), &d.name)
                && scoped.is_none_or(|s| s == d.id)
                && enabled.is_none_or(|e| e == d.enabled)
        })
        .map(|d| domain_json(d, &base))
        .collect();
    let links = super::collection_links(&base, "/v3/domains");
    Ok(Json(json!({"domains": domains, "links": links})))
}

/// `GET /v3/domains/{id}`. Target: `domain_id` and, when the domain
/// exists, `target.domain` (Keystone's `_build_domain_enforcement_target`;
/// a missing domain's 404 comes after the policy, see [`super::deferred`]).
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, domain) = super::object_target(
        state.storage().get_domain(&id).await,
        ("domain_id", &id),
        ("target.domain", targets::domain),
    )?;
    super::authorize(&state, &caller, "identity:get_domain", &target)?;
    Ok(Json(json!({"domain": domain_json(&domain?, &base)})))
}

/// `PATCH /v3/domains/{id}`; disabling a domain revokes its tokens.
/// Target: `domain_id` and `target.domain`, which Keystone loads before the
/// policy check (its resource's member): a missing domain is a 404 whoever
/// asks.
pub async fn update(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<DomainEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let current = state.storage().get_domain(&id).await?;
    super::authorize(
        &state,
        &caller,
        "identity:update_domain",
        &domain_target(&id, &current),
    )?;
    let body = body.domain;
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
    Ok(Json(json!({"domain": domain_json(&domain, &base)})))
}

/// `DELETE /v3/domains/{id}`: only a disabled domain, as in Keystone (403
/// otherwise), and with it its projects, users, groups and roles (see
/// [`domains::delete`]). Target: as for an update.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let domain = state.storage().get_domain(&id).await?;
    super::authorize(
        &state,
        &caller,
        "identity:delete_domain",
        &domain_target(&id, &domain),
    )?;
    domains::delete(&state.services(), &domain).await?;
    Ok(StatusCode::NO_CONTENT)
}
