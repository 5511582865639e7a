//! A plugin's configuration section.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::AuthError;

/// The configuration section of one plugin (e.g. `[auth.method.totp]` in
/// the server's TOML, converted to JSON), handed to its constructor, plus
/// the shared sections several plugins read (e.g. `[security_compliance]`,
/// which governs both `password` and `totp`).
#[derive(Debug, Clone, PartialEq)]
pub struct PluginConfig {
    plugin: String,
    section: Value,
    shared: Value,
}

impl PluginConfig {
    /// The section `section` for the plugin named `plugin`. `Value::Null`
    /// means "no section": the plugin's defaults.
    pub fn new(plugin: impl Into<String>, section: Value) -> Self {
        Self {
            plugin: plugin.into(),
            section,
            shared: Value::Null,
        }
    }

    /// Adds the shared sections (a JSON object of sections by name).
    pub fn with_shared(mut self, shared: Value) -> Self {
        self.shared = shared;
        self
    }

    /// Deserializes the shared section `name` into `T`; a missing section
    /// gives `T::default()`.
    pub fn shared<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, AuthError> {
        match self.shared.get(name) {
            None | Some(Value::Null) => Ok(T::default()),
            Some(section) => {
                T::deserialize(section).map_err(|e| AuthError::invalid_config(name, e.to_string()))
            }
        }
    }

    /// An empty section for `plugin`.
    pub fn empty(plugin: impl Into<String>) -> Self {
        Self::new(plugin, Value::Null)
    }

    /// The plugin name.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// The raw section.
    pub fn section(&self) -> &Value {
        &self.section
    }

    /// Deserializes the section into `T`; a missing section gives
    /// `T::default()`. Errors name the plugin and the problem (serde's
    /// messages name fields, never values).
    pub fn parse<T: DeserializeOwned + Default>(&self) -> Result<T, AuthError> {
        if self.section.is_null() {
            return Ok(T::default());
        }
        T::deserialize(&self.section)
            .map_err(|e| AuthError::invalid_config(self.plugin.clone(), e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Settings {
        windows: u8,
    }

    #[test]
    fn shared_sections_are_read_by_name() {
        let config = PluginConfig::new("totp", Value::Null)
            .with_shared(json!({"security_compliance": {"windows": 3}}));
        assert_eq!(
            config
                .shared::<Settings>("security_compliance")
                .unwrap()
                .windows,
            3
        );
        assert_eq!(
            config.shared::<Settings>("other").unwrap(),
            Settings::default()
        );
        let bad = PluginConfig::new("totp", Value::Null)
            .with_shared(json!({"security_compliance": {"windos": 3}}));
        assert!(bad.shared::<Settings>("security_compliance").is_err());
    }

    #[test]
    fn missing_section_gives_defaults_and_bad_sections_name_the_plugin() {
        assert_eq!(
            PluginConfig::empty("totp").parse::<Settings>().unwrap(),
            Settings::default()
        );
        let ok = PluginConfig::new("totp", json!({"windows": 2}));
        assert_eq!(ok.parse::<Settings>().unwrap().windows, 2);
        let bad = PluginConfig::new("totp", json!({"windos": 2}));
        let e = bad.parse::<Settings>().unwrap_err();
        assert!(e.to_string().contains("totp"), "{e}");
    }
}
