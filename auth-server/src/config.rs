//! Configuration: one TOML file, environment overrides, defaults that
//! start a working server with no file at all.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:5000"
//! public_url = "https://keystone.example.com"   # default: from the request
//! header_read_timeout_secs = 20  # a request's headers must arrive within
//! keepalive_timeout_secs = 75    # an idle keep-alive connection is closed after
//! max_connections = 1024         # kept below the open-file limit
//!
//! [database]
//! url = "sqlite://./data/auth.db"
//!
//! [keys]
//! dir = "./data/keys"            # the credential encryption keys live here
//!
//! [auth]
//! methods = ["password", "token", "totp", "application_credential", "ec2credential", "oauth1"]
//! [auth.method.totp]             # one section per method: auth.method, singular
//! included_previous_windows = 1
//!
//! [security_compliance]
//! lockout_failure_attempts = 5   # attempts in flight count too
//! lockout_duration = 1800        # seconds from the last counted attempt
//! disclose_lockout = false       # true: Keystone's "The account is locked
//!                                # for user: <id>." instead of answering a
//!                                # locked account as a wrong password
//! unique_last_password_count = 0 # a user's new password may not repeat
//!                                # the last n (the current one included)
//!
//! [token]
//! expiration = 3600
//! algorithm = "ES256"            # or "EdDSA"
//!
//! [receipt]
//! expiration = 300
//!
//! [policy]
//! file = "/etc/auth-server/policy.yaml"   # overrides of the default rules
//! ```
//!
//! Environment variables override single settings (`AUTH_LISTEN`,
//! `AUTH_DATABASE_URL`, `AUTH_TLS_CERTIFICATE_FILE`, …). Every option, with
//! its type, default, environment variable and meaning: `auth-server config
//! example` ([`crate::config_reference`], held by a test to what
//! [`Config::apply_env`] reads).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use auth_plugins::tokens::jws::SigningAlgorithm;
use serde::Deserialize;
use serde_json::Value;

use crate::error::ServerError;

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP listener and limits.
    pub server: ServerSection,
    /// The database.
    pub database: DatabaseSection,
    /// Local key material.
    pub keys: KeysSection,
    /// Enabled methods and their sections.
    pub auth: AuthSection,
    /// Keystone's `[security_compliance]`, shared by methods.
    pub security_compliance: Value,
    /// Token lifetime and signing algorithm.
    pub token: TokenSection,
    /// Receipt lifetime.
    pub receipt: ReceiptSection,
    /// Event handlers: the dispatcher's limits, each module's section and
    /// bindings kept in the file.
    pub events: EventsSection,
    /// The audit log: its queue and how long rows are kept.
    pub audit: AuditSection,
    /// The policy file overriding the default rules.
    pub policy: PolicySection,
    /// Keystone's `[assignment]`: which roles no rule may imply.
    pub assignment: AssignmentSection,
    /// Keystone's `[endpoint_filter]`: the catalog of a token without
    /// OS-EP-FILTER associations.
    pub endpoint_filter: EndpointFilterSection,
    /// Projects: how deep their hierarchy may go.
    pub resource: ResourceSection,
    /// Keystone's `[oauth1]`: how long request and access tokens last.
    pub oauth1: OAuth1Section,
    /// The Orthanc authorization web service.
    pub orthanc: OrthancSection,
    /// The authenticating gateway in front of an imaging web service.
    pub gateway: GatewaySection,
    /// The DICOM listener (User Identity Negotiation, a PACS guarded).
    pub dicom: crate::dicom::config::DicomSection,
    /// Built-in TLS for every HTTP listener, reloaded without a restart.
    pub tls: crate::tls::TlsSection,
}

