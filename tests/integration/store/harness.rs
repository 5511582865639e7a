//! Fresh databases for the conformance suite: a SQLite file in a temporary
//! directory, or a PostgreSQL schema of its own, dropped afterwards.

use std::sync::Arc;

use auth_core::store::{
    Domain, PasswordRecord, Project, Storage, StorageConfig, StorageRegistration, User, connect,
    new_id,
};
use auth_core::{KeyRing, KeySet, Registry};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sqlx::Connection;

/// The PostgreSQL server the PostgreSQL runs use.
pub(crate) const POSTGRES_URL_VAR: &str = "AUTH_TEST_POSTGRES_URL";
/// Set to `1` (CI does) to make a missing PostgreSQL a failure, not a skip.
pub(crate) const REQUIRE_POSTGRES_VAR: &str = "AUTH_TEST_REQUIRE_POSTGRES";

/// One test's database, connected through the driver registry.
pub(crate) struct Fixture {
    /// The store under test.
    pub(crate) storage: Arc<dyn Storage>,
    /// The URL it was opened with (for reopening).
    pub(crate) url: String,
    /// The credential key set it seals with.
    pub(crate) keys: Arc<KeyRing>,
    /// Direct access, to look at what is really stored.
    raw: Raw,
    _cleanup: Cleanup,
}

enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// What to remove when a test's database goes.
pub(crate) enum Cleanup {
    TempDir(#[allow(dead_code)] tempfile::TempDir),
    Schema { admin_url: String, schema: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::Schema { admin_url, schema } = self {
            // Drop runs outside any runtime we may block on (and during a
            // panic too): a thread of its own with its own runtime.
            let (url, name) = (admin_url.clone(), schema.clone());
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&url).await?;
                    // A server stopped with an audit batch in flight can
                    // leave its connection idle in a transaction, holding
                    // a lock on the schema until its pool closes, which
                    // the runtime this waits in keeps from happening: such
                    // leftovers of the finished test are ended, then the
                    // drop is tried again.
                    sqlx::query("SET lock_timeout = '5s'")
                        .execute(&mut conn)
                        .await?;
                    let mut attempts = 0;
                    loop {
                        let dropped = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                            .execute(&mut conn)
                            .await;
                        attempts += 1;
                        if dropped.is_ok() || attempts == 5 {
                            return dropped.map(drop);
                        }
                        sqlx::query(
                            "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a \
                             WHERE a.state LIKE 'idle in transaction%' \
                             AND a.pid <> pg_backend_pid() AND EXISTS ( \
                               SELECT 1 FROM pg_locks l \
                               JOIN pg_class c ON c.oid = l.relation \
                               JOIN pg_namespace n ON n.oid = c.relnamespace \
                               WHERE l.pid = a.pid AND n.nspname = $1)",
                        )
                        .bind(&name)
                        .execute(&mut conn)
                        .await?;
                    }
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop test schema {schema}");
            }
        }
    }
}

/// The storage driver registry, with auth-plugins linked.
pub(crate) fn drivers() -> Registry<StorageRegistration> {
    auth_plugins::link();
    Registry::from_inventory().expect("storage drivers register consistently")
}

/// Opens `url` through the registry, migrating it.
pub(crate) async fn open(url: &str, keys: Arc<KeyRing>) -> Arc<dyn Storage> {
    connect(&drivers(), StorageConfig::new(url, keys))
        .await
        .expect("the test database opens")
}

