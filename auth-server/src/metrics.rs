//! Prometheus metrics: request counts and latencies by route, method and
//! status, authentication outcomes by auth method, and the listener's
//! connections (open, refused at the cap, closed by a timeout or to make
//! room).
//!
//! The registry lives in the application state rather than in a process
//! global, so several servers in one process (tests) keep separate
//! figures. Auth outcomes come from the engine's events through
//! [`MetricsSink`], so the engine needs no knowledge of metrics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::events::names;
use auth_core::{AuthEvent, EventResult, EventSink};

/// Latency histogram bucket bounds, in seconds.
const BUCKETS: [f64; 11] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        self.count += 1;
        self.sum += seconds;
        for (bound, bucket) in BUCKETS.iter().zip(self.buckets.iter_mut()) {
            if seconds <= *bound {
                *bucket += 1;
            }
        }
    }
}

/// The server's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    auth: Mutex<BTreeMap<(String, &'static str), u64>>,
    token_cache: [AtomicU64; 2],
    connections_open: AtomicU64,
    connections_refused: AtomicU64,
    connections_closed: [AtomicU64; ConnectionClosed::ALL.len()],
}

/// Why the listener closed a connection the client had not closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionClosed {
    /// Its request headers did not arrive within
    /// `[server] header_read_timeout_secs`.
    HeaderTimeout,
    /// It sat idle between requests longer than
    /// `[server] keepalive_timeout_secs`.
    IdleTimeout,
    /// It was the connection idle longest when a new one arrived at
    /// `[server] max_connections`.
    Evicted,
    /// Its TLS handshake failed (a client that does not trust the
    /// certificate, or speaks plain HTTP to the TLS port).
    TlsHandshake,
}

impl ConnectionClosed {
    const ALL: [Self; 4] = [
        Self::HeaderTimeout,
        Self::IdleTimeout,
        Self::Evicted,
        Self::TlsHandshake,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::HeaderTimeout => "header_timeout",
            Self::IdleTimeout => "idle_timeout",
            Self::Evicted => "evicted_at_cap",
            Self::TlsHandshake => "tls_handshake_failed",
        }
    }
}

impl Metrics {
    /// Records one request.
    pub fn observe_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        requests
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    fn observe_auth(&self, method: &str, result: &'static str) {
        let mut auth = self.auth.lock().unwrap_or_else(|e| e.into_inner());
        *auth.entry((method.to_owned(), result)).or_default() += 1;
    }

    /// Counts an engine event if it is a method's result.
    pub fn observe_engine_event(&self, event: &AuthEvent) {
        let (Some(method), Some(result)) = (event.method.as_deref(), event.result) else {
            return;
        };
        if !event.name.starts_with(names::METHOD_PREFIX) {
            return;
        }
        let result = match result {
            EventResult::Success => "success",
            EventResult::Failure => "failure",
            EventResult::Continue => "continue",
        };
        self.observe_auth(method, result);
    }

    /// Records a token validation answered from the cache (`hit`) or
    /// computed.
    pub fn observe_token_cache(&self, hit: bool) {
        self.token_cache[usize::from(hit)].fetch_add(1, Ordering::Relaxed);
    }

    /// Sets how many connections are open.
    pub fn set_connections_open(&self, open: usize) {
        self.connections_open
            .store(u64::try_from(open).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Counts a connection closed on arrival because every open connection
    /// had a request in flight at the cap.
    pub fn observe_connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection the listener closed, and why.
    pub fn observe_connection_closed(&self, reason: ConnectionClosed) {
        self.connections_closed[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        out.push_str("# HELP http_requests_total HTTP requests by route, method and status.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for ((route, method, status), h) in &requests {
            let _ = writeln!(
                out,
                "http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for ((route, method, status), h) in &requests {
            let labels = format!("route=\"{route}\",method=\"{method}\",status=\"{status}\"");
            for (bound, count) in BUCKETS.iter().zip(h.buckets.iter()) {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        out.push_str("# HELP auth_method_results_total Results of each auth method.\n");
        out.push_str("# TYPE auth_method_results_total counter\n");
        for ((method, result), count) in self.auth.lock().unwrap_or_else(|e| e.into_inner()).iter()
        {
            let _ = writeln!(
                out,
                "auth_method_results_total{{method=\"{method}\",result=\"{result}\"}} {count}"
            );
        }
        out.push_str("# HELP auth_token_cache_total Token validations by cache result.\n");
        out.push_str("# TYPE auth_token_cache_total counter\n");
        for (result, counter) in ["miss", "hit"].iter().zip(&self.token_cache) {
            let _ = writeln!(
                out,
                "auth_token_cache_total{{result=\"{result}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        write_single(
            &mut out,
            "http_connections_open",
            "gauge",
            "Client connections open now.",
            self.connections_open.load(Ordering::Relaxed),
        );
        write_single(
            &mut out,
            "http_connections_refused_total",
            "counter",
            "Connections closed on arrival: at the cap, every connection had a request in flight.",
            self.connections_refused.load(Ordering::Relaxed),
        );
        out.push_str(
            "# HELP http_connections_closed_total Connections the server closed: headers too slow, idle too long, idle longest at the cap, or a failed TLS handshake.\n",
        );
        out.push_str("# TYPE http_connections_closed_total counter\n");
        for reason in ConnectionClosed::ALL {
            let _ = writeln!(
                out,
                "http_connections_closed_total{{reason=\"{}\"}} {}",
                reason.label(),
                self.connections_closed[reason as usize].load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// Writes one unlabelled metric with its `HELP` and `TYPE` lines.
fn write_single(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// Feeds the engine's method results into [`Metrics`].
#[derive(Debug, Clone)]
pub struct MetricsSink(pub Arc<Metrics>);

impl EventSink for MetricsSink {
    fn emit(&self, event: AuthEvent) {
        self.0.observe_engine_event(&event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn renders_counters_histograms_and_auth_results() {
        let metrics = Arc::new(Metrics::default());
        metrics.observe_request("/v3/auth/tokens", "POST", 201, Duration::from_millis(3));
        metrics.observe_request("/v3/auth/tokens", "POST", 201, Duration::from_millis(30));
        let sink = MetricsSink(metrics.clone());
        let mut event = AuthEvent::new("auth.method.password", Utc::now());
        event.method = Some("password".into());
        event.result = Some(EventResult::Failure);
        sink.emit(event);
        let text = metrics.render();
        assert!(text.contains(
            "http_requests_total{route=\"/v3/auth/tokens\",method=\"POST\",status=\"201\"} 2"
        ));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(
            text.contains("auth_method_results_total{method=\"password\",result=\"failure\"} 1")
        );
    }

    #[test]
    fn renders_the_connection_figures() {
        let metrics = Metrics::default();
        metrics.set_connections_open(7);
        metrics.observe_connection_refused();
        metrics.observe_connection_closed(ConnectionClosed::HeaderTimeout);
        metrics.observe_connection_closed(ConnectionClosed::HeaderTimeout);
        metrics.observe_connection_closed(ConnectionClosed::Evicted);
        let text = metrics.render();
        for line in [
            "http_connections_open 7",
            "http_connections_refused_total 1",
            "http_connections_closed_total{reason=\"header_timeout\"} 2",
            "http_connections_closed_total{reason=\"idle_timeout\"} 0",
            "http_connections_closed_total{reason=\"evicted_at_cap\"} 1",
            "http_connections_closed_total{reason=\"tls_handshake_failed\"} 0",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }
}