/// `[gateway]`: a second listener that logs users in the way imaging
/// clients expect (header login, a session cookie) and forwards what the
/// imaging decision allows to one upstream (see [`crate::gateway`]). Off
/// unless `listen` and `upstream` are both set.
///
/// ```toml
/// [gateway]
/// listen = "127.0.0.1:8080"
/// upstream = "http://127.0.0.1:8042"
/// upstream_user = "gateway"          # optional basic auth to the upstream
/// upstream_password = "…"
/// public_url = "https://pacs.example.com"   # https adds `Secure` to the cookie
/// [gateway.realms]
/// DefaultSystemRealm = "default"     # X-Realm -> domain id
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySection {
    /// Where the gateway listens; none (the default) serves no gateway.
    pub listen: Option<SocketAddr>,
    /// The upstream's base URL (`http://host:port[/base]`); every path the
    /// gateway receives is forwarded under it.
    pub upstream: Option<String>,
    /// The user of the upstream's own basic auth, if it has one.
    pub upstream_user: Option<String>,
    /// Its password (never shown in `Debug`).
    pub upstream_password: Option<secrecy::SecretString>,
    /// Where a header login is posted (default `/login`).
    pub login_path: String,
    /// Where a session is ended (default `/logout`).
    pub logout_path: String,
    /// The session cookie's name (default `session`).
    pub cookie_name: String,
    /// The gateway's public URL; an `https` one makes the cookie `Secure`
    /// and sets `X-Forwarded-Proto: https`. Unset, a trusted proxy's
    /// `X-Forwarded-Proto` decides, else the listener's own scheme (see
    /// `crate::gateway::client_scheme`).
    pub public_url: Option<String>,
    /// `X-Realm` values and the domain (id) each logs users into; by
    /// default `DefaultSystemRealm` -> `default` (a configured map
    /// replaces it). An unknown realm fails like a wrong password.
    pub realms: std::collections::BTreeMap<String, String>,
    /// The largest request body forwarded, in bytes (default 1 GiB); a
    /// larger declared one is a 413, a larger streamed one is cut.
    pub max_upload_bytes: u64,
    /// How long connecting to the upstream may take, in seconds (default 5).
    pub connect_timeout_secs: u64,
    /// How long the upstream may take to start its answer, in seconds
    /// (default 300); the body then streams for as long as it takes.
    pub response_timeout_secs: u64,
    /// The most client connections open at once (default 1024, lowered to
    /// the open-file limit as `[server] max_connections` is).
    pub max_connections: usize,
    /// How long an idle pooled upstream connection is kept, in seconds
    /// (default 90).
    pub pool_idle_timeout_secs: u64,
    /// The most requests in flight to the upstream at once, so the most
    /// connections open to it (default 256; an imaging server serves a
    /// bounded number of requests at a time, Orthanc 50 by default). A
    /// request that finds none free waits up to `connect_timeout_secs`,
    /// then is a 503.
    pub upstream_max_connections: usize,
}

impl Default for GatewaySection {
    fn default() -> Self {
        Self {
            listen: None,
            upstream: None,
            upstream_user: None,
            upstream_password: None,
            login_path: "/login".to_owned(),
            logout_path: "/logout".to_owned(),
            cookie_name: "session".to_owned(),
            public_url: None,
            realms: [("DefaultSystemRealm".to_owned(), "default".to_owned())].into(),
            max_upload_bytes: 1 << 30,
            connect_timeout_secs: 5,
            response_timeout_secs: 300,
            max_connections: 1024,
            pool_idle_timeout_secs: 90,
            upstream_max_connections: 256,
        }
    }
}

impl GatewaySection {
    /// Whether a gateway is configured (both `listen` and `upstream`).
    pub fn enabled(&self) -> bool {
        self.listen.is_some() && self.upstream.is_some()
    }

    /// Whether the public URL is https (the cookie is then `Secure`).
    pub fn is_https(&self) -> bool {
        self.public_url.as_deref().is_some_and(|url| {
            url.get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        })
    }
}

/// `[orthanc]`: the Orthanc authorization web service (see
/// [`crate::orthanc`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrthancSection {
    /// Whether the service is served at all (default `true`).
    pub enabled: bool,
    /// Where on the main listener (default `/orthanc`, so Orthanc's
    /// `WebServiceRootUrl` is `http://<server>/orthanc/`).
    pub prefix: String,
    /// The role a user must hold (on any project, domain or the system) to
    /// call the service with basic auth, as OpenStack services hold
    /// `service` (default `service`).
    pub service_role: String,
    /// The domain of the service users' names (default `default`).
    pub service_domain: String,
    /// The longest `validity` answered, in seconds (default 60): how long
    /// Orthanc may keep a decision or a profile. Never more than the
    /// token's remaining life.
    pub max_validity: u64,
    /// How long a verified service credential is kept, in seconds (default
    /// 300); any change to users or roles forgets it sooner.
    pub credential_cache_ttl: u64,
    /// The role whose permissions the anonymous profile (a request without
    /// a token) gets; none by default, so anonymous requests are refused.
    pub anonymous_role: Option<String>,
    /// The `url` of a created share token: a template whose `{token}` is
    /// replaced by the token (e.g. a viewer's address); `null` when unset.
    pub share_url: Option<String>,
    /// How long a share token created without an expiry lives, in seconds
    /// (default 7 days).
    pub share_default_validity: u64,
    /// Only these `server-id`s may call, when set (default: any).
    pub server_ids: Vec<String>,
    /// The role map used while the database holds none (`PUT
    /// settings/roles` stores one, which every node then uses). By default
    /// [`RoleMap::recommended`](auth_core::imaging::RoleMap::recommended).
    pub roles: Option<std::collections::BTreeMap<String, OrthancRole>>,
}

/// One role of `[orthanc.roles.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrthancRole {
    /// Orthanc's permission names (`view`, `download`, …; `all` for every
    /// one).
    pub permissions: Vec<String>,
    /// The labels its holders may see (`*` for all; ignored before Orthanc
    /// 1.12).
    #[serde(default)]
    pub authorized_labels: Vec<String>,
}

