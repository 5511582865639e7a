//! `POST /v3/users/{id}/password`: a user changing their own password.
//!
//! Deliberately unauthenticated, as in Keystone: it is the way out of an
//! expired password and of `change_password_upon_first_use`, so it must
//! work when no token can be had. The original password is the
//! credential: a wrong one counts towards lockout like a failed login, and
//! a locked account cannot change its password. A successful change
//! revokes every token the user holds.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::SecretString;
use serde::Deserialize;

use super::body::KeystoneJson;
use crate::error::ServerError;
use crate::services::passwords;
use crate::state::AppState;

/// `{"user": {"original_password": ..., "password": ...}}`.
#[derive(Debug, Deserialize)]
pub struct ChangeEnvelope {
    user: Change,
}

#[derive(Debug, Deserialize)]
struct Change {
    original_password: SecretString,
    password: SecretString,
}

/// `POST /v3/users/{id}/password`.
pub async fn change(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    KeystoneJson(body): KeystoneJson<ChangeEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let Change {
        original_password,
        password,
    } = body.user;
    passwords::change_own(&state.services(), &user_id, original_password, password).await?;
    Ok(StatusCode::NO_CONTENT)
}
