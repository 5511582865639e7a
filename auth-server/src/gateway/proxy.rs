//! Forwarding to the upstream: hyper's pooled client, bodies streamed in
//! both directions (neither is ever held whole: WADO-RS answers can be
//! gigabytes), hop-by-hop headers dropped, end-to-end ones (such as
//! `Content-Encoding`) kept.
//!
//! What identifies the caller to this server never reaches the upstream:
//! `X-Auth-Token`, `Authorization` (replaced by the upstream's own basic
//! auth when configured), the share token's header and `?token=`, and the
//! session cookie (other cookies pass). `X-Forwarded-For`, `-Proto` and
//! `-Host` are set by the gateway, replacing whatever the caller sent, as
//! a proxy that verified what came before it: `X-Forwarded-For` is the
//! client's chain as [`crate::forwarded`] resolved it (the client, each
//! trusted proxy it came through, the gateway's peer; what an untrusted
//! peer sent, or what lies left of the client, is dropped),
//! `X-Forwarded-Proto` the clients' scheme ([`super::client_scheme`]) and
//! `X-Forwarded-Host` a trusted proxy's, else the request's `Host`. The
//! other way, the upstream may not set or clear the session cookie (a
//! `Set-Cookie` of that name is dropped from its answers); its own cookies
//! pass.
//!
//! At most `upstream_max_connections` requests are in flight to the
//! upstream, each holding its slot until its answer's body has streamed: a
//! burst of downloads queues here, for `connect_timeout_secs` at most (then
//! a 503), instead of opening a connection each on an upstream that serves
//! a bounded number at once.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::uri::{Authority, Scheme};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http_body_util::{LengthLimitError, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::ExposeSecret;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::credentials::{TOKEN_ARG, TOKEN_HEADER};
use super::session;
use crate::config::GatewaySection;
use crate::error::ServerError;
use crate::forwarded::{ClientOrigin, Scheme as ClientScheme};

/// Headers that describe one connection, not the message (RFC 9110
/// §7.6.1), dropped both ways.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The upstream and the pooled client that reaches it.
#[derive(Debug)]
pub struct Upstream {
    client: Client<HttpConnector, Body>,
    scheme: Scheme,
    authority: Authority,
    /// The upstream's base path, without a trailing `/` (`""` for the
    /// root).
    base_path: String,
    authorization: Option<HeaderValue>,
    response_timeout: Duration,
    /// One permit per request in flight to the upstream.
    slots: Arc<Semaphore>,
    /// How long a request waits for a slot.
    slot_wait: Duration,
    max_upload: u64,
    cookie_name: String,
}

impl Upstream {
    /// The upstream `[gateway]` names; a configuration error when it has
    /// none or an unusable URL (only `http://` is supported).
    pub fn from_config(section: &GatewaySection) -> Result<Self, ServerError> {
        let bad = |why: &str| ServerError::Config(format!("[gateway] upstream: {why}"));
        let url = section.upstream.as_deref().ok_or_else(|| bad("not set"))?;
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        if uri.scheme() != Some(&Scheme::HTTP) {
            return Err(bad("must be an http:// URL"));
        }
        let authority = uri.authority().cloned().ok_or_else(|| bad("no host"))?;
        if uri.query().is_some() {
            return Err(bad("must not have a query"));
        }
        let authorization = match (&section.upstream_user, &section.upstream_password) {
            (Some(user), Some(password)) => {
                let pair = format!("{user}:{}", password.expose_secret());
                let mut value = HeaderValue::from_str(&format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
                .map_err(|_| bad("the basic-auth user is not a header value"))?;
                value.set_sensitive(true);
                Some(value)
            }
            (None, None) => None,
            _ => return Err(bad("upstream_user and upstream_password go together")),
        };
        let connect_timeout = Duration::from_secs(section.connect_timeout_secs.max(1));
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let slots = section.upstream_max_connections.max(1);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(section.pool_idle_timeout_secs))
            .pool_max_idle_per_host(slots)
            .build(connector);
        Ok(Self {
            client,
            scheme: Scheme::HTTP,
            authority,
            base_path: uri.path().trim_end_matches('/').to_owned(),
            authorization,
            response_timeout: Duration::from_secs(section.response_timeout_secs.max(1)),
            slots: Arc::new(Semaphore::new(slots)),
            slot_wait: connect_timeout,
            max_upload: section.max_upload_bytes,
            cookie_name: section.cookie_name.clone(),
        })
    }

