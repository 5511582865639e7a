//! The configuration reference: every option with its type, default,
//! environment variable and meaning, printed as a complete commented TOML
//! file by `auth-server config example` (and shipped by the Debian package
//! as `/etc/auth-server/auth-server.toml`).
//!
//! The table is kept by hand beside the types, because the types derive
//! only `Deserialize` and several sections are free-form (`Value`) until a
//! method or the compliance rules parse them. It cannot drift, because the
//! tests below check it against the types themselves:
//! - the fields of every section are read from serde (the list an unknown
//!   field's error names), and each must have an entry here, and each entry
//!   a field: a new field without documentation fails a test. That holds
//!   for the sections the methods and handler modules parse themselves
//!   (`[auth.method.jwt]`, `[events.modules.Script]`...) too, since the
//!   tests load every method and module as the server does;
//! - the printed file parses back into exactly [`Config::default`](crate::Config::default);
//! - every commented example, uncommented, parses and passes its checks;
//! - the environment variables named here are exactly those
//!   [`Config::apply_env`](crate::Config::apply_env) reads.

use std::fmt::Write as _;
use std::path::Path;

/// How a setting is shown in the example file.
#[derive(Debug, Clone, Copy)]
pub enum Shown {
    /// Written as `key = value`: the value is the default.
    Default(&'static str),
    /// Written commented out, `# key = value`: there is no default (or the
    /// section must stay absent to keep its defaults); the value is an
    /// example.
    Example(&'static str),
    /// A table of its own, documented as the section named here.
    Section(&'static str),
}

/// One option.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// Its key in the section.
    pub key: &'static str,
    /// Its type, in words.
    pub kind: &'static str,
    /// Its default or an example.
    pub shown: Shown,
    /// The environment variable that overrides it, if any.
    pub env: Option<&'static str>,
    /// What it means.
    pub doc: &'static str,
}

/// One `[section]`.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// Its dotted path (`events.dispatcher`). A segment ending in `[]` is
    /// an array of tables (`auth.method.jwt.issuers[]`, written
    /// `[[auth.method.jwt.issuers]]`); `<name>` stands for a key the
    /// operator chooses.
    pub path: &'static str,
    /// What it is for.
    pub doc: &'static str,
    /// Its options, in the order written.
    pub settings: &'static [Setting],
}

const fn set(
    key: &'static str,
    kind: &'static str,
    shown: Shown,
    env: Option<&'static str>,
    doc: &'static str,
) -> Setting {
    Setting {
        key,
        kind,
        shown,
        env,
        doc,
    }
}

use Shown::{Default as D, Example as E, Section as S};

/// Every section, in the order the example file is written.
pub const SECTIONS: &[Section] = &[
    Section {
        path: "server",
        doc: "The HTTP listener (the Keystone API, the Orthanc service) and its limits.",
        settings: &[
            set(
                "listen",
                "address (ip:port or host:port)",
                D("\"127.0.0.1:5000\""),
                Some("AUTH_LISTEN"),
                "Where to listen. 0.0.0.0:5000 listens on every interface; a host name (localhost:5000) is resolved at start, and one that does not resolve stops it.",
            ),
            set(
                "management_listen",
                "address (ip:port or host:port)",
                E("\"127.0.0.1:9000\""),
                Some("AUTH_MANAGEMENT_LISTEN"),
                "Where /metrics and /healthz are served instead of on listen (a management port, as Keycloak's); set, the API port answers 404 for them. Unset, they stay on listen.",
            ),
            set(
                "public_url",
                "URL",
                E("\"https://keystone.example.com\""),
                Some("AUTH_PUBLIC_URL"),
                "The public base URL, for discovery links and WWW-Authenticate; unset, it is derived from each request's Host header (or a trusted proxy's X-Forwarded-Proto and X-Forwarded-Host). Behind a proxy, set it or trusted_proxies.",
            ),
            set(
                "trusted_proxies",
                "list of IP addresses or CIDR networks",
                D("[]"),
                Some("AUTH_TRUSTED_PROXIES"),
                "The reverse proxies in front of the server, such as [\"10.0.0.0/8\", \"127.0.0.1\", \"::1\"] (the variable: comma-separated). A request from one of them is from the client its X-Forwarded-For names, read right to left skipping trusted proxies (nginx's real_ip_recursive), for audit rows, event conditions and failed-login lines; its X-Forwarded-Proto and X-Forwarded-Host give the public URL when public_url is unset. Every listener (the API, management_listen, the [gateway]) uses it. Empty, no forwarded header is believed: the TCP peer is the client. A bad entry stops the start.",
            ),
            set(
                "body_limit",
                "integer (bytes)",
                D("65536"),
                None,
                "The largest request body accepted.",
            ),
            set(
                "request_timeout_secs",
                "integer (seconds)",
                D("30"),
                None,
                "The longest a request may take.",
            ),
            set(
                "log_format",
                "\"text\" or \"json\"",
                D("\"text\""),
                Some("AUTH_LOG_FORMAT"),
                "text for people, json (one object per line) for log pipelines.",
            ),
            set(
                "header_read_timeout_secs",
                "integer (seconds)",
                D("20"),
                Some("AUTH_HEADER_READ_TIMEOUT_SECS"),
                "How long a client has to send a request's headers; a client that trickles them (slowloris) is closed. 0 disables it.",
            ),
            set(
                "keepalive_timeout_secs",
                "integer (seconds)",
                D("75"),
                Some("AUTH_KEEPALIVE_TIMEOUT_SECS"),
                "How long an idle keep-alive connection is kept; longer than a load balancer's usual 60 s, so that it, not we, closes pooled connections. 0 disables it.",
            ),
            set(
                "max_connections",
                "integer",
                D("1024"),
                Some("AUTH_MAX_CONNECTIONS"),
                "The most connections open at once, lowered at start-up to the open-file limit less 64. At the cap the connection idle longest is closed.",
            ),
        ],
    },
    Section {
        path: "tls",
        doc: "Built-in TLS: with both files set, every HTTP listener (the API, the management port, the gateway) serves HTTPS, and links derived from Host say https. The files are read again every reload_interval_secs and on SIGHUP (systemctl reload); a pair that does not load is logged and the one in use stays.",
        settings: &[
            set(
                "certificate_file",
                "path",
                E("\"/etc/auth-server/tls/fullchain.pem\""),
                Some("AUTH_TLS_CERTIFICATE_FILE"),
                "The certificate chain, PEM: the server's certificate first, then the intermediates.",
            ),
            set(
                "key_file",
                "path",
                E("\"/etc/auth-server/tls/privkey.pem\""),
                Some("AUTH_TLS_KEY_FILE"),
                "Its private key, PEM (PKCS#8, PKCS#1 or SEC1); readable by the server's user only.",
            ),
            set(
                "reload_interval_secs",
                "integer (seconds)",
                D("60"),
                None,
                "How often both files are read again; 0 reloads only on SIGHUP.",
            ),
        ],
    },
    Section {
        path: "database",
        doc: "The database: SQLite (one file, the default) or PostgreSQL, shared by every node.",
        settings: &[
            set(
                "url",
                "URL (sqlite://path or postgres://user:password@host:port/db)",
                D("\"sqlite://./data/auth.db\""),
                Some("AUTH_DATABASE_URL"),
                "The database; its scheme selects the driver. Several nodes need PostgreSQL. The URL's password is never logged.",
            ),
            set(
                "max_connections",
                "integer",
                D("8"),
                None,
                "The connection pool's size, per node.",
            ),
            set(
                "connect_timeout",
                "integer (seconds, at least 1)",
                D("5"),
                Some("AUTH_DATABASE_CONNECT_TIMEOUT"),
                "How long to wait for a network database (PostgreSQL) to accept the first connection before giving up, naming the host, port, database and cause. 0 is refused: no connection could be made.",
            ),
        ],
    },
    Section {
        path: "keys",
        doc: "Local key material. Every node needs the same files in this directory (copy them); the receipt and token signing keys are shared through the database, sealed by them.",
        settings: &[
            set(
                "dir",
                "path",
                D("\"./data/keys\""),
                Some("AUTH_KEYS_DIR"),
                "The directory of the key-encryption and credential keys, kept out of the database so that a dump alone reveals no TOTP seed.",
            ),
            set(
                "refresh_interval",
                "integer (seconds)",
                D("30"),
                None,
                "How often a node reloads the shared receipt and signing keys, to pick up a rotation made by `keys rotate` or another node.",
            ),
        ],
    },
    Section {
        path: "auth",
        doc: "The enabled authentication methods.",
        settings: &[
            set(
                "methods",
                "list of method names",
                D(
                    "[\"password\", \"token\", \"totp\", \"application_credential\", \"ec2credential\", \"oauth1\"]",
                ),
                Some("AUTH_METHODS"),
                "The enabled methods, in Keystone's names; each must be compiled in. The environment variable is comma-separated.",
            ),
            set(
                "method",
                "table: method name -> its options",
                S("auth.method.<name>"),
                None,
                "One [auth.method.<name>] section per method (singular: auth.methods is the list); see each method's module documentation for its options.",
            ),
        ],
    },
    Section {
        path: "auth.method.password",
        doc: "The password method.",
        settings: &[set(
            "hashing",
            "table",
            S("auth.method.password.hashing"),
            None,
            "The argon2id parameters of new password hashes.",
        )],
    },
    Section {
        path: "auth.method.password.hashing",
        doc: "The argon2id parameters of every password hash (OWASP's minimum by default, about 20-40 ms per hash). Stored hashes with other parameters are re-hashed at the next login.",
        settings: &[
            set(
                "memory_kib",
                "integer (KiB)",
                E("19456"),
                None,
                "Memory per hash (default 19456, 19 MiB).",
            ),
            set(
                "iterations",
                "integer",
                E("2"),
                None,
                "Passes over the memory (default 2).",
            ),
            set("parallelism", "integer", E("1"), None, "Lanes (default 1)."),
        ],
    },
    Section {
        path: "auth.method.token",
        doc: "The token method (a token exchanged for another).",
        settings: &[set(
            "allow_rescope_scoped_token",
            "boolean",
            E("true"),
            None,
            "Whether a scoped token may be exchanged for a token of another scope (default true, as Keystone).",
        )],
    },
    Section {
        path: "auth.method.totp",
        doc: "The TOTP method.",
        settings: &[
            set(
                "included_previous_windows",
                "integer (0 to 10)",
                E("1"),
                None,
                "Earlier 30-second windows still accepted (default 1).",
            ),
            set(
                "credential_type",
                "string",
                E("\"totp\""),
                None,
                "The credential type holding the secrets (default \"totp\").",
            ),
        ],
    },
    Section {
        path: "auth.method.application_credential",
        doc: "The application credential method.",
        settings: &[set(
            "hashing",
            "table { memory_kib, iterations, parallelism }",
            E("{ memory_kib = 19456, iterations = 2, parallelism = 1 }"),
            None,
            "The argon2id parameters of the dummy verification an unknown credential costs (stored secrets verify with their own); default as [auth.method.password.hashing].",
        )],
    },
    Section {
        path: "auth.method.ec2credential",
        doc: "The EC2 credential method (AWS-signed requests).",
        settings: &[set(
            "auth_ttl_minutes",
            "integer (minutes)",
            E("15"),
            None,
            "How long after its signed timestamp a request is still accepted (default 15).",
        )],
    },
    Section {
        path: "auth.method.external",
        doc: "The external method (not enabled by default): a user name asserted in a header by a trusted front proxy (Kerberos, client certificates, a corporate SSO), as Keystone's REMOTE_USER.",
        settings: &[
            set(
                "user_header",
                "header name",
                E("\"x-remote-user\""),
                None,
                "The header carrying the user name (default x-remote-user).",
            ),
            set(
                "domain_header",
                "header name",
                E("\"x-remote-domain\""),
                None,
                "A header carrying the user's domain name; unset (the default), users are in default_domain.",
            ),
            set(
                "default_domain",
                "domain id",
                E("\"default\""),
                None,
                "The domain (by id) of users when no domain header is sent (default \"default\").",
            ),
            set(
                "trusted_proxies",
                "list of networks (CIDR)",
                E("[\"10.0.0.0/24\"]"),
                None,
                "The networks the proxies connect from; the header is believed from these only. Empty (the default) trusts nobody: the method lets no one in until this is set.",
            ),
        ],
    },
    Section {
        path: "auth.method.jwt",
        doc: "The jwt method (not enabled by default): a JSON Web Token from a trusted OpenID Connect or OAuth issuer, mapped to a local user.",
        settings: &[set(
            "issuers",
            "array of tables",
            S("auth.method.jwt.issuers[]"),
            None,
            "The trusted issuers, one [[auth.method.jwt.issuers]] table each; none by default, so the method lets no one in until one is configured.",
        )],
    },
    Section {
        path: "auth.method.jwt.issuers[]",
        doc: "One trusted issuer. issuer, audiences and one of jwks_url and jwks_file are required.",
        settings: &[
            set(
                "issuer",
                "string",
                E("\"https://login.example.com\""),
                None,
                "The exact iss claim of its tokens (required).",
            ),
            set(
                "audiences",
                "list of strings",
                E("[\"keystone\"]"),
                None,
                "Accepted aud values; a token must name at least one (required).",
            ),
            set(
                "jwks_url",
                "URL",
                E("\"https://login.example.com/.well-known/jwks.json\""),
                None,
                "Where the issuer publishes its keys (JWKS). Exactly one of jwks_url and jwks_file.",
            ),
            set(
                "jwks_file",
                "path",
                E("\"/etc/auth-server/jwks.json\""),
                None,
                "A JWKS file instead of a URL, re-read for an unknown kid.",
            ),
            set(
                "algorithms",
                "list of algorithm names",
                E("[\"RS256\", \"ES256\"]"),
                None,
                "Accepted signature algorithms, asymmetric only (default RS256 and ES256); EdDSA and Ed25519 name one algorithm.",
            ),
            set(
                "leeway_secs",
                "integer (seconds)",
                E("60"),
                None,
                "Clock skew tolerated on exp and nbf (default 60).",
            ),
            set(
                "cache_secs",
                "integer (seconds)",
                E("3600"),
                None,
                "How long fetched keys are trusted before they are fetched again (default 3600).",
            ),
            set(
                "min_refresh_secs",
                "integer (seconds)",
                E("30"),
                None,
                "The least time between two fetches, successful or not (default 30).",
            ),
            set(
                "max_stale_secs",
                "integer (seconds)",
                E("86400"),
                None,
                "How long past cache_secs the last good keys still serve while the issuer cannot be reached (default a day); past it, logins from this issuer fail with 503.",
            ),
            set(
                "mapping",
                "table",
                S("auth.method.jwt.issuers[].mapping"),
                None,
                "How the token's claims map to a local user and groups.",
            ),
        ],
    },
    Section {
        path: "auth.method.jwt.issuers[].mapping",
        doc: "How an issuer's claims map to a local user and its group memberships (written after its [[auth.method.jwt.issuers]] table).",
        settings: &[
            set(
                "user_claim",
                "claim name",
                E("\"preferred_username\""),
                None,
                "The claim whose value is the local user name (default sub).",
            ),
            set(
                "domain",
                "domain id",
                E("\"default\""),
                None,
                "The domain (by id) the users live in (default \"default\").",
            ),
            set(
                "provision",
                "boolean",
                E("true"),
                None,
                "Create an unknown user at its first login (default false: unknown users are refused).",
            ),
            set(
                "groups_claim",
                "claim name",
                E("\"groups\""),
                None,
                "A claim listing the user's groups at the issuer (default none).",
            ),
            set(
                "groups",
                "table: issuer group name -> local group id",
                E("{ admins = \"<local group id>\" }"),
                None,
                "The groups kept in line with the token: a user is added to the mapped groups its token lists and removed from those it no longer lists; other memberships are left alone.",
            ),
        ],
    },
    Section {
        path: "auth.method.publickey",
        doc: "The publickey method (not enabled by default): a signed challenge, answered with an Ed25519 key registered as a credential.",
        settings: &[set(
            "credential_type",
            "string",
            E("\"publickey\""),
            None,
            "The credential type holding users' public keys (default \"publickey\").",
        )],
    },
    Section {
        path: "auth.method.dicom_asserted",
        doc: "The dicom_asserted method (not enabled by default): users asserted by trusted DICOM peers through the DICOM listener's user identity negotiation.",
        settings: &[
            set(
                "ae_titles",
                "list of AE titles",
                E("[\"CT_SCANNER_1\"]"),
                None,
                "The calling AE titles whose asserted users are believed (compared without padding); empty (the default): none.",
            ),
            set(
                "networks",
                "list of networks (CIDR)",
                E("[\"10.1.2.0/24\"]"),
                None,
                "The networks those peers must connect from; empty (the default): none.",
            ),
        ],
    },
    Section {
        path: "security_compliance",
        doc: "Keystone's [security_compliance], under Keystone's option names: lockout and password rules, all off unless set.",
        settings: &[
            set(
                "lockout_failure_attempts",
                "integer (at least 1)",
                E("5"),
                None,
                "Failed attempts after which the account locks (attempts still being checked count too); unset: never.",
            ),
            set(
                "lockout_duration",
                "integer (seconds)",
                E("1800"),
                None,
                "How long a lock lasts from the last counted attempt (default 1800).",
            ),
            set(
                "disclose_lockout",
                "boolean",
                E("false"),
                None,
                "true answers a locked account with Keystone's \"The account is locked for user: <id>.\"; false (the default) answers it exactly as a wrong password.",
            ),
            set(
                "password_expires_days",
                "integer (days)",
                E("90"),
                None,
                "Days after which a password expires; unset: never.",
            ),
            set(
                "change_password_upon_first_use",
                "boolean",
                E("false"),
                None,
                "Whether a password set by an administrator must be changed by its user (default false).",
            ),
            set(
                "disable_user_account_days_inactive",
                "integer (days)",
                E("90"),
                None,
                "Days without a login after which the account counts as disabled; unset: never.",
            ),
            set(
                "unique_last_password_count",
                "integer",
                E("0"),
                None,
                "How many of a user's latest passwords (the current one included) a new one of their own may not repeat (default 0).",
            ),
            set(
                "minimum_password_age",
                "integer (days)",
                E("0"),
                None,
                "Days a self-chosen password must be kept before the user may change it again (default 0).",
            ),
            set(
                "password_regex",
                "regular expression",
                E("'^(?=.*\\d)(?=.*[a-zA-Z]).{7,}$'"),
                None,
                "A pattern every new password must match; checked at start-up.",
            ),
            set(
                "password_regex_description",
                "string",
                E("\"at least 7 characters, one letter and one digit\""),
                None,
                "What password_regex demands, in words, for the error message.",
            ),
        ],
    },
    Section {
        path: "token",
        doc: "Tokens: lifetime, signing and the validation cache.",
        settings: &[
            set(
                "expiration",
                "integer (seconds)",
                D("3600"),
                None,
                "A token's lifetime.",
            ),
            set(
                "allow_expired_window",
                "integer (seconds)",
                D("172800"),
                None,
                "How long after expiry a validation with allow_expired still succeeds.",
            ),
            set(
                "algorithm",
                "\"ES256\" or \"EdDSA\"",
                D("\"ES256\""),
                None,
                "The signing algorithm of new keys.",
            ),
            set(
                "cache_size",
                "integer",
                D("10000"),
                None,
                "How many validated tokens each node keeps (0: none); a cached validation is only served while nothing that could change it was written since, on any node.",
            ),
            set(
                "cache_ttl",
                "integer (seconds)",
                D("300"),
                None,
                "The longest a validation is kept, whatever happens.",
            ),
        ],
    },
    Section {
        path: "receipt",
        doc: "Receipts: the sealed state of an unfinished multi-factor login.",
        settings: &[set(
            "expiration",
            "integer (seconds)",
            D("300"),
            None,
            "A receipt's lifetime.",
        )],
    },
    Section {
        path: "events",
        doc: "Event handlers (notifications, web hooks, scripts...).",
        settings: &[
            set(
                "dispatcher",
                "table",
                S("events.dispatcher"),
                None,
                "The dispatcher's limits.",
            ),
            set(
                "modules",
                "table: module name -> its options",
                D("{}"),
                None,
                "Each handler module's own settings: [events.modules.UserNotification] and [events.modules.Script] below; the other modules (Logging, WebHook, Counter, UserState, ResponseMangler) have none, their options are per binding.",
            ),
            set(
                "bindings",
                "array of tables",
                D("[]"),
                None,
                "Bindings kept in the file ([[events.bindings]] with name, events, module, action, options, conditions, position, ordering, active, abort_on_error); saved to the database at start, the file winning over API edits.",
            ),
        ],
    },
    Section {
        path: "events.dispatcher",
        doc: "The dispatcher's time limits and off-path queue.",
        settings: &[
            set(
                "default_timeout_ms",
                "integer (ms)",
                D("5000"),
                None,
                "The time limit of a run whose binding sets no timeout_ms.",
            ),
            set(
                "max_timeout_ms",
                "integer (ms)",
                D("60000"),
                None,
                "The largest timeout_ms a binding may set.",
            ),
            set(
                "queue_capacity",
                "integer",
                D("1024"),
                None,
                "How many events' off-path runs may wait; beyond that runs are dropped, counted and audited.",
            ),
            set(
                "workers",
                "integer",
                D("4"),
                None,
                "How many events' off-path runs execute at once.",
            ),
        ],
    },
    Section {
        path: "events.modules.UserNotification",
        doc: "The UserNotification handler module (e-mail over SMTP): its SMTP servers, named, so that the mail password stays in this file and out of the bindings the API shows.",
        settings: &[set(
            "servers",
            "table: server name -> its settings",
            S("events.modules.UserNotification.servers.<name>"),
            None,
            "The SMTP servers a sendmail binding can name (its server option, default \"default\").",
        )],
    },
    Section {
        path: "events.modules.UserNotification.servers.<name>",
        doc: "One SMTP server, e.g. [events.modules.UserNotification.servers.default]. host and from are required.",
        settings: &[
            set(
                "host",
                "host name",
                E("\"smtp.example.org\""),
                None,
                "The SMTP server (required).",
            ),
            set(
                "port",
                "integer",
                E("587"),
                None,
                "Its port (default 587 with starttls, 465 with tls, 25 with none).",
            ),
            set(
                "tls",
                "\"starttls\", \"tls\" or \"none\"",
                E("\"starttls\""),
                None,
                "starttls (the default) upgrades a plain connection and requires it; tls is TLS from the first byte (SMTPS); none is for a relay on the same host only.",
            ),
            set(
                "username",
                "string",
                E("\"auth-server\""),
                None,
                "The login, if the server wants one (with password).",
            ),
            set(
                "password",
                "string",
                E("\"change-me\""),
                None,
                "Its password (with username); never logged or shown by the API.",
            ),
            set(
                "from",
                "mailbox",
                E("\"Auth <auth@example.org>\""),
                None,
                "The sender of every mail (required).",
            ),
            set(
                "timeout_ms",
                "integer (ms)",
                E("10000"),
                None,
                "The time limit of one delivery (default 10000).",
            ),
        ],
    },
    Section {
        path: "events.modules.Script",
        doc: "The Script handler module: runs an executable from one directory with the event's data as arguments. Off unless enabled here.",
        settings: &[
            set(
                "enabled",
                "boolean",
                E("true"),
                None,
                "Whether bindings may run scripts (default false); enabled, directory is required.",
            ),
            set(
                "directory",
                "path (an existing directory)",
                E("\"/etc/auth-server/scripts\""),
                None,
                "The one directory scripts are taken from; a binding names a file in it, nothing else.",
            ),
        ],
    },
    Section {
        path: "audit",
        doc: "The audit log (GET /v3/audit).",
        settings: &[
            set(
                "queue",
                "table",
                S("audit.queue"),
                None,
                "The writer's queue.",
            ),
            set(
                "retention_days",
                "integer (days)",
                D("90"),
                None,
                "Rows older than this are deleted hourly; 0 keeps all.",
            ),
            set(
                "skip_successful",
                "list of event names",
                D("[\"auth.token.validate\", \"orthanc.validate\", \"orthanc.profile\"]"),
                None,
                "Events whose successful calls get no row (failures always do): a row per token validation costs a third of its throughput. [] audits every call.",
            ),
        ],
    },
    Section {
        path: "audit.queue",
        doc: "The audit writer's queue.",
        settings: &[
            set(
                "capacity",
                "integer",
                D("4096"),
                None,
                "How many rows may wait for the writer; more are dropped and counted.",
            ),
            set(
                "batch_size",
                "integer",
                D("256"),
                None,
                "At most this many rows per write transaction.",
            ),
        ],
    },
    Section {
        path: "policy",
        doc: "The authorization policy.",
        settings: &[set(
            "file",
            "path",
            E("\"/etc/auth-server/policy.yaml\""),
            Some("AUTH_POLICY_FILE"),
            "An oslo.policy file (YAML, or JSON if named .json) whose rules override Keystone's defaults; a file that does not load stops the start. An empty variable unsets it.",
        )],
    },
    Section {
        path: "assignment",
        doc: "Keystone's [assignment].",
        settings: &[set(
            "prohibited_implied_role",
            "list of role names",
            D("[\"admin\"]"),
            None,
            "Roles no implied-role rule may imply, so that no other role silently grants them.",
        )],
    },
    Section {
        path: "endpoint_filter",
        doc: "Keystone's [endpoint_filter].",
        settings: &[set(
            "return_all_endpoints_if_no_filter",
            "boolean",
            D("true"),
            None,
            "Whether a token whose project has no OS-EP-FILTER associations carries the whole catalog (true) or an empty one.",
        )],
    },
    Section {
        path: "oauth1",
        doc: "OAuth1 delegation (Keystone's OS-OAUTH1): how long its tokens last.",
        settings: &[
            set(
                "request_token_duration",
                "integer (seconds)",
                D("28800"),
                None,
                "How long a request token may wait to be authorized and exchanged (Keystone's default, 8 hours).",
            ),
            set(
                "access_token_duration",
                "integer (seconds)",
                D("86400"),
                None,
                "How long an access token, and so the delegation, lasts (Keystone's default, a day).",
            ),
        ],
    },
    Section {
        path: "resource",
        doc: "Projects.",
        settings: &[set(
            "max_project_tree_depth",
            "integer (at least 1)",
            D("5"),
            None,
            "The deepest a project hierarchy may go: a project at the top of its domain is at depth 1.",
        )],
    },
    Section {
        path: "orthanc",
        doc: "The Orthanc authorization web service, served on the main listener.",
        settings: &[
            set(
                "enabled",
                "boolean",
                D("true"),
                None,
                "Whether the service is served.",
            ),
            set(
                "prefix",
                "path",
                D("\"/orthanc\""),
                None,
                "Where, so Orthanc's WebServiceRootUrl is http://<server>/orthanc/.",
            ),
            set(
                "service_role",
                "role name",
                D("\"service\""),
                None,
                "The role a user must hold to call the service with basic auth.",
            ),
            set(
                "service_domain",
                "domain id",
                D("\"default\""),
                None,
                "The domain of the service users' names.",
            ),
            set(
                "max_validity",
                "integer (seconds)",
                D("60"),
                None,
                "The longest validity answered (never beyond the token's life).",
            ),
            set(
                "credential_cache_ttl",
                "integer (seconds)",
                D("300"),
                None,
                "How long a verified service credential is kept.",
            ),
            set(
                "anonymous_role",
                "role name",
                E("\"reader\""),
                None,
                "The role whose permissions a request without a token gets; unset: refused.",
            ),
            set(
                "share_url",
                "URL template",
                E("\"https://viewer.example.com/?token={token}\""),
                None,
                "The url of a created share token; {token} is replaced.",
            ),
            set(
                "share_default_validity",
                "integer (seconds)",
                D("604800"),
                None,
                "The life of a share token created without an expiry.",
            ),
            set(
                "server_ids",
                "list of strings",
                D("[]"),
                None,
                "Only these server-ids may call; empty: any.",
            ),
            set(
                "roles",
                "table: role -> { permissions, authorized_labels }",
                E("{ viewer = { permissions = [\"view\"], authorized_labels = [\"*\"] } }"),
                None,
                "The role map used while the database holds none; unset: the recommended one.",
            ),
        ],
    },
    Section {
        path: "gateway",
        doc: "The authenticating gateway in front of an imaging web service: off unless listen and upstream are both set.",
        settings: &[
            set(
                "listen",
                "address (ip:port)",
                E("\"127.0.0.1:8080\""),
                None,
                "Where the gateway listens.",
            ),
            set(
                "upstream",
                "URL",
                E("\"http://127.0.0.1:8042\""),
                None,
                "The upstream's base URL.",
            ),
            set(
                "upstream_user",
                "string",
                E("\"gateway\""),
                None,
                "The user of the upstream's own basic auth.",
            ),
            set(
                "upstream_password",
                "string (secret)",
                E("\"change-me\""),
                None,
                "Its password (never logged).",
            ),
            set(
                "login_path",
                "path",
                D("\"/login\""),
                None,
                "Where a header login is posted.",
            ),
            set(
                "logout_path",
                "path",
                D("\"/logout\""),
                None,
                "Where a session is ended.",
            ),
            set(
                "cookie_name",
                "string",
                D("\"session\""),
                None,
                "The session cookie's name.",
            ),
            set(
                "public_url",
                "URL",
                E("\"https://pacs.example.com\""),
                None,
                "The gateway's public URL; https makes the cookie Secure and tells the upstream X-Forwarded-Proto: https. Unset, a trusted proxy's X-Forwarded-Proto decides ([server] trusted_proxies), else the listener's own scheme (https with [tls]).",
            ),
            set(
                "realms",
                "table: X-Realm -> domain id",
                D("{ DefaultSystemRealm = \"default\" }"),
                None,
                "X-Realm values and the domain each logs users into; a configured map replaces the default.",
            ),
            set(
                "max_upload_bytes",
                "integer (bytes)",
                D("1073741824"),
                None,
                "The largest request body forwarded.",
            ),
            set(
                "connect_timeout_secs",
                "integer (seconds)",
                D("5"),
                None,
                "How long connecting to the upstream may take.",
            ),
            set(
                "response_timeout_secs",
                "integer (seconds)",
                D("300"),
                None,
                "How long the upstream may take to start its answer.",
            ),
            set(
                "max_connections",
                "integer",
                D("1024"),
                None,
                "The most client connections at once.",
            ),
            set(
                "pool_idle_timeout_secs",
                "integer (seconds)",
                D("90"),
                None,
                "How long an idle upstream connection is kept.",
            ),
            set(
                "upstream_max_connections",
                "integer",
                D("256"),
                None,
                "The most requests in flight to the upstream.",
            ),
        ],
    },
    Section {
        path: "dicom",
        doc: "The DICOM listener (User Identity Negotiation in front of a PACS): off unless listen is set.",
        settings: &[
            set(
                "listen",
                "address (ip:port)",
                E("\"0.0.0.0:11112\""),
                None,
                "Where the listener listens.",
            ),
            set(
                "ae_title",
                "AE title",
                D("\"AUTH_SCP\""),
                None,
                "The called AE title answered.",
            ),
            set(
                "mode",
                "\"not_supported\", \"supports\" or \"required\"",
                D("\"required\""),
                None,
                "What User Identity Negotiation is asked for.",
            ),
            set(
                "anonymous_role",
                "role name",
                E("\"reader\""),
                None,
                "What an association without identity holds (supports, not_supported); unset: echo only.",
            ),
            set(
                "calling_ae_titles",
                "list of AE titles",
                D("[]"),
                None,
                "Only these may call; empty: any.",
            ),
            set(
                "default_domain",
                "domain id",
                D("\"default\""),
                None,
                "The domain of type 1 and 2 users.",
            ),
            set(
                "domains",
                "table: calling AE title -> domain id",
                D("{}"),
                None,
                "The domain each calling AE title's users log in to.",
            ),
            set(
                "identity_methods",
                "table: identity type -> method",
                D("{}"),
                None,
                "Auth methods for User Identity types, beyond the defaults.",
            ),
            set(
                "called",
                "table: AE title -> { mode }",
                D("{}"),
                None,
                "Other called AE titles, each with its mode.",
            ),
            set(
                "upstream",
                "AET@host:port",
                E("\"ORTHANC@10.0.0.5:4242\""),
                None,
                "The PACS guarded; unset: C-ECHO answered here.",
            ),
            set(
                "reject",
                "[result, source, reason]",
                D("[2, 2, 1]"),
                None,
                "The A-ASSOCIATE-RJ of a failed identity.",
            ),
            set(
                "artim_timeout_secs",
                "integer (seconds)",
                D("30"),
                None,
                "The association request must arrive within.",
            ),
            set(
                "idle_timeout_secs",
                "integer (seconds)",
                D("600"),
                None,
                "An association silent both ways is aborted after.",
            ),
            set(
                "max_pdu_length",
                "integer (bytes)",
                D("1048576"),
                None,
                "The largest PDU accepted and relayed.",
            ),
            set(
                "max_associations",
                "integer",
                D("256"),
                None,
                "The most associations at once.",
            ),
            set(
                "connect_timeout_secs",
                "integer (seconds)",
                D("10"),
                None,
                "How long reaching the upstream may take.",
            ),
            set(
                "commands",
                "table: DIMSE request -> permission",
                D("{}"),
                None,
                "DIMSE requests beyond the defaults and the permission each needs.",
            ),
        ],
    },
];

/// The complete commented configuration file. `data_dir` points the
/// database and the keys into one directory (the package's
/// `/var/lib/auth-server`).
pub fn example(data_dir: Option<&Path>) -> String {
    let mut out = String::new();
    out.push_str(
        "# auth-server configuration, printed by `auth-server config example`.\n\
         #\n\
         # Every option is listed with its type, its default, the environment\n\
         # variable that overrides it and what it means. An option written out\n\
         # holds its default; a commented one has no default (or keeps a\n\
         # section absent) and shows an example. The file is read from\n\
         # --config or AUTH_CONFIG; without one, the defaults apply.\n",
    );
    for section in SECTIONS {
        let all_commented = section
            .settings
            .iter()
            .all(|s| !matches!(s.shown, Shown::Default(_)));
        out.push('\n');
        wrap(&mut out, "# ", section.doc);
        let lead = if all_commented { "# " } else { "" };
        let _ = writeln!(out, "{lead}{}", header(section.path));
        for setting in section.settings {
            out.push('\n');
            wrap(&mut out, "# ", setting.doc);
            let mut about = format!("Type: {}.", setting.kind);
            if let Some(env) = setting.env {
                let _ = write!(about, " Environment: {env}.");
            }
            wrap(&mut out, "# ", &about);
            let overridden = data_dir.and_then(|dir| match (section.path, setting.key) {
                ("database", "url") => Some(format!("sqlite://{}/auth.db", dir.display())),
                ("keys", "dir") => Some(format!("{}/keys", dir.display())),
                _ => None,
            });
            match (setting.shown, overridden) {
                (_, Some(value)) => {
                    let _ = writeln!(out, "{} = {}", setting.key, toml::Value::String(value));
                }
                (Shown::Default(value), None) => {
                    let _ = writeln!(out, "{} = {value}", setting.key);
                }
                (Shown::Example(value), None) => {
                    let _ = writeln!(out, "# {} = {value}", setting.key);
                }
                (Shown::Section(path), None) => {
                    let _ = writeln!(out, "# ({}: see {})", setting.key, header(path));
                }
            }
        }
    }
    out
}

/// The TOML header of the section at `path`: `[[a.b]]` for an array of
/// tables (`a.b[]`), else `[a.b]`.
fn header(path: &str) -> String {
    match path.strip_suffix("[]") {
        Some(array) => format!("[[{}]]", array.replace("[]", "")),
        None => format!("[{}]", path.replace("[]", "")),
    }
}

/// Appends `text` as comment lines of at most 78 columns.
fn wrap(out: &mut String, prefix: &str, text: &str) {
    let mut line = String::from(prefix);
    for word in text.split_whitespace() {
        if line.len() > prefix.len() && line.len() + 1 + word.len() > 78 {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(prefix);
        }
        if line.len() > prefix.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::Config;

    /// What a lone example of these sections needs beside it to load:
    /// their required settings, by key, written with their examples. An
    /// example of one of them, or of an alternative it names (`a|b`: one
    /// of the two), takes its place.
    const NEEDS: &[(&str, &[&str])] = &[
        (
            "auth.method.jwt.issuers[]",
            &["issuer", "audiences", "jwks_url|jwks_file"],
        ),
        (
            "events.modules.UserNotification.servers.<name>",
            &["host", "from"],
        ),
        ("events.modules.Script", &["directory"]),
    ];

    /// Settings that are only valid together: an example of one is
    /// written with the others' examples.
    const TOGETHER: &[(&str, &[&str])] = &[(
        "events.modules.UserNotification.servers.<name>",
        &["username", "password"],
    )];

    /// The example or default the reference shows for `key` in `path`.
    fn shown(path: &str, key: &str) -> &'static str {
        SECTIONS
            .iter()
            .filter(|s| s.path == path)
            .flat_map(|s| s.settings)
            .find(|s| s.key == key)
            .and_then(|s| match s.shown {
                Shown::Default(value) | Shown::Example(value) => Some(value),
                Shown::Section(_) => None,
            })
            .unwrap_or_else(|| panic!("[{path}] shows no value for {key}"))
    }

    /// The lines `path` needs for an example of `key` (see [`NEEDS`] and
    /// [`TOGETHER`]).
    fn needs(path: &str, key: &str) -> String {
        let mut lines = String::new();
        for need in NEEDS
            .iter()
            .filter(|(p, _)| *p == path)
            .flat_map(|(_, needs)| needs.iter())
        {
            if need.split('|').any(|k| k == key) {
                continue;
            }
            let first = need.split('|').next().unwrap_or(need);
            let _ = writeln!(lines, "{first} = {}", shown(path, first));
        }
        for group in TOGETHER
            .iter()
            .filter(|(p, group)| *p == path && group.contains(&key))
            .flat_map(|(_, group)| group.iter())
        {
            if *group != key {
                let _ = writeln!(lines, "{group} = {}", shown(path, group));
            }
        }
        lines
    }

    /// A TOML document with `line` (the setting `key`) in the section at
    /// `path`: an element, with what it needs, for each array of tables
    /// on the way, and `example` for each `<name>`.
    fn toml_with(path: &str, key: &str, line: &str) -> String {
        if path.is_empty() {
            return format!("{line}\n");
        }
        let mut text = String::new();
        let mut at = 0;
        while let Some(end) = path[at..].find("[]") {
            at += end + 2;
            let array = &path[..at];
            if array != path {
                let _ = writeln!(text, "{}", header(array));
                text.push_str(&needs(array, ""));
            }
        }
        let _ = writeln!(text, "{}", header(path));
        text.push_str(&needs(path, key));
        let _ = writeln!(text, "{line}");
        text.replace("<name>", "example")
    }

    /// Points the example paths that must exist (the script directory,
    /// checked at start) at `existing`.
    fn with_existing_paths(text: &str, existing: &Path) -> String {
        let scripts = shown("events.modules.Script", "directory");
        let there = toml::Value::String(existing.display().to_string()).to_string();
        text.replace(scripts, &there)
    }

    /// Loads `text` as the server does and runs the checks that parse the
    /// free-form sections.
    fn load(text: &str) -> Result<Config, String> {
        let config = Config::from_toml(text).map_err(|e| e.to_string())?;
        config.compliance().map_err(|e| e.to_string())?;
        config.password_hashing().map_err(|e| e.to_string())?;
        // Each method parses its own [auth.method.<name>] section.
        let mut every = config.clone();
        every.auth.methods = SECTIONS
            .iter()
            .filter_map(|s| s.path.strip_prefix("auth.method."))
            .filter(|m| !m.contains('.'))
            .map(str::to_owned)
            .collect();
        auth_core::Registry::<auth_core::MethodRegistration>::from_inventory()
            .map_err(|e| e.to_string())?
            .instantiate_with_shared(
                &every.auth.methods,
                &every.auth.sections,
                &every.shared_sections(),
            )
            .map_err(|e| e.to_string())?;
        // Each handler module parses its own [events.modules.<Name>].
        auth_core::Registry::<auth_core::handlers::HandlerModuleRegistration>::from_inventory()
            .map_err(|e| e.to_string())?
            .instantiate(&config.events.modules)
            .map_err(|e| e.to_string())?;
        Ok(config)
    }

    /// The fields serde knows for the section at `path`: the list an
    /// unknown field's error names.
    fn fields(path: &str) -> BTreeSet<String> {
        let error = load(&toml_with(path, "zz_unknown_probe", "zz_unknown_probe = 0"))
            .err()
            .unwrap_or_else(|| panic!("[{path}] accepts an unknown field"));
        let (_, expected) = error
            .split_once("expected")
            .unwrap_or_else(|| panic!("[{path}]: {error}"));
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_field_of_every_section_is_documented_and_nothing_else() {
        let top: BTreeSet<String> = SECTIONS
            .iter()
            .map(|s| s.path.split('.').next().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(top, fields(""), "a top-level section lacks documentation");
        for section in SECTIONS {
            let documented: BTreeSet<String> =
                section.settings.iter().map(|s| s.key.to_owned()).collect();
            assert_eq!(
                documented,
                fields(section.path),
                "[{}]: the documented keys differ from the type's fields",
                section.path
            );
            for setting in section.settings {
                assert!(
                    !setting.doc.is_empty() && !setting.kind.is_empty(),
                    "[{}] {}",
                    section.path,
                    setting.key
                );
            }
        }
    }

    #[test]
    fn the_example_parses_back_into_the_defaults() {
        let example = example(None);
        let parsed = load(&example).unwrap_or_else(|e| panic!("{e}\n{example}"));
        assert_eq!(format!("{parsed:?}"), format!("{:?}", Config::default()));
    }

    #[test]
    fn every_commented_example_parses_when_uncommented() {
        let existing = tempfile::tempdir().unwrap();
        for section in SECTIONS {
            for setting in section.settings {
                if let Shown::Example(value) = setting.shown {
                    let line = format!("{} = {value}", setting.key);
                    let text = toml_with(section.path, setting.key, &line);
                    let text = with_existing_paths(&text, existing.path());
                    load(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
                }
            }
        }
    }

    #[test]
    fn arrays_of_tables_and_named_tables_are_written_as_toml() {
        let text = example(None);
        for header in [
            "# [[auth.method.jwt.issuers]]",
            "# [auth.method.jwt.issuers.mapping]",
            "# [events.modules.UserNotification.servers.<name>]",
            "# (issuers: see [[auth.method.jwt.issuers]])",
        ] {
            assert!(text.lines().any(|l| l == header), "{header}\n{text}");
        }
        // A complete issuer, as an operator would uncomment it, loads.
        let issuer = toml_with(
            "auth.method.jwt.issuers[].mapping",
            "provision",
            "provision = true",
        );
        load(&issuer).unwrap_or_else(|e| panic!("{issuer}: {e}"));
        assert!(
            issuer.starts_with("[[auth.method.jwt.issuers]]\n"),
            "{issuer}"
        );
    }

    #[test]
    fn the_environment_variables_are_exactly_those_the_loader_reads() {
        let read = std::cell::RefCell::new(BTreeSet::new());
        Config::default()
            .apply_env(|name| {
                read.borrow_mut().insert(name.to_owned());
                None
            })
            .unwrap();
        let documented: BTreeSet<String> = SECTIONS
            .iter()
            .flat_map(|s| s.settings)
            .filter_map(|s| s.env.map(str::to_owned))
            .collect();
        assert_eq!(documented, read.into_inner());
    }

    #[test]
    fn the_packaged_file_is_the_generated_one() {
        let shipped = include_str!("../debian/auth-server.toml");
        assert!(
            shipped == example(Some(Path::new("/var/lib/auth-server"))),
            "auth-server/debian/auth-server.toml is stale; regenerate it: cargo run -p \
             auth-server -- config example --data-dir /var/lib/auth-server > \
             auth-server/debian/auth-server.toml"
        );
    }

    #[test]
    fn a_data_directory_moves_the_database_and_the_keys() {
        let text = example(Some(Path::new("/var/lib/auth-server")));
        let c = load(&text).unwrap();
        assert_eq!(c.database.url, "sqlite:///var/lib/auth-server/auth.db");
        assert_eq!(c.keys.dir, Path::new("/var/lib/auth-server/keys"));
    }
}
