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
pub mod notification;
pub mod response_mangler;
pub mod script;
pub mod user_state;
pub mod webhook;

#[cfg(test)]
pub(crate) mod testing;

/// One function per handler module, referenced by [`crate::link`].
pub(crate) const ANCHORS: &[fn()] = &[
    counter::anchor,
    logging::anchor,
    notification::anchor,
    response_mangler::anchor,
    script::anchor,
    user_state::anchor,
    webhook::anchor,
];
