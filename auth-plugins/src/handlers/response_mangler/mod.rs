//! `ResponseMangler`: sets or deletes a member of the response by JSON
//! pointer (RFC 6901), post only (privacyIDEA's ResponseMangler). It runs
//! on the request path, in binding order, and aborts the call on error by
//! default: a response that should have been changed and was not is
//! usually worse than none.

use async_trait::async_trait;
use auth_core::handlers::{
    ActionCall, ActionEffect, ActionOptions, ActionSpec, HandlerModule, OptionSpec,
};
use auth_core::{AuthError, PluginConfig};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The registered name.
pub const NAME: &str = "ResponseMangler";

/// The module.
#[derive(Debug)]
pub struct ResponseMangler {
    actions: Vec<ActionSpec>,
}

/// No settings; the section must be empty.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseManglerConfig {}

fn path() -> OptionSpec {
    OptionSpec::string(
        "path",
        "a JSON pointer into the response, e.g. /token/catalog",
    )
    .required()
}

impl ResponseMangler {
    /// Builds the module; its configuration section must be empty.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let ResponseManglerConfig {} = config.parse()?;
        Ok(Self {
            actions: vec![
                ActionSpec::new(
                    "set",
                    "sets the member at path, creating objects on the way",
                )
                .changing_response()
                .abort_on_error_by_default()
                .option(path())
                .option(OptionSpec::json("value", "the value to set").required()),
                ActionSpec::new("delete", "deletes the member at path, if there is one")
                    .changing_response()
                    .abort_on_error_by_default()
                    .option(path()),
            ],
        })
    }
}

/// The pointer's reference tokens, unescaped (`~1` is `/`, `~0` is `~`).
fn tokens(pointer: &str) -> Option<Vec<String>> {
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Sets `value` at `path` in `doc`, creating missing objects; `None` when
/// the path runs through something that is neither.
fn set(doc: &mut Value, path: &[String], value: Value) -> Option<()> {
    let (last, parents) = path.split_last()?;
    let mut here = doc;
    for token in parents {
        here = match here {
            Value::Object(members) => members
                .entry(token.clone())
                .or_insert_with(|| Value::Object(Map::new())),
            Value::Array(items) => items.get_mut(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
        if here.is_null() {
            *here = Value::Object(Map::new());
        }
    }
    match here {
        Value::Object(members) => {
            members.insert(last.clone(), value);
        }
        Value::Array(items) if last == "-" => items.push(value),
        Value::Array(items) => *items.get_mut(last.parse::<usize>().ok()?)? = value,
        _ => return None,
    }
    Some(())
}

/// Deletes the member at `path`, if there is one.
fn delete(doc: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut here = doc;
    for token in parents {
        let next = match here {
            Value::Object(members) => members.get_mut(token),
            Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        };
        match next {
            Some(next) => here = next,
            None => return,
        }
    }
    match here {
        Value::Object(members) => {
            members.remove(last);
        }
        Value::Array(items) => {
            if let Some(i) = last.parse::<usize>().ok().filter(|i| *i < items.len()) {
                items.remove(i);
            }
        }
        _ => {}
    }
}

#[async_trait]
impl HandlerModule for ResponseMangler {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "changes the response by JSON pointer"
    }

    fn actions(&self) -> &[ActionSpec] {
        &self.actions
    }

    fn check(&self, _action: &str, options: &ActionOptions) -> Result<(), AuthError> {
        match options.str("path").and_then(tokens) {
            Some(_) => Ok(()),
            None => Err(AuthError::bad_request(
                "option 'path' must be a JSON pointer starting with '/', e.g. /token/catalog",
            )),
        }
    }

    async fn run(&self, call: ActionCall<'_>) -> Result<ActionEffect, AuthError> {
        let path = call
            .options()
            .str("path")
            .and_then(tokens)
            .ok_or(AuthError::handler_failed("bad_path"))?;
        let mut response = call.response().cloned().unwrap_or(Value::Null);
        if call.action() == "set" {
            let value = call.options().get("value").cloned().unwrap_or(Value::Null);
            set(&mut response, &path, value).ok_or(AuthError::handler_failed("bad_path"))?;
        } else {
            delete(&mut response, &path);
        }
        Ok(ActionEffect::ReplaceResponse(response))
    }
}

builtin_handler!(ResponseMangler);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testing::{event, run, stores};
    use serde_json::json;

    async fn mangle(action: &str, options: Value, response: Value) -> Result<Value, AuthError> {
        let module = ResponseMangler::from_config(&PluginConfig::empty(NAME)).unwrap();
        let (_, stores) = stores();
        match run(&module, action, options, &event(), &stores, Some(&response)).await? {
            ActionEffect::ReplaceResponse(v) => Ok(v),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn set_creates_and_replaces() {
        let response = json!({"token": {"methods": ["password"], "catalog": [{"id": 1}]}});
        assert_eq!(
            mangle(
                "set",
                json!({"path": "/token/extra/notice", "value": "hi"}),
                response.clone()
            )
            .await
            .unwrap(),
            json!({"token": {"methods": ["password"], "catalog": [{"id": 1}], "extra": {"notice": "hi"}}})
        );
        assert_eq!(
            mangle(
                "set",
                json!({"path": "/token/catalog/0/id", "value": 2}),
                response.clone()
            )
            .await
            .unwrap()["token"]["catalog"][0]["id"],
            2
        );
        assert_eq!(
            mangle(
                "set",
                json!({"path": "/token/methods/-", "value": "totp"}),
                response.clone()
            )
            .await
            .unwrap()["token"]["methods"],
            json!(["password", "totp"])
        );
        assert_eq!(
            mangle(
                "set",
                json!({"path": "/a~1b/c~0d", "value": true}),
                json!({})
            )
            .await
            .unwrap(),
            json!({"a/b": {"c~d": true}})
        );
        let e = mangle(
            "set",
            json!({"path": "/token/methods/x", "value": 1}),
            response,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, AuthError::HandlerFailed { cause: "bad_path" }));
    }

    #[tokio::test]
    async fn delete_removes_what_is_there_and_ignores_what_is_not() {
        let response = json!({"token": {"catalog": [], "roles": [1, 2, 3]}});
        assert_eq!(
            mangle(
                "delete",
                json!({"path": "/token/catalog"}),
                response.clone()
            )
            .await
            .unwrap(),
            json!({"token": {"roles": [1, 2, 3]}})
        );
        assert_eq!(
            mangle(
                "delete",
                json!({"path": "/token/roles/1"}),
                response.clone()
            )
            .await
            .unwrap()["token"]["roles"],
            json!([1, 3])
        );
        assert_eq!(
            mangle("delete", json!({"path": "/nope/deeper"}), response.clone())
                .await
                .unwrap(),
            response
        );
    }

    #[tokio::test]
    async fn a_path_that_is_no_pointer_is_refused() {
        let e = mangle("delete", json!({"path": "token.catalog"}), json!({}))
            .await
            .unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert!(e.to_string().contains("JSON pointer"), "{e}");
        let module = ResponseMangler::from_config(&PluginConfig::empty(NAME)).unwrap();
        let spec = &module.actions()[0];
        assert!(spec.changes_response && spec.abort_on_error_default);
        assert_eq!(spec.positions, [auth_core::store::HandlerPosition::Post]);
    }
}
