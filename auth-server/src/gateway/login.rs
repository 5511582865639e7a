//! The header login and logout paths (`[gateway] login_path`,
//! `logout_path`), as Vitrea and dicomtrolley use them.
//!
//! `POST <login_path>` with `X-Userid`, `X-Password`, `X-Realm` (and
//! `X-Passcode` for a TOTP code) and no body answers exactly `200` with
//! the session cookie and `{"access_token", "expires_at"}`; any failure is
//! a 401 with the usual JSON error, the same whichever part was wrong (an
//! unknown realm included). A user whose MFA rules need more than was
//! given gets a 401 that names the methods missing. `POST <logout_path>`
//! ends the session its credential belongs to, and clears the cookie
//! (204).

use auth_core::AuthError;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{credentials, session};
use crate::error::ServerError;
use crate::forwarded::{ClientOrigin, listener_scheme};
use crate::services::sessions::{self, HeaderLogin};
use crate::services::tokens::Outcome;
use crate::state::AppState;
use crate::token_body::timestamp;

/// The realm a login without `X-Realm` is for, as Vitrea's default.
const DEFAULT_REALM: &str = "DefaultSystemRealm";

/// `POST <login_path>`.
pub async fn login(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ServerError> {
    let headers = request.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
    };
    let section = &state.config().gateway;
    let (Some(user), Some(password)) = (header("x-userid"), header("x-password")) else {
        return Err(AuthError::InvalidCredentials.into());
    };
    let realm = header("x-realm").unwrap_or(DEFAULT_REALM);
    let Some(domain_id) = section.realms.get(realm) else {
        return Err(AuthError::InvalidCredentials.into());
    };
    let origin = ClientOrigin::of(request.extensions(), request.headers());
    let login = HeaderLogin {
        user,
        password,
        domain_id,
        passcode: header("x-passcode"),
        client_addr: origin.client_addr(),
    };
    match sessions::open(&state, login).await? {
        Outcome::Token(new) => {
            let issued = &new.issued;
            let scheme = super::client_scheme(section, &origin, listener_scheme(&state));
            let cookie = session::set_cookie(section, scheme, &issued.token);
            let mut response = Json(json!({
                "access_token": issued.token,
                "expires_at": timestamp(issued.claims.expires_at()),
            }))
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(SET_COOKIE, value);
            }
            Ok(response)
        }
        Outcome::Continue(more) => {
            let missing: Vec<Vec<&String>> = more
                .required_auth_methods
                .iter()
                .map(|rule| rule.iter().filter(|m| !more.methods.contains(m)).collect())
                .collect();
            let mut response = (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": {
                    "code": 401,
                    "title": "Unauthorized",
                    "message": "More authentication is required: send X-Passcode.",
                    "missing_auth_methods": missing,
                }})),
            )
                .into_response();
            response
                .extensions_mut()
                .insert(auth_core::events::EventError {
                    kind: "mfa_required".into(),
                    status: 401,
                    message: "more authentication is required".into(),
                });
            Ok(response)
        }
    }
}

/// `POST <logout_path>`: 204, the session ended and its cookie cleared.
pub async fn logout(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let section = &state.config().gateway;
    if let Some(credential) = credentials::find(&headers, None, &section.cookie_name) {
        sessions::end(&state, &credential.token).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let scheme = super::client_scheme(section, &origin, listener_scheme(&state));
    if let Ok(value) = HeaderValue::from_str(&session::clear_cookie(section, scheme)) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}
