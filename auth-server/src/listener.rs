//! The accept loop: every connection's lifetime is bounded, and so is
//! their number.
//!
//! `axum::serve` keeps a connection for as long as the client does, so a
//! few hundred sockets that never send a request (or send it a byte at a
//! time) use up the process's file descriptors and every login after them
//! times out. Here each connection is served by hyper's HTTP/1 connection
//! (what `axum::serve` runs) under a watchdog:
//!
//! - **Header-read timeout** (`[server] header_read_timeout_secs`): a
//!   request's headers must arrive within it, counted from the connection
//!   for its first request and from the first byte for later ones.
//! - **Idle keep-alive timeout** (`keepalive_timeout_secs`): a connection
//!   with no request in flight and no byte of a new one is closed after it.
//!   hyper's own `header_read_timeout` cannot serve for both, since it
//!   restarts on every idle wait: one number would be both limits.
//! - **Connection cap** (`max_connections`, lowered to the open-file limit
//!   less [`RESERVED_FDS`]). At the cap a new connection is accepted and
//!   the connection idle longest (no request in flight: silent, trickling
//!   its headers, or between keep-alive requests) is closed to make room,
//!   as nginx reuses keep-alive connections when it runs out; a client
//!   holding idle sockets thus cannot keep a login out. If every open
//!   connection has a request in flight, the new one is closed at once
//!   rather than left in the kernel's backlog: the client learns
//!   immediately and can retry or go to another node, where a backlog
//!   would hold it for an unbounded time that no metric shows. The loop
//!   never stops accepting, so slots that free up are used at once.
//!
//! - **TLS** (`[tls]`, see [`crate::tls`]): the handshake comes first and
//!   must end before the first request's header deadline; one that fails
//!   is counted and the connection closed.
//!
//! A request in flight is never cut: closing is hyper's graceful shutdown,
//! and "in flight" lasts until the response body has been written. Each
//! event is counted in `/metrics` (see [`crate::metrics`]). On shutdown the
//! loop stops accepting, idle connections close, and the requests in
//! flight finish.
//!
//! HTTP/1 only, as `axum::serve` with axum's default features served.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tower::ServiceExt as _;

use crate::config::ServerSection;
use crate::metrics::{ConnectionClosed, Metrics};

/// File descriptors kept out of the connection cap for everything else
/// the process opens: database connections and files, keys, logs, and
/// outgoing calls (JWKS, webhooks, mail).
pub(crate) const RESERVED_FDS: u64 = 64;

/// How long a connection being closed (timed out or evicted, so with no
/// request in flight) gets to finish closing before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How long to wait after an accept error that is not the client's (e.g.
/// out of file descriptors) before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The limits the loop enforces, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// See `[server] header_read_timeout_secs`; `None` disables it.
    pub(crate) header_read_timeout: Option<Duration>,
    /// See `[server] keepalive_timeout_secs`; `None` disables it.
    pub(crate) keepalive_timeout: Option<Duration>,
    /// The connection cap in force (after the open-file limit).
    pub(crate) max_connections: usize,
}

impl Limits {
    /// The configured limits, the cap lowered to what the process's
    /// open-file limit allows (logged when it is).
    pub(crate) fn from_config(server: &ServerSection) -> Self {
        let seconds = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
        let configured = server.max_connections.max(1);
        let max_connections = match fd_allowance() {
            Some(allowed) if allowed < configured => {
                tracing::warn!(
                    configured,
                    allowed,
                    "max_connections lowered to the open-file limit less {RESERVED_FDS}; raise the limit (ulimit -n, LimitNOFILE) to allow more"
                );
                allowed
            }
            _ => configured,
        };
        Self {
            header_read_timeout: seconds(server.header_read_timeout_secs),
            keepalive_timeout: seconds(server.keepalive_timeout_secs),
            max_connections,
        }
    }

    /// How often a connection with a request in flight is looked at again,
    /// so that once it is idle its timeout is never late.
    fn recheck(&self) -> Duration {
        [self.header_read_timeout, self.keepalive_timeout]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Duration::from_secs(60))
    }
}

/// The open-file soft limit less [`RESERVED_FDS`], where there is one.
#[cfg(unix)]
fn fd_allowance() -> Option<usize> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current?;
    usize::try_from(limit.saturating_sub(RESERVED_FDS).max(1)).ok()
}

#[cfg(not(unix))]
fn fd_allowance() -> Option<usize> {
    None
}

