//! `PUT tokens/{type}` creates a share token; `POST tokens/decode` says
//! what one opens.
//!
//! Orthanc creates share tokens for its users (`PUT /auth/tokens/{type}`,
//! after checking their `share` or `view` permission itself) and forwards
//! the request here; it does not say who asked, so a token's creator is
//! the Orthanc that asked (`server-id`).

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::service_caller::{ServiceCaller, check_server_id};
use super::wire::{CreateShareRequest, DecodeRequest};
use crate::error::ServerError;
use crate::events::{self, REQUEST};
use crate::imaging::share_tokens::is_share_token;
use crate::keystone::body::KeystoneJson;
use crate::services::imaging::{self as service, NewShareToken};
use crate::state::AppState;

/// Orthanc's longest token type names are about 30 characters.
const MAX_TYPE_LEN: usize = 64;

/// `PUT tokens/{type}`: `{"token", "url", "request"}`.
pub async fn create(
    State(state): State<AppState>,
    _caller: ServiceCaller,
    Path(token_type): Path<String>,
    KeystoneJson(body): KeystoneJson<Value>,
) -> Result<Json<Value>, ServerError> {
    let request: CreateShareRequest = serde_json::from_value(body.clone()).map_err(|e| {
        ServerError::BadRequest(format!(
            "invalid share-token request: {}",
            auth_core::payload::describe_without_values(&e)
        ))
    })?;
    check_server_id(&state, request.server.get())?;
    if token_type.is_empty()
        || token_type.len() > MAX_TYPE_LEN
        || !token_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ServerError::BadRequest(
            "a token type is letters, digits, '-' and '_'".into(),
        ));
    }
    let now = state.clock().now();
    let expires_at = expiry(&state, &request, now)?;
    let new = NewShareToken {
        token_type,
        resources: request.resources,
        expires_at,
        server_id: request.server.get().map(str::to_owned),
        created_by: None,
    };
    let (token, _) = service::create_share_token(&state.services(), new).await?;
    let token = token.expose_secret();
    let url = share_url(&state, token);
    Ok(Json(json!({"token": token, "url": url, "request": body})))
}

/// `[orthanc] share_url` for `token`, if one is configured.
fn share_url(state: &AppState, token: &str) -> Option<String> {
    let template = state.config().orthanc.share_url.as_ref()?;
    Some(template.replace("{token}", token))
}

/// When a new token expires: `validity-duration` seconds from now, or
/// `expiration-date` (RFC 3339, or without an offset as UTC), or `[orthanc]
/// share_default_validity` from now.
fn expiry(
    state: &AppState,
    request: &CreateShareRequest,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ServerError> {
    let seconds = |s: u64| {
        Duration::seconds(
            i64::try_from(s)
                .unwrap_or(i64::MAX)
                .min(i64::from(i32::MAX)),
        )
    };
    match (&request.expiration_date, request.validity_duration) {
        (Some(_), Some(_)) => Err(ServerError::BadRequest(
            "give expiration-date or validity-duration, not both".into(),
        )),
        (None, Some(0)) => Err(ServerError::BadRequest(
            "validity-duration must be positive".into(),
        )),
        (None, Some(life)) => Ok(now + seconds(life)),
        (Some(date), None) => parse_date(date).ok_or_else(|| {
            ServerError::BadRequest(
                "expiration-date is not a date such as 2026-12-31T23:59:59Z".into(),
            )
        }),
        (None, None) => Ok(now + seconds(state.config().orthanc.share_default_validity)),
    }
}

fn parse_date(date: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(date) {
        return Some(at.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d"]
        .iter()
        .find_map(|format| {
            NaiveDateTime::parse_from_str(date, format)
                .ok()
                .or_else(|| {
                    chrono::NaiveDate::parse_from_str(date, format)
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                })
        })
        .map(|naive| naive.and_utc())
}

/// `POST tokens/decode`: `{"token-type", "redirect-url", "resources"}`,
/// or with `error-code`: `invalid` (not a share token), `unknown` (not
/// one this server holds: never created, or revoked) or `expired`.
pub async fn decode(
    State(state): State<AppState>,
    caller: ServiceCaller,
    KeystoneJson(request): KeystoneJson<DecodeRequest>,
) -> Result<Json<Value>, ServerError> {
    let refused = |code: &str| {
        events::note(|facts| {
            facts
                .attributes
                .insert(REQUEST.into(), json!({"error_code": code}));
        });
        Json(json!({"token-type": null, "redirect-url": null, "error-code": code, "resources": []}))
    };
    let Some(token) = request.token_value.token().filter(|t| is_share_token(t)) else {
        return Ok(refused("invalid"));
    };
    let Some(found) = state
        .imaging()
        .share_tokens()
        .find(&state, token, caller.revision)
        .await?
    else {
        return Ok(refused("unknown"));
    };
    if found.is_expired(state.clock().now()) {
        return Ok(refused("expired"));
    }
    let token_type = &found.record.token_type;
    events::note(|facts| {
        facts.attributes.insert(
            REQUEST.into(),
            json!({"share_token_id": found.record.id, "token_type": token_type}),
        );
    });
    let redirect = share_url(&state, token);
    Ok(Json(json!({
        "token-type": token_type,
        "redirect-url": redirect,
        "resources": found.resources,
    })))
}
