//! Auth method registrations and the set of enabled methods.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{Registration, Registry};
use crate::config::PluginConfig;
use crate::{AuthError, AuthMethodHandler};

/// Builds a method from its configuration section.
pub type MethodConstructor = fn(&PluginConfig) -> Result<Arc<dyn AuthMethodHandler>, AuthError>;

/// An auth method plugin: a name and a constructor.
///
/// Submit one with [`register_method!`](crate::register_method), or add it
/// to a [`RegistryBuilder`](super::RegistryBuilder) by hand.
#[derive(Clone, Copy)]
pub struct MethodRegistration {
    name: &'static str,
    constructor: MethodConstructor,
}

impl MethodRegistration {
    /// A registration of `constructor` under `name`.
    pub const fn new(name: &'static str, constructor: MethodConstructor) -> Self {
        Self { name, constructor }
    }

    /// Builds the method from its configuration section.
    pub fn build(&self, config: &PluginConfig) -> Result<Arc<dyn AuthMethodHandler>, AuthError> {
        (self.constructor)(config)
    }
}

impl Registration for MethodRegistration {
    const KIND: &'static str = "auth method";

    fn name(&self) -> &'static str {
        self.name
    }
}

impl fmt::Debug for MethodRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MethodRegistration")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

inventory::collect!(MethodRegistration);

/// Registers an auth method at compile time.
///
/// ```
/// use std::sync::Arc;
/// # use async_trait::async_trait;
/// # use auth_core::{AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload};
/// # #[derive(Debug)] struct Nobody;
/// # #[async_trait] impl AuthMethodHandler for Nobody {
/// #     async fn authenticate(&self, _: &Payload, _: &MethodContext<'_>)
/// #         -> Result<AuthHandlerResponse, AuthError> { Err(AuthError::InvalidCredentials) }
/// # }
/// auth_core::register_method!("nobody", |_config| Ok(Arc::new(Nobody)));
/// ```
#[macro_export]
macro_rules! register_method {
    ($name:expr, $constructor:expr $(,)?) => {
        $crate::inventory::submit! {
            $crate::registry::MethodRegistration::new($name, $constructor)
        }
    };
}

impl Registry<MethodRegistration> {
    /// Builds the enabled methods, in the order given, each from its section
    /// of `sections` (keyed by method name; a missing section means
    /// defaults).
    ///
    /// Fails if a name is not registered (listing the registered ones), is
    /// enabled twice, or its constructor refuses its configuration; and if
    /// a section names a method nobody registered, so that a misspelt
    /// section does not silently leave a method on its defaults. (A section
    /// for a registered method that is not enabled is fine: the list may
    /// be overridden, e.g. by `AUTH_METHODS`.)
    pub fn instantiate<S: AsRef<str>>(
        &self,
        enabled: &[S],
        sections: &Map<String, Value>,
    ) -> Result<MethodSet, AuthError> {
        self.instantiate_with_shared(enabled, sections, &Value::Null)
    }

    /// [`Registry::instantiate`], also giving every method the `shared`
    /// sections (see [`PluginConfig::shared`]).
    pub fn instantiate_with_shared<S: AsRef<str>>(
        &self,
        enabled: &[S],
        sections: &Map<String, Value>,
        shared: &Value,
    ) -> Result<MethodSet, AuthError> {
        for name in sections.keys() {
            self.get(name)?;
        }
        let mut set = MethodSet::new();
        for name in enabled {
            let name = name.as_ref();
            let registration = self.get(name)?;
            let section = sections.get(name).cloned().unwrap_or(Value::Null);
            let config = PluginConfig::new(name, section).with_shared(shared.clone());
            set.insert(name, registration.build(&config)?)?;
        }
        Ok(set)
    }
}

/// The enabled methods, by the name requests use.
#[derive(Clone, Default)]
pub struct MethodSet {
    methods: BTreeMap<String, Arc<dyn AuthMethodHandler>>,
}

impl MethodSet {
    /// No methods.
    pub fn new() -> Self {
        Self::default()
    }

