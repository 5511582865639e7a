//! Auth methods, one folder each, each behind the Cargo feature of its
//! name (all on by default).

/// Registers a built-in method type under its module's `NAME` (the type
/// has `from_config`) and defines the module's link anchor.
#[allow(unused_macros, reason = "unused when every method is compiled out")]
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

#[cfg(feature = "application_credential")]
pub mod application_credential;
#[cfg(feature = "dicom_asserted")]
pub mod dicom_asserted;
#[cfg(feature = "ec2credential")]
pub mod ec2credential;
#[cfg(feature = "external")]
pub mod external;
#[cfg(feature = "jwt")]
pub mod jwt;
#[cfg(feature = "oauth1")]
pub mod oauth1;
#[cfg(feature = "password")]
pub mod password;
#[cfg(feature = "publickey")]
pub mod publickey;
#[cfg(feature = "token")]
pub mod token;
#[cfg(feature = "totp")]
pub mod totp;

/// One function per method module compiled in, referenced by
/// [`crate::link`].
pub(crate) const ANCHORS: &[fn()] = &[
    #[cfg(feature = "application_credential")]
    application_credential::anchor,
    #[cfg(feature = "dicom_asserted")]
    dicom_asserted::anchor,
    #[cfg(feature = "ec2credential")]
    ec2credential::anchor,
    #[cfg(feature = "external")]
    external::anchor,
    #[cfg(feature = "jwt")]
    jwt::anchor,
    #[cfg(feature = "password")]
    password::anchor,
    #[cfg(feature = "publickey")]
    publickey::anchor,
    #[cfg(feature = "token")]
    token::anchor,
    #[cfg(feature = "oauth1")]
    oauth1::anchor,
    #[cfg(feature = "totp")]
    totp::anchor,
];
