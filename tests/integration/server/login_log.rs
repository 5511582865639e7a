//! A failed login writes a warn log line, without the password.

use std::io::Write;
use std::sync::{Arc, Mutex};

use auth_server::services::tokens::{self, Login, LoginScope};
use tracing::instrument::WithSubscriber as _;

use super::harness::TestServer;

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[tokio::test]
async fn a_failed_login_writes_a_log_line_without_the_password() {
    let s = TestServer::start().await;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "admin", "domain": {"id": "default"}, "password": "wrong-Secret-42"}}}}})
    .to_string();
    let login = Login {
        body: body.as_bytes(),
        headers: auth_core::RequestHeaders::new(),
        client_addr: Some("192.0.2.7".parse().unwrap()),
        receipt: None,
        door: None,
        request_line: None,
        scope: LoginScope::Requested,
    };
    let result = tokens::issue(&s.state, login)
        .with_subscriber(subscriber)
        .await;
    assert!(result.is_err());
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("login failed"))
        .unwrap_or_else(|| panic!("no log line for the failed login: {log}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains(&s.admin.user.id.to_string()), "{line}");
    assert!(line.contains("password"), "{line}");
    assert!(line.contains("192.0.2.7"), "{line}");
    assert!(!log.contains("wrong-Secret-42"), "{log}");
}
