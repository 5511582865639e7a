//! Handler module registrations and the set of built modules.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::module::HandlerModule;
use crate::AuthError;
use crate::config::PluginConfig;
use crate::registry::{Registration, Registry};

/// Builds a handler module from its configuration section.
pub type HandlerModuleConstructor = fn(&PluginConfig) -> Result<Arc<dyn HandlerModule>, AuthError>;

/// A handler module plugin: a name and a constructor.
///
/// Submit one with [`register_handler_module!`](crate::register_handler_module),
/// or add it to a [`RegistryBuilder`](crate::registry::RegistryBuilder) by
/// hand.
#[derive(Clone, Copy)]
pub struct HandlerModuleRegistration {
    name: &'static str,
    constructor: HandlerModuleConstructor,
}

impl HandlerModuleRegistration {
    /// A registration of `constructor` under `name`.
    pub const fn new(name: &'static str, constructor: HandlerModuleConstructor) -> Self {
        Self { name, constructor }
    }

    /// Builds the module from its configuration section.
    pub fn build(&self, config: &PluginConfig) -> Result<Arc<dyn HandlerModule>, AuthError> {
        (self.constructor)(config)
    }
}

impl Registration for HandlerModuleRegistration {
    const KIND: &'static str = "event handler module";

    fn name(&self) -> &'static str {
        self.name
    }
}

impl fmt::Debug for HandlerModuleRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerModuleRegistration")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

inventory::collect!(HandlerModuleRegistration);

/// Registers an event handler module at compile time. The constructor gets
/// the module's configuration section (e.g. `[events.modules.Script]`), so
/// a module can refuse to work unless configured (the Script module runs
/// nothing unless its section enables it).
///
/// ```
/// use std::sync::Arc;
/// # use async_trait::async_trait;
/// # use auth_core::AuthError;
/// # use auth_core::handlers::{ActionCall, ActionEffect, ActionSpec, HandlerModule};
/// # #[derive(Debug)] struct Nothing;
/// # #[async_trait] impl HandlerModule for Nothing {
/// #     fn name(&self) -> &str { "Nothing" }
/// #     fn actions(&self) -> &[ActionSpec] { &[] }
/// #     async fn run(&self, _: ActionCall<'_>) -> Result<ActionEffect, AuthError> {
/// #         Ok(ActionEffect::Unchanged) }
/// # }
/// auth_core::register_handler_module!("Nothing", |_config| Ok(Arc::new(Nothing)));
/// ```
#[macro_export]
macro_rules! register_handler_module {
    ($name:expr, $constructor:expr $(,)?) => {
        $crate::inventory::submit! {
            $crate::handlers::HandlerModuleRegistration::new($name, $constructor)
        }
    };
}

impl Registry<HandlerModuleRegistration> {
    /// Builds every registered module, each from its section of `sections`
    /// (keyed by module name; a missing section means defaults). A section
    /// for a module nobody registered is an error, so a typo in the
    /// configuration does not go unnoticed.
    pub fn instantiate(&self, sections: &Map<String, Value>) -> Result<HandlerModules, AuthError> {
        for name in sections.keys() {
            self.get(name)?;
        }
        let mut modules = HandlerModules::new();
        for name in self.names() {
            let registration = self.get(name)?;
            let section = sections.get(name).cloned().unwrap_or(Value::Null);
            modules.insert_as(name, registration.build(&PluginConfig::new(name, section))?)?;
        }
        Ok(modules)
    }
}

/// The built handler modules, by name.
#[derive(Clone, Default)]
pub struct HandlerModules {
    modules: BTreeMap<String, Arc<dyn HandlerModule>>,
}

impl HandlerModules {
    /// No modules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `module` under its own name; a name may be taken once.
    pub fn insert(&mut self, module: Arc<dyn HandlerModule>) -> Result<(), AuthError> {
        let name = module.name().to_owned();
        self.insert_as(&name, module)
    }

