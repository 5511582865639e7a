//! The middleware against a tiny header-login service on a loopback port:
//! sessions it can forget, and a record of what each request carried.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus, header};
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::{any, post};
use chrono::{DateTime, Utc};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use secrecy::SecretString;

use super::*;
use crate::{HeaderLogin, LoginError, login_error};

/// The service's sessions and what it saw.
#[derive(Default)]
struct Service {
    logins: AtomicUsize,
    valid: Mutex<HashSet<String>>,
    /// The Cookie header of each protected request, in order.
    seen: Mutex<Vec<Option<String>>>,
    /// What the protected route answers a valid session with (200 unless
    /// a test wants a 403 for everyone).
    always: Mutex<Option<AxumStatus>>,
    /// The `expires_at` the login reports.
    expires_at: Mutex<Option<DateTime<Utc>>>,
}

impl Service {
    fn forget_all(&self) {
        self.valid.lock().unwrap().clear();
    }
    fn seen(&self) -> Vec<Option<String>> {
        self.seen.lock().unwrap().clone()
    }
}

async fn login(State(service): State<Arc<Service>>, headers: HeaderMap) -> AxumResponse {
    // Slow enough that concurrent requests overlap with it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let n = service.logins.fetch_add(1, Ordering::SeqCst) + 1;
    if headers["x-password"] != "pw" {
        return (AxumStatus::UNAUTHORIZED, "{}").into_response();
    }
    let token = format!("s{n}");
    service.valid.lock().unwrap().insert(token.clone());
    let body = match *service.expires_at.lock().unwrap() {
        Some(at) => format!(
            r#"{{"access_token": "{token}", "expires_at": "{}"}}"#,
            at.to_rfc3339()
        ),
        None => format!(r#"{{"access_token": "{token}"}}"#),
    };
    let cookie = format!("session={token}; Path=/; HttpOnly; SameSite=Lax");
    (AxumStatus::OK, [(header::SET_COOKIE, cookie)], body).into_response()
}

async fn data(State(service): State<Arc<Service>>, headers: HeaderMap) -> AxumResponse {
    let cookie = headers
        .get(header::COOKIE)
        .map(|value| value.to_str().unwrap().to_owned());
    service.seen.lock().unwrap().push(cookie.clone());
    let valid = cookie.is_some_and(|cookie| {
        cookie
            .split("; ")
            .filter_map(|pair| pair.strip_prefix("session="))
            .any(|token| service.valid.lock().unwrap().contains(token))
    });
    if !valid {
        return (
            AxumStatus::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Cookie")],
        )
            .into_response();
    }
    match *service.always.lock().unwrap() {
        Some(status) => status.into_response(),
        None => "data".into_response(),
    }
}

/// The service on a loopback port: its base URL and state.
async fn service() -> (String, Arc<Service>) {
    let state = Arc::new(Service::default());
    let app = Router::new()
        .route("/login", post(login))
        .route("/data", any(data))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, state)
}

fn strategy(base: &str, password: &str) -> HeaderLogin {
    HeaderLogin::new(
        format!("{base}/login").parse().unwrap(),
        "alice",
        SecretString::from(password.to_owned()),
    )
}

fn client(middleware: AuthMiddleware) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build()
}

#[derive(Debug)]
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

