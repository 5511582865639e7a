//! HTTP routes, one file per API area.

pub mod discovery;
pub mod tokens;

use axum::http::HeaderMap;

use crate::state::AppState;

/// The public base URL: configured, or from the request's `Host`.
pub fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config().server.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}
