//! One request through the gateway: who calls (the token it carries),
//! what it asks (its URL), the decision, and the forwarded answer, as the
//! event `gateway.request`.
//!
//! No credential, or one that does not hold, is a 401 with
//! `WWW-Authenticate`, so clients that log in again on a 401 do; a refusal
//! is a 403 and never reaches the upstream. The event is recorded when the
//! answer's body has been streamed (or abandoned), with its size and the
//! time it took; the post bindings of `gateway.request` then run off the
//! request path with no response body (a door cannot hold gigabytes for
//! them to read). Refusals always get an audit row; successes unless
//! `[audit] skip_successful` lists `gateway.request`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use auth_core::handlers::Dispatcher;
use auth_core::imaging::{Level, Method};
use auth_core::{AuthEvent, EventResult};
use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{SET_COOKIE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use serde_json::{Value, json};

use super::credentials::{self, Source};
use super::proxy::{self, Upstream};
use super::resource::{self, Target};
use super::{authorize, session};
use crate::error::ServerError;
use crate::events::{self, REQUEST, Refused};
use crate::forwarded::{ClientOrigin, listener_scheme};
use crate::imaging::{self, BearerKind};
use crate::services;
use crate::state::AppState;

/// The event every proxied request raises.
pub const EVENT: &str = "gateway.request";

/// The handler of every path but the login and logout paths.
pub async fn pass(
    State(state): State<AppState>,
    Extension(upstream): Extension<Arc<Upstream>>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let origin = ClientOrigin::of(request.extensions(), request.headers());
    let client = origin.client_addr();
    let mut event = AuthEvent::new(EVENT, state.clock().now());
    event.request_id = Some(format!("req-{}", uuid::Uuid::new_v4()));
    event.client_addr = client;
    let dispatcher = state.dispatcher().clone();
    if dispatcher.wants(EVENT)
        && let Err(aborted) = dispatcher.pre(&event).await
    {
        return ServerError::from(aborted).into_response();
    }
    let (response, facts) = events::collect(decide(&state, &upstream, request, &origin)).await;
    events::fill(&mut event, facts, &response);
    let status = response.status();
    let failed = status.is_client_error()
        || status.is_server_error()
        || response.extensions().get::<Refused>().is_some();
    event.result = Some(if failed {
        EventResult::Failure
    } else {
        EventResult::Success
    });
    let record = Record {
        skip: !failed && events::skips_successes(&state, EVENT),
        dispatcher,
        event,
        status: status.as_u16(),
        started,
    };
    response.map(|body| {
        Body::new(Recorded {
            body,
            bytes: 0,
            record: Some(record),
        })
    })
}

/// Authenticates, decides and forwards; notes the facts for the event.
async fn decide(
    state: &AppState,
    upstream: &Upstream,
    request: Request,
    origin: &ClientOrigin,
) -> Response {
    let uri = request.uri().clone();
    let path = uri.path();
    let mut noted = json!({"method": request.method().as_str(), "path": path});
    let section = &state.config().gateway;
    let Some(credential) = credentials::find(request.headers(), uri.query(), &section.cookie_name)
    else {
        note(&noted);
        return unauthenticated();
    };
    let revision = match state.validations().revision().await {
        Ok(revision) => revision,
        Err(e) => return ServerError::from(e).into_response(),
    };
    let bearer = match imaging::bearer(state, Some(&credential.token), revision).await {
        Ok(bearer) => bearer,
        Err(e) => return ServerError::from(e).into_response(),
    };
    noted["bearer"] = json!(bearer.kind.word());
    match &bearer.kind {
        BearerKind::User {
            user_id,
            domain_id,
            project_id,
            ..
        } => events::note(|facts| {
            facts.user_id = Some(user_id.clone());
            facts.domain_id = Some(domain_id.clone());
            facts.project_id.clone_from(project_id);
        }),
        BearerKind::Share { id, .. } => noted["share_token_id"] = json!(id),
        _ => {
            note(&noted);
            return unauthenticated();
        }
    }
    let method = match *request.method() {
        axum::http::Method::GET | axum::http::Method::HEAD => Some(Method::Get),
        axum::http::Method::POST => Some(Method::Post),
        axum::http::Method::PUT => Some(Method::Put),
        axum::http::Method::DELETE => Some(Method::Delete),
        _ => None,
    };
    let Some(method) = method else {
        note(&noted);
        return refused();
    };
    let target = match resource::parse(path, uri.query(), method == Method::Get) {
        Ok(target) => target,
        Err(resource::Malformed) => {
            note(&noted);
            return proxy::failure(StatusCode::BAD_REQUEST, "The request URL is malformed.");
        }
    };
    noted["level"] = json!(level_word(&target));
    if !authorize::allows(&bearer, method, path, &target) {
        note(&noted);
        return refused();
    }
    note(&noted);
    let renewal = match credential.source {
        Source::Cookie => services::sessions::renew_if_due(state, &credential.token, revision)
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(%error, "renewing a session failed");
                None
            }),
        _ => None,
    };
    let scheme = super::client_scheme(section, origin, listener_scheme(state));
    let mut response = upstream.forward(request, origin, scheme).await;
    if let Some(token) = renewal
        && let Ok(value) = HeaderValue::from_str(&session::set_cookie(section, scheme, &token))
    {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

fn note(noted: &Value) {
    events::note(|facts| {
        facts.attributes.insert(REQUEST.into(), noted.clone());
    });
}

/// The level a target is decided at, for the event.
fn level_word(target: &Target<'_>) -> &'static str {
    match target {
        Target::Listing { .. } => "listing",
        Target::System => "system",
        Target::Resources { chain, .. } => match chain.last().map(|n| n.level) {
            Some(Level::Patient) => "patient",
            Some(Level::Study) => "study",
            Some(Level::Series) => "series",
            Some(Level::Instance) => "instance",
            _ => "system",
        },
    }
}

/// 401 with the challenges a client can answer: a session cookie from the
/// login path, or a bearer token.
pub fn unauthenticated() -> Response {
    let mut response = ServerError::MissingToken.into_response();
    let headers = response.headers_mut();
    headers.append(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Cookie realm=\"gateway\""),
    );
    headers.append(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"gateway\""),
    );
    response
}

