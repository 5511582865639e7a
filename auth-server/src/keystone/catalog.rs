//! `/v3/services`, `/v3/endpoints` and `/v3/regions`: Keystone's catalog
//! administration (`keystone/api/{services,endpoints,regions}.py`). Each
//! call asks the policy with no target but its list filters, as Keystone
//! does, and the bodies are checked against Keystone's schemas
//! (`keystone/catalog/schema.py`): what they do not name is kept as the
//! object's free-form attributes and shown with it.

use auth_core::AuthError;
use auth_core::store::{Endpoint, Region, Service, new_id};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::{PublicBase, targets};
use crate::catalog::{check_endpoint_url, endpoint_fields};
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::catalog::{self, RegionGiven};
use crate::state::AppState;

/// The object under `key` in a request body (Keystone's schemas require
/// it, as an object).
pub(super) fn member(body: Value, key: &str) -> Result<Map<String, Value>, AuthError> {
    match body {
        Value::Object(mut outer) => match outer.remove(key) {
            Some(Value::Object(inner)) => Ok(inner),
            _ => Err(AuthError::bad_request(format!(
                "Invalid input for field '{key}': an object is required."
            ))),
        },
        _ => Err(AuthError::bad_request(format!(
            "'{key}' is a required property"
        ))),
    }
}

/// An update's object: at least one property, and an `id` only if it is
/// the path's (Keystone's `_require_matching_id`).
pub(super) fn update_member(
    body: Value,
    key: &str,
    id: &str,
) -> Result<Map<String, Value>, AuthError> {
    let fields = member(body, key)?;
    if fields.is_empty() {
        return Err(AuthError::bad_request(format!(
            "Invalid input for field '{key}': {{}} does not have enough properties"
        )));
    }
    match fields.get("id") {
        Some(given) if given.as_str() != Some(id) => {
            Err(AuthError::bad_request("Cannot change ID"))
        }
        _ => Ok(fields),
    }
}

fn invalid(field: &str, what: &str) -> AuthError {
    AuthError::bad_request(format!("Invalid input for field '{field}': {what}"))
}

/// A string field of 1 to `max` characters, if present.
pub(super) fn string(
    fields: &Map<String, Value>,
    field: &str,
    min: usize,
    max: usize,
) -> Result<Option<String>, AuthError> {
    match fields.get(field) {
        None => Ok(None),
        Some(Value::String(s)) if (min..=max).contains(&s.chars().count()) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(
            field,
            &format!("a string of {min} to {max} characters is required"),
        )),
    }
}

/// A string-or-null field: `None` absent, `Some(None)` null.
pub(super) fn nullable_string(
    fields: &Map<String, Value>,
    field: &str,
) -> Result<Option<Option<String>>, AuthError> {
    match fields.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(invalid(field, "a string or null is required")),
    }
}

fn boolean(fields: &Map<String, Value>, field: &str) -> Result<Option<bool>, AuthError> {
    match fields.get(field) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(field, "a boolean is required")),
    }
}

/// `fields` without the named ones (and without `id` and `links`): the
/// free-form attributes.
fn extra_of(fields: &Map<String, Value>, named: &[&str]) -> Map<String, Value> {
    fields
        .iter()
        .filter(|(k, _)| !named.contains(&k.as_str()) && *k != "id" && *k != "links")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A list's `links` and its members under `key`.
fn collection(base: &str, path: &str, key: &str, members: Vec<Value>) -> Value {
    json!({key: members, "links": super::collection_links(base, path)})
}

// ---- services ----

const SERVICE_FIELDS: [&str; 3] = ["type", "name", "enabled"];

fn service_json(s: &Service, base: &str) -> Value {
    let mut fields = s.extra.clone();
    fields.insert("id".into(), json!(s.id));
    fields.insert("type".into(), json!(s.kind));
    fields.insert("name".into(), json!(s.name));
    fields.insert("enabled".into(), json!(s.enabled));
    fields.insert(
        "links".into(),
        json!({"self": format!("{base}/v3/services/{}", s.id)}),
    );
    Value::Object(fields)
}

/// `?type=&name=`.
#[derive(Debug, Default, Deserialize)]
pub struct ServiceQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
}

/// `GET /v3/services`.
pub async fn list_services(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<ServiceQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let target = targets::with_filters(
        Target::new(),
        [
            ("type", query.kind.as_deref()),
            ("name", query.name.as_deref()),
        ],
    );
    super::authorize(&state, &caller, "identity:list_services", &target)?;
    let services = state
        .storage()
        .list_services()
        .await?
        .iter()
        .filter(|s| query.kind.as_deref().is_none_or(|k| k == s.kind))
        .filter(|s| super::name_matches(query.name.as_deref(), &s.name))
        .map(|s| service_json(s, &base))
        .collect();
    Ok(Json(collection(
        &base,
        "/v3/services",
        "services",
        services,
    )))
}

