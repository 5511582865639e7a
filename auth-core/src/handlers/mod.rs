//! Event handlers, privacyIDEA-style: bind an action of a handler module
//! (send a webhook, count, mail the user, disable the account, …) to
//! events, with conditions, before or after the call.
//!
//! Policies decide what the system does; event handlers add actions on
//! top, without changing its behaviour (except the few that change a
//! response, and bindings told to abort on error). Each action run is
//! audited, so one API call can leave several audit rows: one for the call
//! and one per run.
//!
//! # Pieces
//!
//! - [`HandlerModule`]: the trait a module implements; [`ActionSpec`] and
//!   [`OptionSpec`] describe its actions and their options; a run gets an
//!   [`ActionCall`] and answers an [`ActionEffect`].
//! - [`HandlerModuleRegistration`] and
//!   [`register_handler_module!`](crate::register_handler_module): modules
//!   register at compile time, like auth methods; a
//!   [`Registry`](crate::Registry) of them builds [`HandlerModules`] from
//!   configuration.
//! - [`Conditions`]: a binding's conditions, compiled once (see the
//!   `condition` module docs for the syntax and the missing-data rule).
//! - [`Tags`]: `{user}`-style tags in option templates.
//! - [`Dispatcher`]: holds the bindings and runs them, with time limits,
//!   failure isolation, an off-path queue and an audit row per run, into
//!   an [`AuditLog`](crate::AuditLog).
//!
//! # Wiring (what a server does)
//!
//! ```
//! use std::sync::Arc;
//!
//! use auth_core::audit::{AuditLog, AuditLogConfig};
//! use auth_core::handlers::{Dispatcher, DispatcherConfig, HandlerModuleRegistration};
//! use auth_core::store::Storage;
//! use auth_core::{AuthError, AuthEvent, Clock, Registry, Stores, SystemClock};
//! use serde_json::{Map, Value};
//!
//! async fn wire(storage: Arc<dyn Storage>, sections: &Map<String, Value>)
//!     -> Result<Dispatcher, AuthError> {
//!     let clock: Arc<dyn Clock> = Arc::new(SystemClock);
//!     // Every registered module, each built from its section
//!     // (`[events.modules.<Name>]`).
//!     let modules = Registry::<HandlerModuleRegistration>::from_inventory()?
//!         .instantiate(sections)?;
//!     let audit = AuditLog::new(storage.clone(), clock.clone(), AuditLogConfig::default());
//!     let dispatcher = Dispatcher::builder()
//!         .modules(modules)
//!         .stores(Stores::from_storage(storage.clone()))
//!         .clock(clock)
//!         .audit(audit)
//!         .config(DispatcherConfig::default())
//!         .build()?;
//!     // Stored bindings that no longer compile are reported, not fatal.
//!     for (binding, error) in dispatcher.set_valid_bindings(storage.list_bindings().await?) {
//!         eprintln!("binding {} ignored: {error}", binding.name);
//!     }
//!     Ok(dispatcher)
//! }
//!
//! /// Around every API call.
//! async fn call(dispatcher: &Dispatcher, event: &AuthEvent) -> Result<Value, AuthError> {
//!     if !dispatcher.wants(&event.name) {
//!         return Ok(Value::Null); // nothing bound: no work at all
//!     }
//!     dispatcher.pre(event).await?; // Err: a binding with abort_on_error failed (502)
//!     let mut response = Value::Null; // ... the call itself ...
//!     dispatcher.post(event, &mut response).await?;
//!     Ok(response)
//! }
//! //! ```

mod binding;
pub mod condition;
mod dispatcher;
mod module;
mod options;
mod queue;
mod registration;
mod subject;
mod template;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use binding::{ANY_EVENT, TIMEOUT_OPTION};
pub use condition::{Conditions, Facts, Needs};
pub use dispatcher::{
    Dispatcher, DispatcherBuilder, DispatcherConfig, DispatcherStats, handler_audit_event,
};
pub use module::{ActionCall, ActionEffect, ActionSpec, HandlerModule};
pub use options::{ActionOptions, OptionKind, OptionSpec};
pub use registration::{HandlerModuleConstructor, HandlerModuleRegistration, HandlerModules};
pub use template::{TAGS, Tags};

/// The time limit of a run when neither the binding nor the configuration
/// sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
