//! A server on 127.0.0.1:0 with a fresh SQLite database, bootstrapped.

use std::sync::Arc;

use auth_core::store::Storage;
use auth_core::{ManualClock, TokenClaims};
use auth_server::bootstrap::{self, Bootstrap, Bootstrapped};
use auth_server::{AppState, Config};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub(crate) const ADMIN_PASSWORD: &str = "bootstrap-secret";

pub(crate) struct TestServer {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) state: AppState,
    pub(crate) admin: Bootstrapped,
    /// The server's clock: tests move time instead of sleeping.
    pub(crate) clock: Arc<ManualClock>,
    config: Config,
    stop: Option<oneshot::Sender<()>>,
    _dir: Option<tempfile::TempDir>,
    /// Declared last: the schema is dropped after the server stops.
    _schema: Option<crate::store::harness::Cleanup>,
}

/// The URL of `listener` as `state` serves it: https with `[tls]` (whose
/// tests give the server a client trusting their authority).
fn base_url(listener: &TcpListener, state: &AppState) -> String {
    let scheme = if state.tls().is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{}", listener.local_addr().unwrap())
}

impl TestServer {
    pub(crate) async fn start() -> Self {
        Self::start_with("").await
    }

    /// A server whose configuration adds `extra` (TOML) to the default
    /// test configuration.
    pub(crate) async fn start_with(extra: &str) -> Self {
        Self::start_on(None, extra).await
    }

    /// A server on a fresh schema of the PostgreSQL that
    /// `AUTH_TEST_POSTGRES_URL` names, or `None` when it is unset and not
    /// required (see the store harness).
    pub(crate) async fn start_postgres(extra: &str) -> Option<Self> {
        let (url, schema) = crate::store::harness::postgres_schema().await?;
        let mut server = Self::start_on(Some(url), extra).await;
        server._schema = Some(schema);
        Some(server)
    }

    /// A server on `database` (a URL), or a new SQLite file.
    async fn start_on(database: Option<String>, extra: &str) -> Self {
        Self::start_custom(database, extra, |_| {}, None).await
    }

    /// A server whose configuration `configure` changes last (for what
    /// `extra` cannot redefine, such as `[auth] methods`), with the
    /// methods of `methods` when given (else every registration linked
    /// in).
    pub(crate) async fn start_custom(
        database: Option<String>,
        extra: &str,
        configure: impl FnOnce(&mut Config),
        methods: Option<auth_core::Registry<auth_core::MethodRegistration>>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::from_toml(&format!(
            r#"
            [auth]
            methods = ["password", "token", "totp", "application_credential", "ec2credential"]
            [auth.method.password.hashing]
            memory_kib = 64
            iterations = 1
            parallelism = 1
            {extra}
            "#
        ))
        .unwrap();
        config.database.url =
            database.unwrap_or_else(|| format!("sqlite://{}/auth.db", dir.path().display()));
        config.keys.dir = dir.path().join("keys");
        configure(&mut config);
        let clock = Arc::new(ManualClock::starting_now());
        let state = match methods {
            Some(methods) => {
                AppState::build_with_methods(config.clone(), clock.clone(), methods).await
            }
            None => AppState::build_with_clock(config.clone(), clock.clone()).await,
        }
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = base_url(&listener, &state);
        let plan = Bootstrap {
            admin_user: "admin".into(),
            admin_password: SecretString::from(ADMIN_PASSWORD.to_owned()),
            admin_project: "admin".into(),
            public_url: base.clone(),
            region: "RegionOne".into(),
        };
        let admin = bootstrap::run(&state.services(), &plan).await.unwrap();
        let mut server = Self::serve(listener, state, admin, clock, config).await;
        server._dir = Some(dir);
        server
    }

    /// Another node on the same database and keys, with its own caches and
    /// the same clock: what a second `auth-server` behind a load balancer
    /// is. It lives while `self` does.
    pub(crate) async fn second_node(&self) -> Self {
        let state = AppState::build_with_clock(self.config.clone(), self.clock.clone())
            .await
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(
            listener,
            state,
            self.admin.clone(),
            self.clock.clone(),
            self.config.clone(),
        )
        .await
    }