/// `POST /v3/services` (201): `type` required, `name` and `enabled`
/// optional, anything else kept.
pub async fn create_service(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<Value>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:create_service", &Target::new())?;
    let fields = member(body, "service")?;
    let kind = string(&fields, "type", 1, 255)?
        .ok_or_else(|| AuthError::bad_request("'type' is a required property"))?;
    let name = string(&fields, "name", 1, 255)?.unwrap_or_default();
    let enabled = boolean(&fields, "enabled")?.unwrap_or(true);
    let service = Service::new(new_id(), kind, name)
        .with_enabled(enabled)
        .with_extra(extra_of(&fields, &SERVICE_FIELDS));
    catalog::create_service(&state.services(), &service).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"service": service_json(&service, &base)})),
    ))
}

/// `GET /v3/services/{id}`.
pub async fn get_service(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:get_service", &Target::new())?;
    let service = state.storage().get_service(&id).await?;
    Ok(Json(json!({"service": service_json(&service, &base)})))
}

/// `PATCH /v3/services/{id}`: the fields given replace the stored ones.
pub async fn update_service(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<Value>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:update_service", &Target::new())?;
    let fields = update_member(body, "service", &id)?;
    let kind = string(&fields, "type", 1, 255)?;
    let name = string(&fields, "name", 1, 255)?;
    let enabled = boolean(&fields, "enabled")?;
    let mut service = state.storage().get_service(&id).await?;
    if let Some(kind) = kind {
        service.kind = kind;
    }
    if let Some(name) = name {
        service.name = name;
    }
    if let Some(enabled) = enabled {
        service.enabled = enabled;
    }
    service.extra.extend(extra_of(&fields, &SERVICE_FIELDS));
    catalog::update_service(&state.services(), &service).await?;
    Ok(Json(json!({"service": service_json(&service, &base)})))
}

