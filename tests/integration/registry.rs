//! The compile-time registry as a binary that links auth-plugins sees it.

use std::sync::Arc;

use auth_core::handlers::HandlerModuleRegistration;
use auth_core::{AuthError, MethodRegistration, Registry};
use serde_json::{Map, json};

/// The exact set of built-in auth methods. Adding a method means adding it
/// here, on purpose.
const BUILT_IN_METHODS: &[&str] = &[
    "application_credential",
    "dicom_asserted",
    "ec2credential",
    "external",
    "jwt",
    "oauth1",
    "password",
    "publickey",
    "token",
    "totp",
];

/// The exact set of built-in event handler modules.
const BUILT_IN_HANDLER_MODULES: &[&str] = &[
    "Counter",
    "Logging",
    "ResponseMangler",
    "Script",
    "UserNotification",
    "UserState",
    "WebHook",
];

fn handler_modules() -> Registry<HandlerModuleRegistration> {
    auth_plugins::link();
    Registry::from_inventory().expect("built-in handler modules register consistently")
}

#[test]
fn exactly_the_built_in_handler_modules_are_registered() {
    assert_eq!(handler_modules().names(), BUILT_IN_HANDLER_MODULES);
}

#[test]
fn every_built_in_handler_module_builds_with_its_defaults() {
    let modules = handler_modules().instantiate(&Map::new()).unwrap();
    assert_eq!(modules.names(), BUILT_IN_HANDLER_MODULES);
    for (name, module) in modules.iter() {
        assert_eq!(module.name(), name);
        assert!(!module.actions().is_empty(), "{name}");
    }
}

#[test]
fn a_handler_module_section_nobody_registered_fails_start_up() {
    let sections = json!({"Scripts": {"enabled": true}});
    let e = handler_modules()
        .instantiate(sections.as_object().unwrap())
        .unwrap_err();
    assert!(matches!(e, AuthError::UnknownPlugin { ref name, .. } if name == "Scripts"));
}

#[test]
fn registering_a_built_in_handler_module_name_again_is_refused() {
    auth_plugins::link();
    let e = Registry::<HandlerModuleRegistration>::builder()
        .with_inventory()
        .register(HandlerModuleRegistration::new("WebHook", |_| {
            Err(AuthError::Internal("never built".into()))
        }))
        .build()
        .unwrap_err();
    assert!(matches!(e, AuthError::DuplicateRegistration { ref name, .. } if name == "WebHook"));
}

#[test]
fn exactly_the_built_in_methods_are_registered() {
    assert_eq!(super::registry().names(), BUILT_IN_METHODS);
}

#[test]
fn every_built_in_method_builds_with_its_defaults() {
    let registry = super::registry();
    let methods = registry.instantiate(BUILT_IN_METHODS, &Map::new()).unwrap();
    assert_eq!(methods.names(), BUILT_IN_METHODS);
}

#[test]
fn a_configured_method_that_is_not_registered_fails_start_up() {
    let e = super::registry()
        .instantiate(&["publickey", "kerberos"], &Map::new())
        .unwrap_err();
    assert!(matches!(e, AuthError::UnknownPlugin { ref name, .. } if name == "kerberos"));
    assert!(
        e.to_string().contains(
            "registered: application_credential, dicom_asserted, ec2credential, external, jwt, oauth1, password, publickey, token, totp"
        ),
        "{e}"
    );
}

#[test]
fn registering_a_built_in_name_again_is_refused() {
    auth_plugins::link();
    let e = Registry::<MethodRegistration>::builder()
        .with_inventory()
        .register(MethodRegistration::new("publickey", |_| {
            Err(AuthError::Internal("never built".into()))
        }))
        .build()
        .unwrap_err();
    assert!(matches!(e, AuthError::DuplicateRegistration { ref name, .. } if name == "publickey"));
}

#[test]
fn an_explicit_registry_needs_no_inventory() {
    let registry = Registry::<MethodRegistration>::builder()
        .register(MethodRegistration::new("pk", |config| {
            Ok(Arc::new(
                auth_plugins::methods::publickey::PublicKey::from_config(config)?,
            ))
        }))
        .build()
        .unwrap();
    assert_eq!(registry.names(), ["pk"]);
    assert!(registry.instantiate(&["pk"], &Map::new()).is_ok());
}