impl Default for OrthancSection {
    fn default() -> Self {
        Self {
            enabled: true,
            prefix: "/orthanc".to_owned(),
            service_role: "service".to_owned(),
            service_domain: "default".to_owned(),
            max_validity: 60,
            credential_cache_ttl: 300,
            anonymous_role: None,
            share_url: None,
            share_default_validity: 7 * 24 * 3600,
            server_ids: Vec::new(),
            roles: None,
        }
    }
}

impl OrthancSection {
    /// The prefix routes are nested under: checked, without a trailing
    /// `/`.
    pub fn checked_prefix(&self) -> Result<&str, ServerError> {
        let prefix = self.prefix.trim_end_matches('/');
        let valid = prefix.starts_with('/')
            && prefix.len() > 1
            && !prefix.contains(['{', '}', '*', '?', '#', ' ']);
        if valid {
            Ok(prefix)
        } else {
            Err(ServerError::Config(format!(
                "[orthanc] prefix must be a path such as \"/orthanc\", not {:?}",
                self.prefix
            )))
        }
    }

    /// The configured role map, or the recommended one.
    pub fn role_map(&self) -> Result<auth_core::imaging::RoleMap, ServerError> {
        let Some(roles) = &self.roles else {
            return Ok(auth_core::imaging::RoleMap::recommended());
        };
        let mut map = auth_core::imaging::RoleMap::default();
        for (name, role) in roles {
            let permissions = role
                .permissions
                .iter()
                .map(|p| p.parse())
                .collect::<Result<_, _>>()
                .map_err(|e| ServerError::Config(format!("[orthanc.roles.{name}]: {e}")))?;
            map.roles.insert(
                name.clone(),
                auth_core::imaging::RoleGrant {
                    permissions,
                    authorized_labels: role.authorized_labels.clone(),
                },
            );
        }
        Ok(map)
    }
}

/// `[policy]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicySection {
    /// A policy file in oslo.policy's format (YAML, or JSON if its name
    /// ends in `.json`) whose rules override Keystone's defaults; none by
    /// default. A file that does not load stops the server at start-up.
    pub file: Option<PathBuf>,
}

/// `[assignment]`, as Keystone's.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssignmentSection {
    /// Role names no implied-role rule may imply (Keystone's
    /// `prohibited_implied_role`, by default `["admin"]`), so that no other
    /// role silently grants them.
    pub prohibited_implied_role: Vec<String>,
}

impl Default for AssignmentSection {
    fn default() -> Self {
        Self {
            prohibited_implied_role: auth_core::implied_roles::DEFAULT_PROHIBITED_IMPLIED_ROLES
                .iter()
                .map(|name| (*name).to_owned())
                .collect(),
        }
    }
}

/// `[endpoint_filter]`, as Keystone's.
///
/// ```toml
/// [endpoint_filter]
/// return_all_endpoints_if_no_filter = true   # false: no associations, no catalog
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointFilterSection {
    /// Whether a token whose project has no OS-EP-FILTER associations
    /// (and a domain or system token) carries the whole catalog (true,
    /// Keystone's default) or an empty one.
    pub return_all_endpoints_if_no_filter: bool,
}

impl Default for EndpointFilterSection {
    fn default() -> Self {
        Self {
            return_all_endpoints_if_no_filter: true,
        }
    }
}

/// `[resource]`: Keystone's project hierarchy limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResourceSection {
    /// The deepest a project hierarchy may go, in projects (Keystone's
    /// `[DEFAULT] max_project_tree_depth`, by default 5): a project at the
    /// top of its domain is at depth 1, its child at 2. At least 1.
    pub max_project_tree_depth: u32,
}

impl Default for ResourceSection {
    fn default() -> Self {
        Self {
            max_project_tree_depth: crate::services::projects::DEFAULT_MAX_PROJECT_TREE_DEPTH,
        }
    }
}

/// `[oauth1]`: Keystone's lifetimes of OAuth1 tokens, in seconds; 0 means
/// they never expire (Keystone's defaults shown).
///
/// ```toml
/// [oauth1]
/// request_token_duration = 28800   # the time a user has to authorize one
/// access_token_duration = 86400    # the time a consumer may log in with one
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuth1Section {
    /// How long a request token lasts.
    pub request_token_duration: u32,
    /// How long an access token lasts.
    pub access_token_duration: u32,
}

impl Default for OAuth1Section {
    fn default() -> Self {
        Self {
            request_token_duration: 28_800,
            access_token_duration: 86_400,
        }
    }
}

/// `[events]`. Its `Debug` names modules and bindings only: their options
/// hold SMTP passwords, webhook tokens and the like.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsSection {
    /// `[events.dispatcher]`: time limits and the off-path queue.
    pub dispatcher: auth_core::handlers::DispatcherConfig,
    /// `[events.modules.<Name>]`: each handler module's own settings (the
    /// SMTP servers of `UserNotification`, `Script`'s opt-in and folder).
    pub modules: serde_json::Map<String, Value>,
    /// `[[events.bindings]]`: bindings kept in the file. At start they are
    /// saved to the database by name (the file wins over an edit made
    /// through the API), beside those made through the API.
    pub bindings: Vec<FileBinding>,
}

