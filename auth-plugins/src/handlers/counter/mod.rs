//! `Counter`: increases, decreases or resets a named counter in the
//! [`CounterStore`](auth_core::store::CounterStore), shared by every node
//! on the database (privacyIDEA's Counter handler). The name is a
//! template, so one binding can count per user (`failures-{user_id}`).

use async_trait::async_trait;
use auth_core::handlers::{ActionCall, ActionEffect, ActionSpec, HandlerModule, OptionSpec};
use auth_core::{AuthError, PluginConfig};
use serde::Deserialize;

/// The registered name.
pub const NAME: &str = "Counter";

/// The longest counter name, after tags are replaced.
const MAX_NAME_LEN: usize = 200;

/// The module.
#[derive(Debug)]
pub struct Counter {
    actions: Vec<ActionSpec>,
}

/// No settings; the section must be empty.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterConfig {}

fn counter_name() -> OptionSpec {
    OptionSpec::template("counter_name", "the counter, with tags such as {user_id}").required()
}

impl Counter {
    /// Builds the module; its configuration section must be empty.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let CounterConfig {} = config.parse()?;
        Ok(Self {
            actions: vec![
                ActionSpec::new("increase", "adds one to the counter").option(counter_name()),
                ActionSpec::new("decrease", "takes one from the counter")
                    .option(counter_name())
                    .option(
                        OptionSpec::boolean(
                            "allow_negative_values",
                            "let the counter go below zero",
                        )
                        .default_value(false),
                    ),
                ActionSpec::new("reset", "sets the counter to zero").option(counter_name()),
            ],
        })
    }
}

#[async_trait]
impl HandlerModule for Counter {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "counts events in named counters shared by every node"
    }

    fn actions(&self) -> &[ActionSpec] {
        &self.actions
    }

    async fn run(&self, call: ActionCall<'_>) -> Result<ActionEffect, AuthError> {
        let template = call.options().require_str("counter_name")?;
        let name = call.tags().await.render(template);
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(AuthError::handler_failed("bad_counter_name"));
        }
        let counters = call.stores().counters()?;
        match call.action() {
            "increase" => counters.adjust_counter(&name, 1, None).await.map(drop)?,
            "decrease" => {
                let floor = match call.options().bool("allow_negative_values") {
                    Some(true) => None,
                    _ => Some(0),
                };
                counters.adjust_counter(&name, -1, floor).await.map(drop)?;
            }
            _ => counters.reset_counter(&name).await?,
        }
        Ok(ActionEffect::Unchanged)
    }
}

builtin_handler!(Counter);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testing::{event, run, stores};
    use auth_core::Stores;
    use auth_core::store::{Counter as Row, CounterStore};
    use serde_json::json;

    fn module() -> Counter {
        Counter::from_config(&PluginConfig::empty(NAME)).unwrap()
    }

    #[tokio::test]
    async fn counters_go_up_down_and_back_to_zero() {
        let (store, stores) = stores();
        let m = module();
        let per_user = json!({"counter_name": "failures-{user_id}"});
        for _ in 0..3 {
            run(&m, "increase", per_user.clone(), &event(), &stores, None)
                .await
                .unwrap();
        }
        run(&m, "decrease", per_user.clone(), &event(), &stores, None)
            .await
            .unwrap();
        let listed = store.list_counters().await.unwrap();
        assert_eq!(listed, [Row::new("failures-u1", 2)]);
        run(&m, "reset", per_user.clone(), &event(), &stores, None)
            .await
            .unwrap();
        assert_eq!(store.list_counters().await.unwrap()[0].value, 0);
        // Not below zero unless allowed.
        run(&m, "decrease", per_user.clone(), &event(), &stores, None)
            .await
            .unwrap();
        assert_eq!(store.list_counters().await.unwrap()[0].value, 0);
        let negative = json!({"counter_name": "failures-{user_id}", "allow_negative_values": true});
        run(&m, "decrease", negative, &event(), &stores, None)
            .await
            .unwrap();
        assert_eq!(store.list_counters().await.unwrap()[0].value, -1);
    }

    #[tokio::test]
    async fn a_name_is_required_and_must_not_render_empty() {
        let (_, stores) = stores();
        let e = run(&module(), "increase", json!({}), &event(), &stores, None)
            .await
            .unwrap_err();
        assert_eq!(e.http_status(), 400);
        let e = run(
            &module(),
            "increase",
            json!({"counter_name": "{project}"}),
            &event(),
            &stores,
            None,
        )
        .await
        .unwrap_err();
        assert!(matches!(
            e,
            AuthError::HandlerFailed {
                cause: "bad_counter_name"
            }
        ));
        // Without a counter store the run fails, it does not panic.
        let e = run(
            &module(),
            "increase",
            json!({"counter_name": "n"}),
            &event(),
            &Stores::new(),
            None,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, AuthError::InvalidConfig { .. }), "{e:?}");
    }
}
