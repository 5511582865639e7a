//! Every API call as an event: its stable name, what the handlers and the
//! engine learned about it, the event-handler bindings run around it, and
//! its audit row.
//!
//! [`around_call`] wraps each routed request whose route names an event
//! (the route table, [`crate::routes`](mod@crate::routes), is the one
//! place that names them). Before the call it runs the `pre` bindings (an
//! `abort_on_error` failure answers 502 and the call never runs); after
//! it, it fills the event from what the call noted (the user, domain,
//! project and methods, the policy action, the error), runs the `post`
//! bindings with the JSON response (which `ResponseMangler` may change),
//! and records one audit row (except successes of the events `[audit] skip_successful`
//! lists: by default successful token validations, see `AuditSection`).
//! With nothing bound to the event, the only cost is building the event and
//! its audit row.
//!
//! Handlers and the engine reach the event through [`note`], a task-local
//! scoped to the call, so nothing has to thread it through signatures.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use auth_core::audit::record_for;
use auth_core::events::{EventError, names};
use auth_core::handlers::Dispatcher;
use auth_core::store::{AuditKind, HandlerPosition};
use auth_core::{AuthEvent, EventResult, EventSink};
use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ServerError;
use crate::forwarded::ClientOrigin;
use crate::metrics::Metrics;
use crate::routes::EventNames;
use crate::state::AppState;

/// The id `x-openstack-request-id` carries, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// What a call learned about itself, for its event.
#[derive(Debug, Default)]
pub struct Facts {
    /// The user the call was about (the one who logged in, the token's
    /// owner, the user changed).
    pub user_id: Option<String>,
    /// That user's domain.
    pub domain_id: Option<String>,
    /// The project involved.
    pub project_id: Option<String>,
    /// The auth methods of a login.
    pub methods: Vec<String>,
    /// The error the call failed with.
    pub error: Option<EventError>,
    /// The policy action the call was checked against (`identity:…`),
    /// allowed or refused.
    pub policy: Option<&'static str>,
    /// What a door adds about the call (the resource level and method of
    /// an imaging decision, the `server-id` asking, a share token's id),
    /// kept in the event's attributes and so visible to conditions.
    pub attributes: serde_json::Map<String, Value>,
}

/// The attribute under which a door notes what was asked (an object; see
/// [`Facts::attributes`]), copied into the call's audit row. Never a
/// secret: no token, no password.
pub const REQUEST: &str = "request";

/// The mark on a successful response whose call decided *no*: an Orthanc
/// `{"granted": false}` is an HTTP 200, but its event is a failure (never
/// left out of the audit log, and what a binding on refusals sees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused;

tokio::task_local! {
    static CALL: Arc<Mutex<Facts>>;
}

/// Adds to the current call's facts; outside a call (the CLI, tests of
/// handlers alone) it does nothing.
pub fn note(fill: impl FnOnce(&mut Facts)) {
    let _ = CALL.try_with(|facts| fill(&mut facts.lock().unwrap_or_else(PoisonError::into_inner)));
}

/// Notes `key: value` in the current call's [`REQUEST`] attribute (and so
/// in its audit row), beside what is there already. Never a secret.
pub fn note_request(key: &str, value: Value) {
    note(|facts| {
        let request = facts
            .attributes
            .entry(REQUEST)
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(request) = request {
            request.insert(key.to_owned(), value);
        }
    });
}

/// Runs `call` as a call of its own, and gives what it noted with its
/// output: for a door that raises its event itself (the gateway, whose
/// answers stream long after the handler returns).
pub async fn collect<T>(call: impl std::future::Future<Output = T>) -> (T, Facts) {
    let facts = Arc::new(Mutex::new(Facts::default()));
    let output = CALL.scope(facts.clone(), call).await;
    let facts = std::mem::take(&mut *facts.lock().unwrap_or_else(PoisonError::into_inner));
    (output, facts)
}

/// What [`around_call`] needs: the state, and the event of each routed
/// call, as the route table ([`crate::routes`](mod@crate::routes)) names
/// them.
#[derive(Debug, Clone)]
pub struct Calls {
    state: AppState,
    names: Arc<EventNames>,
}

impl Calls {
    /// The middleware's state for `state`'s server, whose routes raise the
    /// events `names` gives.
    pub fn new(state: AppState, names: Arc<EventNames>) -> Self {
        Self { state, names }
    }
}

