//! `/v3/auth/tokens`: issue (POST), validate (GET), check (HEAD) and
//! revoke (DELETE), with Keystone's headers, bodies and statuses.

use std::sync::Arc;

use auth_core::{AuthError, Continuation, RequestHeaders, token};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::caller::Caller;
use super::targets;
use crate::error::ServerError;
use crate::forwarded::ClientOrigin;
use crate::services::tokens::{self, Login, LoginScope, NewToken, Outcome};
use crate::state::AppState;
use crate::token_body::{self, timestamp};
use crate::validation::Validated;

const SUBJECT_TOKEN: &str = "x-subject-token";
const RECEIPT: &str = "openstack-auth-receipt";

/// The query flags Keystone honours by presence or value.
#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    nocatalog: Option<String>,
    allow_expired: Option<String>,
}

impl TokenQuery {
    fn with_catalog(&self) -> bool {
        self.nocatalog.is_none()
    }

    fn allow_expired(&self) -> bool {
        self.allow_expired
            .as_deref()
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// `POST /v3/auth/tokens`.
pub async fn create(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
    request: Request,
) -> Result<impl IntoResponse, ServerError> {
    let (parts, body) = request.into_parts();
    let limit = state.config().server.body_limit;
    let bytes: Bytes =
        axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| AuthError::PayloadTooLarge {
                size: limit + 1,
                limit,
            })?;
    let mut headers = RequestHeaders::new();
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            headers.insert(name.as_str(), value);
        }
    }
    let origin = ClientOrigin::of(&parts.extensions, &parts.headers);
    let login = Login {
        body: &bytes,
        headers,
        client_addr: origin.client_addr(),
        receipt: header(&parts.headers, RECEIPT),
        door: None,
        request_line: Some(super::oauth1::request_line(
            &state,
            &parts.method,
            &parts.uri,
            &origin,
        )),
        scope: LoginScope::Requested,
    };
    match tokens::issue(&state, login).await? {
        Outcome::Token(new) => {
            let NewToken {
                issued,
                user,
                password_expiry,
            } = *new;
            let body = token_body::render(
                &state,
                &issued.claims,
                &user,
                (&issued.scope, &issued.roles),
                password_expiry,
                query.with_catalog(),
            )
            .await?;
            Ok(with_subject(
                StatusCode::CREATED,
                &issued.token,
                Json(body).into_response(),
            ))
        }
        Outcome::Continue(more) => Ok(receipt_response(&state, *more).await),
    }
}

/// `response` with `status` and the token in `X-Subject-Token`.
pub(super) fn with_subject(status: StatusCode, token: &str, mut response: Response) -> Response {
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(token) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(SUBJECT_TOKEN), value);
    }
    response
}

/// 401 with the receipt, shaped exactly as keystoneauth1 parses it (no
/// `error`, no `WWW-Authenticate`). A login that only got a challenge
/// (no method passed yet) answers with Keystone's "additional
/// authentication steps" error, carrying the challenges, and the receipt.
async fn receipt_response(state: &AppState, more: Continuation) -> Response {
    let body = match &more.user {
        Some(user) => {
            let domain = state.storage().get_domain(&user.domain_id).await.ok();
            json!({
                "receipt": {
                    "methods": more.methods,
                    "user": {
                        "id": user.id,
                        "name": user.name,
                        "domain": {"id": user.domain_id, "name": domain.map(|d| d.name)},
                    },
                    "expires_at": timestamp(more.expires_at),
                    "issued_at": timestamp(more.issued_at),
                },
                "required_auth_methods": more.required_auth_methods,
            })
        }
        None => {
            let mut identity = json!({"methods": more.challenges.keys().collect::<Vec<_>>()});
            for (method, challenge) in &more.challenges {
                identity[method] = challenge.clone();
            }
            json!({"error": {"code": 401, "title": "Unauthorized",
                   "message": "Additional authentications steps required.", "identity": identity}})
        }
    };
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&more.receipt) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(RECEIPT), value);
    }
    response
}

/// The subject token, validated, once the policy allowed `action` on it.
/// Order and target as Keystone's: the caller's token first (401), then
/// the subject token (404 if it does not validate), then the policy, whose
/// target is `target.token` (see [`targets::token`]: the subject's user
/// and its domain).
///
/// A subject token from an application credential with access rules is a
/// 404 unless the caller says it enforces them
/// (`OpenStack-Identity-Access-Rules: 1.0` or later, which
/// keystonemiddleware sends): a service that would ignore the rules must
/// not accept such a token at all, as Keystone decides.
async fn authorize_subject(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    action: &'static str,
    allow_expired: bool,
) -> Result<Arc<Validated>, ServerError> {
    let caller = Caller::for_request(state, method, "/v3/auth/tokens", headers).await?;
    let subject_token =
        header(headers, SUBJECT_TOKEN).ok_or_else(|| ServerError::from(token::not_found()))?;
    let subject = tokens::validate(state, subject_token, allow_expired).await?;
    let restricted = subject
        .application_credential
        .as_ref()
        .is_some_and(|c| !c.access_rules.is_empty());
    if restricted && !enforces_access_rules(headers) {
        return Err(token::not_found().into());
    }
    super::authorize(state, &caller, action, &targets::token(&subject))?;
    Ok(subject)
}

/// The version of access rules Keystone first served them in.
const ACCESS_RULES_MIN_VERSION: f64 = 1.0;

/// Whether the validating service declares it enforces access rules.
fn enforces_access_rules(headers: &HeaderMap) -> bool {
    header(headers, "openstack-identity-access-rules")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .is_some_and(|version| version >= ACCESS_RULES_MIN_VERSION)
}

/// `GET /v3/auth/tokens` (`identity:validate_token`) and `HEAD`
/// (`identity:check_token`; axum answers it with the GET handler, without
/// the body).
pub async fn validate(
    State(state): State<AppState>,
    method: Method,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ServerError> {
    let action = if method == Method::HEAD {
        "identity:check_token"
    } else {
        "identity:validate_token"
    };
    let subject =
        authorize_subject(&state, &method, &headers, action, query.allow_expired()).await?;
    let body = subject.body(&state, query.with_catalog()).await?;
    let token = header(&headers, SUBJECT_TOKEN).unwrap_or_default();
    let json = (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    );
    Ok(with_subject(StatusCode::OK, token, json.into_response()))
}

/// `DELETE /v3/auth/tokens`: records a revocation event for the token.
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ServerError> {
    let action = "identity:revoke_token";
    let subject = authorize_subject(&state, &Method::DELETE, &headers, action, false).await?;
    tokens::revoke(&state, &subject).await?;
    Ok(StatusCode::NO_CONTENT)
}
