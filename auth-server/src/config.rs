//! Configuration: one TOML file, environment overrides, defaults that
//! start a working server with no file at all.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:5000"
//! public_url = "https://keystone.example.com"   # default: from the request
//!
//! [database]
//! url = "sqlite://./data/auth.db"
//!
//! [keys]
//! dir = "./data/keys"            # the credential encryption keys live here
//!
//! [auth]
//! methods = ["password", "token", "totp", "application_credential"]
//! [auth.method.totp]             # one section per method: auth.method, singular
//! included_previous_windows = 1
//!
//! [security_compliance]
//! lockout_failure_attempts = 5
//!
//! [token]
//! expiration = 3600
//! algorithm = "ES256"            # or "EdDSA"
//!
//! [receipt]
//! expiration = 300
//! ```
//!
//! Environment variables override single settings: `AUTH_LISTEN`,
//! `AUTH_DATABASE_URL`, `AUTH_PUBLIC_URL`, `AUTH_KEYS_DIR`, `AUTH_METHODS`
//! (comma-separated), `AUTH_LOG_FORMAT` (`text` or `json`).

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
            skip_successful: vec!["auth.token.validate".to_owned()],
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The public base URL (for discovery links and `WWW-Authenticate`);
    /// derived from the request's `Host` when unset.
    pub public_url: Option<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Longest a request may take, in seconds.
    pub request_timeout_secs: u64,
    /// `text` for people, `json` for log pipelines.
    pub log_format: LogFormat,
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
            listen: SocketAddr::from(([127, 0, 0, 1], 5000)),
            public_url: None,
            body_limit: 64 * 1024,
            request_timeout_secs: 30,
            log_format: LogFormat::Text,
        }
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
}

impl std::fmt::Debug for DatabaseSection {
    /// The URL may hold a password: only its scheme is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.url.split_once(':').map_or("?", |(scheme, _)| scheme);
        f.debug_struct("DatabaseSection")
            .field("url", &format_args!("{scheme}://…"))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self {
            url: auth_plugins::storage::DEFAULT_DATABASE_URL.to_owned(),
            max_connections: 8,
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
            methods: ["password", "token", "totp", "application_credential"]
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
        toml::from_str(text).map_err(|e| ServerError::Config(e.to_string()))
    }

    /// Applies the `AUTH_*` overrides `var` finds.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ServerError> {
        if let Some(listen) = var("AUTH_LISTEN") {
            self.server.listen = listen.parse().map_err(|_| {
                ServerError::Config(format!("AUTH_LISTEN is not an address: {listen}"))
            })?;
        }
        if let Some(url) = var("AUTH_DATABASE_URL") {
            self.database.url = url;
        }
        if let Some(url) = var("AUTH_PUBLIC_URL") {
            self.server.public_url = Some(url);
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

    /// The `[security_compliance]` rules, parsed.
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
    fn no_file_gives_a_working_default() {
        let c = Config::default();
        assert_eq!(c.server.listen.port(), 5000);
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
            "#,
        )
        .unwrap();
        assert_eq!(c.auth.sections["totp"]["included_previous_windows"], 2);
        assert_eq!(c.token.algorithm, SigningAlgorithm::EdDSA);
        c.apply_env(|name| match name {
            "AUTH_LISTEN" => Some("127.0.0.1:0".into()),
            "AUTH_METHODS" => Some("password, token".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.server.listen.port(), 0);
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
    fn a_method_section_under_the_plural_says_where_it_belongs() {
        let e = Config::from_toml("[auth.methods.totp]\nincluded_previous_windows = 2\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[auth.method.<name>]"), "{e}");
        assert!(Config::from_toml("[auth]\nmethods = [\"password\", 7]\n").is_err());
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