/// The middleware: see the module documentation.
pub async fn around_call(State(calls): State<Calls>, request: Request, next: Next) -> Response {
    let Calls { state, names } = calls;
    let route = request.extensions().get::<MatchedPath>();
    let Some(name) = route.and_then(|r| names.of(request.method(), r.as_str())) else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let mut event = AuthEvent::new(name, state.clock().now());
    event.request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.to_string());
    event.client_addr = ClientOrigin::of(request.extensions(), request.headers()).client_addr();
    let dispatcher = state.dispatcher();
    if !dispatcher.wants(name) && skips_successes(&state, name) {
        // The hot path (token validation, imaging decisions): nothing
        // bound, and a success leaves no row; only a failure is worth an
        // event.
        let facts = Arc::new(Mutex::new(Facts::default()));
        let response = CALL.scope(facts.clone(), next.run(request)).await;
        if !succeeded(&response) {
            let facts = std::mem::take(&mut *facts.lock().unwrap_or_else(PoisonError::into_inner));
            fill(&mut event, facts, &response);
            event.elapsed_us = u64::try_from(started.elapsed().as_micros()).ok();
            audit_call(dispatcher, &event, &response);
        }
        return response;
    }
    let (mut parts, body) = request.into_parts();
    if let Ok(params) = RawPathParams::from_request_parts(&mut parts, &state).await {
        // The user a user-centred route is about.
        event.user_id = params
            .iter()
            .find(|(key, _)| {
                *key == "user" || (*key == "id" && parts.uri.path().starts_with("/v3/users/"))
            })
            .map(|(_, value)| value.to_owned());
    }
    let request = Request::from_parts(parts, body);

    let response = match dispatcher.pre(&event).await {
        Err(aborted) => ServerError::from(aborted).into_response(),
        Ok(()) => {
            let facts = Arc::new(Mutex::new(Facts::default()));
            let response = CALL.scope(facts.clone(), next.run(request)).await;
            let facts = std::mem::take(&mut *facts.lock().unwrap_or_else(PoisonError::into_inner));
            fill(&mut event, facts, &response);
            event.elapsed_us = u64::try_from(started.elapsed().as_micros()).ok();
            if dispatcher.wants_at(name, HandlerPosition::Post) {
                after(dispatcher, &event, response, &state).await
            } else {
                response
            }
        }
    };
    if response.status() == StatusCode::BAD_GATEWAY && event.error.is_none() {
        event.result = Some(EventResult::Failure);
    }
    if event.result != Some(EventResult::Success) || !skips_successes(&state, name) {
        audit_call(dispatcher, &event, &response);
    }
    if matches!(name, "auth.tokens.create" | "gateway.login")
        && event.result == Some(EventResult::Failure)
    {
        locked_out(&state, &event).await;
    }
    response
}

/// Whether a response is a success: a 2xx not marked [`Refused`].
fn succeeded(response: &Response) -> bool {
    response.status().is_success() && response.extensions().get::<Refused>().is_none()
}

/// Whether a successful call of `name` is observed at all: a binding
/// wants it, or it gets an audit row. When not, a hot handler need not
/// build the details of its success (see [`Facts::attributes`]).
pub fn success_is_recorded(state: &AppState, name: &str) -> bool {
    state.dispatcher().wants(name) || !skips_successes(state, name)
}

/// Whether successful calls of `name` get no audit row (`[audit]
/// skip_successful`).
pub(crate) fn skips_successes(state: &AppState, name: &str) -> bool {
    state
        .config()
        .audit
        .skip_successful
        .iter()
        .any(|e| e == name)
}

/// The call's audit row: the event, its HTTP status and error kind.
fn audit_call(dispatcher: &Dispatcher, event: &AuthEvent, response: &Response) {
    audit_status(dispatcher, event, response.status().as_u16());
}

/// The audit row of `event`, whose call ended with `status`.
pub(crate) fn audit_status(dispatcher: &Dispatcher, event: &AuthEvent, status: u16) {
    let mut row = record_for(event, AuditKind::Call, event.name.clone());
    row.detail = json!({"status": status});
    if let Some(error) = &event.error {
        row.detail["error"] = json!(error.kind);
    }
    if let Some(action) = event.attributes.get("policy") {
        row.detail["policy"] = action.clone();
    }
    if let Some(request) = event.attributes.get(REQUEST) {
        row.detail[REQUEST] = request.clone();
    }
    dispatcher.audit().record(row);
}

/// Completes the event from the call's facts and its response.
pub(crate) fn fill(event: &mut AuthEvent, facts: Facts, response: &Response) {
    fill_facts(event, facts);
    let status = response.status();
    if event.error.is_none() {
        event.error = response.extensions().get::<EventError>().cloned();
    }
    event.result = Some(if succeeded(response) {
        EventResult::Success
    } else if response.headers().contains_key("openstack-auth-receipt") {
        EventResult::Continue
    } else {
        EventResult::Failure
    });
    event
        .attributes
        .insert("status".into(), json!(status.as_u16()));
}