impl std::fmt::Debug for EventsSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsSection")
            .field("dispatcher", &self.dispatcher)
            .field("modules", &self.modules.keys().collect::<Vec<_>>())
            .field(
                "bindings",
                &self.bindings.iter().map(|b| &b.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A binding as written in the configuration file: a stored binding
/// without its id, with the API's defaults.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileBinding {
    /// Unique name.
    pub name: String,
    /// Event names, or `["*"]`.
    pub events: Vec<String>,
    /// The handler module.
    pub module: String,
    /// The module's action.
    pub action: String,
    /// The action's options.
    #[serde(default)]
    pub options: Value,
    /// The conditions, all of which must hold.
    #[serde(default)]
    pub conditions: Value,
    /// `pre` or `post` (the default).
    #[serde(default = "post")]
    pub position: auth_core::store::HandlerPosition,
    /// Ascending order of execution.
    #[serde(default)]
    pub ordering: i32,
    /// Whether it runs.
    #[serde(default = "yes")]
    pub active: bool,
    /// Whether its failure fails the call.
    #[serde(default)]
    pub abort_on_error: bool,
}

impl std::fmt::Debug for FileBinding {
    /// Everything but the options, which may hold secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBinding")
            .field("name", &self.name)
            .field("events", &self.events)
            .field("module", &self.module)
            .field("action", &self.action)
            .field("position", &self.position)
            .field("ordering", &self.ordering)
            .field("active", &self.active)
            .field("abort_on_error", &self.abort_on_error)
            .finish_non_exhaustive()
    }
}

fn post() -> auth_core::store::HandlerPosition {
    auth_core::store::HandlerPosition::Post
}

fn yes() -> bool {
    true
}

/// `[audit]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSection {
    /// `[audit.queue]`: how many rows may wait and the batch size.
    pub queue: auth_core::audit::AuditLogConfig,
    /// Rows older than this many days are deleted (hourly); 0 keeps all.
    pub retention_days: u32,
    /// Events whose *successful* calls get no audit row (failures always
    /// do, and handlers still run). By default `auth.token.validate`: every
    /// service validates the token of every request it serves, Keystone
    /// emits no notification for it, and one row per success costs a third
    /// of the validation throughput on SQLite (BENCHMARKS.md). Set it to
    /// `[]` to audit every call.
    pub skip_successful: Vec<String>,
}

impl Default for AuditSection {
    fn default() -> Self {
        Self {
            queue: auth_core::audit::AuditLogConfig::default(),
            retention_days: 90,
            skip_successful: vec![
                "auth.token.validate".to_owned(),
                "orthanc.validate".to_owned(),
                "orthanc.profile".to_owned(),
            ],
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// Where to listen: `ip:port` or `host:port` (e.g. `localhost:5000`),
    /// a name being resolved at start by [`resolve_listen`].
    pub listen: String,
    /// Where `/metrics` and `/healthz` are served instead of on `listen`
    /// (Keycloak's management port): set, the API port no longer exposes
    /// them, so the metrics need not be public to reach a scraper. Unset
    /// (the default), they stay on `listen`.
    pub management_listen: Option<String>,
    /// The public base URL (for discovery links and `WWW-Authenticate`);
    /// derived from the request's `Host` when unset.
    pub public_url: Option<String>,
    /// The reverse proxies whose `X-Forwarded-For`, `-Proto` and `-Host`
    /// are believed, on every HTTP listener (see [`crate::forwarded`]);
    /// empty (the default), none is and the TCP peer is the client.
    pub trusted_proxies: crate::forwarded::TrustedProxies,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Longest a request may take, in seconds.
    pub request_timeout_secs: u64,
    /// `text` for people, `json` for log pipelines.
    pub log_format: LogFormat,
    /// How long a client has to send a request's headers, in seconds,
    /// counted from the connection (for its first request) or from the
    /// request's first byte: a client that trickles its headers
    /// (slowloris) is closed after it. Default 20, Apache's
    /// `mod_reqtimeout` header limit (nginx's `client_header_timeout` is
    /// 60); a real client sends its headers in milliseconds. 0 disables it.
    pub header_read_timeout_secs: u64,
    /// How long a keep-alive connection may sit idle between requests, in
    /// seconds, before it is closed. Default 75, nginx's `keepalive_timeout`:
    /// longer than the 60 s idle timeout of common load balancers, so that
    /// they, not we, close a pooled connection and never send a request
    /// into one we are closing. 0 disables it.
    pub keepalive_timeout_secs: u64,
    /// The most connections open at once. Default 1024 (nginx's usual
    /// `worker_connections`); lowered at start-up to the open-file limit
    /// less 64 descriptors for the database, keys and logs, so sockets can
    /// never starve the rest of the server. At the cap, a new connection
    /// closes the one idle longest (no request in flight), as nginx reuses
    /// keep-alive connections; if every connection has a request in
    /// flight, the new one is closed at once (see `listener`).
    pub max_connections: usize,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:5000".to_owned(),
            management_listen: None,
            public_url: None,
            trusted_proxies: crate::forwarded::TrustedProxies::default(),
            body_limit: 64 * 1024,
            request_timeout_secs: 30,
            log_format: LogFormat::Text,
            header_read_timeout_secs: 20,
            keepalive_timeout_secs: 75,
            max_connections: 1024,
        }
    }
}

