//! # auth-server
//!
//! A thin axum server over the engine, the methods and the store,
//! wire-compatible with Keystone's Identity API v3 so that existing clients
//! (keystoneauth1, the `openstack` CLI) work unmodified.
//!
//! Like mini-redis, the server is a library function, [`serve`], that takes
//! its listener and a shutdown future, so tests run it on `127.0.0.1:0`
//! and stop it when they are done; the binary only parses the command line.
//!
//! ## Layout
//!
//! The server is a door over a middle every door shares (the design note
//! "one middle, four doors"): a door only translates its protocol into a
//! caller and a request, asks the policy, calls a service and renders the
//! answer.
//!
//! - [`routes`](mod@routes): the route table, each route registered with
//!   the name of its event.
//! - [`keystone`]: the Keystone v3 door, one file per API area; the caller
//!   ([`keystone::caller`]) and each call's policy target
//!   ([`keystone::targets`]).
//! - [`orthanc`]: the Orthanc door, Orthanc's authorization web service
//!   under `[orthanc] prefix`.
//! - [`dicom`]: the DICOM door, its own listener: User Identity
//!   Negotiation authenticated by the engine, a PACS's DICOM port guarded
//!   command by command.
//! - [`gateway`]: the gateway door, its own listener in front of an
//!   imaging web service: header login, sessions, the reverse proxy.
//! - [`imaging`]: who a token's bearer is for the imaging doors, and the
//!   one imaging decision (role map, share tokens).
//! - [`policy`]: may this caller do that; every door asks here.
//! - [`services`]: one function per operation, owning its side effects
//!   (revocation events, cascades, the event's facts); every door and the
//!   CLI change data only through them.
//! - [`events`]: every call as an event, its bindings and its audit row.
//! - [`error`]: the one error type and its responses.
//! - [`forwarded`]: who a request is from behind trusted reverse proxies
//!   (`X-Forwarded-*`), computed once per request on every listener.
//! - [`config`]: the TOML file, environment overrides and defaults.
//! - [`state`]: what handlers share (storage, engine, token provider).
//! - [`keys`]: where key sets live, creation and rotation.
//! - [`metrics`]: the Prometheus registry and the engine event sink
//!   feeding it.
//! - [`scope`], [`token_body`] and [`validation`]: scopes, roles, Keystone's
//!   token body, and cached token validation.
//! - [`bootstrap`]: what `keystone-manage bootstrap` creates.
//! - [`operations`]: the CLI's user management and `doctor`.
//! - [`access_rules`] and [`expiry`]: application credentials' access
//!   rules and expiry dates, as Keystone reads them.

pub mod access_rules;
pub mod backup;
pub mod bootstrap;
pub mod catalog;
pub mod config;
pub mod config_reference;
pub mod dicom;
pub mod error;
pub mod events;
pub mod expiry;
pub mod forwarded;
pub mod gateway;
pub mod imaging;
pub mod keys;
pub mod keystone;
mod listener;
pub mod metrics;
pub mod operations;
pub mod orthanc;
pub mod policy;
pub mod routes;
pub mod scope;
pub mod services;
pub mod state;
pub mod tls;
pub mod token_body;
pub mod validation;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

pub use config::Config;
pub use error::ServerError;
pub use routes::ApiRoutes;
pub use state::AppState;

/// Every route of the server, each with its event: the Keystone door's
/// and the server's own (`/healthz`, `/metrics`).
pub fn routes() -> ApiRoutes {
    routes_for(&Config::default())
}

/// [`routes()`] as `config` has them: the Orthanc service under its prefix,
/// or not at all.
pub fn routes_for(config: &Config) -> ApiRoutes {
    let table = keystone::routes(ApiRoutes::new());
    // With a management listener they are served there only, so that the
    // API port (often public) does not expose the metrics.
    let table = if config.server.management_listen.is_some() {
        table
    } else {
        table
            .without_event("/healthz", healthz)
            .without_event("/metrics", metrics_text)
    };
    match config.orthanc.checked_prefix() {
        Ok(prefix) if config.orthanc.enabled => table.nest(prefix, orthanc::routes()),
        // A bad prefix stops `AppState::build`; no server gets here.
        _ => table,
    }
}

/// The routes and middleware, ready to serve.
pub fn router(state: AppState) -> Router {
    let limits = &state.config().server;
    let body_limit = limits.body_limit;
    let timeout = Duration::from_secs(limits.request_timeout_secs);
    let (routes, events) = routes_for(state.config()).into_parts();
    routes
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(middleware::from_fn_with_state(
            events::Calls::new(state.clone(), events),
            events::around_call,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            keystone_headers,
        ))
        // Outermost: every other layer and handler reads the client from it.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            forwarded::resolve,
        ))
        .with_state(state)
}

/// A path no route has: Keystone's JSON error, a 404.
async fn unknown_route() -> ServerError {
    ServerError::UnknownRoute
}

/// A routed path, not for this method: Keystone's JSON error, a 405.
async fn method_not_allowed() -> ServerError {
    ServerError::MethodNotAllowed
}

