//! `GET /` and `GET /v3`: version discovery, as keystoneauth1 expects it.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::public_base;
use crate::forwarded::ClientOrigin;
use crate::state::AppState;

fn version(base: &str) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{base}/v3/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

/// `GET /`: 300 Multiple Choices with the one version.
pub async fn root(State(state): State<AppState>, origin: ClientOrigin) -> Response {
    let base = public_base(&state, &origin);
    let body = json!({"versions": {"values": [version(&base)]}});
    let location = format!("{base}/v3/");
    (
        StatusCode::MULTIPLE_CHOICES,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

/// `GET /v3`.
pub async fn v3(State(state): State<AppState>, origin: ClientOrigin) -> Response {
    let base = public_base(&state, &origin);
    Json(json!({"version": version(&base)})).into_response()
}