#[tokio::test]
async fn the_first_request_logs_in_and_later_ones_reuse_the_session() {
    let (base, service) = service().await;
    let client = client(AuthMiddleware::new(strategy(&base, "pw")));
    for _ in 0..3 {
        let response = client.get(format!("{base}/data")).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(service.logins.load(Ordering::SeqCst), 1);
    assert_eq!(service.seen(), vec![Some("session=s1".to_owned()); 3]);
}

#[tokio::test]
async fn a_forgotten_session_is_replaced_and_the_retry_carries_only_the_new_one() {
    let (base, service) = service().await;
    let client = client(AuthMiddleware::new(strategy(&base, "pw")));
    let url = format!("{base}/data");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    service.forget_all();
    let response = client
        .get(&url)
        .header(header::COOKIE, "theme=dark")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(service.logins.load(Ordering::SeqCst), 2);
    // dicomtrolley#26: its retry sent `session=s1` again. Ours sends the
    // caller's own cookie and the new session, nothing else.
    assert_eq!(
        service.seen(),
        [
            Some("session=s1".to_owned()),
            Some("theme=dark; session=s1".to_owned()),
            Some("theme=dark; session=s2".to_owned()),
        ]
    );
}

#[tokio::test]
async fn concurrent_first_use_shares_one_login() {
    let (base, service) = service().await;
    let client = client(AuthMiddleware::new(strategy(&base, "pw")));
    let url = format!("{base}/data");
    let calls = (0..20).map(|_| client.get(&url).send());
    for response in futures_util::future::join_all(calls).await {
        assert_eq!(response.unwrap().status(), 200);
    }
    assert_eq!(service.logins.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn concurrent_refusals_share_one_login() {
    let (base, service) = service().await;
    let client = client(AuthMiddleware::new(strategy(&base, "pw")));
    let url = format!("{base}/data");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    service.forget_all();
    let calls = (0..20).map(|_| client.get(&url).send());
    for response in futures_util::future::join_all(calls).await {
        assert_eq!(response.unwrap().status(), 200);
    }
    assert_eq!(service.logins.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failed_login_is_a_typed_error_shared_by_the_waiting_requests() {
    let (base, service) = service().await;
    let client = client(AuthMiddleware::new(strategy(&base, "wrong")));
    let url = format!("{base}/data");
    let calls = (0..20).map(|_| client.get(&url).send());
    for result in futures_util::future::join_all(calls).await {
        let error = result.unwrap_err();
        match login_error(&error) {
            Some(LoginError::Refused { status, .. }) => assert_eq!(*status, 401),
            other => panic!("{other:?}"),
        }
    }
    // One wrong password, not twenty: no lockout from a burst of calls.
    assert_eq!(service.logins.load(Ordering::SeqCst), 1);
    assert!(service.seen().is_empty(), "nothing sent without a session");
    // A later request tries again.
    assert!(client.get(&url).send().await.is_err());
    assert_eq!(service.logins.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_second_refusal_is_returned_not_retried_again() {
    let (base, service) = service().await;
    *service.always.lock().unwrap() = Some(AxumStatus::FORBIDDEN);
    let middleware = AuthMiddleware::builder(strategy(&base, "pw"))
        .retry_on([StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN])
        .build();
    let response = client(middleware)
        .get(format!("{base}/data"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(service.logins.load(Ordering::SeqCst), 2, "one re-login");
    assert_eq!(service.seen().len(), 2, "one retry");
}

#[tokio::test]
async fn other_statuses_are_not_retried_unless_configured() {
    let (base, service) = service().await;
    *service.always.lock().unwrap() = Some(AxumStatus::FORBIDDEN);
    let response = client(AuthMiddleware::new(strategy(&base, "pw")))
        .get(format!("{base}/data"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(service.logins.load(Ordering::SeqCst), 1);
    assert_eq!(service.seen().len(), 1);
}

#[tokio::test]
async fn a_streaming_body_is_not_retried_and_the_next_request_logs_in() {
    let (base, service) = service().await;
    let client = client(AuthMiddleware::new(strategy(&base, "pw")));
    let url = format!("{base}/data");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    service.forget_all();
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>("chunk")]);
    let response = client
        .post(&url)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(service.seen().len(), 2, "not retried");
    assert_eq!(service.logins.load(Ordering::SeqCst), 1, "no login for it");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(service.logins.load(Ordering::SeqCst), 2);
    assert_eq!(service.seen()[2], Some("session=s2".to_owned()));
}

#[tokio::test]
async fn a_session_is_renewed_before_it_expires() {
    let (base, service) = service().await;
    let start = Utc::now();
    *service.expires_at.lock().unwrap() = Some(start + chrono::Duration::minutes(10));
    let clock = Arc::new(TestClock(Mutex::new(start)));
    let middleware = AuthMiddleware::builder(strategy(&base, "pw"))
        .clock(clock.clone())
        .refresh_margin(Duration::from_secs(60))
        .build();
    let client = client(middleware);
    let url = format!("{base}/data");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    *clock.0.lock().unwrap() = start + chrono::Duration::seconds(530);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(
        service.logins.load(Ordering::SeqCst),
        1,
        "outside the margin"
    );
    *service.expires_at.lock().unwrap() = Some(start + chrono::Duration::minutes(20));
    *clock.0.lock().unwrap() = start + chrono::Duration::seconds(541);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(
        service.logins.load(Ordering::SeqCst),
        2,
        "within the margin"
    );
    // Renewed before use: no request went out with the old session.
    assert_eq!(
        service.seen(),
        [
            Some("session=s1".to_owned()),
            Some("session=s1".to_owned()),
            Some("session=s2".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_short_session_is_renewed_at_half_its_life_not_every_time() {
    let (base, service) = service().await;
    let start = Utc::now();
    *service.expires_at.lock().unwrap() = Some(start + chrono::Duration::seconds(40));
    let clock = Arc::new(TestClock(Mutex::new(start)));
    let middleware = AuthMiddleware::builder(strategy(&base, "pw"))
        .clock(clock.clone())
        .build();
    let client = client(middleware);
    let url = format!("{base}/data");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    *clock.0.lock().unwrap() = start + chrono::Duration::seconds(19);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(service.logins.load(Ordering::SeqCst), 1);
    *clock.0.lock().unwrap() = start + chrono::Duration::seconds(20);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(service.logins.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_session_already_past_its_expiry_by_our_clock_is_renewed_at_next_use() {
    let (base, service) = service().await;
    let start = Utc::now();
    // The server's clock is behind ours: it hands out a session that has
    // already expired by our clock.
    *service.expires_at.lock().unwrap() = Some(start - chrono::Duration::seconds(5));
    let clock = Arc::new(TestClock(Mutex::new(start)));
    let middleware = AuthMiddleware::builder(strategy(&base, "pw"))
        .clock(clock)
        .build();
    let client = client(middleware);
    let url = format!("{base}/data");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(service.logins.load(Ordering::SeqCst), 2);
}
