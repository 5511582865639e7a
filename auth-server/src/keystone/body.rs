//! A JSON body extractor whose failures are Keystone errors.
//!
//! axum's `Json` answers a malformed body in plain text and quotes serde's
//! message, which can echo a value from the body: a password. This one
//! answers a 400 with the JSON error body and strips values from the
//! message.

use auth_core::AuthError;
use auth_core::payload::describe_without_values;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::ServerError;
use crate::state::AppState;

/// A deserialized JSON request body.
#[derive(Debug)]
pub struct KeystoneJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for KeystoneJson<T> {
    type Rejection = ServerError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|_| {
            let limit = state.config().server.body_limit;
            AuthError::PayloadTooLarge {
                size: limit + 1,
                limit,
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(KeystoneJson)
            .map_err(|e| {
                AuthError::bad_request(format!(
                    "invalid request body: {}",
                    describe_without_values(&e)
                ))
                .into()
            })
    }
}