/// The addresses `address` (a `[server] listen`-style setting, named
/// `setting` in the error) stands for: an `ip:port` as is, a `host:port`
/// resolved now, so that an operator can write `localhost:5000`. A name
/// that does not resolve stops the start with a message naming it, rather
/// than an OS error without the setting.
pub async fn resolve_listen(setting: &str, address: &str) -> Result<Vec<SocketAddr>, ServerError> {
    if let Ok(ip) = address.parse::<SocketAddr>() {
        return Ok(vec![ip]);
    }
    let fail = |cause: String| {
        ServerError::Config(format!(
            "[server] {setting} = {address:?} is not an address: {cause} (expected ip:port or host:port)"
        ))
    };
    let found: Vec<SocketAddr> = tokio::net::lookup_host(address)
        .await
        .map_err(|e| fail(e.to_string()))?
        .collect();
    if found.is_empty() {
        return Err(fail("the name resolves to no address".into()));
    }
    Ok(found)
}

/// Refuses at once an address without a `:port` (a typo such as
/// `AUTH_LISTEN=nowhere`); whether the host resolves is seen at start.
fn check_listen_form(setting: &str, address: String) -> Result<String, ServerError> {
    match address.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(address),
        _ => Err(ServerError::Config(format!(
            "{setting} is not an address: {address:?} (expected ip:port or host:port)"
        ))),
    }
}

/// `[database]`.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSection {
    /// The database URL; its scheme selects the driver.
    pub url: String,
    /// Connection pool size.
    pub max_connections: u32,
    /// Seconds to wait for a network database (PostgreSQL) to accept the
    /// first connection before giving up with the host, port and cause; at
    /// least 1 (0 would give up before any connection could be made).
    pub connect_timeout: u64,
}

impl std::fmt::Debug for DatabaseSection {
    /// The URL may hold a password: only its scheme is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.url.split_once(':').map_or("?", |(scheme, _)| scheme);
        f.debug_struct("DatabaseSection")
            .field("url", &format_args!("{scheme}://…"))
            .field("max_connections", &self.max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self {
            url: auth_plugins::storage::DEFAULT_DATABASE_URL.to_owned(),
            max_connections: 8,
            connect_timeout: 5,
        }
    }
}

/// `[keys]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysSection {
    /// The directory holding the credential encryption keys (kept out of
    /// the database, so a dump alone reveals no TOTP seed).
    pub dir: PathBuf,
    /// How often, in seconds, a node reloads the shared receipt and signing
    /// keys, to pick up a rotation made by `keys rotate` or another node.
    pub refresh_interval: u64,
}

impl Default for KeysSection {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("./data/keys"),
            refresh_interval: 30,
        }
    }
}

/// `[auth]`: `methods = [...]`, the enabled methods, and one
/// `[auth.method.<name>]` section per method. (In TOML `auth.methods`
/// cannot be both the list and a table of sections, hence the singular.)
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// The enabled methods; each must be registered.
    #[serde(deserialize_with = "method_list")]
    pub methods: Vec<String>,
    /// Per-method sections, `[auth.method.<name>]`; each must name a
    /// registered method.
    #[serde(rename = "method")]
    pub sections: serde_json::Map<String, Value>,
}

/// `[auth] methods`, with a pointer to the right section when a method's
/// settings were written as `[auth.methods.<name>]`, as older
/// documentation did.
fn method_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Object(_) => Err(serde::de::Error::custom(
            "`auth.methods` is the list of enabled methods (methods = [\"password\", ...]); \
             a method's settings go in its own section, [auth.method.<name>]",
        )),
        list => serde_json::from_value(list).map_err(serde::de::Error::custom),
    }
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            methods: [
                "password",
                "token",
                "totp",
                "application_credential",
                "ec2credential",
                "oauth1",
            ]
            .map(String::from)
            .to_vec(),
            sections: serde_json::Map::new(),
        }
    }
}

/// `[token]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSection {
    /// Token lifetime, in seconds.
    pub expiration: i64,
    /// How long after expiry `allow_expired` still validates, in seconds.
    pub allow_expired_window: i64,
    /// The signing algorithm of new keys.
    pub algorithm: SigningAlgorithm,
    /// How many validated tokens each node keeps (0: no cache). A cached
    /// validation is only served while nothing that could change it was
    /// written since, on any node.
    pub cache_size: usize,
    /// The longest a validation is kept, in seconds, whatever happens.
    pub cache_ttl: i64,
}

