//! The gateway over real HTTP: a small axum app on 127.0.0.1:0 as the
//! upstream, recording what reaches it (headers, body sizes), so that the
//! tests see which requests arrive, which credentials are stripped and
//! that bodies stream.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::Clock;
use auth_core::imaging::SharedResource;
use auth_server::services::imaging::NewShareToken;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use futures_util::StreamExt;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

use super::harness::{TestServer, password_body};

const STUDY_ID: &str = "6e2c0ec2-5d99c8ca-c1c21cee-79a09605-68391d12";
const STUDY_UID: &str = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322";
const BIG: usize = 50 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
struct Seen {
    uri: String,
    headers: HeaderMap,
}

#[derive(Clone, Default)]
struct Upstream {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// `/stream`: released after the first chunk, by the test.
    go_on: Arc<Notify>,
    /// Notified when `/upload` has received its first chunk.
    first_chunk: Arc<Notify>,
}

impl Upstream {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Every request: counts the body as it streams in (never holding it),
/// records it, then answers by path.
async fn upstream_handler(
    State(up): State<Upstream>,
    request: Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let mut stream = body.into_data_stream();
    let mut body_bytes = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        if body_bytes == 0 && !chunk.is_empty() {
            up.first_chunk.notify_one();
        }
        body_bytes += chunk.len();
    }
    up.seen.lock().unwrap().push(Seen {
        uri: parts.uri.to_string(),
        headers: parts.headers.clone(),
    });
    let path = parts.uri.path();
    if path.ends_with("/big") || path == format!("/dicom-web/studies/{STUDY_UID}") {
        let chunks = futures_util::stream::iter(0..BIG / CHUNK)
            .map(|i| Ok::<_, std::io::Error>(vec![(i % 251) as u8; CHUNK]));
        return axum::response::Response::builder()
            .header("content-type", "application/dicom")
            .header("content-encoding", "identity")
            .body(Body::from_stream(chunks))
            .unwrap();
    }
    if path.ends_with("/stream") {
        let go_on = up.go_on.clone();
        let chunks = futures_util::stream::iter(0..2).then(move |i| {
            let go_on = go_on.clone();
            async move {
                if i == 1 {
                    go_on.notified().await;
                }
                Ok::<_, std::io::Error>(vec![b'x'; 1000])
            }
        });
        return axum::response::Response::new(Body::from_stream(chunks));
    }
    let mut answer = axum::response::Response::builder()
        .header("content-type", "application/dicom+json")
        .header("content-encoding", "gzip-not-really")
        .header("connection", "x-upstream-private")
        .header("x-upstream-private", "hop");
    if parts.headers.contains_key("x-test-set-cookies") {
        // The session cookie is the gateway's: an upstream may not set it.
        answer = answer
            .header("set-cookie", "session=chosen-by-upstream; Path=/")
            .header("set-cookie", "upstream-preference=1; Path=/");
    }
    answer
        .body(Body::from(format!(
            "{{\"path\":\"{path}\",\"received\":{body_bytes}}}"
        )))
        .unwrap()
}

/// The auth server, its gateway, and the upstream behind it; users
/// `reader` (view, download), `looker` (view only) and `nobody` on the
/// admin project.
struct Gateway {
    s: TestServer,
    up: Upstream,
    base: String,
    admin: String,
    _stop: oneshot::Sender<()>,
}

impl Gateway {
    async fn start() -> Self {
        Self::start_with("").await
    }

