//! Typed events the engine emits, and where they go.
//!
//! The engine reports every step of a login (request received, each
//! method's result, receipt issued, final outcome) as an [`AuthEvent`] to an
//! [`EventSink`]. The event carries everything a handler condition may want
//! to test (outcome, methods, user, domain, project, client address, error
//! kind and message, counters, timing), so the event-handler subsystem and
//! the audit log consume it without reaching back into the engine.

use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::AuthError;

/// Stable event names emitted by the engine.
pub mod names {
    /// A request arrived and parsed.
    pub const REQUEST_RECEIVED: &str = "auth.request.received";
    /// Prefix of a method's result: `auth.method.<name>`.
    pub const METHOD_PREFIX: &str = "auth.method.";
    /// A receipt was issued (MFA rules pending or a method challenged).
    pub const RECEIPT_ISSUED: &str = "auth.receipt.issued";
    /// The request ended: authenticated, continue, or failed.
    pub const OUTCOME: &str = "auth.outcome";
}

/// What happened, in a word conditions can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventResult {
    /// The step (or the login) succeeded.
    Success,
    /// It failed.
    Failure,
    /// It needs another round trip.
    Continue,
}

/// The error part of a failure event: the stable kind and the client-facing
/// message (which never holds a secret), plus the status it maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventError {
    /// [`AuthError::kind`].
    pub kind: String,
    /// The HTTP status.
    pub status: u16,
    /// The error's message.
    pub message: String,
}

impl From<&AuthError> for EventError {
    fn from(error: &AuthError) -> Self {
        Self {
            kind: error.kind().to_owned(),
            status: error.http_status(),
            message: error.to_string(),
        }
    }
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthEvent {
    /// The stable event name (see [`names`]).
    pub name: String,
    /// When it happened, by the injected clock.
    pub at: DateTime<Utc>,
    /// The request id, if the caller gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The client address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_addr: Option<IpAddr>,
    /// The methods the request listed.
    #[serde(default)]
    pub methods: Vec<String>,
    /// The method this event is about (method events only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The result, for method, receipt and outcome events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<EventResult>,
    /// The user, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The user's domain, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// The project, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The error, for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<EventError>,
    /// How long the step took, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_us: Option<u64>,
    /// Anything else a condition may test: counters, the methods still
    /// required, user attributes. Keys are stable per event name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
}

impl AuthEvent {
    /// An event with just a name and a time.
    pub fn new(name: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self {
            name: name.into(),
            at,
            request_id: None,
            client_addr: None,
            methods: Vec::new(),
            method: None,
            result: None,
            user_id: None,
            domain_id: None,
            project_id: None,
            error: None,
            elapsed_us: None,
            attributes: Map::new(),
        }
    }
}

/// Where events go.
///
/// `emit` is called on the request path, so an implementation must not
/// block: queue, count or drop, but do slow work elsewhere.
pub trait EventSink: Send + Sync + fmt::Debug {
    /// Receives one event.
    fn emit(&self, event: AuthEvent);

    /// Whether events are wanted at all. The engine skips building events
    /// for a sink that says no.
    fn is_enabled(&self) -> bool {
        true
    }
}

/// Discards every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopSink;

impl EventSink for NoopSink {
    fn emit(&self, _event: AuthEvent) {}

    fn is_enabled(&self) -> bool {
        false
    }
}

/// Keeps every event in memory, for tests and for inspecting a flow.
#[derive(Debug, Default)]
pub struct RecordingSink {
    events: Mutex<Vec<AuthEvent>>,
}

impl RecordingSink {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<AuthEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The names of every event so far, in order.
    pub fn names(&self) -> Vec<String> {
        self.events().into_iter().map(|e| e.name).collect()
    }

    /// Forgets every event.
    pub fn clear(&self) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

impl EventSink for RecordingSink {
    fn emit(&self, event: AuthEvent) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event);
    }
}