/// Serves `router` on `listener` within `limits` until `shutdown`
/// completes, then lets the requests in flight finish. With `tls`, each
/// connection's TLS handshake comes first (see [`crate::tls`]).
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    metrics: Arc<Metrics>,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let tracker = Arc::new(Tracker {
        max: limits.max_connections,
        open: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(0),
        metrics,
    });
    // Connections watch `stopping`; each holds a clone of `alive`, so
    // `alive` closes when the last one ends.
    let (stop, stopping) = watch::channel(false);
    let (alive, alive_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_the_clients(&error) => continue,
            Err(error) => {
                tracing::error!(%error, "accepting a connection failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Some((id, conn)) = tracker.admit() else {
            drop(stream);
            continue;
        };
        tune(&stream);
        let served = Served {
            tracker: tracker.clone(),
            id,
            conn,
            limits,
            stopping: stopping.clone(),
            _alive: alive_rx.clone(),
        };
        tokio::spawn(served.run(stream, addr, router.clone(), tls.clone()));
    }
    drop(listener);
    let _ = stop.send(true);
    drop(alive_rx);
    alive.closed().await;
}

/// Socket options of an accepted connection: `TCP_NODELAY`. hyper writes
/// a streamed answer (every gateway answer, chunked ones above all) as its
/// frames come; with Nagle's algorithm a small last write (the chunked
/// terminator, say) waits for the client's delayed ACK, 40 ms on Linux:
/// measured, the gateway's QIDO-RS p90 went from 56 ms to 14 ms with it.
/// Best effort: a socket that refuses the option is still served.
fn tune(stream: &TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "TCP_NODELAY could not be set");
    }
}

/// Errors of one connection, not of the listener: accept the next.
fn is_the_clients(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// The open connections, by id.
#[derive(Debug)]
struct Tracker {
    max: usize,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    metrics: Arc<Metrics>,
}

impl Tracker {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes room for a new connection: below the cap there is room; at
    /// it, the connection idle longest is told to close and leaves the
    /// count; if none is idle, `None`, and the new one is refused.
    fn admit(&self) -> Option<(u64, Arc<Conn>)> {
        let now = Instant::now();
        let mut open = self.lock();
        if open.len() >= self.max {
            let victim = open
                .iter()
                .filter_map(|(id, conn)| conn.idle_since().map(|since| (since, *id)))
                .min()
                .map(|(_, id)| id);
            match victim.and_then(|id| open.remove(&id)) {
                Some(victim) => {
                    victim.evict.notify_one();
                    self.metrics
                        .observe_connection_closed(ConnectionClosed::Evicted);
                }
                None => {
                    self.metrics.observe_connection_refused();
                    return None;
                }
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::new(now));
        open.insert(id, conn.clone());
        self.metrics.set_connections_open(open.len());
        Some((id, conn))
    }

    fn release(&self, id: u64) {
        let mut open = self.lock();
        open.remove(&id);
        self.metrics.set_connections_open(open.len());
    }
}

/// Where one connection is between requests.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request's headers since the connection opened or the
    /// request's first byte arrived.
    Head(Instant),
    /// This many requests in flight (until their responses are written).
    Busy(usize),
    /// Idle since the last response was written.
    Idle(Instant),
}

/// One connection's phase, shared by its reads, its requests and its
/// watchdog.
#[derive(Debug)]
struct Conn {
    phase: Mutex<Phase>,
    /// Told to close to make room at the cap.
    evict: Notify,
}

impl Conn {
    fn new(now: Instant) -> Self {
        Self {
            phase: Mutex::new(Phase::Head(now)),
            evict: Notify::new(),
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived: if idle, a new request has begun.
    fn read_some(&self) {
        let mut phase = self.phase();
        if matches!(*phase, Phase::Idle(_)) {
            *phase = Phase::Head(Instant::now());
        }
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        let mut phase = self.phase();
        *phase = match *phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            Phase::Head(_) | Phase::Idle(_) => Phase::Busy(1),
        };
        InFlight(self.clone())
    }

    fn request_done(&self) {
        let mut phase = self.phase();
        *phase = match *phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        };
    }

    /// Since when it has had no request in flight, if it has none.
    fn idle_since(&self) -> Option<Instant> {
        match *self.phase() {
            Phase::Head(since) | Phase::Idle(since) => Some(since),
            Phase::Busy(_) => None,
        }
    }

    /// When its current wait times out, and what that is called.
    fn deadline(&self, limits: &Limits) -> Option<(Instant, ConnectionClosed)> {
        match *self.phase() {
            Phase::Head(since) => limits
                .header_read_timeout
                .map(|limit| (since + limit, ConnectionClosed::HeaderTimeout)),
            Phase::Idle(since) => limits
                .keepalive_timeout
                .map(|limit| (since + limit, ConnectionClosed::IdleTimeout)),
            Phase::Busy(_) => None,
        }
    }
}

/// A request in flight: ends when dropped, i.e. when the response body
/// has been written (or the request was abandoned).
#[derive(Debug)]
struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_done();
    }
}