    async fn start_with(extra: &str) -> Self {
        let up = Upstream::default();
        let app = axum::Router::new()
            .fallback(upstream_handler)
            .with_state(up.clone());
        let up_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up_addr = up_listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(up_listener, app).await });
        let s = TestServer::start_with(&format!(
            r#"
            [orthanc.roles.admin]
            permissions = ["all"]
            authorized_labels = ["*"]
            [orthanc.roles.reader]
            permissions = ["view", "download"]
            authorized_labels = ["*"]
            [orthanc.roles.looker]
            permissions = ["view"]
            authorized_labels = ["*"]
            [gateway]
            upstream = "http://{up_addr}"
            upstream_user = "orthanc"
            upstream_password = "upstream-secret"
            {extra}
            "#
        ))
        .await;
        let (base, stop) = serve_gateway(&s).await;
        let admin = s.admin_token().await;
        let g = Self {
            s,
            up,
            base,
            admin,
            _stop: stop,
        };
        let reader = g.role("reader").await;
        let looker = g.role("looker").await;
        g.user("reader", Some(&reader)).await;
        g.user("looker", Some(&looker)).await;
        g.user("nobody", None).await;
        g
    }

    async fn role(&self, name: &str) -> String {
        if let Some(id) = self.s.role_id(&self.admin, name).await {
            return id;
        }
        let created: Value = self
            .s
            .call(Method::POST, "/v3/roles", &self.admin)
            .json(&json!({"role": {"name": name}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["role"]["id"].as_str().unwrap().to_owned()
    }

    async fn user(&self, name: &str, role: Option<&str>) -> String {
        let password = format!("{name}-password");
        self.s
            .create_user_with_role(&self.admin, name, &password, role)
            .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A header login, as dicomtrolley sends it.
    async fn login(&self, user: &str, password: &str, realm: &str) -> reqwest::Response {
        self.s
            .client
            .post(self.url("/login"))
            .header("X-Userid", user)
            .header("X-Password", password)
            .header("X-Realm", realm)
            .send()
            .await
            .unwrap()
    }

    /// The session token of `user`, from a header login.
    async fn session(&self, user: &str) -> String {
        let response = self
            .login(user, &format!("{user}-password"), "DefaultSystemRealm")
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A logout with the session `cookie` (a `Cookie` header value).
    async fn logout(&self, cookie: &str) -> reqwest::Response {
        self.s
            .client
            .post(self.url("/logout"))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str, header: (&str, &str)) -> reqwest::Response {
        self.s
            .client
            .get(self.url(path))
            .header(header.0, header.1)
            .send()
            .await
            .unwrap()
    }

    async fn gateway_audit(&self) -> Vec<auth_core::store::AuditRecord> {
        self.s.audit_of("gateway.request").await
    }
}

/// The gateway of `node` on 127.0.0.1:0: its base URL, and what stops it.
async fn serve_gateway(node: &TestServer) -> (String, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(auth_server::gateway::serve(
        listener,
        node.state.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    (base, stop)
}

fn cookie_of(response: &reqwest::Response) -> String {
    let set = response.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn no_or_bad_credentials_are_401_with_a_challenge_and_never_reach_the_upstream() {
    let g = Gateway::start().await;
    let none =
        g.s.client
            .get(g.url("/dicom-web/studies"))
            .send()
            .await
            .unwrap();
    assert_eq!(none.status(), 401);
    let challenges: Vec<_> = none.headers().get_all("www-authenticate").iter().collect();
    assert!(!challenges.is_empty());
    for bad in [
        ("X-Auth-Token", "not-a-token"),
        ("Authorization", "Bearer not-a-token"),
        ("Cookie", "session=not-a-token"),
        ("token", "shr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let response = g.get("/dicom-web/studies", bad).await;
        assert_eq!(response.status(), 401, "{bad:?}");
        assert!(response.headers().contains_key("www-authenticate"));
    }
    assert!(g.up.seen().is_empty(), "{:?}", g.up.seen());
}

#[tokio::test]
async fn the_role_map_decides_and_refusals_never_reach_the_upstream() {
    let g = Gateway::start().await;
    let reader = g.session("reader").await;
    let looker = g.session("looker").await;
    let nobody = g.session("nobody").await;
    let bearer = format!("Bearer {looker}");
    // A looker searches and reads metadata, with X-Auth-Token or Bearer.
    for (path, header) in [
        (
            "/dicom-web/studies?PatientID=1",
            ("X-Auth-Token", looker.as_str()),
        ),
        ("/studies", ("Authorization", bearer.as_str())),
        (
            &*format!("/dicom-web/studies/{STUDY_UID}/metadata"),
            ("X-Auth-Token", looker.as_str()),
        ),
        (
            &*format!("/studies/{STUDY_ID}"),
            ("X-Auth-Token", looker.as_str()),
        ),
    ] {
        let response = g.get(path, header).await;
        assert_eq!(response.status(), 200, "{path}");
    }
    assert_eq!(g.up.seen().len(), 4);
    // ... but may not retrieve a whole study, nor change anything.
    for path in [
        format!("/dicom-web/studies/{STUDY_UID}"),
        format!("/studies/{STUDY_ID}/archive"),
        format!("/wado?requestType=WADO&studyUID={STUDY_UID}&seriesUID=1.2&objectUID=1.3"),
    ] {
        let response = g.get(&path, ("X-Auth-Token", &looker)).await;
        assert_eq!(response.status(), 403, "{path}");
    }
    let delete =
        g.s.client
            .delete(g.url(&format!("/studies/{STUDY_ID}")))
            .header("X-Auth-Token", &reader)
            .send()
            .await
            .unwrap();
    assert_eq!(delete.status(), 403);
    // Someone without imaging roles may not even search.
    let response = g.get("/dicom-web/studies", ("X-Auth-Token", &nobody)).await;
    assert_eq!(response.status(), 403);
    // A malformed path is refused before anything.
    let response = g
        .get("/dicom-web%2Fstudies", ("X-Auth-Token", &reader))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(g.up.seen().len(), 4, "no refusal reached the upstream");
    // A reader downloads.
    let response = g
        .get(
            &format!("/studies/{STUDY_ID}/archive"),
            ("X-Auth-Token", &reader),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(g.up.seen().len(), 5);
    // Every refusal has its audit row, and the successes by default too.
    let rows = g.gateway_audit().await;
    let refused = rows.iter().filter(|r| !r.success).count();
    assert_eq!(refused, 6, "{rows:?}");
    let row = rows
        .iter()
        .find(|r| r.success && r.detail["request"]["path"] == "/studies")
        .unwrap();
    assert_eq!(row.detail["request"]["level"], "listing");
    assert_eq!(row.detail["request"]["status"], 200);
    assert!(row.detail["request"]["bytes"].as_u64().unwrap() > 0);
    assert!(
        !format!("{rows:?}").contains(&looker),
        "no token in the audit"
    );
}

#[tokio::test]
async fn credentials_stay_here_and_forwarded_headers_are_set() {
    let g = Gateway::start().await;
    let reader = g.session("reader").await;
    let response =
        g.s.client
            .get(g.url("/dicom-web/studies?token=abc&limit=1"))
            .header("X-Auth-Token", &reader)
            .header("Authorization", format!("Bearer {reader}"))
            .header("Cookie", format!("session={reader}; theme=dark"))
            .header("X-Forwarded-For", "10.6.6.6")
            .header("Accept-Encoding", "gzip")
            .header("X-Test-Set-Cookies", "1")
            .send()
            .await
            .unwrap();
    assert_eq!(response.status(), 200);
    // End-to-end headers of the answer pass, hop-by-hop ones do not.
    assert_eq!(response.headers()["content-encoding"], "gzip-not-really");
    assert!(!response.headers().contains_key("x-upstream-private"));
    let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["upstream-preference=1; Path=/"]);
    let seen = g.up.seen();
    let seen = &seen[0];
    assert_eq!(seen.uri, "/dicom-web/studies?limit=1");
    assert!(!seen.headers.contains_key("x-auth-token"));
    assert_eq!(seen.headers["cookie"], "theme=dark");
    assert_eq!(
        seen.headers["authorization"],
        "Basic b3J0aGFuYzp1cHN0cmVhbS1zZWNyZXQ="
    );
    assert_eq!(seen.headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen.headers["x-forwarded-proto"], "http");
    assert_eq!(
        seen.headers["x-forwarded-host"],
        g.base.trim_start_matches("http://")
    );
    assert_eq!(seen.headers["accept-encoding"], "gzip");
    let all = format!("{:?}", seen.headers);
    assert!(!all.contains(&reader), "the token reached the upstream");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_client_and_its_url_reach_the_audit_and_the_upstream() {
    // The tests' client, on 127.0.0.1, is the proxy.
    let g = Gateway::start_with("[server]\ntrusted_proxies = [\"127.0.0.1\"]").await;
    let through_the_proxy = |request: reqwest::RequestBuilder| {
        request
            // What the client claimed, then the client as the proxy saw it.
            .header("X-Forwarded-For", "203.0.113.66, 198.51.100.7")
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-Host", "pacs.example.com")
    };
    let login = through_the_proxy(g.s.client.post(g.url("/login")))
        .header("X-Userid", "reader")
        .header("X-Password", "reader-password")
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.ends_with("; Secure"),
        "the client uses https: {cookie}"
    );
    let reader = login.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = through_the_proxy(g.s.client.get(g.url("/dicom-web/studies")))
        .header("X-Auth-Token", &reader)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = g.up.seen();
    assert_eq!(
        seen[0].headers["x-forwarded-for"],
        "198.51.100.7, 127.0.0.1"
    );
    assert_eq!(seen[0].headers["x-forwarded-proto"], "https");
    assert_eq!(seen[0].headers["x-forwarded-host"], "pacs.example.com");
    let client = Some("198.51.100.7".to_owned());
    for event in ["gateway.login", "gateway.request"] {
        let rows = g.s.audit_of(event).await;
        assert!(!rows.is_empty(), "{event}");
        assert!(
            rows.iter().all(|r| r.client_addr == client),
            "{event}: {rows:?}"
        );
    }
}

#[tokio::test]
async fn bodies_stream_both_ways() {
    let g = Gateway::start().await;
    let reader = g.session("reader").await;
    // Down: the upstream sends its second chunk only once the client has
    // read the first through the gateway.
    let mut response = g.get("/stream", ("X-Auth-Token", &g.admin)).await;
    assert_eq!(response.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(10), response.chunk())
        .await
        .expect("the first chunk arrives before the upstream's body ends")
        .unwrap()
        .unwrap();
    assert!(!first.is_empty());
    g.up.go_on.notify_one();
    let mut rest = first.len();
    while let Some(chunk) = response.chunk().await.unwrap() {
        rest += chunk.len();
    }
    assert_eq!(rest, 2000);
    // Up: the client sends its second chunk only once the upstream has
    // received the first.
    let first_chunk = g.up.first_chunk.clone();
    let body = futures_util::stream::iter(0..2).then(move |i| {
        let first_chunk = first_chunk.clone();
        async move {
            if i == 1 {
                tokio::time::timeout(Duration::from_secs(10), first_chunk.notified())
                    .await
                    .expect("the upstream got the first chunk before the body ended");
            }
            Ok::<_, std::io::Error>(vec![b'u'; 1000])
        }
    });
    let response =
        g.s.client
            .post(g.url("/instances"))
            .header("X-Auth-Token", g.admin.as_str())
            .body(reqwest::Body::wrap_stream(body))
            .send()
            .await
            .unwrap();
    assert_eq!(response.status(), 200);
    // 50 MB each way, counted as it passes.
    let big_up = futures_util::stream::iter(0..BIG / CHUNK)
        .map(|_| Ok::<_, std::io::Error>(vec![7u8; CHUNK]));
    let response =
        g.s.client
            .post(g.url("/instances"))
            .header("X-Auth-Token", g.admin.as_str())
            .body(reqwest::Body::wrap_stream(big_up))
            .send()
            .await
            .unwrap();
    assert_eq!(response.status(), 200);
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["received"], BIG);
    let mut response = g
        .get(
            &format!("/dicom-web/studies/{STUDY_UID}"),
            ("X-Auth-Token", &reader),
        )
        .await;
    assert_eq!(response.status(), 200);
    let mut down = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        down += chunk.len();
    }
    assert_eq!(down, BIG);
    let rows = g.gateway_audit().await;
    assert!(
        rows.iter()
            .any(|r| r.detail["request"]["bytes"] == BIG && r.detail["request"]["level"] == "study"),
        "{rows:?}"
    );
}

/// A gateway with `max_upload_bytes = cap` whose upstream is a bare
/// listener nobody accepts on: whether the gateway ever connected, and
/// what it sent, are then read straight from the socket (a connection the
/// gateway opened is in the backlog as soon as its connect returned).
async fn gateway_before_a_bare_upstream(
    cap: usize,
) -> (
    TestServer,
    String,
    String,
    std::net::TcpListener,
    oneshot::Sender<()>,
) {
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    upstream.set_nonblocking(true).unwrap();
    let s = TestServer::start_with(&format!(
        "[gateway]\nupstream = \"http://{}\"\nmax_upload_bytes = {cap}",
        upstream.local_addr().unwrap()
    ))
    .await;
    let (base, stop) = serve_gateway(&s).await;
    let admin = s.admin_token().await;
    (s, base, admin, upstream, stop)
}

#[tokio::test]
async fn an_upload_declared_over_the_limit_is_refused_before_reaching_the_upstream() {
    let (s, base, admin, upstream, _stop) = gateway_before_a_bare_upstream(1000).await;
    let response = s
        .client
        .post(format!("{base}/instances"))
        .header("X-Auth-Token", admin.as_str())
        .body(vec![0u8; 1001])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], 413);
    let accepted = upstream.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the gateway connected to the upstream: {accepted:?}"
    );
}

#[tokio::test]
async fn a_chunked_upload_over_the_limit_is_cut_and_refused_with_413() {
    const CAP: usize = 64 * 1024;
    const SENT: usize = 4 * 1024 * 1024;
    let (s, base, admin, upstream, _stop) = gateway_before_a_bare_upstream(CAP).await;
    // No Content-Length: the size is only known as the body streams.
    let body = futures_util::stream::iter(0..SENT / CHUNK)
        .map(|_| Ok::<_, std::io::Error>(vec![b'u'; CHUNK]));
    let response = s
        .client
        .post(format!("{base}/instances"))
        .header("X-Auth-Token", admin.as_str())
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], 413);
    // The upstream got the request's start, chunk-encoded, and then the
    // connection closed: never more than the cap of its body.
    let (stream, _) = upstream.accept().expect("the upload reached the upstream");
    let mut stream = tokio::net::TcpStream::from_std({
        stream.set_nonblocking(true).unwrap();
        stream
    })
    .unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut received),
    )
    .await
    .expect("the gateway closed the upstream connection");
    assert!(read.is_ok() || !received.is_empty(), "{read:?}");
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.starts_with("POST /instances HTTP/1.1\r\n"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(
        text.to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
    );
    let head_end = text.find("\r\n\r\n").expect("the request's head") + 4;
    let body_bytes = received[head_end..].iter().filter(|b| **b == b'u').count();
    assert!(body_bytes > 0, "the body started streaming");
    assert!(
        body_bytes <= CAP,
        "{body_bytes} bytes of the body reached the upstream"
    );
    assert!(!text.ends_with("0\r\n\r\n"), "the body was never ended");
}

