//! Storage drivers, one folder each, registered by URL scheme, each behind
//! the Cargo feature of its name (both on by default).
//!
//! | scheme | driver |
//! |---|---|
//! | `sqlite` | [`sqlite::SqliteStore`]: one file, no set-up, the default |
//! | `postgres`, `postgresql` | [`postgres::PostgresStore`]: one database shared by several nodes |
//!
//! Both implement the whole [`Storage`](auth_core::store::Storage) contract
//! with the same SQL and the same schema (one migration file per version
//! and dialect under `auth-plugins/migrations/`); what they share lives in
//! `shared`. Connect through the registry:
//!
//! ```no_run
//! # async fn demo() -> Result<(), auth_core::AuthError> {
//! use std::sync::Arc;
//! use auth_core::store::{StorageConfig, StorageRegistration, connect};
//! use auth_core::{KeyRing, KeySet, Registry};
//!
//! auth_plugins::link();
//! let drivers = Registry::<StorageRegistration>::from_inventory()?;
//! let keys = Arc::new(KeyRing::new(KeySet::generate()));
//! let config = StorageConfig::new(auth_plugins::storage::DEFAULT_DATABASE_URL, keys);
//! let storage = connect(&drivers, config).await?;
//! # Ok(()) }
//! ```

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod shared;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// The database used when nothing is configured: a SQLite file under
/// `./data`, created on first start (with the `sqlite` feature).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/auth.db";

/// One function per driver module compiled in, referenced by
/// [`crate::link`].
pub(crate) const ANCHORS: &[fn()] = &[
    #[cfg(feature = "sqlite")]
    sqlite::anchor,
    #[cfg(feature = "postgres")]
    postgres::anchor,
];
