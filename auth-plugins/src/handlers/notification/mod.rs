//! `UserNotification`: sends an e-mail over SMTP (privacyIDEA's
//! UserNotification `sendmail`), by default to the event's user at its
//! `extra.email`.
//!
//! SMTP servers, with their credentials and sender, are module
//! configuration, named (`[events.modules.UserNotification.servers.default]`),
//! as privacyIDEA names its SMTP configurations: the mail password lives
//! in the operator's configuration, not in bindings the admin API shows.
//! A binding picks a server by name and gives the recipient, subject and
//! body as templates.
//!
//! ```toml
//! [events.modules.UserNotification.servers.default]
//! host = "smtp.example.org"
//! port = 587
//! tls = "starttls"            # or "tls" (implicit), or "none" (loopback relays only)
//! username = "auth-server"
//! password = "…"
//! from = "Auth <auth@example.org>"
//! timeout_ms = 10000
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::handlers::{
    ActionCall, ActionEffect, ActionOptions, ActionSpec, HandlerModule, OptionSpec,
};
use auth_core::{AuthError, PluginConfig};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The registered name.
pub const NAME: &str = "UserNotification";

/// The module: one transport per configured server.
pub struct UserNotification {
    servers: BTreeMap<String, Server>,
    actions: Vec<ActionSpec>,
}

struct Server {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// `[events.modules.UserNotification]`.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct NotificationConfig {
    servers: BTreeMap<String, ServerConfig>,
}

/// How the connection is secured.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Security {
    /// Plain SMTP, upgraded with STARTTLS (required).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// No encryption: only for a relay on the same host.
    None,
}

/// One SMTP server.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerConfig {
    host: String,
    port: Option<u16>,
    #[serde(default)]
    tls: Security,
    username: Option<String>,
    password: Option<SecretString>,
    from: String,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    10_000
}

impl Server {
    fn build(name: &str, config: ServerConfig) -> Result<Self, AuthError> {
        let invalid = |message: String| {
            AuthError::invalid_config(NAME, format!("SMTP server '{name}': {message}"))
        };
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|_| invalid("'from' is not a valid address".to_owned()))?;
        let builder = match config.tls {
            Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            Security::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(|_| invalid("the host cannot be used for TLS".to_owned()))?
            }
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .map_err(|_| invalid("the host cannot be used for TLS".to_owned()))?,
        };
        let port = config.port.unwrap_or(match config.tls {
            Security::Tls => 465,
            Security::Starttls => 587,
            Security::None => 25,
        });
        let mut builder = builder
            .port(port)
            .timeout(Some(Duration::from_millis(config.timeout_ms)));
        match (config.username, config.password) {
            (Some(user), Some(password)) => {
                builder = builder
                    .credentials(Credentials::new(user, password.expose_secret().to_owned()));
            }
            (None, None) => {}
            _ => {
                return Err(invalid(
                    "give both 'username' and 'password', or neither".into(),
                ));
            }
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

impl UserNotification {
    /// Builds the module and a transport per configured server (nothing
    /// connects until a mail is sent).
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let NotificationConfig { servers } = config.parse()?;
        let servers = servers
            .into_iter()
            .map(|(name, server)| Ok((name.clone(), Server::build(&name, server)?)))
            .collect::<Result<_, AuthError>>()?;
        let sendmail = ActionSpec::new("sendmail", "sends an e-mail")
            .option(
                OptionSpec::string("server", "the configured SMTP server to send through")
                    .default_value("default"),
            )
            .option(
                OptionSpec::template("to", "the recipient; by default the user's e-mail")
                    .default_value("{user_email}"),
            )
            .option(
                OptionSpec::template("subject", "the subject").default_value("{event}: {result}"),
            )
            .option(
                OptionSpec::template("body", "the text").default_value(
                    "Event {event} ({result}) for {user} from {client_ip} at {time}.",
                ),
            );
        Ok(Self {
            servers,
            actions: vec![sendmail],
        })
    }
}

impl fmt::Debug for UserNotification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserNotification")
            .field("servers", &self.servers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl HandlerModule for UserNotification {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "sends e-mail over SMTP"
    }

    fn actions(&self) -> &[ActionSpec] {
        &self.actions
    }

    fn check(&self, _action: &str, options: &ActionOptions) -> Result<(), AuthError> {
        let server = options.str("server").unwrap_or("default");
        if self.servers.contains_key(server) {
            return Ok(());
        }
        let configured: Vec<&str> = self.servers.keys().map(String::as_str).collect();
        Err(AuthError::bad_request(format!(
            "no SMTP server '{server}' is configured for {NAME}; configured: {}",
            if configured.is_empty() {
                "none".to_owned()
            } else {
                configured.join(", ")
            }
        )))
    }

    async fn run(&self, call: ActionCall<'_>) -> Result<ActionEffect, AuthError> {
        let options = call.options();
        let server = self
            .servers
            .get(options.str("server").unwrap_or("default"))
            .ok_or(AuthError::handler_failed("no_server"))?;
        let tags = call.tags().await;
        let to = tags.render(options.str("to").unwrap_or_default());
        if to.trim().is_empty() {
            return Err(AuthError::handler_failed("no_recipient"));
        }
        let to: Mailbox = to
            .parse()
            .map_err(|_| AuthError::handler_failed("bad_address"))?;
        let message = Message::builder()
            .from(server.from.clone())
            .to(to)
            .subject(tags.render(options.str("subject").unwrap_or_default()))
            .body(tags.render(options.str("body").unwrap_or_default()))
            .map_err(|_| AuthError::handler_failed("bad_message"))?;
        match server.transport.send(message).await {
            Ok(_) => Ok(ActionEffect::Unchanged),
            Err(e) if e.is_timeout() => Err(AuthError::handler_failed("timeout")),
            Err(e) if e.is_permanent() || e.is_transient() => {
                Err(AuthError::handler_failed("rejected"))
            }
            Err(_) => Err(AuthError::handler_failed("unreachable")),
        }
    }
}

builtin_handler!(UserNotification);

#[cfg(test)]
mod tests;