#[tokio::test]
async fn header_login_gives_a_session_cookie_that_is_a_token_of_this_server() {
    let g = Gateway::start().await;
    let response = g
        .login("reader", "reader-password", "DefaultSystemRealm")
        .await;
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.starts_with("session="), "{set_cookie}");
    assert!(
        set_cookie.ends_with("; Path=/; HttpOnly; SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = cookie_of(&response);
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(cookie, format!("session={token}"));
    assert!(chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap()).is_ok());
    // The cookie opens the gateway...
    let response = g.get("/dicom-web/studies", ("Cookie", &cookie)).await;
    assert_eq!(response.status(), 200);
    // ... and the token the Keystone API, scoped to the user's project.
    let validated =
        g.s.call(Method::GET, "/v3/auth/tokens", &g.admin)
            .header("X-Subject-Token", token)
            .send()
            .await
            .unwrap();
    assert_eq!(validated.status(), 200);
    let validated: Value = validated.json().await.unwrap();
    assert_eq!(
        validated["token"]["project"]["id"],
        g.s.admin.project.id.as_str()
    );
    // Failures are 401s alike, whichever part was wrong.
    for (user, password, realm) in [
        ("reader", "wrong", "DefaultSystemRealm"),
        ("ghost", "reader-password", "DefaultSystemRealm"),
        ("reader", "reader-password", "OtherRealm"),
    ] {
        let response = g.login(user, password, realm).await;
        assert_eq!(response.status(), 401, "{user} {realm}");
        assert!(!response.headers().contains_key("set-cookie"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], 401);
    }
    let logins = g.s.audit_of("gateway.login").await;
    assert_eq!(logins.iter().filter(|r| r.success).count(), 1, "{logins:?}");
    assert_eq!(logins.iter().filter(|r| !r.success).count(), 3);
}

