//! `Logging`: writes a templated line through `tracing`, under the target
//! [`TARGET`], so operators route event lines like any other log.

use async_trait::async_trait;
use auth_core::handlers::{ActionCall, ActionEffect, ActionSpec, HandlerModule, OptionSpec};
use auth_core::{AuthError, PluginConfig};
use serde::Deserialize;

/// The registered name.
pub const NAME: &str = "Logging";

/// The `tracing` target of every line.
pub const TARGET: &str = "auth_events";

/// The message when a binding gives none.
const DEFAULT_MESSAGE: &str =
    "{event} {result} user={user} client={client_ip} error={error} binding={binding}";

/// The module.
#[derive(Debug)]
pub struct Logging {
    actions: Vec<ActionSpec>,
}

/// No settings; the section must be empty.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoggingConfig {}

impl Logging {
    /// Builds the module; its configuration section must be empty.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let LoggingConfig {} = config.parse()?;
        let log = ActionSpec::new("log", "writes a templated line to the log")
            .option(
                OptionSpec::template("message", "the line, with tags such as {user}")
                    .default_value(DEFAULT_MESSAGE),
            )
            .option(
                OptionSpec::string("level", "the log level")
                    .allowed(["error", "warn", "info", "debug", "trace"])
                    .default_value("info"),
            );
        Ok(Self { actions: vec![log] })
    }
}

#[async_trait]
impl HandlerModule for Logging {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "writes a line to the server log"
    }

    fn actions(&self) -> &[ActionSpec] {
        &self.actions
    }

    async fn run(&self, call: ActionCall<'_>) -> Result<ActionEffect, AuthError> {
        let template = call.options().str("message").unwrap_or(DEFAULT_MESSAGE);
        let message = call.tags().await.render(template);
        let event = call.event().name.as_str();
        let binding = call.binding();
        match call.options().str("level").unwrap_or("info") {
            "error" => tracing::error!(target: TARGET, event, binding, "{message}"),
            "warn" => tracing::warn!(target: TARGET, event, binding, "{message}"),
            "debug" => tracing::debug!(target: TARGET, event, binding, "{message}"),
            "trace" => tracing::trace!(target: TARGET, event, binding, "{message}"),
            _ => tracing::info!(target: TARGET, event, binding, "{message}"),
        }
        Ok(ActionEffect::Unchanged)
    }
}

builtin_handler!(Logging);

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::handlers::testing::{event, run, stores};
    use serde_json::{Value, json};

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    async fn logged(options: Value) -> String {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let module = Logging::from_config(&PluginConfig::empty(NAME)).unwrap();
        let (_, stores) = stores();
        run(&module, "log", options, &event(), &stores, None)
            .await
            .unwrap();
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    #[tokio::test]
    async fn the_message_is_templated_at_the_level_asked() {
        let line =
            logged(json!({"message": "{user} failed from {client_ip}", "level": "warn"})).await;
        assert!(line.contains("WARN"), "{line}");
        assert!(line.contains("auth_events"), "{line}");
        assert!(line.contains("alice failed from 10.0.0.9"), "{line}");
        assert!(line.contains("binding=\"test-binding\""), "{line}");
    }

    #[tokio::test]
    async fn the_default_message_names_the_event_and_user() {
        let line = logged(Value::Null).await;
        assert!(line.contains("INFO"), "{line}");
        assert!(
            line.contains("auth.tokens.create failure user=alice client=10.0.0.9"),
            "{line}"
        );
        assert!(
            logged(json!({"level": "trace"})).await.is_empty(),
            "below the level"
        );
    }

    #[tokio::test]
    async fn a_level_outside_the_list_is_refused() {
        let module = Logging::from_config(&PluginConfig::empty(NAME)).unwrap();
        let (_, stores) = stores();
        let e = run(
            &module,
            "log",
            json!({"level": "loud"}),
            &event(),
            &stores,
            None,
        )
        .await
        .unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert!(Logging::from_config(&PluginConfig::new(NAME, json!({"x": 1}))).is_err());
    }
}