/// 403: what the caller holds does not allow this request.
fn refused() -> Response {
    let mut response = ServerError::from(auth_core::AuthError::Forbidden(
        "You are not authorized to perform the requested action.".into(),
    ))
    .into_response();
    response.extensions_mut().insert(Refused);
    response
}

/// What is left to record once the body is done.
struct Record {
    skip: bool,
    dispatcher: Dispatcher,
    event: AuthEvent,
    status: u16,
    started: Instant,
}

impl Record {
    fn finish(mut self, bytes: u64, complete: bool) {
        let elapsed = self.started.elapsed();
        self.event.elapsed_us = u64::try_from(elapsed.as_micros()).ok();
        let request = self
            .event
            .attributes
            .entry(REQUEST)
            .or_insert_with(|| json!({}));
        if let Value::Object(request) = request {
            request.insert("status".into(), json!(self.status));
            request.insert("bytes".into(), json!(bytes));
            request.insert(
                "duration_ms".into(),
                json!(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)),
            );
            if !complete {
                request.insert("complete".into(), json!(false));
            }
        }
        if !complete {
            self.event.result = Some(EventResult::Failure);
        }
        if !self.skip || !complete {
            events::audit_status(&self.dispatcher, &self.event, self.status);
        }
        if self
            .dispatcher
            .wants_at(EVENT, auth_core::store::HandlerPosition::Post)
        {
            let (dispatcher, event) = (self.dispatcher, self.event);
            tokio::spawn(async move {
                let mut no_body = Value::Null;
                let _ = dispatcher.post(&event, &mut no_body).await;
            });
        }
    }
}

/// A response body that counts what it streams and records the event
/// when it ends, or when it is dropped before its end (the client left, or
/// the upstream failed mid-body).
struct Recorded {
    body: Body,
    bytes: u64,
    record: Option<Record>,
}

impl http_body::Body for Recorded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.bytes += data.len() as u64;
                }
            }
            Poll::Ready(None) => {
                if let Some(record) = self.record.take() {
                    record.finish(self.bytes, true);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(record) = self.record.take() {
                    record.finish(self.bytes, false);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Recorded {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            // hyper may not poll a body it knows is empty.
            let complete = http_body::Body::is_end_stream(&self.body);
            record.finish(self.bytes, complete);
        }
    }
}