#[tokio::test]
async fn header_logins_count_toward_the_lockout_of_every_password_login() {
    let g = Gateway::start_with(
        "[security_compliance]\nlockout_failure_attempts = 2\nlockout_duration = 600",
    )
    .await;
    for _ in 0..2 {
        let response = g.login("reader", "wrong", "DefaultSystemRealm").await;
        assert_eq!(response.status(), 401);
    }
    // Locked: the right password gets the same 401, at the gateway and at
    // the Keystone API (one counter), until the lockout lapses.
    let right = g
        .login("reader", "reader-password", "DefaultSystemRealm")
        .await;
    assert_eq!(right.status(), 401);
    assert!(!right.headers().contains_key("set-cookie"));
    let keystone =
        g.s.issue(&password_body("reader", "reader-password", None), None)
            .await;
    assert_eq!(keystone.status(), 401);
    g.s.clock.advance(chrono::Duration::seconds(601));
    let right = g
        .login("reader", "reader-password", "DefaultSystemRealm")
        .await;
    assert_eq!(right.status(), 200);
}

#[tokio::test]
async fn sessions_slide_in_their_second_half_and_logout_ends_every_one() {
    let g = Gateway::start().await;
    let response = g
        .login("reader", "reader-password", "DefaultSystemRealm")
        .await;
    let first = cookie_of(&response);
    let response = g.get("/studies", ("Cookie", &first)).await;
    assert_eq!(response.status(), 200);
    assert!(
        !response.headers().contains_key("set-cookie"),
        "not yet due"
    );
    // Past half of the hour: a fresh cookie.
    g.s.clock.advance(chrono::Duration::minutes(40));
    let response = g.get("/studies", ("Cookie", &first)).await;
    assert_eq!(response.status(), 200);
    let second = cookie_of(&response);
    assert_ne!(second, first);
    // The old one ends on time; the new one goes on.
    g.s.clock.advance(chrono::Duration::minutes(30));
    assert_eq!(g.get("/studies", ("Cookie", &first)).await.status(), 401);
    assert_eq!(g.get("/studies", ("Cookie", &second)).await.status(), 200);
    // Logout ends the session, and with it every token it slid through.
    let third = {
        g.s.clock.advance(chrono::Duration::minutes(25));
        let response = g.get("/studies", ("Cookie", &second)).await;
        cookie_of(&response)
    };
    let response = g.logout(&third).await;
    assert_eq!(response.status(), 204);
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(g.get("/studies", ("Cookie", &third)).await.status(), 401);
    assert_eq!(g.get("/studies", ("Cookie", &second)).await.status(), 401);
}