    async fn serve(
        listener: TcpListener,
        state: AppState,
        admin: Bootstrapped,
        clock: Arc<ManualClock>,
        config: Config,
    ) -> Self {
        let base = base_url(&listener, &state);
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(auth_server::serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Self {
            base,
            client: reqwest::Client::new(),
            state,
            admin,
            clock,
            config,
            stop: Some(stop),
            _dir: None,
            _schema: None,
        }
    }

    pub(crate) fn storage(&self) -> &Arc<dyn Storage> {
        self.state.storage()
    }

    /// The configuration this node was built from.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The key-encryption keys in this node's `[keys] dir`.
    pub(crate) fn kek(&self) -> auth_core::KeySet {
        auth_server::keys::read_kek(&self.config.keys.dir)
            .unwrap()
            .expect("the first start wrote the KEK file")
    }

    /// Another node on the same database whose configuration `change`
    /// edits (its own `[keys] dir`, say), with the same clock.
    pub(crate) async fn node_with(&self, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.config.clone();
        change(&mut config);
        let state = AppState::build_with_clock(config.clone(), self.clock.clone())
            .await
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(
            listener,
            state,
            self.admin.clone(),
            self.clock.clone(),
            config,
        )
        .await
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request to `path` carrying `token` as `X-Auth-Token`.
    pub(crate) fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: impl AsRef<str>,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("X-Auth-Token", token.as_ref())
    }

    /// The text of `/metrics` (on the API port).
    pub(crate) async fn metrics(&self) -> String {
        let response = self.client.get(self.url("/metrics")).send().await.unwrap();
        response.text().await.unwrap()
    }

    /// GET /v3/auth/tokens: `caller` validates `subject`.
    pub(crate) async fn validate(&self, caller: &str, subject: &str) -> reqwest::Response {
        self.call(reqwest::Method::GET, "/v3/auth/tokens", caller)
            .header("X-Subject-Token", subject)
            .send()
            .await
            .unwrap()
    }

    /// POST /v3/auth/tokens with `body`, and an optional receipt.
    pub(crate) async fn issue(&self, body: &Value, receipt: Option<&str>) -> reqwest::Response {
        let mut request = self.client.post(self.url("/v3/auth/tokens")).json(body);
        if let Some(receipt) = receipt {
            request = request.header("Openstack-Auth-Receipt", receipt);
        }
        request.send().await.unwrap()
    }

    /// POST /v3/auth/tokens with an owned `body` (for closures).
    pub(crate) async fn issue_owned(&self, body: Value) -> reqwest::Response {
        self.issue(&body, None).await
    }

    /// An unscoped admin login.
    pub(crate) async fn admin_unscoped(&self) -> reqwest::Response {
        let body = password_body("admin", ADMIN_PASSWORD, Some(json!("unscoped")));
        self.issue(&body, None).await
    }

    /// An admin token scoped to the admin project.
    pub(crate) async fn admin_token(&self) -> String {
        let response = self
            .issue(
                &password_body(
                    "admin",
                    ADMIN_PASSWORD,
                    Some(json!({"project": {"name": "admin", "domain": {"id": "default"}}})),
                ),
                None,
            )
            .await;
        assert_eq!(response.status(), 201);
        subject(&response)
    }

    /// POSTs `envelope` (`{"<kind>": {…}}`) to `path` as `token`, expects
    /// a 201; the created object's id.
    pub(crate) async fn created_id(&self, token: &str, path: &str, envelope: Value) -> String {
        let kind = envelope
            .as_object()
            .and_then(|o| o.keys().next())
            .expect("an envelope of one member")
            .clone();
        let response = self
            .call(reqwest::Method::POST, path, token)
            .json(&envelope)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "POST {path} {envelope}");
        let body: Value = response.json().await.unwrap();
        body[kind.as_str()]["id"].as_str().unwrap().to_owned()
    }

    /// A token of `user` (default domain) scoped to the admin project.
    pub(crate) async fn project_token(&self, user: &str, password: &str) -> String {
        let scope = json!({"project": {"id": self.admin.project.id}});
        let response = self
            .issue(&password_body(user, password, Some(scope)), None)
            .await;
        assert_eq!(response.status(), 201, "{user} logs in");
        subject(&response)
    }

    /// The audit rows of `event` (at most 100), once the pending batch is
    /// written.
    pub(crate) async fn audit_of(&self, event: &str) -> Vec<auth_core::store::AuditRecord> {
        self.state.dispatcher().audit().flush().await;
        let mut query = auth_core::store::AuditQuery::new(100);
        query.event = Some(event.into());
        self.storage().query_audit(&query).await.unwrap()
    }
}

impl TestServer {
    /// The id of the role named `name`, if there is one.
    pub(crate) async fn role_id(&self, admin: &str, name: &str) -> Option<String> {
        let found: Value = self
            .call(
                reqwest::Method::GET,
                &format!("/v3/roles?name={name}"),
                admin,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        found["roles"][0]["id"].as_str().map(str::to_owned)
    }

    /// Creates the user `name` with `password` in the default domain and,
    /// given a role id, grants it that role on the admin project; its id.
    pub(crate) async fn create_user_with_role(
        &self,
        admin: &str,
        name: &str,
        password: &str,
        role: Option<&str>,
    ) -> String {
        let response = self
            .call(reqwest::Method::POST, "/v3/users", admin)
            .json(&json!({"user": {"name": name, "password": password, "domain_id": "default"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        let id = body["user"]["id"].as_str().unwrap().to_owned();
        if let Some(role) = role {
            let project = &self.admin.project.id;
            let status = self
                .call(
                    reqwest::Method::PUT,
                    &format!("/v3/projects/{project}/users/{id}/roles/{role}"),
                    admin,
                )
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 204);
        }
        id
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The names of the roles in a token response body (`{"token": …}`),
/// sorted.
pub(crate) fn role_names(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = body["token"]["roles"]
        .as_array()
        .unwrap_or_else(|| panic!("no roles in {body}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The status a request is answered with.
pub(crate) async fn status_of(request: reqwest::RequestBuilder) -> u16 {
    request.send().await.unwrap().status().as_u16()
}

pub(crate) fn password_body(user: &str, password: &str, scope: Option<Value>) -> Value {
    let mut body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}}}});
    if let Some(scope) = scope {
        body["auth"]["scope"] = scope;
    }
    body
}

pub(crate) fn subject(response: &reqwest::Response) -> String {
    response.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Claims of an admin token on the admin project, issued at `iat` and
/// expiring at `exp`, for tests that sign tokens themselves.
pub(crate) fn admin_claims(s: &TestServer, iat: DateTime<Utc>, exp: DateTime<Utc>) -> TokenClaims {
    let mut claims = TokenClaims {
        sub: s.admin.user.id.clone(),
        iat: 0,
        iat_us: None,
        exp: exp.timestamp(),
        methods: vec!["password".into()],
        audit_ids: vec!["forged-audit-id-0000000".into()],
        project_id: Some(s.admin.project.id.clone()),
        domain_id: None,
        system: None,
        app_cred_id: None,
        access_token_id: None,
        group_ids: vec![],
        idp_id: None,
        trust_id: None,
    };
    claims.set_issued_at(iat);
    claims
}
