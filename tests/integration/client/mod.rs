//! auth-client against this server's Keystone API over real HTTP: it logs
//! in, renews, and after a refusal logs in once and retries once with the
//! new token only.

mod keystone;
mod renewal;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use auth_client::AuthMiddleware;
use auth_core::ManualClock;
use chrono::{DateTime, Utc};
use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use serde_json::{Value, json};

use crate::server::harness::TestServer;

/// A request as it went out: its `X-Auth-Token` and the status it got.
type Sent = (Option<String>, u16);

/// What went out after the auth middleware.
#[derive(Debug, Default, Clone)]
struct Recorder(Arc<Mutex<Vec<Sent>>>);

impl Recorder {
    fn sent(&self) -> Vec<Sent> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl Middleware for Recorder {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let token = request
            .headers()
            .get("x-auth-token")
            .map(|value| value.to_str().unwrap().to_owned());
        let response = next.run(request, extensions).await?;
        self.0
            .lock()
            .unwrap()
            .push((token, response.status().as_u16()));
        Ok(response)
    }
}

/// A client with `auth` and, after it, a recorder.
fn recorded(auth: AuthMiddleware) -> (ClientWithMiddleware, Recorder) {
    let recorder = Recorder::default();
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(auth)
        .with(recorder.clone())
        .build();
    (client, recorder)
}

/// The server's clock, as the client's: both see time move together.
#[derive(Debug)]
struct ServerClock(Arc<ManualClock>);

impl auth_client::Clock for ServerClock {
    fn now(&self) -> DateTime<Utc> {
        auth_core::Clock::now(self.0.as_ref())
    }
}

/// Successful logins of `method`, from the server's /metrics.
async fn logins(s: &TestServer, method: &str) -> u32 {
    let text = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("auth_method_results_total{{method=\"{method}\",result=\"success\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .map_or(0, |n| n.parse().unwrap())
}

/// A user of the default domain with `password` (and `options`); its id.
async fn add_user(
    s: &TestServer,
    admin: &str,
    name: &str,
    password: &str,
    options: Value,
) -> String {
    let created = s
        .call(reqwest::Method::POST, "/v3/users", admin)
        .json(&json!({"user": {"name": name, "password": password, "options": options}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    body["user"]["id"].as_str().unwrap().to_owned()
}
