//! What a call acts on, as the policy sees it.

use std::collections::BTreeMap;

use serde_json::Value;

/// The target of one call, flattened as Keystone flattens it before
/// oslo.policy reads it: nested objects become dotted keys, so a rule's
/// `%(target.user.domain_id)s` is the key `target.user.domain_id`. Path
/// parameters sit at the top (`user_id`), as Keystone merges the URL's
/// arguments into the target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    values: BTreeMap<String, Value>,
}

impl Target {
    /// An empty target (a call on a collection, with no filter).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }

    /// Sets `prefix.<path>` for every scalar inside `object`, e.g.
    /// `with_object("target.user", &json!({"domain_id": "d"}))` sets
    /// `target.user.domain_id`.
    pub fn with_object(mut self, prefix: &str, object: &Value) -> Self {
        flatten(prefix, object, &mut self.values);
        self
    }

    /// The value at `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// The value at `key` if it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.values.get(key).and_then(Value::as_str)
    }

    /// Every key and value, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }
}

fn flatten(prefix: &str, value: &Value, into: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                flatten(&format!("{prefix}.{key}"), inner, into);
            }
        }
        other => {
            into.insert(prefix.to_owned(), other.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_objects_become_dotted_keys() {
        let target = Target::new().with("user_id", "u1").with_object(
            "target.user",
            &json!({"id": "u1", "domain_id": "d1", "options": {"lock_password": true}}),
        );
        assert_eq!(target.get_str("user_id"), Some("u1"));
        assert_eq!(target.get_str("target.user.domain_id"), Some("d1"));
        assert_eq!(
            target.get("target.user.options.lock_password"),
            Some(&json!(true))
        );
        assert_eq!(target.get("target.user"), None);
    }
}
