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
//! - [`config`]: the TOML file, environment overrides and defaults.
//! - [`state`]: what handlers share (storage, engine, token provider).
//! - [`keys`]: where key sets live, creation and rotation.
//! - [`metrics`]: the Prometheus registry and the engine event sink
//!   feeding it.
//! - [`routes`]: one file per API area.
//! - [`scope`] and [`token_body`]: scopes, roles and Keystone's token body.
//! - [`bootstrap`]: what `keystone-manage bootstrap` creates.
//! - [`operations`]: the CLI's user management and `doctor`.
//! - [`policy`]: may this caller do that; every door asks here.
//! - [`error`]: the one error type and its responses.

pub mod bootstrap;
pub mod config;
pub mod error;
pub mod events;
pub mod keys;
mod listener;
pub mod metrics;
pub mod operations;
pub mod policy;
pub mod routes;
pub mod scope;
pub mod state;
pub mod token_body;
pub mod validation;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

pub use config::Config;
pub use error::ServerError;
pub use state::AppState;

/// The routes and middleware, ready to serve.
pub fn router(state: AppState) -> Router {
    let limits = &state.config().server;
    let body_limit = limits.body_limit;
    let timeout = Duration::from_secs(limits.request_timeout_secs);
    Router::new()
        .route("/", get(routes::discovery::root))
        .route("/v3", get(routes::discovery::v3))
        .route("/v3/", get(routes::discovery::v3))
        .route(
            "/v3/auth/tokens",
            get(routes::tokens::validate)
                .post(routes::tokens::create)
                .delete(routes::tokens::revoke),
        )
        .route("/healthz", get(routes::auth_info::healthz))
        .route("/metrics", get(metrics_text))
        .route("/v3/auth/projects", get(routes::auth_info::projects))
        .route("/v3/auth/domains", get(routes::auth_info::domains))
        .route("/v3/auth/catalog", get(routes::auth_info::catalog))
        .route(
            "/v3/users",
            get(routes::users::list).post(routes::users::create),
        )
        .route(
            "/v3/users/{id}",
            get(routes::users::get)
                .patch(routes::users::update)
                .delete(routes::users::delete),
        )
        .route("/v3/users/{id}/password", post(routes::password::change))
        .route(
            "/v3/users/{id}/application_credentials",
            get(routes::application_credentials::list)
                .post(routes::application_credentials::create),
        )
        .route(
            "/v3/users/{id}/application_credentials/{credential}",
            get(routes::application_credentials::get)
                .delete(routes::application_credentials::delete),
        )
        .route(
            "/v3/domains",
            get(routes::domains::list).post(routes::domains::create),
        )
        .route(
            "/v3/domains/{id}",
            get(routes::domains::get)
                .patch(routes::domains::update)
                .delete(routes::domains::delete),
        )
        .route(
            "/v3/domains/{domain}/users/{user}/roles/{role}",
            grant_routes(),
        )
        .route(
            "/v3/domains/{domain}/groups/{group}/roles/{role}",
            grant_routes(),
        )
        .route(
            "/v3/projects",
            get(routes::projects::list_projects).post(routes::projects::create_project),
        )
        .route(
            "/v3/projects/{id}",
            get(routes::projects::get_project)
                .patch(routes::projects::update_project)
                .delete(routes::projects::delete_project),
        )
        .route(
            "/v3/projects/{project}/users/{user}/roles/{role}",
            grant_routes(),
        )
        .route(
            "/v3/projects/{project}/groups/{group}/roles/{role}",
            grant_routes(),
        )
        .route("/v3/system/users/{user}/roles/{role}", grant_routes())
        .route("/v3/system/groups/{group}/roles/{role}", grant_routes())
        .route(
            "/v3/groups",
            get(routes::groups::list).post(routes::groups::create),
        )
        .route(
            "/v3/groups/{id}",
            get(routes::groups::get)
                .patch(routes::groups::update)
                .delete(routes::groups::delete),
        )
        .route("/v3/groups/{id}/users", get(routes::groups::list_users))
        .route(
            "/v3/groups/{group}/users/{user}",
            put(routes::groups::add_user)
                .get(routes::groups::check_user)
                .delete(routes::groups::remove_user),
        )
        .route("/v3/users/{id}/groups", get(routes::groups::list_for_user))
        .route(
            "/v3/roles",
            get(routes::projects::list_roles).post(routes::projects::create_role),
        )
        .route(
            "/v3/roles/{id}",
            get(routes::projects::get_role)
                .patch(routes::projects::update_role)
                .delete(routes::projects::delete_role),
        )
        .route(
            "/v3/role_assignments",
            get(routes::projects::list_assignments),
        )
        .route(
            "/v3/credentials",
            get(routes::credentials::list).post(routes::credentials::create),
        )
        .route(
            "/v3/credentials/{id}",
            get(routes::credentials::get).delete(routes::credentials::delete),
        )
        .route(
            "/v3/event-handlers",
            get(routes::event_handlers::list).post(routes::event_handlers::create),
        )
        .route(
            "/v3/event-handlers/schema",
            get(routes::event_handlers::schema),
        )
        .route(
            "/v3/event-handlers/{id}",
            get(routes::event_handlers::get)
                .patch(routes::event_handlers::update)
                .delete(routes::event_handlers::delete),
        )
        .route(
            "/v3/event-handlers/{id}/enable",
            post(routes::event_handlers::enable),
        )
        .route(
            "/v3/event-handlers/{id}/disable",
            post(routes::event_handlers::disable),
        )
        .route("/v3/audit", get(routes::audit::list))
        .route("/v3/audit/export", get(routes::audit::export))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            events::around_call,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(middleware::from_fn(keystone_headers))
        .with_state(state)
}

/// What every role-grant route answers: grant (PUT), check (GET or HEAD,
/// as Keystone), revoke (DELETE). The route
/// template names the target and the actor (see
/// [`routes::projects::GrantPath`]).
fn grant_routes() -> MethodRouter<AppState> {
    put(routes::projects::grant)
        .get(routes::projects::check_grant)
        .delete(routes::projects::revoke_grant)
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

/// `GET /metrics`: the Prometheus text exposition.
async fn metrics_text(State(state): State<AppState>) -> Response {
    let headers = [(
        axum::http::header::CONTENT_TYPE,
        "text/plain; version=0.0.4",
    )];
    (headers, state.metrics().render()).into_response()
}

/// Adds what Keystone puts on every response: a request id and
/// `Vary: X-Auth-Token`.
async fn keystone_headers(mut request: Request, next: Next) -> Response {
    let id = format!("req-{}", uuid::Uuid::new_v4());
    request
        .extensions_mut()
        .insert(events::RequestId(id.as_str().into()));
    let mut response = next.run(request).await;
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
    let background = tokio::spawn(housekeeping(state.clone()));
    let limits = listener::Limits::from_config(&state.config().server);
    let metrics = state.metrics().clone();
    listener::run(listener, router(state.clone()), metrics, limits, shutdown).await;
    background.abort();
    // Runs already queued finish and their audit rows are written.
    state.dispatcher().wait_idle().await;
    state.dispatcher().audit().flush().await;
    Ok(())
}

/// What a node does besides answering: every `[keys] refresh_interval`
/// seconds it reloads the shared keys and the event-handler bindings (so a
/// rotation or a binding changed on another node reaches it without a
/// restart), and hourly it deletes audit rows past `[audit]
/// retention_days`. A failed step is logged and retried at the next tick.
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
        }
    }
}