#[tokio::test]
async fn a_session_opened_on_one_node_works_on_another_until_logout_on_the_first() {
    let g = Gateway::start().await;
    let other = g.s.second_node().await;
    let (other_base, _stop) = serve_gateway(&other).await;
    let response = g
        .login("reader", "reader-password", "DefaultSystemRealm")
        .await;
    let cookie = cookie_of(&response);
    let on_other = || async {
        g.s.client
            .get(format!("{other_base}/studies"))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(on_other().await, 200);
    assert_eq!(g.get("/studies", ("Cookie", &cookie)).await.status(), 200);
    let response = g.logout(&cookie).await;
    assert_eq!(response.status(), 204);
    // The other node validated the session a moment ago (and may keep the
    // answer in its cache); the revocation reaches it at the next request.
    assert_eq!(on_other().await, 401);
    assert_eq!(g.up.seen().len(), 2, "the refused request never reached it");
}

#[tokio::test]
async fn a_share_token_opens_its_study_only_and_never_lists() {
    let g = Gateway::start().await;
    let resource: SharedResource = serde_json::from_value(json!({
        "level": "study", "orthanc-id": STUDY_ID, "dicom-uid": STUDY_UID
    }))
    .unwrap();
    let (share, _) = auth_server::services::imaging::create_share_token(
        &g.s.state.services(),
        NewShareToken {
            token_type: "stone-viewer-publication".into(),
            resources: vec![resource],
            expires_at: g.s.clock.now() + chrono::Duration::hours(1),
            server_id: None,
            created_by: None,
        },
    )
    .await
    .unwrap();
    let share = share.expose_secret().to_owned();
    let metadata = format!("/dicom-web/studies/{STUDY_UID}/metadata");
    assert_eq!(g.get(&metadata, ("token", &share)).await.status(), 200);
    let by_arg = format!("{metadata}?token={share}");
    let response = g.s.client.get(g.url(&by_arg)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        g.get(&format!("/studies/{STUDY_ID}/series"), ("token", &share))
            .await
            .status(),
        200
    );
    let seen = g.up.seen();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|s| !s.uri.contains("token") && !s.headers.contains_key("token"))
    );
    for path in [
        "/dicom-web/studies".to_owned(),
        "/studies".to_owned(),
        "/dicom-web/studies/1.2.3/metadata".to_owned(),
        format!("/series/{STUDY_ID}"),
    ] {
        assert_eq!(
            g.get(&path, ("token", &share)).await.status(),
            403,
            "{path}"
        );
    }
    assert_eq!(g.up.seen().len(), 3);
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let s = TestServer::start_with(&format!("[gateway]\nupstream = \"http://{addr}\"")).await;
    let (base, _stop) = serve_gateway(&s).await;
    let admin = s.admin_token().await;
    let response = s
        .client
        .get(format!("{base}/studies"))
        .header("X-Auth-Token", admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], 502);
}