/// `DELETE /v3/services/{id}` (204): its endpoints go with it.
pub async fn delete_service(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:delete_service", &Target::new())?;
    catalog::delete_service(&state.services(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- endpoints ----

const ENDPOINT_FIELDS: [&str; 7] = [
    "interface",
    "service_id",
    "url",
    "region",
    "region_id",
    "enabled",
    "legacy_endpoint_id",
];

pub(super) fn endpoint_json(e: &Endpoint, base: &str) -> Value {
    let mut fields = endpoint_fields(e);
    fields.insert(
        "links".into(),
        json!({"self": format!("{base}/v3/endpoints/{}", e.id)}),
    );
    Value::Object(fields)
}

fn interface(fields: &Map<String, Value>) -> Result<Option<String>, AuthError> {
    match fields.get("interface") {
        None => Ok(None),
        Some(Value::String(s)) if ["admin", "internal", "public"].contains(&s.as_str()) => {
            Ok(Some(s.clone()))
        }
        Some(_) => Err(invalid(
            "interface",
            "one of 'admin', 'internal', 'public' is required",
        )),
    }
}

/// A URL as Keystone's schema has it (`^[a-zA-Z0-9+.-]+:.+`, at most 225
/// characters) with only allowed substitutions.
fn url(fields: &Map<String, Value>) -> Result<Option<String>, AuthError> {
    let Some(url) = string(fields, "url", 0, 225)? else {
        return Ok(None);
    };
    let scheme_ok = url.split_once(':').is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && !rest.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    });
    if !scheme_ok {
        return Err(invalid("url", "a URL with a scheme is required"));
    }
    check_endpoint_url(&url)?;
    Ok(Some(url))
}

/// The region an endpoint body names (Keystone's
/// `_validate_endpoint_region`): `region_id` if given and not null,
/// otherwise the legacy `region`, which is created if missing. `None`:
/// neither names one; `Some(None)`: `region_id` given as null.
fn region_of(
    fields: &Map<String, Value>,
) -> Result<Option<(Option<String>, RegionGiven)>, AuthError> {
    let region_id = nullable_string(fields, "region_id")?;
    let region = nullable_string(fields, "region")?;
    Ok(match (region_id, region) {
        (Some(Some(id)), _) => Some((Some(id), RegionGiven::Id)),
        (_, Some(Some(legacy))) => Some((Some(legacy), RegionGiven::Legacy)),
        (Some(None), _) => Some((None, RegionGiven::Id)),
        (None, _) => None,
    })
}

/// `?interface=&service_id=&region_id=`.
#[derive(Debug, Default, Deserialize)]
pub struct EndpointQuery {
    interface: Option<String>,
    service_id: Option<String>,
    region_id: Option<String>,
}

/// `GET /v3/endpoints`.
pub async fn list_endpoints(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<EndpointQuery>,
) -> Result<impl IntoResponse, ServerError> {
    if let Some(i) = &query.interface
        && !["admin", "internal", "public"].contains(&i.as_str())
    {
        return Err(invalid(
            "interface",
            "one of 'admin', 'internal', 'public' is required",
        )
        .into());
    }
    let target = targets::with_filters(
        Target::new(),
        [
            ("interface", query.interface.as_deref()),
            ("service_id", query.service_id.as_deref()),
            ("region_id", query.region_id.as_deref()),
        ],
    );
    super::authorize(&state, &caller, "identity:list_endpoints", &target)?;
    let endpoints = state
        .storage()
        .list_endpoints()
        .await?
        .iter()
        .filter(|e| query.interface.as_deref().is_none_or(|i| i == e.interface))
        .filter(|e| {
            query
                .service_id
                .as_deref()
                .is_none_or(|s| s == e.service_id)
        })
        .filter(|e| {
            query
                .region_id
                .as_deref()
                .is_none_or(|r| e.region.as_deref() == Some(r))
        })
        .map(|e| endpoint_json(e, &base))
        .collect();
    Ok(Json(collection(
        &base,
        "/v3/endpoints",
        "endpoints",
        endpoints,
    )))
}

/// `POST /v3/endpoints` (201): `interface`, `service_id` and `url`
/// required; the region as `region_id` (which must exist) or as the
/// legacy `region` (created if missing).
pub async fn create_endpoint(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<Value>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:create_endpoint", &Target::new())?;
    let fields = member(body, "endpoint")?;
    let interface = interface(&fields)?
        .ok_or_else(|| AuthError::bad_request("'interface' is a required property"))?;
    let service_id = match fields.get("service_id") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid("service_id", "a string is required").into()),
        None => return Err(AuthError::bad_request("'service_id' is a required property").into()),
    };
    let url =
        url(&fields)?.ok_or_else(|| AuthError::bad_request("'url' is a required property"))?;
    let enabled = boolean(&fields, "enabled")?.unwrap_or(true);
    let (region, given) = region_of(&fields)?.unwrap_or((None, RegionGiven::Id));
    let mut endpoint = Endpoint::new(new_id(), service_id, interface, url)
        .with_enabled(enabled)
        .with_extra(extra_of(&fields, &ENDPOINT_FIELDS));
    endpoint.region = region;
    catalog::create_endpoint(&state.services(), &endpoint, given).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"endpoint": endpoint_json(&endpoint, &base)})),
    ))
}

/// `GET /v3/endpoints/{id}`.
pub async fn get_endpoint(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:get_endpoint", &Target::new())?;
    let endpoint = state.storage().get_endpoint(&id).await?;
    Ok(Json(json!({"endpoint": endpoint_json(&endpoint, &base)})))
}

/// `PATCH /v3/endpoints/{id}`: the fields given replace the stored ones.
pub async fn update_endpoint(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<Value>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:update_endpoint", &Target::new())?;
    let fields = update_member(body, "endpoint", &id)?;
    let interface = interface(&fields)?;
    let service_id = match fields.get("service_id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("service_id", "a string is required").into()),
        None => None,
    };
    let url = url(&fields)?;
    let enabled = boolean(&fields, "enabled")?;
    let region = region_of(&fields)?;
    let mut endpoint = state.storage().get_endpoint(&id).await?;
    if let Some(interface) = interface {
        endpoint.interface = interface;
    }
    if let Some(service_id) = service_id {
        endpoint.service_id = service_id;
    }
    if let Some(url) = url {
        endpoint.url = url;
    }
    if let Some(enabled) = enabled {
        endpoint.enabled = enabled;
    }
    let given = match region {
        Some((region, given)) => {
            endpoint.region = region;
            given
        }
        None => RegionGiven::Id,
    };
    endpoint.extra.extend(extra_of(&fields, &ENDPOINT_FIELDS));
    catalog::update_endpoint(&state.services(), &endpoint, given).await?;
    Ok(Json(json!({"endpoint": endpoint_json(&endpoint, &base)})))
}

