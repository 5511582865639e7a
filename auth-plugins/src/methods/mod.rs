//! Auth methods, one folder each.

/// Registers a built-in method type under its module's `NAME` (the type
/// has `from_config`) and defines the module's link anchor.
macro_rules! builtin_method {
    ($method:ident) => {
        auth_core::register_method!(NAME, |config| {
            Ok(std::sync::Arc::new($method::from_config(config)?))
        });

        /// Referenced by [`crate::link`], so the linker keeps this module's
        /// registration.
        pub(crate) fn anchor() {}
    };
}

pub mod application_credential;
pub mod external;
pub mod jwt;
pub mod password;
pub mod publickey;
pub mod token;
pub mod totp;

/// One function per method module, referenced by [`crate::link`].
pub(crate) const ANCHORS: &[fn()] = &[
    application_credential::anchor,
    external::anchor,
    jwt::anchor,
    password::anchor,
    publickey::anchor,
    token::anchor,
    totp::anchor,
];
