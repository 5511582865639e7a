//! `POST tokens/validate`: may the forwarded token do METHOD on this
//! resource, at this level?

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::facts::{note_bearer, share_id};
use super::service_caller::{ServiceCaller, check_server_id};
use super::wire::{ValidateRequest, ValidateResponse};
use crate::error::ServerError;
use crate::events::{self, REQUEST, Refused};
use crate::imaging::{self, Bearer};
use crate::keystone::body::KeystoneJson;
use crate::state::AppState;

/// The event every answer raises (named where the route is registered).
pub(super) const EVENT: &str = "orthanc.validate";

/// The decision, for as long as the token and `[orthanc] max_validity`
/// allow; a refusal is kept by no one (validity 0), so a permission granted
/// a moment later is seen at once.
pub async fn validate(
    State(state): State<AppState>,
    caller: ServiceCaller,
    KeystoneJson(request): KeystoneJson<ValidateRequest>,
) -> Result<Response, ServerError> {
    let access = request.access()?;
    check_server_id(&state, request.server.get())?;
    let bearer = imaging::bearer(&state, request.token_value.token(), caller.revision).await?;
    let granted = bearer.may(&access);
    let validity = if granted {
        bearer.validity(state.clock().now(), state.config().orthanc.max_validity)
    } else {
        0
    };
    // A grant's details are built only if something will read them: this
    // is Orthanc's hot path.
    if !granted || events::success_is_recorded(&state, EVENT) {
        note(&bearer, &request, granted);
    }
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
