//! Token issue latency with no event-handler bindings and with three post
//! bindings on `auth.tokens.create` (Logging, Counter, and a WebHook to an
//! endpoint that takes a second to answer), through the whole router
//! in-process (no TCP), on SQLite.
//!
//! Two password-hashing settings: the default argon2id (what a deployment
//! pays, ~15 ms a login) and a 64 KiB one, where hashing is cheap enough
//! for the handlers' own cost to show.
//!
//! ```text
//! cargo bench -p auth-server --bench events -- --warm-up-time 2 --measurement-time 10
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use auth_core::SystemClock;
use auth_server::bootstrap::{self, Bootstrap};
use auth_server::{AppState, Config};
use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tower::ServiceExt;

const LOGIN: &str = r#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "bench-password"}}}, "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}"#;

/// A loopback endpoint that reads a request and answers after a second.
async fn slow_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    url
}

async fn server(hashing: &str, bindings: bool, dir: &std::path::Path) -> AppState {
    let mut toml = format!("[auth.method.password.hashing]\n{hashing}\n");
    if bindings {
        let url = slow_endpoint().await;
        toml.push_str(&format!(
            r#"
            [[events.bindings]]
            name = "log"
            events = ["auth.tokens.create"]
            module = "Logging"
            action = "log"
            options = {{ message = "{{user}} logged in" }}
            [[events.bindings]]
            name = "count"
            events = ["auth.tokens.create"]
            module = "Counter"
            action = "increase"
            options = {{ counter_name = "logins-{{user}}" }}
            [[events.bindings]]
            name = "hook"
            events = ["auth.tokens.create"]
            module = "WebHook"
            action = "post"
            options = {{ url = "{url}" }}
            "#
        ));
    }
    let mut config = Config::from_toml(&toml).unwrap();
    config.database.url = format!("sqlite://{}/auth.db", dir.display());
    config.keys.dir = dir.join("keys");
    let state = AppState::build_with_clock(config.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let plan = Bootstrap {
        admin_user: "admin".into(),
        admin_password: SecretString::from("bench-password".to_owned()),
        admin_project: "admin".into(),
        public_url: "http://127.0.0.1:5000".into(),
        region: "RegionOne".into(),
    };
    bootstrap::run(&state.services(), &plan).await.unwrap();
    state
}

fn token_issue(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("token_issue");
    for (label, hashing) in [
        ("default_argon2", ""),
        (
            "argon2_64KiB",
            "memory_kib = 64\niterations = 1\nparallelism = 1",
        ),
    ] {
        for bindings in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let state = runtime.block_on(server(hashing, bindings, dir.path()));
            let app = auth_server::router(state.clone());
            let name = format!(
                "{label}/{}",
                if bindings {
                    "three_post_bindings"
                } else {
                    "no_bindings"
                }
            );
            group.bench_function(name, |b| {
                b.to_async(&runtime).iter(|| async {
                    let request = Request::post("/v3/auth/tokens")
                        .header("content-type", "application/json")
                        .body(Body::from(LOGIN))
                        .unwrap();
                    let response = app.clone().oneshot(request).await.unwrap();
                    assert_eq!(response.status(), 201);
                });
            });
            if bindings {
                let stats = state.dispatcher().stats();
                println!(
                    "  off-path runs queued {}, dropped (queue full, audited) {}",
                    stats.queued_runs, stats.dropped_runs
                );
            }
        }
    }
    group.finish();
}

criterion_group!(benches, token_issue);
criterion_main!(benches);