impl Default for TokenSection {
    fn default() -> Self {
        Self {
            expiration: 3600,
            allow_expired_window: 172_800,
            algorithm: SigningAlgorithm::ES256,
            cache_size: 10_000,
            cache_ttl: 300,
        }
    }
}

/// `[receipt]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReceiptSection {
    /// Receipt lifetime, in seconds.
    pub expiration: i64,
}

impl Default for ReceiptSection {
    fn default() -> Self {
        Self { expiration: 300 }
    }
}

impl Config {
    /// Reads `path` if given (it must exist), else the defaults, then
    /// applies the environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, ServerError> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ServerError::Config(format!("cannot read {}: {e}", path.display()))
                })?;
                Self::from_toml(&text)?
            }
            None => Self::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Parses a TOML document.
    pub fn from_toml(text: &str) -> Result<Self, ServerError> {
        let config: Self = toml::from_str(text).map_err(|e| ServerError::Config(e.to_string()))?;
        check_connect_timeout(
            "[database] connect_timeout",
            config.database.connect_timeout,
        )?;
        if config.resource.max_project_tree_depth == 0 {
            return Err(ServerError::Config(
                "[resource] max_project_tree_depth must be at least 1".into(),
            ));
        }
        Ok(config)
    }

    /// Applies the `AUTH_*` overrides `var` finds.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ServerError> {
        // Host names are resolved at start (resolve_listen), not here.
        if let Some(listen) = var("AUTH_LISTEN") {
            self.server.listen = check_listen_form("AUTH_LISTEN", listen)?;
        }
        if let Some(listen) = var("AUTH_MANAGEMENT_LISTEN") {
            self.server.management_listen =
                Some(check_listen_form("AUTH_MANAGEMENT_LISTEN", listen)?);
        }
        if let Some(url) = var("AUTH_DATABASE_URL") {
            self.database.url = url;
        }
        if let Some(value) = var("AUTH_DATABASE_CONNECT_TIMEOUT") {
            let seconds = parse_number("AUTH_DATABASE_CONNECT_TIMEOUT", &value)?;
            self.database.connect_timeout =
                check_connect_timeout("AUTH_DATABASE_CONNECT_TIMEOUT", seconds)?;
        }
        if let Some(url) = var("AUTH_PUBLIC_URL") {
            self.server.public_url = Some(url);
        }
        if let Some(file) = var("AUTH_TLS_CERTIFICATE_FILE") {
            self.tls.certificate_file = Some(PathBuf::from(file));
        }
        if let Some(file) = var("AUTH_TLS_KEY_FILE") {
            self.tls.key_file = Some(PathBuf::from(file));
        }
        if let Some(list) = var("AUTH_TRUSTED_PROXIES") {
            self.server.trusted_proxies = crate::forwarded::TrustedProxies::parse(
                list.split(',').filter(|entry| !entry.trim().is_empty()),
            )
            .map_err(|e| ServerError::Config(format!("AUTH_TRUSTED_PROXIES: {e}")))?;
        }
        if let Some(dir) = var("AUTH_KEYS_DIR") {
            self.keys.dir = PathBuf::from(dir);
        }
        if let Some(format) = var("AUTH_LOG_FORMAT") {
            self.server.log_format = match format.as_str() {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                other => {
                    return Err(ServerError::Config(format!(
                        "AUTH_LOG_FORMAT must be text or json, not {other}"
                    )));
                }
            };
        }
        if let Some(file) = var("AUTH_POLICY_FILE") {
            self.policy.file = (!file.is_empty()).then(|| PathBuf::from(file));
        }
        for (name, setting) in [
            (
                "AUTH_HEADER_READ_TIMEOUT_SECS",
                &mut self.server.header_read_timeout_secs,
            ),
            (
                "AUTH_KEEPALIVE_TIMEOUT_SECS",
                &mut self.server.keepalive_timeout_secs,
            ),
        ] {
            if let Some(value) = var(name) {
                *setting = parse_number(name, &value)?;
            }
        }
        if let Some(value) = var("AUTH_MAX_CONNECTIONS") {
            self.server.max_connections = parse_number("AUTH_MAX_CONNECTIONS", &value)?;
        }
        if let Some(methods) = var("AUTH_METHODS") {
            self.auth.methods = methods
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(String::from)
                .collect();
        }
        Ok(())
    }

    /// The argon2id parameters of `[auth.method.password] hashing`, which
    /// every password the server hashes uses.
    pub fn password_hashing(&self) -> Result<auth_plugins::hashing::HashingConfig, ServerError> {
        match self
            .auth
            .sections
            .get("password")
            .and_then(|s| s.get("hashing"))
        {
            None => Ok(auth_plugins::hashing::HashingConfig::default()),
            Some(section) => serde_json::from_value(section.clone())
                .map_err(|e| ServerError::Config(format!("auth.method.password.hashing: {e}"))),
        }
    }

    /// The `[security_compliance]` rules, parsed (Keystone's option names,
    /// plus `disclose_lockout`; see `auth_plugins::compliance`).
    pub fn compliance(&self) -> Result<auth_plugins::compliance::SecurityCompliance, ServerError> {
        if self.security_compliance.is_null() {
            return Ok(Default::default());
        }
        serde_json::from_value(self.security_compliance.clone())
            .map_err(|e| ServerError::Config(format!("[security_compliance]: {e}")))
    }

    /// The shared sections methods may read.
    pub fn shared_sections(&self) -> Value {
        serde_json::json!({ auth_plugins::compliance::SECTION: self.security_compliance })
    }
}