/// Raises the event of a door that speaks no HTTP (the DICOM listener):
/// completes `event` from `facts` with `result`, records its audit row
/// (unless it is a success of an event `[audit] skip_successful` lists)
/// and runs its `post` bindings in a task of their own (there is no
/// response for them to change, and the door's answer does not wait for
/// them). `detail` is the row's detail (what the door answered, in its
/// protocol's terms).
pub(crate) fn raise(
    state: &AppState,
    mut event: AuthEvent,
    facts: Facts,
    result: EventResult,
    detail: Value,
) {
    fill_facts(&mut event, facts);
    event.result = Some(result);
    let dispatcher = state.dispatcher();
    let skip = result == EventResult::Success && skips_successes(state, &event.name);
    if !skip {
        let mut row = record_for(&event, AuditKind::Call, event.name.clone());
        row.detail = detail;
        if let Some(error) = &event.error {
            row.detail["error"] = json!(error.kind);
        }
        if let Some(request) = event.attributes.get(REQUEST) {
            row.detail[REQUEST] = request.clone();
        }
        dispatcher.audit().record(row);
    }
    if dispatcher.wants_at(&event.name, HandlerPosition::Post) {
        let dispatcher = dispatcher.clone();
        tokio::spawn(async move {
            let mut no_body = Value::Null;
            let _ = dispatcher.post(&event, &mut no_body).await;
        });
    }
}

/// Copies what a call noted into its event.
fn fill_facts(event: &mut AuthEvent, facts: Facts) {
    let Facts {
        user_id,
        domain_id,
        project_id,
        methods,
        error,
        policy,
        attributes,
    } = facts;
    if let Some(action) = policy {
        event.attributes.insert("policy".into(), json!(action));
    }
    event.attributes.extend(attributes);
    if user_id.is_some() {
        event.user_id = user_id;
    }
    event.domain_id = domain_id;
    event.project_id = project_id;
    event.methods = methods;
    event.error = error;
}

/// Runs the post bindings with the JSON response, and answers with the
/// response they leave (or the 502 of an aborting one).
async fn after(
    dispatcher: &Dispatcher,
    event: &AuthEvent,
    response: Response,
    state: &AppState,
) -> Response {
    let (mut parts, body) = response.into_parts();
    let limit = state.config().server.body_limit.max(1 << 20) * 16;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return ServerError::from(auth_core::AuthError::Internal(
            "a response too large for the post handlers".into(),
        ))
        .into_response();
    };
    let original: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let mut json = original.clone();
    if let Err(aborted) = dispatcher.post(event, &mut json).await {
        return ServerError::from(aborted).into_response();
    }
    if json == original {
        return Response::from_parts(parts, Body::from(bytes));
    }
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    match serde_json::to_vec(&json) {
        Ok(changed) => Response::from_parts(parts, Body::from(changed)),
        Err(_) => ServerError::from(auth_core::AuthError::Internal(
            "a post handler left a response that does not serialize".into(),
        ))
        .into_response(),
    }
}

/// After a failed login: if that failure locked the account (a wrong
/// secret brought its counter to the limit; an attempt on an account
/// already locked fails differently), the `user.locked` event, for
/// bindings such as "mail the user when their account locks".
async fn locked_out(state: &AppState, login: &AuthEvent) {
    if login
        .error
        .as_ref()
        .is_none_or(|e| e.kind != "invalid_credentials")
    {
        return;
    }
    let (Some(user_id), Some(limit)) = (
        login.user_id.as_deref(),
        state.compliance().lockout_failure_attempts,
    ) else {
        return;
    };
    let Ok(auth_state) = state.storage().auth_state(user_id).await else {
        return;
    };
    if auth_state.failed_auth_count != limit {
        return;
    }
    let mut event = AuthEvent::new("user.locked", state.clock().now());
    event.request_id.clone_from(&login.request_id);
    event.client_addr = login.client_addr;
    event.user_id = Some(user_id.to_owned());
    event.domain_id.clone_from(&login.domain_id);
    event.result = Some(EventResult::Success);
    event
        .attributes
        .insert("failure_count".into(), json!(auth_state.failed_auth_count));
    let dispatcher = state.dispatcher();
    let mut no_response = Value::Null;
    let _ = dispatcher.post(&event, &mut no_response).await;
    dispatcher
        .audit()
        .record(record_for(&event, AuditKind::Call, "user.locked"));
}

/// The engine's events: counted in the metrics, noted as the facts of the
/// login under way, and dispatched to post bindings (off the request path:
/// an engine step has no response to change).
#[derive(Debug, Clone)]
pub struct EngineSink {
    /// Where method results are counted.
    pub metrics: Arc<Metrics>,
    /// Where bindings on engine events run.
    pub dispatcher: Dispatcher,
}

impl EventSink for EngineSink {
    fn emit(&self, event: AuthEvent) {
        self.metrics.observe_engine_event(&event);
        if event.name == names::OUTCOME {
            note(|facts| {
                facts.user_id.clone_from(&event.user_id);
                facts.domain_id.clone_from(&event.domain_id);
                facts.project_id.clone_from(&event.project_id);
                facts.methods.clone_from(&event.methods);
                facts.error.clone_from(&event.error);
            });
        }
        if self.dispatcher.wants_at(&event.name, HandlerPosition::Post) {
            let dispatcher = self.dispatcher.clone();
            tokio::spawn(async move {
                let mut no_response = Value::Null;
                let _ = dispatcher.post(&event, &mut no_response).await;
            });
        }
    }
}
