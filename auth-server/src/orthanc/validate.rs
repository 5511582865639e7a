//! `POST tokens/validate`: may the forwarded token do METHOD on this
//! resource, at this level?

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::service_caller::ServiceCaller;
use super::wire::{ValidateRequest, ValidateResponse};
use crate::error::ServerError;
use crate::events::{self, REQUEST, Refused};
use crate::imaging::{self, Bearer, BearerKind};
use crate::keystone::body::KeystoneJson;
use crate::state::AppState;

/// The decision, for as long as the token and `[orthanc] max_validity`
/// allow; a refusal is kept by no one (validity 0), so a permission granted
/// a moment later is seen at once.
pub async fn validate(
    State(state): State<AppState>,
    caller: ServiceCaller,
    KeystoneJson(request): KeystoneJson<ValidateRequest>,
) -> Result<Response, ServerError> {
    let access = request.access()?;
    super::settings::check_server_id(&state, request.server.get())?;
    let bearer = imaging::bearer(&state, request.token_value.token(), caller.revision).await?;
    let granted = bearer.may(&access);
    let validity = if granted {
        bearer.validity(state.clock().now(), state.config().orthanc.max_validity)
    } else {
        0
    };
    note(&bearer, &request, granted);
    let mut response = Json(ValidateResponse { granted, validity }).into_response();
    if !granted {
        response.extensions_mut().insert(Refused);
    }
    Ok(response)
}

/// The decision's facts, for its event and audit row (ids, never the
/// token).
fn note(bearer: &Bearer, request: &ValidateRequest, granted: bool) {
    events::note(|facts| {
        note_bearer(facts, bearer);
        facts.attributes.insert(
            REQUEST.into(),
            json!({
                "level": request.level,
                "method": request.method,
                "uri": request.uri,
                "orthanc_id": request.orthanc_id,
                "dicom_uid": request.dicom_uid,
                "server_id": request.server.get(),
                "bearer": bearer.kind.word(),
                "share_token_id": share_id(bearer),
                "granted": granted,
            }),
        );
    });
}

/// Notes the bearer's user, domain and project for the call's event.
pub(super) fn note_bearer(facts: &mut events::Facts, bearer: &Bearer) {
    if let BearerKind::User {
        user_id,
        domain_id,
        project_id,
        ..
    } = &bearer.kind
    {
        facts.user_id = Some(user_id.clone());
        facts.domain_id = Some(domain_id.clone());
        facts.project_id.clone_from(project_id);
    }
}

/// The share token's id, if the bearer is one.
pub(super) fn share_id(bearer: &Bearer) -> Option<&str> {
    match &bearer.kind {
        BearerKind::Share { id, .. } => Some(id),
        _ => None,
    }
}
