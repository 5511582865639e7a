//! The input of one authentication request.

use std::fmt;
use std::net::IpAddr;

use serde_json::Value;

use crate::context::{RequestHeaders, RequestLine};

/// One authentication request as the engine receives it: the body plus
/// what the transport knows (receipt header, client address, headers).
pub struct AuthAttempt<'a> {
    pub(crate) body: Body<'a>,
    pub(crate) receipt: Option<&'a str>,
    pub(crate) client_addr: Option<IpAddr>,
    pub(crate) headers: RequestHeaders,
    pub(crate) request_id: Option<&'a str>,
    pub(crate) door: Option<&'a str>,
    pub(crate) request_line: Option<RequestLine>,
}

pub(crate) enum Body<'a> {
    Raw(&'a [u8]),
    Json(Value),
}

impl<'a> AuthAttempt<'a> {
    /// A request with a raw JSON body (size-limited before parsing).
    pub fn new(body: &'a [u8]) -> Self {
        Self::with_body(Body::Raw(body))
    }

    /// A request whose body is already parsed (taken by value: the engine
    /// takes it apart instead of copying it).
    pub fn from_json(body: Value) -> Self {
        Self::with_body(Body::Json(body))
    }

    fn with_body(body: Body<'a>) -> Self {
        Self {
            body,
            receipt: None,
            client_addr: None,
            headers: RequestHeaders::new(),
            request_id: None,
            door: None,
            request_line: None,
        }
    }

    /// Resumes the login recorded in `receipt` (the `Openstack-Auth-Receipt`
    /// header).
    pub fn receipt(mut self, receipt: &'a str) -> Self {
        self.receipt = Some(receipt);
        self
    }

    /// The client's address.
    pub fn client_addr(mut self, addr: IpAddr) -> Self {
        self.client_addr = Some(addr);
        self
    }

    /// The request headers (each method sees only those it declares).
    pub fn headers(mut self, headers: RequestHeaders) -> Self {
        self.headers = headers;
        self
    }

    /// The HTTP method and URL the attempt came in on (see
    /// [`MethodContext::request_line`](crate::MethodContext::request_line)).
    pub fn request_line(mut self, line: RequestLine) -> Self {
        self.request_line = Some(line);
        self
    }

    /// The request id, for events and logs.
    pub fn request_id(mut self, id: &'a str) -> Self {
        self.request_id = Some(id);
        self
    }

    /// The door the attempt came through when it is not the HTTP API (the
    /// server's DICOM listener says `"dicom"`). Only the server sets it,
    /// never a request, so a method can believe what only one door vouches
    /// for (see [`MethodContext::door`](crate::MethodContext::door)).
    pub fn door(mut self, door: &'a str) -> Self {
        self.door = Some(door);
        self
    }
}

impl fmt::Debug for AuthAttempt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body and the receipt hold credentials: never printed.
        f.debug_struct("AuthAttempt")
            .field("has_receipt", &self.receipt.is_some())
            .field("client_addr", &self.client_addr)
            .field("headers", &self.headers)
            .field("request_id", &self.request_id)
            .field("door", &self.door)
            .field("request_line", &self.request_line)
            .finish_non_exhaustive()
    }
}