/// Counts and times every request by its route template.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    state.metrics().observe_request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// `GET /healthz`: 200 when the database answers and its schema is
/// current, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Result<impl IntoResponse, ServerError> {
    state.storage().health().await?;
    Ok(axum::Json(serde_json::json!({"status": "ok"})))
}

/// `GET /metrics`: the Prometheus text exposition.
async fn metrics_text(State(state): State<AppState>) -> Response {
    let headers = [(
        axum::http::header::CONTENT_TYPE,
        "text/plain; version=0.0.4",
    )];
    (headers, state.metrics().render()).into_response()
}

/// Adds what Keystone puts on every response: a request id,
/// `Vary: X-Auth-Token`, and on an error marked for it (every 401 a
/// [`ServerError`] renders) `WWW-Authenticate` with the public `/v3` URI.
async fn keystone_headers(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = format!("req-{}", uuid::Uuid::new_v4());
    request
        .extensions_mut()
        .insert(events::RequestId(id.as_str().into()));
    let origin = forwarded::ClientOrigin::of(request.extensions(), request.headers());
    let mut response = next.run(request).await;
    if response.extensions().get::<error::Challenge>().is_some() {
        let base = keystone::public_base(&state, &origin);
        error::add_challenge(response.headers_mut(), &format!("{base}/v3"));
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(HeaderName::from_static("x-openstack-request-id"), value);
    }
    headers.insert(
        axum::http::header::VARY,
        HeaderValue::from_static("X-Auth-Token"),
    );
    response
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes
/// the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let tls = tls_acceptor(&state)?;
    let background = tokio::spawn(housekeeping(state.clone()));
    let reloading = match (state.tls(), state.config().tls.reload_interval()) {
        (Some(certificates), Some(interval)) => {
            Some(tokio::spawn(tls::watch(certificates.clone(), interval)))
        }
        _ => None,
    };
    let limits = listener::Limits::from_config(&state.config().server);
    let metrics = state.metrics().clone();
    listener::run(
        listener,
        router(state.clone()),
        metrics,
        limits,
        tls,
        shutdown,
    )
    .await;
    background.abort();
    if let Some(reloading) = reloading {
        reloading.abort();
    }
    // Runs already queued finish and their audit rows are written.
    state.dispatcher().wait_idle().await;
    state.dispatcher().audit().flush().await;
    Ok(())
}

/// The TLS acceptor every HTTP listener uses, if `[tls]` is set; the
/// certificates are shared, so one reload serves them all.
pub(crate) fn tls_acceptor(
    state: &AppState,
) -> Result<Option<tokio_rustls::TlsAcceptor>, ServerError> {
    state.tls().map(tls::Certificates::acceptor).transpose()
}

/// The management listener's routes (`[server] management_listen`):
/// `/healthz` and `/metrics`, nothing else; any other path is the API's
/// JSON 404.
pub fn management_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .route("/metrics", axum::routing::get(metrics_text))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            forwarded::resolve,
        ))
        .with_state(state)
}

/// Serves [`management_router`] on `listener` until `shutdown` completes,
/// under the same connection limits as the API listener (it may be as
/// exposed). Run beside [`serve`], which keeps the housekeeping.
pub async fn serve_management(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let tls = tls_acceptor(&state)?;
    let limits = listener::Limits::from_config(&state.config().server);
    let metrics = state.metrics().clone();
    listener::run(
        listener,
        management_router(state),
        metrics,
        limits,
        tls,
        shutdown,
    )
    .await;
    Ok(())
}

/// What a node does besides answering: every `[keys] refresh_interval`
/// seconds it reloads the shared keys and the event-handler bindings (so a
/// rotation or a binding changed on another node reaches it without a
/// restart), and hourly (unless `[audit] retention_days` is 0) it deletes
/// audit rows past that age and share tokens expired over a week ago. A
/// failed step is logged and retried at the next tick.
async fn housekeeping(state: AppState) {
    let period = Duration::from_secs(state.config().keys.refresh_interval.max(1));
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_prune: Option<std::time::Instant> = None;
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match keys::refresh(&state).await {
            Ok(true) => tracing::info!("reloaded rotated keys"),
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "reloading keys failed"),
        }
        if let Err(error) = state.reload_bindings().await {
            tracing::warn!(%error, "reloading event-handler bindings failed");
        }
        let days = state.config().audit.retention_days;
        if days > 0 && last_prune.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
            last_prune = Some(std::time::Instant::now());
            let before = state.clock().now() - chrono::Duration::days(i64::from(days));
            if let Err(error) = state.storage().prune_audit(before).await {
                tracing::warn!(%error, "pruning the audit log failed");
            }
            // Expired share tokens are kept a week, so that decoding one
            // says "expired" rather than "unknown" for a while.
            let week_ago = state.clock().now() - chrono::Duration::days(7);
            if let Err(error) = state.storage().prune_share_tokens(week_ago).await {
                tracing::warn!(%error, "pruning expired share tokens failed");
            }
        }
    }
}
