//! `POST user/get-profile`: what the forwarded token may do, or (the
//! lookup form, with `user-id`) a user's name for Orthanc's audit logs.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::facts::{note_bearer, share_id};
use super::service_caller::{ServiceCaller, check_server_id};
use super::wire::{Profile, ProfileRequest};
use crate::error::ServerError;
use crate::events::{self, REQUEST};
use crate::imaging::{self, BearerKind};
use crate::keystone::body::KeystoneJson;
use crate::state::AppState;

/// The event every answer raises (named where the route is registered).
pub(super) const EVENT: &str = "orthanc.profile";

/// The profile, valid for as long as the token and `[orthanc]
/// max_validity` allow, and never for 0 seconds (which the plugin would
/// keep forever): at least 1.
pub async fn get_profile(
    State(state): State<AppState>,
    caller: ServiceCaller,
    KeystoneJson(request): KeystoneJson<ProfileRequest>,
) -> Result<Response, ServerError> {
    check_server_id(&state, request.server.get())?;
    let max = state.config().orthanc.max_validity.max(1);
    if let Some(user_id) = &request.user_id {
        return Ok(Json(user_lookup(&state, user_id, max).await?).into_response());
    }
    let bearer = imaging::bearer(&state, request.token_value.token(), caller.revision).await?;
    let validity = bearer.validity(state.clock().now(), max).max(1);
    let (name, user_id) = match &bearer.kind {
        BearerKind::User { user_id, name, .. } => (name.clone(), Some(user_id.clone())),
        BearerKind::Share { id, .. } => (format!("share token {id}"), None),
        BearerKind::Anonymous => ("anonymous".to_owned(), None),
        BearerKind::Invalid => (String::new(), None),
    };
    // A profile is always a success; its details only if they are read.
    if events::success_is_recorded(&state, EVENT) {
        events::note(|facts| {
            note_bearer(facts, &bearer);
            facts.attributes.insert(
                REQUEST.into(),
                json!({
                    "server_id": request.server.get(),
                    "bearer": bearer.kind.word(),
                    "share_token_id": share_id(&bearer),
                }),
            );
        });
    }
    Ok(Json(Profile {
        name,
        user_id,
        permissions: bearer.permissions.iter().map(|p| p.name()).collect(),
        authorized_labels: bearer.authorized_labels.clone(),
        validity,
    })
    .into_response())
}

/// The lookup form: the user's name, or `null` for an id no user has.
async fn user_lookup(state: &AppState, user_id: &str, validity: u64) -> Result<Value, ServerError> {
    match state.storage().get_user(user_id).await {
        Ok(user) => Ok(json!({
            "name": user.name,
            "user-id": user.id,
            "permissions": [],
            "authorized-labels": [],
            "validity": validity,
        })),
        Err(auth_core::AuthError::NotFound { .. }) => Ok(Value::Null),
        Err(e) => Err(e.into()),
    }
}
