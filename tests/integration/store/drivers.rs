//! What is particular to each driver: registration, SQLite's set-up, URL
//! handling and what errors may say.

use std::sync::Arc;

use auth_core::store::StorageConfig;
use auth_core::{AuthError, KeyRing, KeySet};
use sqlx::Connection;

use super::harness::{Fixture, drivers, postgres_url};

fn keys() -> Arc<KeyRing> {
    Arc::new(KeyRing::new(KeySet::generate()))
}

#[test]
fn every_driver_is_registered_by_scheme() {
    assert_eq!(drivers().names(), ["postgres", "postgresql", "sqlite"]);
    assert_eq!(
        auth_plugins::storage::DEFAULT_DATABASE_URL,
        "sqlite://./data/auth.db"
    );
}

#[tokio::test]
async fn sqlite_creates_its_directory_and_runs_in_wal_with_foreign_keys() {
    let f = Fixture::sqlite().await;
    assert_eq!(f.storage.backend(), "sqlite");
    let path = f.url.trim_start_matches("sqlite://");
    assert!(std::path::Path::new(path).is_file());
    let mut conn = sqlx::SqliteConnection::connect(&f.url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    conn.close().await.unwrap();
    // Foreign keys are enforced on the store's own connections: a dangling
    // reference is refused, not stored.
    let orphan = super::harness::user("orphan", "no-such-domain");
    assert!(matches!(
        f.storage.create_user(&orphan, None).await,
        Err(AuthError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_store_opened_without_migrating_reports_itself_unhealthy_until_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/auth.db", dir.path().display());
    let mut config = StorageConfig::new(url, keys());
    config.migrate = false;
    let storage = auth_core::store::connect(&drivers(), config).await.unwrap();
    assert!(matches!(
        storage.health().await,
        Err(AuthError::StoreUnavailable(_))
    ));
    storage.migrate().await.unwrap();
    storage.health().await.unwrap();
    storage.get_domain("default").await.unwrap();
}

#[tokio::test]
async fn bad_urls_are_typed_errors_that_never_echo_the_url() {
    let registry = drivers();
    let connect = |url: &str| auth_core::store::connect(&registry, StorageConfig::new(url, keys()));
    let unknown = connect("mysql://root:hunter2@127.0.0.1/db")
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, AuthError::UnknownPlugin { .. }),
        "{unknown:?}"
    );
    // A listener that hangs up on every connection: the driver fails at
    // once (a refused connection would be retried until the pool's
    // timeout, which is what a server starting beside its database wants).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            drop(stream);
        }
    });
    let url = format!("postgres://admin:hunter2@127.0.0.1:{port}/db");
    let refused = connect(&url).await.unwrap_err();
    assert!(
        matches!(refused, AuthError::StoreUnavailable(_)),
        "{refused:?}"
    );
    let message = format!("{refused} {refused:?}");
    assert!(
        !message.contains("hunter2") && !message.contains("admin"),
        "{message}"
    );
    let unopenable = connect("sqlite:///proc/no/such/dir/auth.db")
        .await
        .unwrap_err();
    assert!(
        matches!(unopenable, AuthError::StoreUnavailable(_)),
        "{unopenable:?}"
    );
}

#[tokio::test]
async fn postgres_accepts_both_schemes() {
    let Some(f) = Fixture::postgres().await else {
        return;
    };
    assert_eq!(f.storage.backend(), "postgres");
    let other_scheme = match f.url.strip_prefix("postgresql://") {
        Some(rest) => format!("postgres://{rest}"),
        None => f.url.replacen("postgres://", "postgresql://", 1),
    };
    assert_ne!(other_scheme, f.url);
    let again = super::harness::open(&other_scheme, keys()).await;
    again.health().await.unwrap();
    assert!(postgres_url().is_some());
}

/// A pooled PostgreSQL connection the server has dropped (a restart, a
/// failover) is found out by the ping an idle connection gets before use,
/// and replaced: the next call succeeds.
#[tokio::test]
async fn postgres_replaces_connections_the_server_dropped() {
    let Some(f) = Fixture::postgres().await else {
        return;
    };
    let name = format!("auth_test_{}", auth_core::store::new_id());
    let storage = super::harness::open(&format!("{}&application_name={name}", f.url), keys()).await;
    storage.health().await.unwrap();
    let terminated = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{name}'"
    );
    f.raw_execute(&terminated).await;
    // Past the idle time after which a connection is pinged before use
    // (sqlx measures it on the monotonic clock, which a test cannot move).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    storage.health().await.unwrap();
}

/// Without `AUTH_TEST_POSTGRES_URL`, the PostgreSQL tests used to report
/// `ok` with their skip message captured by the test harness: the notice
/// must reach the test binary's stderr, however the test is run.
#[test]
fn skipped_postgres_tests_say_so_on_stderr() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::postgres::migrate_is_idempotent_and_keeps_the_default_domain",
        ])
        .env_remove(super::harness::POSTGRES_URL_VAR)
        .env_remove(super::harness::REQUIRE_POSTGRES_VAR)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert!(
        stderr.contains(super::harness::SKIPPED_NOTICE),
        "{stdout}{stderr}"
    );
}
