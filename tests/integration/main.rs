//! One test binary for the whole workspace (each file under `tests/` would
//! otherwise link separately and slowly).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test binary: panicking is how it fails

mod client;
mod config_docs;
mod container;
mod handlers;
mod publickey_flow;
mod registry;
mod server;
mod store;

/// Every test references auth-plugins through this, so the linker keeps
/// the built-in registrations (see `auth_core::registry`).
fn registry() -> auth_core::Registry<auth_core::MethodRegistration> {
    auth_plugins::link();
    auth_core::Registry::from_inventory().expect("built-in registrations are consistent")
}