impl Fixture {
    /// A new SQLite database, in a directory that does not exist yet.
    pub(crate) async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/nested/dir/auth.db", dir.path().display());
        let keys = Arc::new(KeyRing::new(KeySet::generate()));
        let storage = open(&url, keys.clone()).await;
        let raw = sqlx::SqlitePool::connect(&url).await.expect("raw sqlite");
        Self {
            storage,
            url,
            keys,
            raw: Raw::Sqlite(raw),
            _cleanup: Cleanup::TempDir(dir),
        }
    }

    /// A new schema in the PostgreSQL named by `AUTH_TEST_POSTGRES_URL`, or
    /// `None` (with a line saying so) when it is unset and not required.
    pub(crate) async fn postgres() -> Option<Self> {
        let (url, cleanup) = postgres_schema().await?;
        let keys = Arc::new(KeyRing::new(KeySet::generate()));
        let storage = open(&url, keys.clone()).await;
        let raw = sqlx::PgPool::connect(&url).await.expect("raw postgres");
        Some(Self {
            storage,
            url,
            keys,
            raw: Raw::Postgres(raw),
            _cleanup: cleanup,
        })
    }

    /// The stored (sealed) bytes of a credential's blob.
    pub(crate) async fn raw_credential_blob(&self, credential_id: &str) -> Vec<u8> {
        let sql = "SELECT sealed_blob FROM credentials WHERE id = $1";
        match &self.raw {
            Raw::Sqlite(pool) => sqlx::query_scalar(sql)
                .bind(credential_id)
                .fetch_one(pool)
                .await
                .unwrap(),
            Raw::Postgres(pool) => sqlx::query_scalar(sql)
                .bind(credential_id)
                .fetch_one(pool)
                .await
                .unwrap(),
        }
    }

    /// The text a query of one row and one TEXT column reads directly.
    pub(crate) async fn raw_text(&self, sql: &str) -> String {
        match &self.raw {
            Raw::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
            Raw::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        }
    }

    /// Runs a statement directly, behind the store's back.
    pub(crate) async fn raw_execute(&self, sql: &str) {
        match &self.raw {
            Raw::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
            Raw::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        }
        .unwrap();
    }
}

/// A new, empty schema in the PostgreSQL named by `AUTH_TEST_POSTGRES_URL`
/// and a URL whose connections use it, or `None` (with a line saying so)
/// when it is unset and not required. The schema is dropped with the
/// returned [`Cleanup`].
pub(crate) async fn postgres_schema() -> Option<(String, Cleanup)> {
    let admin_url = postgres_url()?;
    let schema = format!("auth_test_{}", new_id());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|_| panic!("cannot connect to {POSTGRES_URL_VAR}"));
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .expect("create the test schema");
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
    Some((url, Cleanup::Schema { admin_url, schema }))
}

/// `AUTH_TEST_POSTGRES_URL`, or `None` when it is unset and PostgreSQL is
/// not required. Panics when it is required but missing.
pub(crate) fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var(REQUIRE_POSTGRES_VAR).as_deref() == Ok("1") => {
            panic!("{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set")
        }
        _ => {
            say_postgres_is_skipped();
            None
        }
    }
}

/// What a skipped PostgreSQL test says, once per test binary.
pub(crate) const SKIPPED_NOTICE: &str = "NOTICE: the PostgreSQL tests are skipped (they still \
     report ok): AUTH_TEST_POSTGRES_URL is not set";

/// Says, once per test binary, that the PostgreSQL tests are skipped. It
/// writes to the process's stderr itself: `eprintln!` in a test is
/// captured by the test harness and only shown if the test fails, so every
/// skipped test used to report `ok` with nothing visible.
fn say_postgres_is_skipped() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{SKIPPED_NOTICE}");
    });
}

/// A user in `domain_id` with a fresh id and no options.
pub(crate) fn user(name: &str, domain_id: &str) -> User {
    User::new(new_id(), name, domain_id)
}

/// A domain with a fresh id.
pub(crate) fn domain(name: &str) -> Domain {
    Domain::new(new_id(), name).with_description(format!("the {name} domain"))
}

/// A project in `domain_id` with a fresh id.
pub(crate) fn project(name: &str, domain_id: &str) -> Project {
    Project::new(new_id(), name, domain_id)
}

/// A password record set at `created_at`.
pub(crate) fn password(hash: &str, created_at: DateTime<Utc>) -> PasswordRecord {
    PasswordRecord::new(SecretString::from(hash), created_at)
}

/// A fixed instant `seconds` after an arbitrary epoch, at microsecond
/// precision (what the store keeps).
pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 250_000).unwrap()
}
