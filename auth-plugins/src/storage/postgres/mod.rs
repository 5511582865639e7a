//! The PostgreSQL driver (`postgres://…` or `postgresql://…`), for
//! deployments where several stateless auth-server nodes share one
//! database.
//!
//! The schema and every statement stay within what PostgreSQL-compatible
//! distributed engines accept: no extensions, triggers, stored functions or
//! vendor syntax. Concurrency rests on single statements (`UPDATE … SET n =
//! n + 1 RETURNING n`, `INSERT … ON CONFLICT DO NOTHING`, compare-and-set
//! on a version), which are atomic under the default isolation level.
//!
//! To keep tests or tenants apart by schema, put the search path in the
//! URL: `postgres://host/db?options=-c%20search_path%3Dname`.

use std::str::FromStr;
use std::time::Duration;

use auth_core::AuthError;
use auth_core::store::{Storage, StorageConfig};
use secrecy::ExposeSecret;
use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::shared::{SqlCore, boxed, failed, sql_store};

/// How long a caller waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// A pooled connection idle this long is pinged before use, and replaced if
/// the server has gone away (a restart, a failover, an idle timeout).
/// sqlx's default pings before *every* use, a second round trip on the
/// request path of every query. sqlx also pings each connection as it goes
/// back to the pool, so only a connection that breaks in the second between
/// its return and its next use reaches a query, which then fails (503) and
/// the connection is replaced.
const PING_WHEN_IDLE: Duration = Duration::from_secs(1);

/// The schema's migrations, embedded at build time. Not `ignore_missing`:
/// a node refuses to migrate (and so to start) on a database a newer build
/// migrated, since this build cannot know what the newer schema changed;
/// [`super::shared::migration_failed`] says to upgrade the binary.
static MIGRATOR: Migrator = Migrator {
    ignore_missing: false,
    ..sqlx::migrate!("./migrations/postgres")
};

/// A PostgreSQL database.
#[derive(Debug)]
pub struct PostgresStore {
    core: SqlCore<sqlx::Postgres>,
}

sql_store!(
    PostgresStore,
    sqlx::Postgres,
    backend = "postgres",
    migrator = MIGRATOR
);

impl PostgresStore {
    /// Connects to the database `config.url` names, and migrates it if
    /// `config.migrate`.
    pub async fn connect(config: StorageConfig) -> Result<Self, AuthError> {
        let options = PgConnectOptions::from_str(config.url.expose_secret())
            .map_err(|_| AuthError::invalid_config("storage", "the postgres URL is not valid"))?
            // The server's NOTICEs (`relation "_sqlx_migrations" already
            // exists, skipping` at every start) are not the operator's
            // business; warnings and errors still come through.
            .options([("client_min_messages", "warning")]);
        probe(&options, config.connect_timeout).await?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_WHEN_IDLE {
                        connection.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(failed("connect to the postgres database"))?;
        // One pool: the server does its own read/write scheduling.
        let store = Self {
            core: SqlCore::new(pool.clone(), pool, "BEGIN", config.credential_keys),
        };
        if config.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }
}

/// Opens one connection within `timeout`, so that an unreachable server
/// or a missing database fails at once with the host, port, database and
/// cause (never the password), instead of after the pool's acquire timeout
/// with "timed out waiting for a connection".
async fn probe(options: &PgConnectOptions, timeout: Duration) -> Result<(), AuthError> {
    let at = format!(
        "PostgreSQL at {}:{} (database {})",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("named after the user")
    );
    let cause = match tokio::time::timeout(timeout, sqlx::PgConnection::connect_with(options)).await
    {
        Ok(Ok(connection)) => {
            // Closing is a courtesy; the pool opens its own.
            let _ = connection.close().await;
            return Ok(());
        }
        Err(_) => format!(
            "no answer within {} s ([database] connect_timeout)",
            timeout.as_secs_f32()
        ),
        Ok(Err(sqlx::Error::Database(e))) => match e.code().as_deref() {
            Some("3D000") => "the database does not exist".to_owned(),
            Some("28P01" | "28000") => format!("the server refused the login: {}", e.message()),
            Some(code) => format!("{} (SQLSTATE {code})", e.message()),
            None => e.message().to_owned(),
        },
        Ok(Err(sqlx::Error::Io(e))) => e.to_string(),
        Ok(Err(sqlx::Error::Tls(e))) => format!("TLS: {e}"),
        Ok(Err(e)) => e.to_string(),
    };
    Err(AuthError::StoreUnavailable(format!(
        "cannot connect to {at}: {cause}"
    )))
}

auth_core::register_storage!("postgres", |config| boxed(PostgresStore::connect(config)));
auth_core::register_storage!("postgresql", |config| boxed(PostgresStore::connect(config)));

pub(crate) fn anchor() {}

#[cfg(test)]
mod tests;
