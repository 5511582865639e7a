//! `/v3/ec2tokens` and `/v3/s3tokens`: a token for a request signed with an
//! EC2 credential, asked for by the service that received the request
//! (Swift's `s3token` middleware, an EC2 API), as Keystone answers them.
//!
//! The caller must be a service or an administrator
//! (`identity:ec2tokens_validate`, `identity:s3tokens_validate`): a
//! presigned URL carries a valid signature, and whoever holds one must not
//! be able to turn it into a token. The signature itself is the
//! `ec2credential` method's to verify, through the engine like any login
//! (events, the audit log, the user's and the project's checks; no lockout,
//! as a signature names no password), with this door's name so that the
//! method believes it.

use auth_core::{AuthError, RequestHeaders};
use auth_plugins::methods::ec2credential::{EC2_DOOR, NAME, S3_DOOR};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::tokens::with_subject;
use crate::error::ServerError;
use crate::forwarded::ClientOrigin;
use crate::policy::Target;
use crate::services::tokens::{self, Login, LoginScope, NewToken, Outcome};
use crate::state::AppState;
use crate::token_body;

/// `POST /v3/ec2tokens`: 200 with the token body and `X-Subject-Token`.
pub async fn ec2(
    State(state): State<AppState>,
    caller: Caller,
    origin: ClientOrigin,
    KeystoneJson(body): KeystoneJson<Value>,
) -> Result<Response, ServerError> {
    let (token, rendered) = answer(&state, &caller, EC2_DOOR, &body, &origin).await?;
    Ok(with_subject(
        StatusCode::OK,
        &token,
        Json(rendered).into_response(),
    ))
}

/// `POST /v3/s3tokens`: 200 with the token body only. Keystone does not
/// hand the token itself to the S3 layer, which needs only the user, the
/// project and the roles.
pub async fn s3(
    State(state): State<AppState>,
    caller: Caller,
    origin: ClientOrigin,
    KeystoneJson(body): KeystoneJson<Value>,
) -> Result<Response, ServerError> {
    let (_, rendered) = answer(&state, &caller, S3_DOOR, &body, &origin).await?;
    Ok(Json(rendered).into_response())
}

/// The policy's check for `door` (`identity:ec2tokens_validate` or
/// `identity:s3tokens_validate`), then the login: the token and its body.
async fn answer(
    state: &AppState,
    caller: &Caller,
    door: &str,
    body: &Value,
    origin: &ClientOrigin,
) -> Result<(String, Value), ServerError> {
    let action = if door == S3_DOOR {
        "identity:s3tokens_validate"
    } else {
        "identity:ec2tokens_validate"
    };
    super::authorize(state, caller, action, &Target::new())?;
    let new = issue(state, door, body, origin).await?;
    let rendered = token_body::render(
        state,
        &new.issued.claims,
        &new.user,
        (&new.issued.scope, &new.issued.roles),
        new.password_expiry,
        true,
    )
    .await?;
    Ok((new.issued.token, rendered))
}

/// The credentials object of the request, under any of the three names
/// Keystone has accepted (`credentials`, `credential`, `ec2Credentials`).
fn credentials(body: &Value) -> Result<&Value, AuthError> {
    if body.as_object().is_none_or(|b| b.is_empty()) {
        return Err(AuthError::bad_request(
            "request must include a request body",
        ));
    }
    let found = ["credentials", "credential", "ec2Credentials"]
        .iter()
        .map(|name| &body[name])
        .find(|c| c.as_object().is_some_and(|c| !c.is_empty()));
    match found {
        Some(credentials) if credentials.get("access").is_some() => Ok(credentials),
        _ => Err(AuthError::Unauthorized("EC2 Signature not supplied".into())),
    }
}

/// Logs in with the `ec2credential` method through `door`.
async fn issue(
    state: &AppState,
    door: &str,
    body: &Value,
    origin: &ClientOrigin,
) -> Result<NewToken, ServerError> {
    let login = json!({"auth": {"identity": {"methods": [NAME], NAME: credentials(body)?}}});
    let login = serde_json::to_vec(&login).map_err(|e| AuthError::Internal(e.to_string()))?;
    let outcome = tokens::issue(
        state,
        Login {
            body: &login,
            headers: RequestHeaders::new(),
            client_addr: origin.client_addr(),
            receipt: None,
            request_line: None,
            door: Some(door),
            scope: LoginScope::Requested,
        },
    )
    .await?;
    match outcome {
        Outcome::Token(new) => Ok(*new),
        // A user whose MFA rules ask for more than a signature cannot
        // complete the login here: no client of these APIs could answer a
        // receipt.
        Outcome::Continue(_) => Err(AuthError::Unauthorized(
            "the user's multi-factor rules require more than an EC2 signature".into(),
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credentials_go_by_three_names_and_need_an_access_key() {
        for name in ["credentials", "credential", "ec2Credentials"] {
            let body = json!({name: {"access": "AK", "signature": "x"}});
            assert_eq!(credentials(&body).unwrap()["access"], "AK");
        }
        assert!(matches!(
            credentials(&json!({})),
            Err(AuthError::BadRequest(_))
        ));
        assert!(matches!(
            credentials(&json!({"credentials": {"signature": "x"}})),
            Err(AuthError::Unauthorized(_))
        ));
    }
}
