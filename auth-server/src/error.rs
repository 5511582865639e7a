//! The server's error type and how every error becomes a response.
//!
//! Each variant stands for one HTTP status (an [`AuthError`] carries its
//! own, see [`AuthError::http_status`]). Every error body is Keystone's
//! `{"error": {"code", "title", "message"}}`, and every 401 carries
//! `WWW-Authenticate: Keystone uri="<public>/v3"`, which keystoneauth1 and
//! tempest rely on.
//!
//! Handlers and extractors only return a [`ServerError`]; its
//! [`IntoResponse`] renders the body and marks a 401 with [`Challenge`], and
//! the router's outermost middleware adds the header, since only the
//! request knows the public URL when none is configured. So no handler
//! wraps its body to set a header, and no 401 can leave without one.

use auth_core::AuthError;
use auth_core::events::EventError;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The mark on an error response that needs Keystone's
/// `WWW-Authenticate` challenge; [`add_challenge`] turns it into the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Challenge;

/// Adds `WWW-Authenticate: Keystone uri="<public_v3>"` to `headers` (of a
/// response marked with [`Challenge`]).
pub fn add_challenge(headers: &mut HeaderMap, public_v3: &str) {
    if let Ok(value) = HeaderValue::from_str(&format!("Keystone uri=\"{public_v3}\"")) {
        headers.insert(WWW_AUTHENTICATE, value);
    }
}

/// What can go wrong in the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Whatever status the framework's error stands for.
    #[error(transparent)]
    Auth(#[from] AuthError),

    /// **401 Unauthorized.** The request has no `X-Auth-Token`, or it does
    /// not validate.
    #[error("The request you have made requires authentication.")]
    MissingToken,

    /// **400 Bad Request.** A header or query parameter is malformed.
    #[error("{0}")]
    BadRequest(String),

    /// **404 Not Found.** No route has this path (werkzeug's words, which
    /// Keystone answers with).
    #[error(
        "The requested URL was not found on the server. If you entered the URL manually please \
         check your spelling and try again."
    )]
    UnknownRoute,

    /// **405 Method Not Allowed.** The path is routed, not for this method.
    #[error("The method is not allowed for the requested URL.")]
    MethodNotAllowed,

    /// **500 Internal Server Error.** The configuration is unusable (found
    /// at start-up).
    #[error("configuration: {0}")]
    Config(String),

    /// **409 Conflict.** `keys rotate` would drop a signing key that
    /// signed tokens still valid (the CLI's, never an API answer).
    #[error(
        "refusing to rotate: the previous rotation was at {previous}, and this one would drop \
         the key that signed until then, invalidating tokens issued before it (they stay valid \
         for [token] expiration, and nodes reload keys every [keys] refresh_interval). \
         Rotating is safe from {safe_from}; --force rotates now anyway",
        previous = .0.previous.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        safe_from = .0.safe_from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )]
    RotationTooSoon(crate::keys::RotationTooSoon),

    /// **500 Internal Server Error.** The listener or another part of the
    /// process failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),

    /// **500 Internal Server Error.** `backup` or `restore` could not
    /// finish (the CLI's, never an API answer).
    #[error("backup: {0}")]
    Backup(String),

    /// **400 Bad Request.** A command's input is missing or unusable, such
    /// as a password neither given nor askable (the CLI's, never an API
    /// answer). The message never holds the input itself.
    #[error("{0}")]
    Input(String),
}

impl ServerError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Auth(e) => {
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::MissingToken => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) | Self::Input(_) => StatusCode::BAD_REQUEST,
            Self::UnknownRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RotationTooSoon(_) => StatusCode::CONFLICT,
            Self::Config(_) | Self::Io(_) | Self::Backup(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable word for the error, for events and the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Auth(e) => e.kind(),
            Self::MissingToken => "missing_token",
            Self::BadRequest(_) => "bad_request",
            Self::UnknownRoute => "unknown_route",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Config(_) => "config",
            Self::RotationTooSoon(_) => "rotation_too_soon",
            Self::Io(_) => "io",
            Self::Backup(_) => "backup",
            Self::Input(_) => "input",
        }
    }
}

impl IntoResponse for ServerError {
    /// Keystone's error body, the facts for the call's event, and for a 401
    /// the [`Challenge`] mark.
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            // Internal details go to the log, not to the client.
            Self::Auth(
                AuthError::Internal(_)
                | AuthError::StoreUnavailable(_)
                | AuthError::PluginContract { .. },
            )
            | Self::Config(_)
            | Self::Io(_)
            | Self::Backup(_) => {
                tracing::error!(error = %self, "request failed");
                "An unexpected error prevented the server from fulfilling your request.".to_owned()
            }
            other => other.to_string(),
        };
        let mut body =
            json!({"error": {"code": status.as_u16(), "title": title(status), "message": message}});
        if let Self::Auth(AuthError::MethodNotEnabled { enabled, .. }) = &self {
            body["error"]["identity"] = json!({"methods": enabled});
        }
        let mut response = (status, axum::Json(body)).into_response();
        // For the call's event and audit row (see `crate::events`).
        // The client-facing message: internal details stay in the log.
        response.extensions_mut().insert(EventError {
            kind: self.kind().to_owned(),
            status: status.as_u16(),
            message,
        });
        if status == StatusCode::UNAUTHORIZED {
            response.extensions_mut().insert(Challenge);
        }
        response
    }
}

/// Keystone's titles.
fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}