/// `[database] connect_timeout` (named `setting` in the error) if it is at
/// least 1: with 0 every first connection would time out before it could
/// be made, and the node would never start.
fn check_connect_timeout(setting: &str, seconds: u64) -> Result<u64, ServerError> {
    if seconds == 0 {
        return Err(ServerError::Config(format!(
            "{setting} must be at least 1 (seconds): with 0 no connection to the database \
             could ever be made"
        )));
    }
    Ok(seconds)
}

/// A whole number from an environment variable, or an error naming it.
fn parse_number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ServerError> {
    value
        .trim()
        .parse()
        .map_err(|_| ServerError::Config(format!("{name} must be a whole number, not {value}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_keeps_handler_secrets_out() {
        let c = Config::from_toml(
            r#"
            [events.modules.UserNotification]
            password = "smtp-secret"
            [[events.bindings]]
            name = "hook"
            events = ["*"]
            module = "WebHook"
            action = "post"
            options = { url = "http://127.0.0.1:9", bearer_token = "hook-secret" }
            "#,
        )
        .unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("UserNotification") && shown.contains("hook"));
        assert!(!shown.contains("smtp-secret") && !shown.contains("hook-secret"));
    }

    #[test]
    fn security_compliance_parses_from_the_file_and_is_checked() {
        let c = Config::from_toml(
            r#"
            [security_compliance]
            lockout_failure_attempts = 5
            lockout_duration = 1800
            disclose_lockout = true
            unique_last_password_count = 3
            "#,
        )
        .unwrap();
        let rules = c.compliance().unwrap();
        assert_eq!(rules.lockout_failure_attempts, Some(5));
        assert!(rules.disclose_lockout);
        assert_eq!(rules.unique_last_password_count, 3);
        assert!(!Config::default().compliance().unwrap().disclose_lockout);
        for bad in [
            "[security_compliance]\nlockout_failure_attempts = 0",
            "[security_compliance]\ndisclose_lockouts = true",
        ] {
            let e = Config::from_toml(bad).unwrap().compliance().unwrap_err();
            assert!(e.to_string().contains("[security_compliance]"), "{e}");
        }
    }

    #[tokio::test]
    async fn listen_addresses_may_be_host_names() {
        let addresses = resolve_listen("listen", "localhost:5000").await.unwrap();
        assert!(!addresses.is_empty());
        assert!(
            addresses
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 5000)
        );
        let ip = resolve_listen("listen", "127.0.0.1:0").await.unwrap();
        assert_eq!(ip, [SocketAddr::from(([127, 0, 0, 1], 0))]);
    }

    #[tokio::test]
    async fn a_listen_name_that_does_not_resolve_names_itself() {
        let e = resolve_listen("management_listen", "no-such-host.invalid:9000")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("management_listen"), "{e}");
        assert!(e.contains("no-such-host.invalid:9000"), "{e}");
        let e = resolve_listen("listen", "localhost")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"localhost\""), "{e}");
    }

    #[test]
    fn no_file_gives_a_working_default() {
        let c = Config::default();
        assert_eq!(c.server.listen, "127.0.0.1:5000");
        assert!(c.database.url.starts_with("sqlite://"));
        assert!(c.auth.methods.contains(&"password".to_owned()));
    }

    #[test]
    fn toml_sections_and_env_overrides() {
        let mut c = Config::from_toml(
            r#"
            [auth]
            methods = ["password", "totp"]
            [auth.method.totp]
            included_previous_windows = 2
            [security_compliance]
            lockout_failure_attempts = 3
            [token]
            algorithm = "EdDSA"
            [policy]
            file = "policy.yaml"
            "#,
        )
        .unwrap();
        assert_eq!(c.auth.sections["totp"]["included_previous_windows"], 2);
        assert_eq!(c.token.algorithm, SigningAlgorithm::EdDSA);
        assert_eq!(c.policy.file.as_deref(), Some(Path::new("policy.yaml")));
        c.apply_env(|name| match name {
            "AUTH_LISTEN" => Some("127.0.0.1:0".into()),
            "AUTH_METHODS" => Some("password, token".into()),
            "AUTH_POLICY_FILE" => Some("/etc/p.yaml".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:0");
        assert_eq!(c.policy.file.as_deref(), Some(Path::new("/etc/p.yaml")));
        assert_eq!(c.auth.methods, ["password", "token"]);
    }

    #[test]
    fn debug_never_shows_the_database_password() {
        let mut c = Config::default();
        c.database.url = "postgres://app:s3cr3t@db.example:5432/auth".into();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cr3t") && shown.contains("postgres://"),
            "{shown}"
        );
    }

    #[test]
    fn prohibited_implied_roles_default_to_admin_as_keystone() {
        assert_eq!(
            Config::default().assignment.prohibited_implied_role,
            ["admin"]
        );
        let c = Config::from_toml("[assignment]\nprohibited_implied_role = [\"admin\", \"root\"]")
            .unwrap();
        assert_eq!(c.assignment.prohibited_implied_role, ["admin", "root"]);
        let none = Config::from_toml("[assignment]\nprohibited_implied_role = []").unwrap();
        assert!(none.assignment.prohibited_implied_role.is_empty());
    }

    #[test]
    fn connection_limits_from_the_file_and_the_environment() {
        let c = Config::default();
        assert_eq!(
            (
                c.server.header_read_timeout_secs,
                c.server.keepalive_timeout_secs,
                c.server.max_connections
            ),
            (20, 75, 1024)
        );
        let mut c = Config::from_toml(
            "[server]\nheader_read_timeout_secs = 5\nkeepalive_timeout_secs = 30\nmax_connections = 200",
        )
        .unwrap();
        assert_eq!(c.server.max_connections, 200);
        c.apply_env(|name| match name {
            "AUTH_HEADER_READ_TIMEOUT_SECS" => Some("2".into()),
            "AUTH_KEEPALIVE_TIMEOUT_SECS" => Some("3".into()),
            "AUTH_MAX_CONNECTIONS" => Some(" 64 ".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            (
                c.server.header_read_timeout_secs,
                c.server.keepalive_timeout_secs,
                c.server.max_connections
            ),
            (2, 3, 64)
        );
        let wrong = c
            .apply_env(|n| (n == "AUTH_MAX_CONNECTIONS").then(|| "lots".into()))
            .unwrap_err();
        assert!(
            wrong.to_string().contains("AUTH_MAX_CONNECTIONS"),
            "{wrong}"
        );
    }

    #[test]
    fn the_connect_timeout_comes_from_the_file_or_the_environment_and_is_never_0() {
        let e = Config::from_toml("[database]\nconnect_timeout = 0")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[database] connect_timeout") && e.contains("at least 1"),
            "{e}"
        );
        let mut c = Config::from_toml("[database]\nconnect_timeout = 12").unwrap();
        assert_eq!(c.database.connect_timeout, 12);
        c.apply_env(|n| (n == "AUTH_DATABASE_CONNECT_TIMEOUT").then(|| " 30 ".into()))
            .unwrap();
        assert_eq!(c.database.connect_timeout, 30);
        for bad in ["0", "soon"] {
            let e = c
                .apply_env(|n| (n == "AUTH_DATABASE_CONNECT_TIMEOUT").then(|| bad.into()))
                .unwrap_err()
                .to_string();
            assert!(e.contains("AUTH_DATABASE_CONNECT_TIMEOUT"), "{e}");
        }
        assert_eq!(c.database.connect_timeout, 30, "a refused value was kept");
    }

    #[test]
    fn a_method_section_under_the_plural_says_where_it_belongs() {
        let e = Config::from_toml("[auth.methods.totp]\nincluded_previous_windows = 2\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[auth.method.<name>]"), "{e}");
        assert!(Config::from_toml("[auth]\nmethods = [\"password\", 7]\n").is_err());
    }

    #[test]
    fn the_gateway_is_off_by_default_and_its_password_stays_hidden() {
        let c = Config::default();
        assert!(!c.gateway.enabled());
        assert_eq!(
            (
                c.gateway.login_path.as_str(),
                c.gateway.logout_path.as_str()
            ),
            ("/login", "/logout")
        );
        assert_eq!(c.gateway.cookie_name, "session");
        assert_eq!(c.gateway.realms["DefaultSystemRealm"], "default");
        let c = Config::from_toml(
            r#"
            [gateway]
            listen = "127.0.0.1:8080"
            upstream = "http://127.0.0.1:8042"
            upstream_user = "orthanc"
            upstream_password = "upstream-secret"
            public_url = "https://pacs.example"
            [gateway.realms]
            Radiology = "rad"
            "#,
        )
        .unwrap();
        assert!(c.gateway.enabled() && c.gateway.is_https());
        assert_eq!(c.gateway.realms["Radiology"], "rad");
        assert!(!c.gateway.realms.contains_key("DefaultSystemRealm"));
        assert!(!format!("{c:?}").contains("upstream-secret"));
    }

    #[test]
    fn typos_are_refused() {
        assert!(Config::from_toml("[server]\nlisten_on = \"x\"").is_err());
        let mut c = Config::default();
        assert!(
            c.apply_env(|n| (n == "AUTH_LISTEN").then(|| "nowhere".into()))
                .is_err()
        );
    }
}
