//! `[server] management_listen`: `/metrics` and `/healthz` move to their
//! own listener, and the API port answers 404 for them.

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::harness::TestServer;

/// Serves the management routes of `s` on a new port, until the returned
/// sender is dropped; returns its base URL.
async fn management(s: &TestServer) -> (String, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(auth_server::serve_management(
        listener,
        s.state.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    (base, stop)
}

#[tokio::test]
async fn management_listener_serves_metrics_and_health_and_the_api_port_does_not() {
    let s = TestServer::start_with("[server]\nmanagement_listen = \"127.0.0.1:0\"").await;
    let (base, _stop) = management(&s).await;
    let client = reqwest::Client::new();

    for path in ["/metrics", "/healthz"] {
        let api = client.get(s.url(path)).send().await.unwrap();
        assert_eq!(api.status(), 404, "{path} on the API port");
        let body: serde_json::Value = api.json().await.unwrap();
        assert_eq!(body["error"]["code"], 404, "{path}: a JSON error body");

        let managed = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(managed.status(), 200, "{path} on the management port");
    }
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("# TYPE"), "{metrics}");
    // Only those two: the API is not on the management port.
    let other = client.get(format!("{base}/v3")).send().await.unwrap();
    assert_eq!(other.status(), 404);
    // The API port still serves the API.
    let api = client.get(s.url("/v3")).send().await.unwrap();
    assert_eq!(api.status(), 200);
}

#[tokio::test]
async fn without_a_management_listener_metrics_and_health_stay_on_the_api_port() {
    let s = TestServer::start().await;
    let client = reqwest::Client::new();
    for path in ["/metrics", "/healthz"] {
        let api = client.get(s.url(path)).send().await.unwrap();
        assert_eq!(api.status(), 200, "{path} on the API port");
    }
}

#[test]
fn the_management_listener_comes_from_the_environment() {
    let mut config = auth_server::Config::default();
    config
        .apply_env(|name| (name == "AUTH_MANAGEMENT_LISTEN").then(|| "127.0.0.1:9000".to_owned()))
        .unwrap();
    assert_eq!(
        config.server.management_listen,
        Some("127.0.0.1:9000".parse().unwrap())
    );
}
