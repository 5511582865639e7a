//! What a method may see of the request: [`MethodContext`].

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::AuthError;
use crate::clock::Clock;
use crate::identity::Identity;
use crate::request::ScopeRequest;
use crate::store::Stores;
use crate::token::TokenProvider;

/// A read-only view of the request for one method.
///
/// Built by the engine for each method call. It carries no payload of any
/// other method and only the headers the method declared.
pub struct MethodContext<'a> {
    pub(crate) method: &'a str,
    pub(crate) methods: &'a [String],
    pub(crate) scope: &'a ScopeRequest,
    pub(crate) client_addr: Option<IpAddr>,
    pub(crate) headers: &'a RequestHeaders,
    pub(crate) declared_headers: &'a [String],
    pub(crate) resolved: &'a Identity,
    pub(crate) continuation: Option<&'a Value>,
    pub(crate) request_id: Option<&'a str>,
    pub(crate) door: Option<&'a str>,
    pub(crate) request_line: Option<&'a RequestLine>,
    pub(crate) clock: &'a dyn Clock,
    pub(crate) stores: &'a Stores,
    pub(crate) tokens: Option<&'a dyn TokenProvider>,
}

impl<'a> MethodContext<'a> {
    /// The name this method was invoked under.
    pub fn method(&self) -> &str {
        self.method
    }

    /// Every method of the request, in order.
    pub fn methods(&self) -> &[String] {
        self.methods
    }

    /// The requested scope.
    pub fn scope(&self) -> &ScopeRequest {
        self.scope
    }

    /// The client's address, as the server saw it.
    pub fn client_addr(&self) -> Option<IpAddr> {
        self.client_addr
    }

    /// The door the attempt came through, as the server named it
    /// ([`AuthAttempt::door`](crate::AuthAttempt::door)); `None` for the
    /// HTTP API. A method whose credential only one door can vouch for (a
    /// user name a DICOM peer asserts, trusted by its AE title and network)
    /// refuses attempts from any other: there, the same payload is just
    /// something a client wrote.
    pub fn door(&self) -> Option<&str> {
        self.door
    }

    /// The HTTP method and URL the attempt came in on, when the door knows
    /// them (the HTTP API): what a method checking a signature over the
    /// request (OAuth1) signs again.
    pub fn request_line(&self) -> Option<&RequestLine> {
        self.request_line
    }

    /// A request header, if this method declared it
    /// ([`AuthMethodHandler::declared_headers`](crate::AuthMethodHandler::declared_headers)).
    /// Names are case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.declared_headers
            .iter()
            .any(|declared| declared.eq_ignore_ascii_case(name))
            .then(|| self.headers.get(name))
            .flatten()
    }

    /// What earlier methods of this request (and of the receipt it resumes)
    /// resolved.
    pub fn resolved(&self) -> &Identity {
        self.resolved
    }

    /// This method's continuation state, when the request resumes a
    /// challenge this method issued.
    pub fn continuation(&self) -> Option<&Value> {
        self.continuation
    }

    /// The request id, for logs.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id
    }

    /// The current time from the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The injected clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock
    }

    /// The store handles.
    pub fn stores(&self) -> &Stores {
        self.stores
    }

    /// The token provider, for methods that accept tokens (rescoping).
    pub fn tokens(&self) -> Result<&dyn TokenProvider, AuthError> {
        self.tokens
            .ok_or_else(|| AuthError::invalid_config("engine", "no token provider is configured"))
    }
}

impl fmt::Debug for MethodContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MethodContext")
            .field("method", &self.method)
            .field("methods", &self.methods)
            .field("scope", &self.scope)
            .field("client_addr", &self.client_addr)
            .field("resolved", &self.resolved)
            .field("has_continuation", &self.continuation.is_some())
            .field("request_id", &self.request_id)
            .field("door", &self.door)
            .field("request_line", &self.request_line)
            .finish_non_exhaustive()
    }
}

/// The HTTP request line of an attempt: its method and its URL as the
/// server reconstructs it (scheme, host and path, with the query if any),
/// which RFC 5849 signatures cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    /// `POST`, `GET`, …
    pub method: String,
    /// `http://host:port/v3/auth/tokens`.
    pub url: String,
}

impl RequestLine {
    /// The request line of `method` on `url`.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            url: url.into(),
        }
    }
}

/// Request headers, with names folded to lower case.
///
/// Values can be credentials (`X-Password`, `Authorization`), so `Debug`
/// prints names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestHeaders {
    entries: Vec<(String, String)>,
}

impl RequestHeaders {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header.
    pub fn insert(&mut self, name: &str, value: impl Into<String>) {
        self.entries.push((name.to_ascii_lowercase(), value.into()));
    }

    /// Adds a header, builder style.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.insert(name, value);
        self
    }

    /// The first value of a header (case-insensitive name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for RequestHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(name, _)| name))
            .finish()
    }
}