#[tokio::test]
async fn a_user_whose_rules_need_totp_is_told_and_logs_in_with_x_passcode() {
    use auth_core::store::{Credential, new_id};
    use auth_plugins::methods::totp;
    let g = Gateway::start().await;
    let reader = g.role("reader").await;
    let id = g.user("careful", Some(&reader)).await;
    let status =
        g.s.call(Method::PATCH, &format!("/v3/users/{id}"), &g.admin)
            .json(&json!({"user": {"options": {
                "multi_factor_auth_enabled": true,
                "multi_factor_auth_rules": [["password", "totp"]]
            }}}))
            .send()
            .await
            .unwrap()
            .status();
    assert_eq!(status, 200);
    let blob = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    g.s.storage()
        .create_credential(&Credential::new(
            new_id(),
            id,
            "totp",
            secrecy::SecretString::from(blob.to_owned()),
        ))
        .await
        .unwrap();
    let response = g
        .login("careful", "careful-password", "DefaultSystemRealm")
        .await;
    assert_eq!(response.status(), 401);
    assert!(!response.headers().contains_key("set-cookie"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["missing_auth_methods"], json!([["totp"]]));
    let passcode = totp::passcode_at(&totp::decode_secret(blob).unwrap(), g.s.clock.now());
    let response =
        g.s.client
            .post(g.url("/login"))
            .header("X-Userid", "careful")
            .header("X-Password", "careful-password")
            .header("X-Realm", "DefaultSystemRealm")
            .header("X-Passcode", passcode)
            .send()
            .await
            .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = cookie_of(&response);
    assert_eq!(g.get("/studies", ("Cookie", &cookie)).await.status(), 200);
}

#[tokio::test]
async fn an_upstream_too_slow_to_answer_is_a_504() {
    // An upstream that never answers: the gateway's timeout alone ends it.
    let slow = axum::Router::new().fallback(std::future::pending::<&str>);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, slow).await });
    let s = TestServer::start_with(&format!(
        "[gateway]\nupstream = \"http://{addr}\"\nresponse_timeout_secs = 1"
    ))
    .await;
    let (base, _stop) = serve_gateway(&s).await;
    let admin = s.admin_token().await;
    let response = s
        .client
        .get(format!("{base}/studies"))
        .header("X-Auth-Token", admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 504);
}

