//! The listener under idle and slow connections (issue 11, hole 3), against
//! a server in its own process (`test-server`), so that it can run under a
//! low open-file limit as a production server may.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::{Instant, timeout};

/// How many idle and slow-header connections the first test holds: four
/// times what the server may keep open.
const HELD: usize = 2000;

/// Half a request: the headers never end.
const SLOW_HEADER: &[u8] = b"POST /v3/auth/tokens HTTP/1.1\r\nHost: auth\r\nContent-Type: app";

struct ChildServer {
    base: String,
    addr: String,
    client: reqwest::Client,
    /// Killed on drop.
    _child: Child,
}

impl ChildServer {
    /// Starts `test-server` with the `AUTH_*` variables `env`, under an
    /// open-file limit of `fd_limit` if given.
    async fn start(fd_limit: Option<u32>, env: &[(&str, &str)]) -> Self {
        let exe = env!("CARGO_BIN_EXE_test-server");
        let mut command = match fd_limit {
            Some(limit) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\""))
                    .arg(exe);
                sh
            }
            None => Command::new(exe),
        };
        let mut child = command
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(base) = line.strip_prefix("listening ") {
                    return base.to_owned();
                }
            }
            panic!("test-server exited before listening");
        })
        .await
        .expect("test-server did not start");
        let addr = base.trim_start_matches("http://").to_owned();
        Self {
            base,
            addr,
            client: reqwest::Client::new(),
            _child: child,
        }
    }

    /// An admin password login, which must answer within `within`.
    async fn login(&self, within: Duration) -> u16 {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": "bootstrap-secret"}}}}});
        let request = self
            .client
            .post(format!("{}/v3/auth/tokens", self.base))
            .json(&body)
            .send();
        match timeout(within, request).await {
            Ok(response) => response.unwrap().status().as_u16(),
            Err(_) => panic!("no answer to a login within {within:?}"),
        }
    }

    async fn metric(&self, line_start: &str) -> u64 {
        let text = timeout(
            Duration::from_secs(10),
            self.client.get(format!("{}/metrics", self.base)).send(),
        )
        .await
        .expect("/metrics did not answer")
        .unwrap()
        .text()
        .await
        .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(line_start))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in {text}"))
    }
}

/// Whether the server closes `stream` (EOF or reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // A response (e.g. 408) before the close is fine; keep reading.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_login_answers_while_thousands_of_idle_and_slow_connections_are_held() {
    // 512 descriptors, as a server started with a low `ulimit -n`; the
    // default cap (1024) is lowered to fit.
    let server = ChildServer::start(Some(512), &[]).await;
    let mut held = Vec::new();
    for n in 0..HELD {
        let Ok(Ok(mut stream)) =
            timeout(Duration::from_secs(3), TcpStream::connect(&server.addr)).await
        else {
            break;
        };
        if n % 2 == 1 {
            // The server may already have closed it to make room.
            let _ = stream.write_all(SLOW_HEADER).await;
        }
        held.push(stream);
    }
    let started = Instant::now();
    assert_eq!(server.login(Duration::from_secs(10)).await, 201);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(held.len(), HELD, "the server kept accepting");
    let open = server.metric("http_connections_open ").await;
    assert!(open <= 512 - 64, "{open} open connections");
    let evicted = server
        .metric("http_connections_closed_total{reason=\"evicted_at_cap\"} ")
        .await;
    assert!(evicted >= HELD as u64 - (512 - 64), "{evicted} evicted");
    // And once they go, the server carries on.
    drop(held);
    for _ in 0..3 {
        assert_eq!(server.login(Duration::from_secs(10)).await, 201);
    }
}

#[tokio::test]
async fn slow_headers_and_idle_keep_alives_are_closed_after_their_timeouts() {
    let server = ChildServer::start(
        None,
        &[
            ("AUTH_HEADER_READ_TIMEOUT_SECS", "1"),
            ("AUTH_KEEPALIVE_TIMEOUT_SECS", "2"),
        ],
    )
    .await;
    let connect = || TcpStream::connect(&server.addr);
    let mut silent = connect().await.unwrap();
    let mut slow = connect().await.unwrap();
    slow.write_all(SLOW_HEADER).await.unwrap();
    // A keep-alive connection that serves two requests, then idles.
    let mut idle = connect().await.unwrap();
    for _ in 0..2 {
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: auth\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = timeout(Duration::from_secs(10), idle.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
    }
    // A trickle of header bytes does not extend the header deadline.
    let mut trickle = connect().await.unwrap();
    let trickled = async {
        for byte in SLOW_HEADER {
            if trickle.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let _ = timeout(Duration::from_secs(3), trickled).await;
    for (name, stream) in [
        ("silent", &mut silent),
        ("slow header", &mut slow),
        ("trickling header", &mut trickle),
        ("idle keep-alive", &mut idle),
    ] {
        assert!(
            closed_within(stream, Duration::from_secs(10)).await,
            "the {name} connection is still open"
        );
    }
    let header = server
        .metric("http_connections_closed_total{reason=\"header_timeout\"} ")
        .await;
    let idle = server
        .metric("http_connections_closed_total{reason=\"idle_timeout\"} ")
        .await;
    assert!(header >= 3 && idle >= 1, "header {header}, idle {idle}");
    assert_eq!(server.login(Duration::from_secs(10)).await, 201);
}
