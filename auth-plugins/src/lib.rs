//! # auth-plugins
//!
//! The built-in plugins of the framework, each registered by name through
//! [`inventory`](auth_core::inventory) so that configuration can enable it:
//!
//! | kind | name | what it does | Cargo feature |
//! |---|---|---|---|
//! | auth method | `password` | Keystone's password method: argon2id, imported Keystone hashes, lockout, expiry, inactivity | `password` |
//! | auth method | `token` | rescoping an existing token, keeping its expiry, audit chain and methods | `token` |
//! | auth method | `totp` | RFC 6238 passcodes with replay protection and shared lockout | `totp` |
//! | auth method | `application_credential` | delegated secrets bound to one project | `application_credential` |
//! | auth method | `external` | an identity asserted by a trusted front proxy (REMOTE_USER) | `external` |
//! | auth method | `jwt` | federated login with an external issuer's signed JWT (JWKS, claim mapping) | `jwt` |
//! | auth method | `publickey` | two-round Ed25519 challenge–response | `publickey` |
//! | auth method | `oauth1` | a consumer's login with a user's OAuth1 access token (RFC 5849 HMAC-SHA1) | `oauth1` |
//! | event handler module | `Logging`, `Counter`, `UserState`, `ResponseMangler` | actions bound to events ([`handlers`]) | always |
//! | event handler module | `WebHook`, `UserNotification`, `Script` | the same, over HTTP, SMTP, a process | `webhook`, `notification`, `script` |
//! | storage driver | `sqlite` | embedded SQLite file, the default ([`storage::DEFAULT_DATABASE_URL`]) | `sqlite` |
//! | storage driver | `postgres`, `postgresql` | PostgreSQL shared by several nodes | `postgres` |
//! | token provider | [`tokens::jws`] | Keystone's JWS tokens, ES256 or EdDSA | `jws` |
//!
//! Every feature is on by default. An embedder that needs, say, only the
//! password method on SQLite writes
//! `auth-plugins = { …, default-features = false, features = ["password", "sqlite"] }`
//! and compiles neither reqwest, lettre, jsonwebtoken nor aws-lc-rs. The
//! shared modules [`hashing`] and [`compliance`] come with the methods
//! that need them (or as features of their own).
//!
//! One folder per plugin under [`methods`], [`handlers`] and [`storage`]. Shared by
//! several plugins: [`hashing`] (argon2id and imported hashes) and
//! [`compliance`] (`[security_compliance]`). The JWS token provider is in
//! [`tokens`].
//!
//! # Linking
//!
//! The linker keeps a crate's registrations only if something references the
//! crate. Every binary, test and example that wants the built-ins calls
//! [`link`] once before building a registry:
//!
//! ```
//! auth_plugins::link();
//! let registry = auth_core::Registry::<auth_core::MethodRegistration>::from_inventory().unwrap();
//! # #[cfg(feature = "publickey")]
//! assert!(registry.get("publickey").is_ok());
//! ```
//!
//! A plugin compiled out by its feature is not registered: configuration
//! enabling it fails start-up, listing what is.

#[cfg(feature = "compliance")]
pub mod compliance;
pub mod handlers;
#[cfg(feature = "hashing")]
pub mod hashing;
pub mod methods;
pub mod storage;
pub mod tokens;

/// Makes sure the linker keeps every built-in registration.
///
/// It references one function in each plugin module, which pulls in the
/// object code holding that module's `inventory` submission. Cheap and
/// idempotent; call it at start-up.
pub fn link() {
    let anchors = methods::ANCHORS
        .iter()
        .chain(handlers::ANCHORS)
        .chain(storage::ANCHORS);
    for anchor in anchors {
        std::hint::black_box(anchor);
    }
}

#[cfg(test)]
mod tests {
    use auth_core::handlers::HandlerModuleRegistration;
    use auth_core::store::StorageRegistration;
    use auth_core::{MethodRegistration, Registry};

    /// The names whose flag is set, in order.
    fn compiled(names: &[(&'static str, bool)]) -> Vec<&'static str> {
        names
            .iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect()
    }

    #[test]
    fn link_registers_exactly_the_plugins_compiled_in() {
        super::link();
        let methods = Registry::<MethodRegistration>::from_inventory().unwrap();
        assert_eq!(
            methods.names(),
            compiled(&[
                (
                    "application_credential",
                    cfg!(feature = "application_credential")
                ),
                ("dicom_asserted", cfg!(feature = "dicom_asserted")),
                ("ec2credential", cfg!(feature = "ec2credential")),
                ("external", cfg!(feature = "external")),
                ("jwt", cfg!(feature = "jwt")),
                ("oauth1", cfg!(feature = "oauth1")),
                ("password", cfg!(feature = "password")),
                ("publickey", cfg!(feature = "publickey")),
                ("token", cfg!(feature = "token")),
                ("totp", cfg!(feature = "totp")),
            ])
        );
        let modules = Registry::<HandlerModuleRegistration>::from_inventory().unwrap();
        assert_eq!(
            modules.names(),
            compiled(&[
                ("Counter", true),
                ("Logging", true),
                ("ResponseMangler", true),
                ("Script", cfg!(feature = "script")),
                ("UserNotification", cfg!(feature = "notification")),
                ("UserState", true),
                ("WebHook", cfg!(feature = "webhook")),
            ])
        );
        let drivers = Registry::<StorageRegistration>::from_inventory().unwrap();
        assert_eq!(
            drivers.names(),
            compiled(&[
                ("postgres", cfg!(feature = "postgres")),
                ("postgresql", cfg!(feature = "postgres")),
                ("sqlite", cfg!(feature = "sqlite")),
            ])
        );
    }
}