#[tokio::test]
async fn requests_over_the_upstream_connection_limit_wait_then_get_a_503() {
    let g = Gateway::start_with("upstream_max_connections = 1\nconnect_timeout_secs = 1").await;
    // The one slot, held while the answer streams.
    let mut streaming = g.get("/stream", ("X-Auth-Token", &g.admin)).await;
    assert_eq!(streaming.status(), 200);
    assert!(!streaming.chunk().await.unwrap().unwrap().is_empty());
    let busy = g.get("/studies", ("X-Auth-Token", &g.admin)).await;
    assert_eq!(busy.status(), 503);
    let body: Value = busy.json().await.unwrap();
    assert_eq!(body["error"]["code"], 503);
    assert_eq!(g.up.seen().len(), 1, "the refused request never reached it");
    // Once the answer has streamed, the slot is free again.
    g.up.go_on.notify_one();
    while streaming.chunk().await.unwrap().is_some() {}
    let response = g.get("/studies", ("X-Auth-Token", &g.admin)).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn skipping_successes_keeps_every_refusal_in_the_audit() {
    let g = Gateway::start_with("[audit]\nskip_successful = [\"gateway.request\"]").await;
    let looker = g.session("looker").await;
    assert_eq!(
        g.get("/dicom-web/studies", ("X-Auth-Token", &looker))
            .await
            .status(),
        200
    );
    let refused = format!("/dicom-web/studies/{STUDY_UID}");
    assert_eq!(
        g.get(&refused, ("X-Auth-Token", &looker)).await.status(),
        403
    );
    let rows = g.gateway_audit().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(!rows[0].success);
    assert_eq!(rows[0].detail["request"]["path"], refused.as_str());
    assert_eq!(rows[0].detail["request"]["status"], 403);
}

/// Successful password checks so far, from `/metrics`.
async fn logins(g: &Gateway) -> u32 {
    let text = g.s.metrics().await;
    text.lines()
        .find_map(|line| {
            line.strip_prefix("auth_method_results_total{method=\"password\",result=\"success\"} ")
        })
        .map_or(0, |n| n.parse().unwrap())
}

/// `auth-client`'s header login against the real gateway: it logs in on
/// first use, and when the session is revoked mid-run (the user disabled
/// and enabled again, which revokes every token issued before) it logs in
/// once more and the retry, carrying only the new session, gets through.
#[tokio::test]
async fn the_rust_client_logs_in_through_the_gateway_and_again_after_a_revocation() {
    let g = Gateway::start().await;
    let login = auth_client::HeaderLogin::new(
        g.url("/login").parse().unwrap(),
        "reader",
        secrecy::SecretString::from("reader-password".to_owned()),
    )
    .cookie("session");
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(auth_client::AuthMiddleware::new(login))
        .build();
    let first = client.get(g.url("/studies")).send().await.unwrap();
    assert_eq!(first.status(), 200);
    // The injected clock stands still: the revocation comes a second after
    // the session was issued.
    g.s.clock.advance(chrono::Duration::seconds(1));

    let users: Value =
        g.s.call(Method::GET, "/v3/users?name=reader", &g.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let id = users["users"][0]["id"].as_str().unwrap();
    for enabled in [false, true] {
        let status =
            g.s.call(Method::PATCH, &format!("/v3/users/{id}"), &g.admin)
                .json(&json!({"user": {"enabled": enabled}}))
                .send()
                .await
                .unwrap()
                .status();
        assert_eq!(status, 200);
    }
    let logins_before = logins(&g).await;
    let second = client.get(g.url("/studies")).send().await.unwrap();
    assert_eq!(second.status(), 200, "logged in again and retried once");
    let studies: Vec<Seen> =
        g.up.seen()
            .into_iter()
            .filter(|seen| seen.uri == "/studies")
            .collect();
    assert_eq!(
        studies.len(),
        2,
        "the refused attempt never reached the upstream"
    );
    assert!(
        studies
            .iter()
            .all(|seen| !seen.headers.contains_key("cookie")),
        "the session cookie stays at the gateway"
    );
    assert_eq!(
        logins(&g).await,
        logins_before + 1,
        "one more login, after the revoked session's 401"
    );
}