    /// Forwards `request` (already authorized) from `origin`, a client
    /// using `scheme`, and streams the answer back: the upstream's
    /// response, or a JSON 413, 502, 503 or 504.
    pub async fn forward(
        &self,
        request: Request,
        origin: &ClientOrigin,
        scheme: ClientScheme,
    ) -> Response {
        let (mut parts, body) = request.into_parts();
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.max_upload) {
            return failure(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large.",
            );
        }
        let Ok(uri) = self.upstream_uri(&parts.uri) else {
            return failure(
                StatusCode::BAD_REQUEST,
                "The request URL cannot be forwarded.",
            );
        };
        let Ok(Ok(slot)) =
            tokio::time::timeout(self.slot_wait, self.slots.clone().acquire_owned()).await
        else {
            return failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "The imaging service is busy; try again.",
            );
        };
        self.request_headers(&mut parts.headers, origin, scheme);
        parts.uri = uri;
        parts.version = axum::http::Version::HTTP_11;
        let limit = usize::try_from(self.max_upload).unwrap_or(usize::MAX);
        let upstream_request = Request::from_parts(parts, Body::new(Limited::new(body, limit)));
        let answer =
            tokio::time::timeout(self.response_timeout, self.client.request(upstream_request));
        match answer.await {
            Err(_) => failure(
                StatusCode::GATEWAY_TIMEOUT,
                "The imaging service did not answer in time.",
            ),
            Ok(Err(error)) if is_over_limit(&error) => failure(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large.",
            ),
            Ok(Err(error)) => {
                tracing::warn!(%error, "the upstream request failed");
                let status = if is_timeout(&error) {
                    StatusCode::GATEWAY_TIMEOUT
                } else {
                    StatusCode::BAD_GATEWAY
                };
                failure(status, "The imaging service could not be reached.")
            }
            Ok(Ok(response)) => {
                let (mut parts, body) = response.into_parts();
                drop_hop_by_hop(&mut parts.headers);
                self.drop_session_cookie_writes(&mut parts.headers);
                Response::from_parts(parts, Body::new(Slotted { body, _slot: slot }))
            }
        }
    }

    /// The upstream URL of `uri`: under the base path, without `token=`.
    fn upstream_uri(&self, uri: &Uri) -> Result<Uri, axum::http::Error> {
        let query = uri.query().map(|query| {
            query
                .split('&')
                .filter(|pair| pair.split_once('=').map_or(*pair, |(name, _)| name) != TOKEN_ARG)
                .collect::<Vec<_>>()
                .join("&")
        });
        let path_and_query = match query.filter(|q| !q.is_empty()) {
            Some(query) => format!("{}{}?{query}", self.base_path, uri.path()),
            None => format!("{}{}", self.base_path, uri.path()),
        };
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
    }

    /// Removes every `Set-Cookie` of the upstream's answer that would set
    /// (or clear) the gateway's session cookie: the session is this
    /// server's alone, and an upstream that could set it could log the
    /// browser into a session of its choosing (session fixation) or out of
    /// its own. Its other cookies pass.
    fn drop_session_cookie_writes(&self, headers: &mut HeaderMap) {
        let kept: Vec<HeaderValue> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter(|value| !sets_cookie(value, &self.cookie_name))
            .cloned()
            .collect();
        headers.remove(header::SET_COOKIE);
        for value in kept {
            headers.append(header::SET_COOKIE, value);
        }
    }

    /// The caller's headers as the upstream gets them.
    fn request_headers(
        &self,
        headers: &mut HeaderMap,
        origin: &ClientOrigin,
        scheme: ClientScheme,
    ) {
        drop_hop_by_hop(headers);
        for name in [
            header::HOST.as_str(),
            header::AUTHORIZATION.as_str(),
            "x-auth-token",
            TOKEN_HEADER,
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-forwarded-host",
            "forwarded",
        ] {
            headers.remove(name);
        }
        let cookies: Vec<String> = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| session::without_session(v, &self.cookie_name))
            .collect();
        headers.remove(header::COOKIE);
        if !cookies.is_empty()
            && let Ok(value) = HeaderValue::from_str(&cookies.join("; "))
        {
            headers.insert(header::COOKIE, value);
        }
        if let Some(value) = &self.authorization {
            headers.insert(header::AUTHORIZATION, value.clone());
        }
        let chain: Vec<String> = origin.chain().iter().map(ToString::to_string).collect();
        if !chain.is_empty()
            && let Ok(value) = HeaderValue::from_str(&chain.join(", "))
        {
            headers.insert(HeaderName::from_static("x-forwarded-for"), value);
        }
        headers.insert(
            HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static(scheme.as_str()),
        );
        if let Some(host) = origin.host()
            && let Ok(value) = HeaderValue::from_str(host)
        {
            headers.insert(HeaderName::from_static("x-forwarded-host"), value);
        }
    }
}

/// The upstream's answer, holding its request's slot until the body has
/// streamed or been dropped.
struct Slotted<B> {
    body: B,
    _slot: OwnedSemaphorePermit,
}

impl<B: http_body::Body + Unpin> http_body::Body for Slotted<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Whether a `Set-Cookie` value sets the cookie `name` (names compare as
/// browsers do: exactly, after trimming; a value that is not text is
/// treated as setting it, and dropped).
fn sets_cookie(value: &HeaderValue, name: &str) -> bool {
    let Ok(value) = value.to_str() else {
        return true;
    };
    let pair = value.split(';').next().unwrap_or_default();
    let set = pair.split_once('=').map_or(pair, |(set, _)| set);
    set.trim() == name
}

/// Removes the hop-by-hop headers and those `Connection` names.
fn drop_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    for name in named.iter().map(String::as_str).chain(HOP_BY_HOP) {
        headers.remove(name);
    }
}

