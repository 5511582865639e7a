//! `POST /v3/users/{id}/password`: a user changing their own password.
//!
//! Deliberately unauthenticated, as in Keystone: it is the way out of an
//! expired password and of `change_password_upon_first_use`, so it must
//! work when no token can be had. The original password is the
//! credential: a wrong one counts towards lockout like a failed login, and
//! a locked account cannot change its password. A successful change
//! revokes every token the user holds.

use auth_core::AuthError;
use auth_core::store::RevocationEvent;
use auth_plugins::compliance::PasswordChange;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::body::KeystoneJson;
use crate::error::ServerError;
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
    let new_len = password.expose_secret().len();
    if new_len == 0 || new_len > 4096 {
        return Err(AuthError::bad_request("the new password must be 1 to 4096 characters").into());
    }
    let storage = state.storage();
    let now = state.clock().now();
    let user = match storage.get_user(&user_id).await {
        Ok(user) => user,
        Err(AuthError::NotFound { .. }) => {
            // Spend what a real check costs, then fail like one.
            state.hasher().verify_async(original_password, None).await?;
            return Err(AuthError::InvalidCredentials.into());
        }
        Err(e) => return Err(e.into()),
    };
    state
        .compliance()
        .ensure_unlocked(storage.as_ref(), &user, now)
        .await?;
    let current = storage.current_password(&user.id).await?;
    let verified = state
        .hasher()
        .verify_async(original_password, current.map(|c| c.hash))
        .await?;
    if verified.is_none() {
        state
            .compliance()
            .record_failure(storage.as_ref(), &user, now)
            .await?;
        return Err(AuthError::InvalidCredentials.into());
    }
    if !user.enabled {
        return Err(AuthError::UserDisabled.into());
    }
    if user.options.lock_password {
        return Err(AuthError::bad_request("You cannot change your password at this time.").into());
    }
    let record = state
        .compliance()
        .new_password(
            state.hasher(),
            storage.as_ref(),
            &user,
            password,
            PasswordChange::SelfService,
            now,
        )
        .await?;
    storage.set_password(&user.id, &record).await?;
    storage.record_auth_success(&user.id, now).await?;
    storage.add_revocation(&revoke_user(&user.id, now)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A revocation event invalidating every token `user_id` holds now.
pub fn revoke_user(user_id: &str, now: chrono::DateTime<chrono::Utc>) -> RevocationEvent {
    RevocationEvent {
        user_id: Some(user_id.to_owned()),
        ..RevocationEvent::at(now)
    }
}
