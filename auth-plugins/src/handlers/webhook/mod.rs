//! `WebHook`: posts a JSON body to a URL (privacyIDEA's WebHook), with
//! tags replaced in every string of the body template, a time limit, and
//! optionally a bearer token or basic auth, which answer privacyIDEA users'
//! wish for authenticated hooks.
//!
//! The secrets are [`OptionKind::Secret`](auth_core::handlers::OptionKind)
//! options: the admin API shows them redacted, `Debug` never shows them,
//! and a failure is reported as a fixed word (`timeout`, `unreachable`,
//! `rejected`), never with the URL (which may embed credentials) or the
//! target's answer.

use std::time::Duration;

use async_trait::async_trait;
use auth_core::handlers::{
    ActionCall, ActionEffect, ActionOptions, ActionSpec, HandlerModule, OptionSpec,
};
use auth_core::{AuthError, PluginConfig};
use serde::Deserialize;
use serde_json::json;

/// The registered name.
pub const NAME: &str = "WebHook";

/// The module: one HTTP client shared by every run.
#[derive(Debug)]
pub struct WebHook {
    client: reqwest::Client,
    actions: Vec<ActionSpec>,
}

/// No settings; the section must be empty.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebHookConfig {}

impl WebHook {
    /// Builds the module; its configuration section must be empty.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let WebHookConfig {} = config.parse()?;
        // Redirects are not followed: a hook answers where it was sent, and
        // a redirect must not carry the credentials elsewhere.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|_| AuthError::invalid_config(NAME, "the HTTP client cannot be built"))?;
        let post = ActionSpec::new("post", "posts a JSON body to a URL")
            .option(OptionSpec::url("url", "where to post").required())
            .option(OptionSpec::json(
                "body",
                "the JSON body; tags in its strings are replaced. Default: the event and the \
                 binding's name",
            ))
            .option(OptionSpec::secret(
                "bearer_token",
                "sent as Authorization: Bearer",
            ))
            .option(OptionSpec::string("username", "basic auth user name"))
            .option(OptionSpec::secret("password", "basic auth password"));
        Ok(Self {
            client,
            actions: vec![post],
        })
    }
}

#[async_trait]
impl HandlerModule for WebHook {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "posts event data to an HTTP endpoint"
    }

    fn actions(&self) -> &[ActionSpec] {
        &self.actions
    }

    fn check(&self, _action: &str, options: &ActionOptions) -> Result<(), AuthError> {
        let basic = (options.str("username"), options.str("password"));
        match (options.str("bearer_token"), basic) {
            (_, (Some(_), None) | (None, Some(_))) => Err(AuthError::bad_request(
                "basic auth needs both 'username' and 'password'",
            )),
            (Some(_), (Some(_), Some(_))) => Err(AuthError::bad_request(
                "give either 'bearer_token' or basic auth, not both",
            )),
            _ => Ok(()),
        }
    }

    async fn run(&self, call: ActionCall<'_>) -> Result<ActionEffect, AuthError> {
        let options = call.options();
        let url = options.require_str("url")?;
        let body = match options.get("body") {
            Some(template) => call.tags().await.render_json(template),
            None => json!({"event": call.event(), "binding": call.binding()}),
        };
        let mut request = self.client.post(url).json(&body).timeout(call.timeout());
        if let Some(token) = options.str("bearer_token") {
            request = request.bearer_auth(token);
        } else if let (Some(user), Some(password)) =
            (options.str("username"), options.str("password"))
        {
            request = request.basic_auth(user, Some(password));
        }
        match request.send().await {
            Ok(answer) if answer.status().is_success() => Ok(ActionEffect::Unchanged),
            Ok(_) => Err(AuthError::handler_failed("rejected")),
            Err(e) if e.is_timeout() => Err(AuthError::handler_failed("timeout")),
            Err(_) => Err(AuthError::handler_failed("unreachable")),
        }
    }
}

builtin_handler!(WebHook);

#[cfg(test)]
mod tests;
