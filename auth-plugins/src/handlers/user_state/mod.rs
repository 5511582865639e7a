//! `UserState`: disables or enables the event's user, or clears its
//! failed-login count. Bound to failed logins with a `failure_count`
//! condition it is a lockout of one's own design; bound to a success it
//! can clear a count another binding raised.

use async_trait::async_trait;
use auth_core::handlers::{ActionCall, ActionEffect, ActionSpec, HandlerModule};
use auth_core::{AuthError, PluginConfig};
use serde::Deserialize;

/// The registered name.
pub const NAME: &str = "UserState";

/// The module.
#[derive(Debug)]
pub struct UserState {
    actions: Vec<ActionSpec>,
}

/// No settings; the section must be empty.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserStateConfig {}

impl UserState {
    /// Builds the module; its configuration section must be empty.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let UserStateConfig {} = config.parse()?;
        Ok(Self {
            actions: vec![
                ActionSpec::new("disable", "disables the event's user"),
                ActionSpec::new("enable", "enables the event's user"),
                ActionSpec::new(
                    "reset_failures",
                    "clears the event's user's failed-login count",
                ),
            ],
        })
    }
}

#[async_trait]
impl HandlerModule for UserState {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "changes the state of the event's user"
    }

    fn actions(&self) -> &[ActionSpec] {
        &self.actions
    }

    async fn run(&self, call: ActionCall<'_>) -> Result<ActionEffect, AuthError> {
        let user_id = call
            .event()
            .user_id
            .as_deref()
            .ok_or(AuthError::handler_failed("no_user"))?;
        match call.action() {
            "reset_failures" => {
                call.stores()
                    .passwords()?
                    .reset_auth_failures(user_id)
                    .await?
            }
            action => {
                let users = call.stores().users()?;
                let mut user = users.get_user(user_id).await?;
                let enabled = action == "enable";
                if user.enabled != enabled {
                    user.enabled = enabled;
                    users.update_user(&user).await?;
                }
            }
        }
        Ok(ActionEffect::Unchanged)
    }
}

builtin_handler!(UserState);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testing::{event, now, run, stores};
    use auth_core::store::{PasswordStore, UserAuthState, UserStore};
    use serde_json::Value;

    fn module() -> UserState {
        UserState::from_config(&PluginConfig::empty(NAME)).unwrap()
    }

    #[tokio::test]
    async fn disables_enables_and_resets() {
        let (store, stores) = stores();
        run(&module(), "disable", Value::Null, &event(), &stores, None)
            .await
            .unwrap();
        assert!(!store.get_user("u1").await.unwrap().enabled);
        run(&module(), "enable", Value::Null, &event(), &stores, None)
            .await
            .unwrap();
        assert!(store.get_user("u1").await.unwrap().enabled);
        // The rest of the user is kept.
        assert_eq!(
            store.get_user("u1").await.unwrap().extra["email"],
            "alice@example.org"
        );

        store.set_auth_state("u1", UserAuthState::default().with_failures(4, now()));
        run(
            &module(),
            "reset_failures",
            Value::Null,
            &event(),
            &stores,
            None,
        )
        .await
        .unwrap();
        assert_eq!(store.auth_state("u1").await.unwrap().failed_auth_count, 0);
    }

    #[tokio::test]
    async fn an_event_without_a_known_user_fails_cleanly() {
        let (_, stores) = stores();
        let mut anonymous = event();
        anonymous.user_id = None;
        let e = run(&module(), "disable", Value::Null, &anonymous, &stores, None)
            .await
            .unwrap_err();
        assert!(matches!(e, AuthError::HandlerFailed { cause: "no_user" }));
        let mut ghost = event();
        ghost.user_id = Some("ghost".into());
        let e = run(&module(), "disable", Value::Null, &ghost, &stores, None)
            .await
            .unwrap_err();
        assert!(matches!(e, AuthError::NotFound { .. }));
    }
}