/// How far a connection is from being closed.
#[derive(Debug, Clone, Copy)]
enum Closing {
    No,
    /// The server is stopping: finish the request in flight, if any.
    Draining,
    /// Timed out or evicted at this moment: close, and drop it if closing
    /// takes longer than [`CLOSE_GRACE`].
    Reaped(Instant),
}

/// One admitted connection and what it needs to be served.
#[derive(Debug)]
struct Served {
    tracker: Arc<Tracker>,
    id: u64,
    conn: Arc<Conn>,
    limits: Limits,
    stopping: watch::Receiver<bool>,
    _alive: watch::Receiver<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.tracker.release(self.id);
    }
}

impl Served {
    async fn run(
        mut self,
        stream: TcpStream,
        addr: SocketAddr,
        router: Router,
        tls: Option<TlsAcceptor>,
    ) {
        let watched = Watched {
            stream,
            conn: self.conn.clone(),
        };
        let service = ConnService {
            router,
            conn: self.conn.clone(),
            addr,
        };
        match tls {
            None => self.serve(watched, service).await,
            Some(acceptor) => {
                if let Some(stream) = self.handshake(&acceptor, watched).await {
                    self.serve(stream, service).await;
                }
            }
        }
    }

    /// The TLS handshake, which must end before the first request's
    /// header deadline (a client that never finishes its handshake holds a
    /// slot as a silent one does), and is abandoned when the connection is
    /// evicted or the server stops.
    async fn handshake(
        &mut self,
        acceptor: &TlsAcceptor,
        watched: Watched,
    ) -> Option<TlsStream<Watched>> {
        let deadline = self.conn.deadline(&self.limits);
        let timed_out = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let metrics = &self.tracker.metrics;
        let accept = async move {
            let mut watched = watched;
            if speaks_plain_http(&watched.stream).await {
                // As nginx's 497: say why, rather than close unexplained.
                let _ = watched.stream.write_all(&plain_http_refusal()).await;
                let _ = watched.stream.shutdown().await;
                return Err(std::io::Error::other("plain HTTP sent to the TLS port"));
            }
            acceptor.accept(watched).await
        };
        tokio::select! {
            accepted = accept => match accepted {
                Ok(stream) => Some(stream),
                Err(error) => {
                    tracing::debug!(%error, "TLS handshake failed");
                    metrics.observe_connection_closed(ConnectionClosed::TlsHandshake);
                    None
                }
            },
            () = timed_out => {
                metrics.observe_connection_closed(ConnectionClosed::HeaderTimeout);
                None
            }
            () = self.conn.evict.notified() => None,
            _ = self.stopping.wait_for(|stop| *stop) => None,
        }
    }

    /// Serves HTTP/1 on `io` under the watchdog.
    async fn serve<I>(mut self, io: I, service: ConnService)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(io);
        let mut builder = http1::Builder::new();
        // The watchdog below times headers and idleness separately.
        builder.header_read_timeout(None::<Duration>);
        let mut connection = pin!(builder.serve_connection(io, service));
        let mut closing = Closing::No;
        loop {
            let now = Instant::now();
            let wake = match closing {
                Closing::Reaped(at) if self.conn.idle_since().is_some() => at + CLOSE_GRACE,
                _ => self
                    .conn
                    .deadline(&self.limits)
                    .map_or(now + self.limits.recheck(), |(at, _)| at),
            };
            tokio::select! {
                // The connection first: bytes that arrived before the
                // deadline are read before the deadline is judged.
                biased;
                _ = connection.as_mut() => break,
                () = tokio::time::sleep_until(wake) => {
                    if let Closing::Reaped(at) = closing {
                        if self.conn.idle_since().is_some() && Instant::now() >= at + CLOSE_GRACE {
                            break;
                        }
                        continue;
                    }
                    let Some((deadline, reason)) = self.conn.deadline(&self.limits) else {
                        continue;
                    };
                    if Instant::now() >= deadline {
                        self.tracker.metrics.observe_connection_closed(reason);
                        connection.as_mut().graceful_shutdown();
                        closing = Closing::Reaped(Instant::now());
                    }
                }
                () = self.conn.evict.notified(), if matches!(closing, Closing::No) => {
                    connection.as_mut().graceful_shutdown();
                    closing = Closing::Reaped(Instant::now());
                }
                changed = self.stopping.changed(), if matches!(closing, Closing::No) => {
                    if changed.is_err() || *self.stopping.borrow() {
                        connection.as_mut().graceful_shutdown();
                        closing = Closing::Draining;
                    }
                }
            }
        }
    }
}

