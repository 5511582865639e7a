//! What the handler modules' tests share: events, stores, and running one
//! action the way the dispatcher would.

use std::sync::Arc;

use auth_core::handlers::{ActionCall, ActionEffect, HandlerModule};
use auth_core::store::HandlerPosition;
use auth_core::testkit::MemoryStore;
use auth_core::{AuthError, AuthEvent, EventResult, Stores};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A fixed time.
pub(crate) fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000, 0).unwrap()
}

/// A failed `auth.tokens.create` of user `u1` from 10.0.0.9.
pub(crate) fn event() -> AuthEvent {
    let mut e = AuthEvent::new("auth.tokens.create", now());
    e.user_id = Some("u1".into());
    e.domain_id = Some("default".into());
    e.result = Some(EventResult::Failure);
    e.client_addr = Some("10.0.0.9".parse().unwrap());
    e.request_id = Some("req-7".into());
    e.methods = vec!["password".into()];
    e
}

/// A memory store with user `u1` (alice, alice@example.org), and every
/// role of it as the stores.
pub(crate) fn stores() -> (Arc<MemoryStore>, Stores) {
    let store = Arc::new(MemoryStore::new());
    let mut alice = store.add_user("u1", "alice");
    alice
        .extra
        .insert("email".into(), Value::from("alice@example.org"));
    store.put_user(alice);
    let stores = Stores::new()
        .with_users(store.clone())
        .with_passwords(store.clone())
        .with_counters(store.clone());
    (store, stores)
}

/// Runs `action` of `module` with `options` (validated against the
/// action's spec, as the dispatcher would) about `event`.
pub(crate) async fn run(
    module: &dyn HandlerModule,
    action: &str,
    options: Value,
    event: &AuthEvent,
    stores: &Stores,
    response: Option<&Value>,
) -> Result<ActionEffect, AuthError> {
    let spec = module
        .actions()
        .iter()
        .find(|a| a.name == action)
        .unwrap_or_else(|| panic!("{} has no action {action}", module.name()));
    let options = spec.validate_options(module.name(), &options)?;
    module.check(action, &options)?;
    let position = if response.is_some() {
        HandlerPosition::Post
    } else {
        HandlerPosition::Pre
    };
    let call = ActionCall::new(action, &options, event, position, stores, now())
        .with_names("test-binding", module.name());
    let call = match response {
        Some(response) => call.with_response(response),
        None => call,
    };
    module.run(call).await
}

/// One request a [`HttpSink`] received: the head (request line and
/// headers, lowercased names) and the body.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
}

impl Received {
    /// The value of header `name` (lowercase).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A loopback HTTP server that answers every request with `status` and
/// hands what it received to the test.
pub(crate) struct HttpSink {
    pub(crate) url: String,
    pub(crate) received: tokio::sync::mpsc::UnboundedReceiver<Received>,
}

impl HttpSink {
    pub(crate) async fn start(status: u16) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut data = Vec::new();
                    let mut buf = [0u8; 4096];
                    let (head, body_start) = loop {
                        let n = socket.read(&mut buf).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        data.extend_from_slice(&buf[..n]);
                        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                            break (String::from_utf8_lossy(&data[..end]).into_owned(), end + 4);
                        }
                    };
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            let (n, v) = l.split_once(':')?;
                            n.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    while data.len() < body_start + length {
                        let n = socket.read(&mut buf).await.unwrap();
                        data.extend_from_slice(&buf[..n]);
                    }
                    let body = data[body_start..body_start + length].to_vec();
                    let _ = tx.send(Received { head, body });
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        Self { url, received }
    }
}

/// A loopback listener that accepts connections and never answers: a
/// webhook target that hangs. Its URL.
pub(crate) async fn hanging_target() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

/// A loopback port nothing listens on.
pub(crate) async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}
