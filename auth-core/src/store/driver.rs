//! Storage drivers: a complete store, registered by URL scheme.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::traits::*;
use crate::AuthError;
use crate::keys::KeyRing;
use crate::registry::Registration;

/// Everything a deployment stores, behind one handle. A storage driver
/// implements every role trait plus these housekeeping methods.
#[async_trait]
pub trait Storage:
    UserStore
    + PasswordStore
    + AssignmentStore
    + CredentialStore
    + CatalogStore
    + RevocationStore
    + KeyStore
    + AuditStore
    + HandlerStore
    + CounterStore
    + ImagingStore
    + DocumentStore
    + TrustStore
    + OAuth1Store
{
    /// The backend's name (`sqlite`, `postgres`), for logs and `doctor`.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations (forward only, versioned, embedded) and
    /// makes sure the `default` domain exists. Idempotent.
    async fn migrate(&self) -> Result<(), AuthError>;

    /// Checks that the database answers and the schema has every migration
    /// this build needs. A schema newer than the build passes: a running
    /// node stays in its load balancer while another node migrates during
    /// a rolling upgrade ([`Storage::schema`] tells the two apart).
    async fn health(&self) -> Result<(), AuthError>;

    /// Checks that the applied migrations are exactly the ones this build
    /// embeds, naming which side is behind (for `doctor`): an older schema
    /// needs `migrate`, a newer one a newer binary.
    async fn schema(&self) -> Result<(), AuthError>;
}

/// What a driver needs to connect.
#[derive(Clone)]
pub struct StorageConfig {
    /// The database URL; may hold a password, so it is secret.
    pub url: SecretString,
    /// The key set credential blobs are encrypted with. It should not live
    /// in the same database, so a database dump alone reveals no seeds.
    pub credential_keys: Arc<KeyRing>,
    /// The connection pool's size.
    pub max_connections: u32,
    /// Whether to apply migrations on connect.
    pub migrate: bool,
    /// How long to wait for a network database to answer the first
    /// connection, so an unreachable server is reported in seconds.
    pub connect_timeout: std::time::Duration,
}

impl StorageConfig {
    /// A config for `url` with defaults: a pool of 8 connections,
    /// migrations applied on connect.
    pub fn new(url: impl Into<String>, credential_keys: Arc<KeyRing>) -> Self {
        Self {
            url: SecretString::from(url.into()),
            credential_keys,
            max_connections: 8,
            migrate: true,
            connect_timeout: std::time::Duration::from_secs(5),
        }
    }

    /// The URL's scheme (`sqlite`, `postgres`, …).
    pub fn scheme(&self) -> &str {
        let url = self.url.expose_secret();
        url.split_once(':').map_or(url, |(scheme, _)| scheme)
    }
}

impl fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageConfig")
            .field("scheme", &self.scheme())
            .field("max_connections", &self.max_connections)
            .field("migrate", &self.migrate)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

/// What a driver's `connect` returns.
pub type ConnectFuture = Pin<Box<dyn Future<Output = Result<Arc<dyn Storage>, AuthError>> + Send>>;

/// A storage driver plugin: the URL scheme it serves and how to connect.
#[derive(Clone, Copy)]
pub struct StorageRegistration {
    scheme: &'static str,
    connect: fn(StorageConfig) -> ConnectFuture,
}

impl StorageRegistration {
    /// A driver for URLs with `scheme`.
    pub const fn new(scheme: &'static str, connect: fn(StorageConfig) -> ConnectFuture) -> Self {
        Self { scheme, connect }
    }

    /// Connects (and, if configured, migrates).
    pub fn connect(&self, config: StorageConfig) -> ConnectFuture {
        (self.connect)(config)
    }
}

impl Registration for StorageRegistration {
    const KIND: &'static str = "storage driver";

    fn name(&self) -> &'static str {
        self.scheme
    }
}

impl fmt::Debug for StorageRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageRegistration")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

inventory::collect!(StorageRegistration);

/// Registers a storage driver for a URL scheme at compile time.
#[macro_export]
macro_rules! register_storage {
    ($scheme:expr, $connect:expr $(,)?) => {
        $crate::inventory::submit! {
            $crate::store::StorageRegistration::new($scheme, $connect)
        }
    };
}

/// Connects to the database `config.url` names, with the driver registered
/// for its scheme.
pub async fn connect(
    registry: &crate::Registry<StorageRegistration>,
    config: StorageConfig,
) -> Result<Arc<dyn Storage>, AuthError> {
    let driver = registry.get(config.scheme())?;
    driver.connect(config).await
}
