//! What both SQL drivers share: the store implementations, row mapping,
//! error mapping, time encoding and the sealing of credential blobs.
//!
//! One SQL text serves both databases: placeholders are `$1`, `$2`, …
//! (SQLite accepts them as numbered parameters), upserts are `ON CONFLICT
//! DO NOTHING`, `RETURNING` exists on both, booleans bind as `bool`, times
//! are BIGINT microseconds. The role traits are implemented once, as macros
//! expanded for each driver's concrete store type: sqlx's executor traits
//! make code generic over the database hard to write inside `async_trait`
//! (higher-ranked `Send` bounds), while a macro expanded at a concrete type
//! is ordinary, fully type-checked code.
//!
//! A driver is a struct with a `core: SqlCore<DB>` field; it invokes
//! [`sql_store!`] once and provides its own connection set-up.

mod assignments;
mod audit;
mod catalog;
mod counters;
mod credentials;
mod documents;
mod error;
mod handlers;
mod imaging;
mod keys;
mod oauth1;
mod passwords;
mod revocations;
mod rows;
mod sealing;
mod storage;
mod time;
mod trusts;
mod users;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use auth_core::store::{ConnectFuture, RevisionReader, Storage};
use auth_core::{AuthError, KeyRing};
use sqlx::{Database, Pool, Transaction};

pub(crate) use assignments::assignment_store;
pub(crate) use audit::audit_store;
pub(crate) use catalog::catalog_store;
pub(crate) use counters::counter_store;
pub(crate) use credentials::credential_store;
pub(crate) use documents::document_store;
pub(crate) use error::failed;
pub(crate) use handlers::handler_store;
pub(crate) use imaging::imaging_store;
pub(crate) use keys::key_store;
pub(crate) use oauth1::oauth1_store;
pub(crate) use passwords::password_store;
pub(crate) use revocations::revocation_store;
pub(crate) use storage::sql_store;
pub(crate) use trusts::trust_store;
pub(crate) use users::user_store;

/// Everything the macro-generated implementations refer to by name.
pub(crate) mod prelude {
    pub(crate) use async_trait::async_trait;
    pub(crate) use auth_core::AuthError;
    pub(crate) use auth_core::store::*;
    pub(crate) use chrono::{DateTime, Utc};
    pub(crate) use secrecy::{ExposeSecret, SecretString};

    pub(crate) use super::assignments::implied_role_select;
    pub(crate) use super::audit::AUDIT_ROWS_PER_INSERT;
    pub(crate) use super::catalog::catalog_select;
    pub(crate) use super::error::{
        failed, is_foreign_key_violation, not_found, unavailable, write_failed,
    };
    pub(crate) use super::rows::*;
    pub(crate) use super::sealing::{open_text, seal_blob, seal_text};
    pub(crate) use super::storage::{DEFAULT_DOMAIN_NAME, migration_failed, schema_state};
    pub(crate) use super::time::{to_micros, to_micros_opt};
    pub(crate) use super::{BUMP_TOKEN_REVISION, ExecuteRevised, SqlCore, found};
}

/// What a driver holds: where reads and writes go, how a write transaction
/// starts, and the key set credential blobs are sealed with.
pub(crate) struct SqlCore<DB: Database> {
    /// Reads. On SQLite a separate pool of read-only connections, which WAL
    /// lets run beside the writer.
    pub(crate) read: Pool<DB>,
    /// Writes. On SQLite exactly one connection: SQLite has one writer
    /// anyway, and queueing in the pool beats spinning on `SQLITE_BUSY`.
    pub(crate) write: Pool<DB>,
    /// The statement that opens a write transaction (`BEGIN IMMEDIATE` on
    /// SQLite, so a transaction that reads before it writes cannot fail to
    /// upgrade its lock).
    pub(crate) begin_write: &'static str,
    /// Seals and opens credential blobs.
    pub(crate) credential_keys: Arc<KeyRing>,
    /// Reads the token revision in place, where the driver can (SQLite
    /// on a file).
    pub(crate) revision_reader: Option<Arc<dyn RevisionReader>>,
}

impl<DB: Database> SqlCore<DB> {
    /// A core over the given pools.
    pub(crate) fn new(
        read: Pool<DB>,
        write: Pool<DB>,
        begin_write: &'static str,
        credential_keys: Arc<KeyRing>,
    ) -> Self {
        Self {
            read,
            write,
            begin_write,
            credential_keys,
            revision_reader: None,
        }
    }

    /// The same core, with `reader` answering
    /// [`RevocationStore::revision_reader`](auth_core::store::RevocationStore::revision_reader).
    #[cfg(feature = "sqlite")]
    pub(crate) fn with_revision_reader(mut self, reader: Option<Arc<dyn RevisionReader>>) -> Self {
        self.revision_reader = reader;
        self
    }

    /// Opens a write transaction; dropping it without `commit` rolls back,
    /// so an error part-way through leaves nothing written.
    pub(crate) async fn begin(
        &self,
        operation: &'static str,
    ) -> Result<Transaction<'static, DB>, AuthError> {
        self.write
            .begin_with(self.begin_write)
            .await
            .map_err(failed(operation))
    }

    /// Closes both pools (waits for connections in use to come back).
    pub(crate) async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

impl<DB: Database> fmt::Debug for SqlCore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlCore")
            .field("read_connections", &self.read.size())
            .field("write_connections", &self.write.size())
            .finish_non_exhaustive()
    }
}

/// Moves the token revision (see the `token_revision` migration).
pub(crate) const BUMP_TOKEN_REVISION: &str =
    "UPDATE token_revision SET value = value + 1 WHERE id = 1";

/// Runs a write and moves the token revision in one transaction, so no node
/// can see the change without the new revision (and serve a cached
/// validation computed before it).
pub(crate) trait ExecuteRevised<DB: Database> {
    /// `execute`, plus the revision if a row changed, atomically.
    fn execute_revised(
        self,
        core: &SqlCore<DB>,
    ) -> impl Future<Output = Result<DB::QueryResult, sqlx::Error>> + Send;
}

/// What a driver's registration returns: its `connect`, boxed and erased
/// to `Arc<dyn Storage>`.
pub(crate) fn boxed<S, F>(connecting: F) -> ConnectFuture
where
    S: Storage + 'static,
    F: Future<Output = Result<S, AuthError>> + Send + 'static,
{
    Box::pin(async move {
        let storage: Arc<dyn Storage> = Arc::new(connecting.await?);
        Ok(storage)
    })
}

/// `Ok` if a statement touched a row, else the not-found `missing` builds.
pub(crate) fn found(rows: u64, missing: impl FnOnce() -> AuthError) -> Result<(), AuthError> {
    if rows == 0 { Err(missing()) } else { Ok(()) }
}