    /// Adds `module` under `name`.
    fn insert_as(&mut self, name: &str, module: Arc<dyn HandlerModule>) -> Result<(), AuthError> {
        if self.modules.contains_key(name) {
            return Err(AuthError::DuplicateRegistration {
                kind: HandlerModuleRegistration::KIND,
                name: name.to_owned(),
            });
        }
        self.modules.insert(name.to_owned(), module);
        Ok(())
    }

    /// Adds `module`, for chaining in tests and embedders.
    pub fn with(mut self, module: Arc<dyn HandlerModule>) -> Result<Self, AuthError> {
        self.insert(module)?;
        Ok(self)
    }

    /// The module named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn HandlerModule>> {
        self.modules.get(name)
    }

    /// Every name, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.modules.keys().map(String::as_str).collect()
    }

    /// Every module, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<dyn HandlerModule>)> {
        self.modules.iter().map(|(n, m)| (n.as_str(), m))
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.modules.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.modules.is_empty()
    }
}

impl fmt::Debug for HandlerModules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.modules.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::{ActionCall, ActionEffect, ActionSpec};
    use async_trait::async_trait;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug)]
    struct Named(&'static str);

    #[async_trait]
    impl HandlerModule for Named {
        fn name(&self) -> &str {
            self.0
        }
        fn actions(&self) -> &[ActionSpec] {
            &[]
        }
        async fn run(&self, _: ActionCall<'_>) -> Result<ActionEffect, AuthError> {
            Ok(ActionEffect::Unchanged)
        }
    }

    #[derive(Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Config {
        enabled: bool,
    }

    fn strict(config: &PluginConfig) -> Result<Arc<dyn HandlerModule>, AuthError> {
        let Config { enabled } = config.parse()?;
        Ok(Arc::new(Named(if enabled { "On" } else { "Off" })))
    }

    fn registry() -> Registry<HandlerModuleRegistration> {
        Registry::builder()
            .register(HandlerModuleRegistration::new("B", |_| {
                Ok(Arc::new(Named("B")))
            }))
            .register(HandlerModuleRegistration::new("A", strict))
            .build()
            .unwrap()
    }

    #[test]
    fn every_module_is_built_with_its_own_section() {
        let modules = registry()
            .instantiate(json!({"A": {"enabled": true}}).as_object().unwrap())
            .unwrap();
        assert_eq!(modules.names(), ["A", "B"]);
        assert_eq!(modules.get("A").unwrap().name(), "On");
        let modules = registry().instantiate(&Map::new()).unwrap();
        assert_eq!(modules.get("A").unwrap().name(), "Off");
    }

    #[test]
    fn bad_or_unknown_sections_fail_start_up() {
        let e = registry()
            .instantiate(json!({"A": {"enabld": true}}).as_object().unwrap())
            .unwrap_err();
        assert!(matches!(e, AuthError::InvalidConfig { ref plugin, .. } if plugin == "A"));
        let e = registry()
            .instantiate(json!({"Scrpt": {}}).as_object().unwrap())
            .unwrap_err();
        assert!(matches!(e, AuthError::UnknownPlugin { ref name, .. } if name == "Scrpt"));
        assert!(e.to_string().contains("registered: A, B"), "{e}");
    }

    #[test]
    fn duplicates_are_refused() {
        let e = Registry::<HandlerModuleRegistration>::builder()
            .register(HandlerModuleRegistration::new("A", strict))
            .register(HandlerModuleRegistration::new("A", strict))
            .build()
            .unwrap_err();
        assert!(matches!(e, AuthError::DuplicateRegistration { ref name, .. } if name == "A"));
        let e = HandlerModules::new()
            .with(Arc::new(Named("X")))
            .unwrap()
            .with(Arc::new(Named("X")))
            .unwrap_err();
        assert!(matches!(e, AuthError::DuplicateRegistration { .. }));
    }
}
