//! `POST /v3/users/{id}/password`: a user changing their own password.
//!
//! Deliberately unauthenticated, as in Keystone: it is the way out of an
//! expired password and of `change_password_upon_first_use`, so it must
//! work when no token can be had. The original password is the
//! credential: a wrong one counts towards lockout like a failed login (and
//! is counted before it is checked, as a login is), and a locked account
//! cannot change its password. A successful change revokes every token the
//! user holds.

use auth_core::AuthError;
use auth_core::store::RevocationEvent;
use auth_plugins::compliance::PasswordChange;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::body::KeystoneJson;
use super::{public_base, respond};
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
    headers: HeaderMap,
    Path(user_id): Path<String>,
    KeystoneJson(body): KeystoneJson<ChangeEnvelope>,
) -> Response {
    let base = public_base(&state, &headers);
    respond(&base, async {
        let Change {
            original_password,
            password,
        } = body.user;
        let new_len = password.expose_secret().len();
        if new_len == 0 || new_len > 4096 {
            return Err(
                AuthError::bad_request("the new password must be 1 to 4096 characters").into(),
            );
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
        // Lockout as for a login: the attempt is counted before the hash.
        let checked = state
            .compliance()
            .check_password(
                state.hasher(),
                storage.as_ref(),
                &user,
                original_password,
                now,
            )
            .await?;
        let record = async {
            if !user.enabled {
                return Err(AuthError::UserDisabled);
            }
            if user.options.lock_password {
                return Err(AuthError::bad_request(
                    "You cannot change your password at this time.",
                ));
            }
            state
                .compliance()
                .new_password(
                    state.hasher(),
                    storage.as_ref(),
                    &user,
                    password,
                    PasswordChange::SelfService,
                    now,
                )
                .await
        }
        .await;
        let record = match record {
            Ok(record) => record,
            Err(refused) => {
                // The original password was right: not a failure.
                checked.attempt.refused(storage.as_ref()).await?;
                return Err(refused.into());
            }
        };
        storage.set_password(&user.id, &record).await?;
        checked.attempt.succeeded(storage.as_ref(), now).await?;
        storage.add_revocation(&revoke_user(&user.id, now)).await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

/// A revocation event invalidating every token `user_id` holds now.
pub fn revoke_user(user_id: &str, now: chrono::DateTime<chrono::Utc>) -> RevocationEvent {
    RevocationEvent {
        user_id: Some(user_id.to_owned()),
        ..RevocationEvent::at(now)
    }
}