/// `DELETE /v3/endpoints/{id}` (204).
pub async fn delete_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:delete_endpoint", &Target::new())?;
    catalog::delete_endpoint(&state.services(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- regions ----

const REGION_FIELDS: [&str; 2] = ["description", "parent_region_id"];

fn region_json(r: &Region, base: &str) -> Value {
    let mut fields = r.extra.clone();
    fields.insert("id".into(), json!(r.id));
    fields.insert("description".into(), json!(r.description));
    fields.insert("parent_region_id".into(), json!(r.parent_region_id));
    fields.insert(
        "links".into(),
        json!({"self": format!("{base}/v3/regions/{}", r.id)}),
    );
    Value::Object(fields)
}

/// A region's `description` (at most 255 characters, null for empty) and
/// `parent_region_id` (1 to 255 characters, or null for none), if given.
fn region_fields(
    fields: &Map<String, Value>,
) -> Result<(Option<String>, Option<Option<String>>), AuthError> {
    let description = match nullable_string(fields, "description")? {
        Some(Some(d)) if d.chars().count() > 255 => {
            return Err(invalid("description", "at most 255 characters"));
        }
        Some(d) => Some(d.unwrap_or_default()),
        None => None,
    };
    let parent = match nullable_string(fields, "parent_region_id")? {
        Some(Some(p)) if !(1..=255).contains(&p.chars().count()) => {
            return Err(invalid("parent_region_id", "1 to 255 characters"));
        }
        parent => parent,
    };
    Ok((description, parent))
}

/// Creates the region `fields` describe under `id` (201).
async fn create_region_with(
    state: &AppState,
    base: &str,
    id: String,
    fields: &Map<String, Value>,
) -> Result<(StatusCode, Json<Value>), ServerError> {
    let (description, parent) = region_fields(fields)?;
    let region = Region::new(id)
        .with_description(description.unwrap_or_default())
        .with_parent(parent.flatten())
        .with_extra(extra_of(fields, &REGION_FIELDS));
    catalog::create_region(&state.services(), &region).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"region": region_json(&region, base)})),
    ))
}

/// `?parent_region_id=`.
#[derive(Debug, Default, Deserialize)]
pub struct RegionQuery {
    parent_region_id: Option<String>,
}

/// `GET /v3/regions`.
pub async fn list_regions(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<RegionQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let target = targets::with_filters(
        Target::new(),
        [("parent_region_id", query.parent_region_id.as_deref())],
    );
    super::authorize(&state, &caller, "identity:list_regions", &target)?;
    let regions = state
        .storage()
        .list_regions()
        .await?
        .iter()
        .filter(|r| {
            query
                .parent_region_id
                .as_deref()
                .is_none_or(|p| r.parent_region_id.as_deref() == Some(p))
        })
        .map(|r| region_json(r, &base))
        .collect();
    Ok(Json(collection(&base, "/v3/regions", "regions", regions)))
}

/// `POST /v3/regions` (201): with the `id` given (Keystone still accepts
/// one here), or a new one.
pub async fn create_region(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<Value>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:create_region", &Target::new())?;
    let fields = member(body, "region")?;
    let id = match nullable_string(&fields, "id")?.flatten() {
        Some(id) if id.chars().count() > 255 => {
            return Err(invalid("id", "at most 255 characters").into());
        }
        Some(id) if !id.is_empty() => id,
        _ => new_id(),
    };
    create_region_with(&state, &base, id, &fields).await
}

/// `PUT /v3/regions/{id}` (201): creates the region with the path's id; a
/// different `id` in the body is a 400.
pub async fn put_region(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<Value>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:create_region", &Target::new())?;
    let fields = member(body, "region")?;
    if let Some(given) = nullable_string(&fields, "id")?.flatten()
        && given != id
    {
        return Err(AuthError::bad_request(format!(
            "Conflicting region IDs specified: \"{id}\" != \"{given}\""
        ))
        .into());
    }
    create_region_with(&state, &base, id, &fields).await
}

/// `GET /v3/regions/{id}`.
pub async fn get_region(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:get_region", &Target::new())?;
    let region = state.storage().get_region(&id).await?;
    Ok(Json(json!({"region": region_json(&region, &base)})))
}

/// `PATCH /v3/regions/{id}`: a new parent must exist and close no cycle.
pub async fn update_region(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<Value>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:update_region", &Target::new())?;
    let fields = update_member(body, "region", &id)?;
    let (description, parent) = region_fields(&fields)?;
    let mut region = state.storage().get_region(&id).await?;
    if let Some(description) = description {
        region.description = description;
    }
    if let Some(parent) = parent {
        region.parent_region_id = parent;
    }
    region.extra.extend(extra_of(&fields, &REGION_FIELDS));
    catalog::update_region(&state.services(), &region).await?;
    Ok(Json(json!({"region": region_json(&region, &base)})))
}

/// `DELETE /v3/regions/{id}` (204): with the regions below it; 403 if any
/// of them has endpoints.
pub async fn delete_region(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(&state, &caller, "identity:delete_region", &Target::new())?;
    catalog::delete_region(&state.services(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
