//! # auth-plugins
//!
//! The built-in plugins of the framework, each registered by name through
//! [`inventory`](auth_core::inventory) so that configuration can enable it:
//!
//! | kind | name | what it does |
//! |---|---|---|
//! | auth method | `password` | Keystone's password method: argon2id, imported Keystone hashes, lockout, expiry, inactivity |
//! | auth method | `token` | rescoping an existing token, keeping its expiry, audit chain and methods |
//! | auth method | `totp` | RFC 6238 passcodes with replay protection and shared lockout |
//! | auth method | `application_credential` | delegated secrets bound to one project |
//! | auth method | `external` | an identity asserted by a trusted front proxy (REMOTE_USER) |
//! | auth method | `jwt` | federated login with an external issuer's signed JWT (JWKS, claim mapping) |
//! | auth method | `publickey` | two-round Ed25519 challenge–response |
//! | event handler module | `Logging`, `WebHook`, `Counter`, `UserNotification`, `UserState`, `ResponseMangler`, `Script` | actions bound to events ([`handlers`]) |
//! | storage driver | `sqlite` | embedded SQLite file, the default ([`storage::DEFAULT_DATABASE_URL`]) |
//! | storage driver | `postgres`, `postgresql` | PostgreSQL shared by several nodes |
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
//! assert!(registry.get("publickey").is_ok());
//! ```

pub mod compliance;
pub mod handlers;
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
