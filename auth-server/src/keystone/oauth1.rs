//! `/v3/OS-OAUTH1/request_token`, `/authorize/{id}` and `/access_token`:
//! the three legs of OAuth1 delegation, as Keystone answers them. The two
//! a consumer calls are signed (RFC 5849, HMAC-SHA1) instead of carrying a
//! token, and answer `application/x-www-form-urlencoded`; the one a user
//! calls delegates some of their roles on the requested project.

use auth_core::{AuthError, RequestLine};
use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use crate::error::ServerError;
use crate::forwarded::ClientOrigin;
use crate::policy::Target;
use crate::services::oauth1::{self, NewToken, RoleChoice};
use crate::state::AppState;

/// The request line a consumer signed: the public base URL (configured, or
/// the one the request was sent to, see [`super::public_base`]) and the
/// path and query the request came in on, as Keystone's `base_url`
/// rebuilds it.
pub fn request_line(
    state: &AppState,
    method: &Method,
    uri: &axum::http::Uri,
    origin: &ClientOrigin,
) -> RequestLine {
    let base = super::public_base(state, origin);
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), ToString::to_string);
    RequestLine::new(method.as_str(), format!("{base}{path_and_query}"))
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// 201 with Keystone's form-encoded token.
fn form_response(token: &NewToken) -> Response {
    let mut response = (StatusCode::CREATED, token.form()).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    response
}

/// `POST /v3/OS-OAUTH1/request_token`: signed with the consumer's secret,
/// naming the project in `Requested-Project-Id`.
pub async fn request_token(
    State(state): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    origin: ClientOrigin,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let line = request_line(&state, &method, &uri, &origin);
    let token = oauth1::create_request_token(
        &state.services(),
        &line,
        header(&headers, "authorization"),
        header(&headers, "requested-project-id"),
        state.config().oauth1.request_token_duration,
    )
    .await?;
    Ok(form_response(&token))
}

/// `POST /v3/OS-OAUTH1/access_token`: signed with the consumer's secret
/// and the request token's, carrying the verifier.
pub async fn access_token(
    State(state): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    origin: ClientOrigin,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let line = request_line(&state, &method, &uri, &origin);
    let token = oauth1::create_access_token(
        &state.services(),
        &line,
        header(&headers, "authorization"),
        state.config().oauth1.access_token_duration,
    )
    .await?;
    Ok(form_response(&token))
}

/// `{"roles": [{"id": …} | {"name": …}, …]}`.
#[derive(Debug, Deserialize)]
pub struct Authorization {
    roles: Vec<Value>,
}

/// Each role as Keystone's schema takes it: an object with a non-empty
/// `id` or `name` (string), nothing else; at least one role.
fn role_choices(roles: &[Value]) -> Result<Vec<RoleChoice>, AuthError> {
    let invalid = || AuthError::bad_request("Invalid input for field 'roles'");
    if roles.is_empty() {
        return Err(invalid());
    }
    roles
        .iter()
        .map(|role| {
            let role = role.as_object().ok_or_else(invalid)?;
            if role.keys().any(|k| k != "id" && k != "name") {
                return Err(invalid());
            }
            let text = |key: &str| {
                role.get(key)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            match (text("id"), text("name")) {
                (Some(id), _) => Ok(RoleChoice::Id(id)),
                (None, Some(name)) => Ok(RoleChoice::Name(name)),
                (None, None) => Err(invalid()),
            }
        })
        .collect()
}

/// `PUT /v3/OS-OAUTH1/authorize/{request_token_id}`: the caller delegates
/// roles they hold on the requested project; never with a delegated token
/// (an application credential's or an OAuth1 one), as Keystone.
pub async fn authorize(
    State(state): State<AppState>,
    caller: Caller,
    Path(request_token_id): Path<String>,
    KeystoneJson(body): KeystoneJson<Authorization>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:authorize_request_token",
        &Target::new(),
    )?;
    let roles = role_choices(&body.roles)?;
    let claims = caller.claims();
    if claims.app_cred_id.is_some() || claims.access_token_id.is_some() {
        return Err(AuthError::Forbidden(
            "Cannot authorize a request token with a token issued via delegation.".into(),
        )
        .into());
    }
    let rules = state.validations().role_graph(&state).await?;
    let verifier = oauth1::authorize_request_token(
        &state.services(),
        &rules,
        &caller.user().id,
        &request_token_id,
        &roles,
    )
    .await?;
    Ok(Json(json!({
        "token": {"oauth_verifier": secrecy::ExposeSecret::expose_secret(&verifier)}
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_named_by_id_or_name_only() {
        assert!(matches!(
            role_choices(&[json!({"id": "r1"}), json!({"name": "member"})]).unwrap()[..],
            [RoleChoice::Id(_), RoleChoice::Name(_)]
        ));
        for bad in [
            vec![],
            vec![json!("r1")],
            vec![json!({})],
            vec![json!({"id": ""})],
            vec![json!({"id": 7})],
            vec![json!({"id": "r1", "extra": 1})],
        ] {
            assert_eq!(
                role_choices(&bad).unwrap_err().http_status(),
                400,
                "{bad:?}"
            );
        }
    }
}
