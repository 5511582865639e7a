//! Event handler modules, one folder each, registered by name for the
//! dispatcher in [`auth_core::handlers`]:
//!
//! | module | actions | what for |
//! |---|---|---|
//! | [`Logging`](logging) | `log` | a templated line through `tracing` |
//! | [`WebHook`](webhook) | `post` | a templated JSON body to a URL, optionally with bearer or basic auth |
//! | [`Counter`](counter) | `increase`, `decrease`, `reset` | a named counter shared by every node |
//! | [`UserNotification`](notification) | `sendmail` | an e-mail over SMTP, by default to the user's `extra.email` |
//! | [`UserState`](user_state) | `disable`, `enable`, `reset_failures` | the event's user account |
//! | [`ResponseMangler`](response_mangler) | `set`, `delete` | a member of the response, by JSON pointer (post only) |
//! | [`Script`](script) | `run` | an executable from a configured directory; off unless configured |
//!
//! `WebHook`, `UserNotification` and `Script` are each behind a Cargo
//! feature (`webhook`, `notification`, `script`; on by default); the
//! others have no dependencies of their own and are always there.

/// Registers a built-in handler module type under its module's `NAME`
/// (the type has `from_config`) and defines the module's link anchor.
macro_rules! builtin_handler {
    ($module:ident) => {
        auth_core::register_handler_module!(NAME, |config| {
            Ok(std::sync::Arc::new($module::from_config(config)?))
        });

        /// Referenced by [`crate::link`], so the linker keeps this module's
        /// registration.
        pub(crate) fn anchor() {}
    };
}

pub mod counter;
pub mod logging;
#[cfg(feature = "notification")]
pub mod notification;
pub mod response_mangler;
#[cfg(feature = "script")]
pub mod script;
pub mod user_state;
#[cfg(feature = "webhook")]
pub mod webhook;

#[cfg(test)]
#[cfg_attr(
    not(all(feature = "webhook", feature = "notification", feature = "script")),
    allow(
        dead_code,
        reason = "some helpers serve only the tests of gated modules"
    )
)]
pub(crate) mod testing;

/// One function per handler module compiled in, referenced by
/// [`crate::link`].
pub(crate) const ANCHORS: &[fn()] = &[
    counter::anchor,
    logging::anchor,
    #[cfg(feature = "notification")]
    notification::anchor,
    response_mangler::anchor,
    #[cfg(feature = "script")]
    script::anchor,
    user_state::anchor,
    #[cfg(feature = "webhook")]
    webhook::anchor,
];