/// Whether the client's first byte is that of an HTTP request (a method's
/// capital letter) rather than a TLS record (0x16, a handshake).
async fn speaks_plain_http(stream: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    matches!(stream.peek(&mut first).await, Ok(1) if first[0].is_ascii_uppercase())
}

/// The answer to plain HTTP on a TLS port: a 400 with the JSON error body
/// every other refusal has.
fn plain_http_refusal() -> Vec<u8> {
    let body = serde_json::json!({
        "error": {
            "code": 400,
            "title": "Bad Request",
            "message": "This port speaks HTTPS: use https:// in the URL.",
        }
    })
    .to_string();
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The socket, noting when bytes arrive.
#[derive(Debug)]
struct Watched {
    stream: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.conn.read_some();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The router as one connection's hyper service: adds the client address
/// (axum's `ConnectInfo`, as `into_make_service_with_connect_info` did) and
/// keeps the request in flight until its response body is written.
#[derive(Debug, Clone)]
struct ConnService {
    router: Router,
    conn: Arc<Conn>,
    addr: SocketAddr,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.conn.request_started();
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.addr));
        let router = self.router.clone();
        Box::pin(async move {
            let response = router.oneshot(request).await?;
            Ok(response.map(|body| TrackedBody {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// A response body that ends its request's time in flight when hyper is
/// done with it.
#[derive(Debug)]
struct TrackedBody {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_do_not_wait_for_acks_to_send_small_writes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let ((accepted, _), _client) = tokio::try_join!(listener.accept(), client).unwrap();
        assert!(!accepted.nodelay().unwrap(), "Linux's default");
        tune(&accepted);
        assert!(accepted.nodelay().unwrap());
    }

    fn tracker(max: usize) -> Tracker {
        Tracker {
            max,
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            metrics: Arc::new(Metrics::default()),
        }
    }

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Some(Duration::from_secs(20)),
            keepalive_timeout: Some(Duration::from_secs(75)),
            max_connections: 2,
        }
    }

    fn figure(tracker: &Tracker, line: &str) -> bool {
        tracker.metrics.render().lines().any(|l| l == line)
    }

    #[tokio::test(start_paused = true)]
    async fn at_the_cap_the_connection_idle_longest_makes_room() {
        let tracker = tracker(2);
        let (a, first) = tracker.admit().unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        let (b, second) = tracker.admit().unwrap();
        // `first` has a request in flight; `second` waits for headers.
        let in_flight = first.request_started();
        let (c, _third) = tracker.admit().unwrap();
        let open: Vec<u64> = {
            let mut ids: Vec<u64> = tracker.lock().keys().copied().collect();
            ids.sort_unstable();
            ids
        };
        assert_eq!(open, [a, c], "{b} made room");
        // `second` was told to close.
        timeout_now(second.evict.notified()).await;
        assert!(figure(
            &tracker,
            "http_connections_closed_total{reason=\"evicted_at_cap\"} 1"
        ));
        assert!(figure(&tracker, "http_connections_open 2"));
        tokio::time::advance(Duration::from_secs(1)).await;
        drop(in_flight);
        // `first` is idle now, but `_third` has waited for its headers
        // longer: it makes room.
        let (_d, _) = tracker.admit().unwrap();
        assert!(tracker.lock().contains_key(&a));
        assert!(!tracker.lock().contains_key(&c));
    }

    #[tokio::test(start_paused = true)]
    async fn at_the_cap_with_every_request_in_flight_the_new_one_is_refused() {
        let tracker = tracker(2);
        let (_, first) = tracker.admit().unwrap();
        let (second_id, second) = tracker.admit().unwrap();
        let busy = (first.request_started(), second.request_started());
        assert!(tracker.admit().is_none());
        assert!(tracker.admit().is_none());
        assert!(figure(&tracker, "http_connections_refused_total 2"));
        // A response written frees a slot for the next connection...
        drop(busy.1);
        let (third_id, third) = tracker.admit().unwrap();
        assert!(!tracker.lock().contains_key(&second_id));
        // ... and so does a connection that ends.
        let _busy = third.request_started();
        assert!(tracker.admit().is_none());
        tracker.release(third_id);
        assert!(tracker.admit().is_some());
        drop(busy.0);
    }

    #[tokio::test(start_paused = true)]
    async fn each_wait_has_its_own_deadline() {
        let limits = limits();
        let started = Instant::now();
        let conn = Arc::new(Conn::new(started));
        assert_eq!(
            conn.deadline(&limits),
            Some((
                started + Duration::from_secs(20),
                ConnectionClosed::HeaderTimeout
            ))
        );
        let request = conn.request_started();
        assert_eq!(conn.deadline(&limits), None, "no timeout in flight");
        tokio::time::advance(Duration::from_secs(5)).await;
        drop(request);
        let idle = Instant::now();
        assert_eq!(
            conn.deadline(&limits),
            Some((
                idle + Duration::from_secs(75),
                ConnectionClosed::IdleTimeout
            ))
        );
        // The next request's first byte starts its header deadline, and
        // later bytes do not move it.
        tokio::time::advance(Duration::from_secs(30)).await;
        conn.read_some();
        let head = Instant::now();
        tokio::time::advance(Duration::from_secs(10)).await;
        conn.read_some();
        assert_eq!(
            conn.deadline(&limits),
            Some((
                head + Duration::from_secs(20),
                ConnectionClosed::HeaderTimeout
            ))
        );
        let disabled = Limits {
            header_read_timeout: None,
            keepalive_timeout: None,
            ..limits
        };
        assert_eq!(conn.deadline(&disabled), None);
        assert_eq!(disabled.recheck(), Duration::from_secs(60));
    }

    #[test]
    fn the_cap_stays_below_the_open_file_limit() {
        let server = ServerSection {
            max_connections: usize::MAX,
            ..ServerSection::default()
        };
        let limits = Limits::from_config(&server);
        if let Some(allowed) = fd_allowance() {
            assert_eq!(limits.max_connections, allowed);
        }
        let zero = ServerSection {
            max_connections: 0,
            header_read_timeout_secs: 0,
            ..ServerSection::default()
        };
        let limits = Limits::from_config(&zero);
        assert_eq!(limits.max_connections, 1);
        assert_eq!(limits.header_read_timeout, None);
    }

    #[tokio::test]
    async fn shutdown_closes_idle_connections_and_finishes_requests_in_flight() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::sync::{mpsc, oneshot};

        let (entered, mut handler_entered) = mpsc::channel(1);
        let router = Router::new().route(
            "/echo",
            axum::routing::post(move |request: axum::extract::Request| {
                let entered = entered.clone();
                async move {
                    let _ = entered.send(()).await;
                    axum::body::to_bytes(request.into_body(), 1024)
                        .await
                        .unwrap_or_default()
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(run(
            listener,
            router,
            Arc::new(Metrics::default()),
            limits(),
            None,
            async {
                let _ = stopped.await;
            },
        ));
        let mut idle = TcpStream::connect(addr).await.unwrap();
        let mut busy = TcpStream::connect(addr).await.unwrap();
        busy.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello")
            .await
            .unwrap();
        handler_entered.recv().await.unwrap();
        stop.send(()).unwrap();
        let mut buf = [0u8; 1024];
        let read = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0) | Err(_))),
            "the idle connection is closed"
        );
        assert!(!server.is_finished(), "a request is still in flight");
        busy.write_all(b" world").await.unwrap();
        let mut response = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), busy.read_to_end(&mut response))
            .await
            .unwrap()
            .unwrap();
        let response = String::from_utf8(response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("hello world"), "{response}");
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap();
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "no longer listening"
        );
    }

    /// Completes `notified` or fails: the permit must already be there.
    async fn timeout_now(notified: impl Future<Output = ()>) {
        tokio::time::timeout(Duration::from_millis(1), notified)
            .await
            .expect("not notified");
    }
}
