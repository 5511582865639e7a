//! The embedded SQLite driver, the default (`sqlite://PATH`).
//!
//! Works with no set-up: the file and its directory are created on first
//! connect. The database runs in WAL mode, so readers never block the
//! writer nor each other; foreign keys are on (cascading deletes depend on
//! them); a busy timeout absorbs other processes holding the write lock;
//! `synchronous = FULL` makes every commit durable before it returns.
//!
//! Writes go through a pool of exactly one connection (SQLite allows one
//! writer; queueing in the pool is cheaper and fairer than retrying on
//! `SQLITE_BUSY`), reads through a separate pool of read-only connections,
//! and the token revision, read once per validation, on the caller's thread
//! (`revision`).

mod revision;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use auth_core::AuthError;
use auth_core::store::{RevisionReader, Storage, StorageConfig};
use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use self::revision::FileRevisionReader;
use super::shared::{SqlCore, boxed, failed, sql_store};

/// How long a statement waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a caller waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The schema's migrations, embedded at build time. Not `ignore_missing`:
/// a node refuses to migrate (and so to start) on a database a newer build
/// migrated, since this build cannot know what the newer schema changed;
/// [`super::shared::migration_failed`] says to upgrade the binary.
static MIGRATOR: Migrator = Migrator {
    ignore_missing: false,
    ..sqlx::migrate!("./migrations/sqlite")
};

/// A SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    core: SqlCore<sqlx::Sqlite>,
}

sql_store!(
    SqliteStore,
    sqlx::Sqlite,
    backend = "sqlite",
    migrator = MIGRATOR
);

impl SqliteStore {
    /// Opens (creating if needed) the database `config.url` names, and
    /// migrates it if `config.migrate`.
    pub async fn connect(config: StorageConfig) -> Result<Self, AuthError> {
        let options = SqliteConnectOptions::from_str(config.url.expose_secret())
            .map_err(|_| AuthError::invalid_config("storage", "the sqlite URL is not valid"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        create_parent_dir(options.get_filename())?;
        // A connection to a local file cannot go stale the way a network
        // connection can, so the pool does not ping it before every use
        // (sqlx's default): that ping is a round trip to the connection's
        // worker thread, as costly as the query it precedes.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(failed("connect to the sqlite database"))?;
        // The writer has created the file and switched it to WAL, so the
        // read-only connections can open it.
        let read = SqlitePoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone().read_only(true))
            .await
            .map_err(failed("connect to the sqlite database"))?;
        let revision_reader = in_place_revision_reader(&config, options.get_filename());
        let store = Self {
            core: SqlCore::new(read, write, "BEGIN IMMEDIATE", config.credential_keys)
                .with_revision_reader(revision_reader),
        };
        if config.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }
}

/// The in-place reader of the token revision ([`revision`]) for a database
/// file; none for an in-memory database, which no other connection can
/// open, nor when the file cannot be opened a second time (then every
/// revision read is awaited, which is only slower).
fn in_place_revision_reader(
    config: &StorageConfig,
    file: &std::path::Path,
) -> Option<Arc<dyn RevisionReader>> {
    let url = config.url.expose_secret();
    if url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    match FileRevisionReader::open(file) {
        Ok(reader) => Some(Arc::new(reader)),
        Err(error) => {
            tracing::warn!(%error, "the token revision will be read through the pool");
            None
        }
    }
}

/// Creates the directory the database file goes in (`./data` for the
/// default URL), so that the default works on a fresh checkout.
fn create_parent_dir(file: &std::path::Path) -> Result<(), AuthError> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            AuthError::StoreUnavailable(format!(
                "cannot create the sqlite database directory ({:?})",
                e.kind()
            ))
        }),
        _ => Ok(()),
    }
}

auth_core::register_storage!("sqlite", |config| boxed(SqliteStore::connect(config)));

pub(crate) fn anchor() {}
