//! The gateway: a door of its own listener in front of one imaging web
//! service (Orthanc's REST API and DICOMweb, or any DICOMweb server).
//!
//! It logs users in the way imaging clients expect (a header login that
//! answers with a session cookie, see [`login`]) and lets through only
//! what the imaging decision allows: each request is authenticated by the
//! token it carries ([`credentials`]), its URL turned into what it asks
//! for ([`resource`]), decided ([`authorize`]) and, if allowed, forwarded
//! with its body streamed both ways ([`proxy`]); [`request`] is that
//! path, raising the event `gateway.request`. Sessions are tokens of this
//! server and slide ([`session`], `services::sessions`), so every node
//! answers any request and revocation applies at once.
//!
//! Off unless `[gateway] listen` and `upstream` are set; `auth-server
//! serve` then runs it beside the main listener.

pub mod authorize;
pub mod credentials;
pub mod login;
pub mod proxy;
pub mod request;
pub mod resource;
pub mod session;

use std::future::Future;
use std::sync::Arc;

use axum::{Extension, Router, middleware};
use tokio::net::TcpListener;

use crate::config::GatewaySection;
use crate::error::ServerError;
use crate::events;
use crate::forwarded::{ClientOrigin, Scheme};
use crate::listener;
use crate::routes::ApiRoutes;
use crate::state::AppState;

/// The gateway's routes: the login and logout paths, each with its event,
/// and every other path forwarded.
pub fn router(state: AppState, upstream: Arc<proxy::Upstream>) -> Router {
    let section = &state.config().gateway;
    let (routes, names) = ApiRoutes::new()
        .post_at(section.login_path.clone(), login::login, "gateway.login")
        .post_at(section.logout_path.clone(), login::logout, "gateway.logout")
        .into_parts();
    routes
        .fallback(request::pass)
        .layer(middleware::from_fn_with_state(
            events::Calls::new(state.clone(), names),
            events::around_call,
        ))
        .layer(Extension(upstream))
        // Outermost: the events and the handlers read the client from it.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::forwarded::resolve,
        ))
        .with_state(state)
}

/// The scheme the gateway's clients use: that of `[gateway] public_url`,
/// else the one a trusted proxy said (`X-Forwarded-Proto`, see
/// [`crate::forwarded`]), else the listener's own (`own`: `https` with
/// `[tls]`). With `https` the session cookie is `Secure`, and the
/// upstream is told `X-Forwarded-Proto: https`.
pub fn client_scheme(section: &GatewaySection, origin: &ClientOrigin, own: Scheme) -> Scheme {
    match &section.public_url {
        Some(_) if section.is_https() => Scheme::Https,
        Some(_) => Scheme::Http,
        None => origin.forwarded_scheme().unwrap_or(own),
    }
}

/// Serves the gateway on `listener` until `shutdown` completes, then
/// finishes the requests in flight (downloads included). A configuration
/// error (no upstream, a bad URL or path) stops it before it serves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let section = &state.config().gateway;
    for (name, path) in [
        ("login_path", &section.login_path),
        ("logout_path", &section.logout_path),
    ] {
        if !path.starts_with('/') || path.len() < 2 || path.contains(['{', '}', '*', '?', '#']) {
            return Err(ServerError::Config(format!(
                "[gateway] {name} must be a path such as \"/login\", not {path:?}"
            )));
        }
    }
    let upstream = Arc::new(proxy::Upstream::from_config(section)?);
    let mut limits = state.config().server.clone();
    limits.max_connections = section.max_connections;
    let limits = listener::Limits::from_config(&limits);
    let metrics = state.metrics().clone();
    let tls = crate::tls_acceptor(&state)?;
    listener::run(
        listener,
        router(state.clone(), upstream),
        metrics,
        limits,
        tls,
        shutdown,
    )
    .await;
    state.dispatcher().audit().flush().await;
    Ok(())
}