    /// Enables `handler` under `name`; a name may be enabled once.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        handler: Arc<dyn AuthMethodHandler>,
    ) -> Result<(), AuthError> {
        let name = name.into();
        if self.methods.contains_key(&name) {
            return Err(AuthError::DuplicateRegistration {
                kind: MethodRegistration::KIND,
                name,
            });
        }
        self.methods.insert(name, handler);
        Ok(())
    }

    /// The method enabled under `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn AuthMethodHandler>> {
        self.methods.get(name)
    }

    /// Whether `name` is enabled.
    pub fn contains(&self, name: &str) -> bool {
        self.methods.contains_key(name)
    }

    /// The enabled names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.methods.keys().cloned().collect()
    }

    /// How many methods are enabled.
    pub fn len(&self) -> usize {
        self.methods.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }
}

impl fmt::Debug for MethodSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.methods.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuthHandlerResponse, MethodContext, Payload, ResponseData};
    use async_trait::async_trait;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug)]
    struct Fixed(String);

    #[async_trait]
    impl AuthMethodHandler for Fixed {
        async fn authenticate(
            &self,
            _: &Payload,
            _: &MethodContext<'_>,
        ) -> Result<AuthHandlerResponse, AuthError> {
            Ok(AuthHandlerResponse::success(ResponseData::for_user(
                self.0.clone(),
            )))
        }
    }

    #[derive(Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct FixedConfig {
        user: String,
    }

    fn fixed(config: &PluginConfig) -> Result<Arc<dyn AuthMethodHandler>, AuthError> {
        Ok(Arc::new(Fixed(config.parse::<FixedConfig>()?.user)))
    }

    fn registry() -> Registry<MethodRegistration> {
        Registry::builder()
            .register(MethodRegistration::new("b", fixed))
            .register(MethodRegistration::new("a", fixed))
            .build()
            .unwrap()
    }

    #[test]
    fn names_are_sorted() {
        assert_eq!(registry().names(), ["a", "b"]);
    }

    #[test]
    fn duplicate_names_are_refused() {
        let e = Registry::builder()
            .register(MethodRegistration::new("a", fixed))
            .register(MethodRegistration::new("a", fixed))
            .build()
            .unwrap_err();
        assert!(matches!(e, AuthError::DuplicateRegistration { ref name, .. } if name == "a"));
    }

    #[test]
    fn an_unknown_configured_method_lists_the_registered_ones() {
        let e = registry()
            .instantiate(&["a", "zzz"], &Map::new())
            .unwrap_err();
        assert!(matches!(e, AuthError::UnknownPlugin { ref name, .. } if name == "zzz"));
        assert!(e.to_string().contains("registered: a, b"), "{e}");
    }

    #[test]
    fn a_section_for_an_unregistered_method_is_refused() {
        let sections = json!({"a": {"user": "ua"}, "aa": {"user": "ua"}});
        let e = registry()
            .instantiate(&["a"], sections.as_object().unwrap())
            .unwrap_err();
        assert!(matches!(e, AuthError::UnknownPlugin { ref name, .. } if name == "aa"));
        // Registered but not enabled: kept for when it is.
        let sections = json!({"b": {"user": "ub"}});
        assert!(
            registry()
                .instantiate(&["a"], sections.as_object().unwrap())
                .is_ok()
        );
    }

    #[test]
    fn enabling_a_method_twice_is_refused() {
        assert!(registry().instantiate(&["a", "a"], &Map::new()).is_err());
    }

    #[test]
    fn each_method_gets_its_own_section() {
        let sections = json!({"a": {"user": "ua"}, "b": {"user": 7}});
        let sections = sections.as_object().unwrap();
        assert!(registry().instantiate(&["a"], sections).is_ok());
        let e = registry().instantiate(&["a", "b"], sections).unwrap_err();
        assert!(matches!(e, AuthError::InvalidConfig { ref plugin, .. } if plugin == "b"));
    }
}