/// Whether the client's error is the upload cut at `max_upload_bytes`: a
/// body without a `Content-Length` is only found too large while it
/// streams, after the upstream got its start (never its whole). The
/// caller sent too much, so it is their 413, not the upstream's 502.
fn is_over_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if error.is::<LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// Whether the client's error is a timeout (connecting, say).
fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if error
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
            || error.to_string().contains("timed out")
        {
            return true;
        }
        source = error.source();
    }
    false
}

/// A gateway error answered in the server's JSON error shape.
pub fn failure(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    (
        status,
        axum::Json(json!({"error": {"code": status.as_u16(), "title": title, "message": message}})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forwarded::TrustedProxies;

    fn upstream(url: &str) -> Result<Upstream, ServerError> {
        let section = GatewaySection {
            upstream: Some(url.into()),
            upstream_user: Some("orthanc".into()),
            upstream_password: Some("pw".to_owned().into()),
            ..GatewaySection::default()
        };
        Upstream::from_config(&section)
    }

    #[tokio::test]
    async fn urls_go_under_the_base_without_the_token_argument() {
        let up = upstream("http://127.0.0.1:8042/orthanc/").unwrap();
        let uri: Uri = "/dicom-web/studies?token=abc&limit=2".parse().unwrap();
        assert_eq!(
            up.upstream_uri(&uri).unwrap().to_string(),
            "http://127.0.0.1:8042/orthanc/dicom-web/studies?limit=2"
        );
        let uri: Uri = "/studies?token=abc".parse().unwrap();
        assert_eq!(
            up.upstream_uri(&uri).unwrap().to_string(),
            "http://127.0.0.1:8042/orthanc/studies"
        );
        assert!(upstream("https://x").is_err());
        assert!(upstream("nothing").is_err());
        assert!(!format!("{up:?}").contains("pw"));
    }

    #[tokio::test]
    async fn the_upstream_cannot_set_or_clear_the_session_cookie() {
        let up = upstream("http://127.0.0.1:8042").unwrap();
        let mut headers = HeaderMap::new();
        for value in [
            "session=chosen-by-upstream; Path=/",
            " session =x",
            "session",
            "sessionid=1; Path=/",
            "other=2; HttpOnly",
        ] {
            headers.append(header::SET_COOKIE, HeaderValue::from_static(value));
        }
        headers.append(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        up.drop_session_cookie_writes(&mut headers);
        let left: Vec<_> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(left, ["sessionid=1; Path=/", "other=2; HttpOnly"]);
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain");
    }

    #[tokio::test]
    async fn credentials_and_hop_by_hop_headers_stay_here() {
        let up = upstream("http://127.0.0.1:8042").unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer t"),
            ("x-auth-token", "t"),
            ("token", "t"),
            ("cookie", "a=1; session=t"),
            ("connection", "keep-alive, x-custom"),
            ("x-custom", "1"),
            ("keep-alive", "timeout=5"),
            ("accept-encoding", "gzip"),
            ("x-forwarded-for", "10.9.9.9"),
            ("host", "pacs:8080"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        // No proxy is trusted: the peer is the client.
        let peer = Some("127.0.0.2".parse().unwrap());
        let origin = ClientOrigin::resolve(peer, &headers, &TrustedProxies::default());
        up.request_headers(&mut headers, &origin, ClientScheme::Http);
        assert!(headers.get("x-auth-token").is_none() && headers.get("token").is_none());
        assert!(headers.get("x-custom").is_none() && headers.get("keep-alive").is_none());
        assert_eq!(headers["cookie"], "a=1");
        assert_eq!(headers["authorization"], "Basic b3J0aGFuYzpwdw==");
        assert_eq!(headers["accept-encoding"], "gzip");
        assert_eq!(headers["x-forwarded-for"], "127.0.0.2");
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-forwarded-host"], "pacs:8080");
    }

    #[tokio::test]
    async fn behind_trusted_proxies_the_upstream_gets_the_verified_chain() {
        let up = upstream("http://127.0.0.1:8042").unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in [
            // What the client claimed, the client, the first proxy.
            ("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.1"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "pacs.example.com"),
            ("host", "gateway.internal:8080"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let trusted = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        let peer = Some("10.0.0.2".parse().unwrap());
        let origin = ClientOrigin::resolve(peer, &headers, &trusted);
        let section = GatewaySection::default();
        let scheme = super::super::client_scheme(&section, &origin, ClientScheme::Http);
        up.request_headers(&mut headers, &origin, scheme);
        assert_eq!(
            headers["x-forwarded-for"],
            "198.51.100.7, 10.0.0.1, 10.0.0.2"
        );
        assert_eq!(headers.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(headers["x-forwarded-proto"], "https");
        assert_eq!(headers["x-forwarded-host"], "pacs.example.com");
    }
}
