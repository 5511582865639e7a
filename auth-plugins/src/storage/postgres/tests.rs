//! Connecting: an unreachable server or a missing database is reported
//! within `connect_timeout`, naming host, port, database and cause (never
//! the password); the server's NOTICEs are not logged.
//!
//! The tests that need a server use `AUTH_TEST_POSTGRES_URL` and are
//! skipped (saying so) without it, unless `AUTH_TEST_REQUIRE_POSTGRES=1`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use auth_core::{KeyRing, KeySet};
use sqlx::Connection;
use tracing_subscriber::layer::SubscriberExt;

use super::*;

fn config(url: &str, timeout: Duration) -> StorageConfig {
    let mut config = StorageConfig::new(url, Arc::new(KeyRing::new(KeySet::generate())));
    config.connect_timeout = timeout;
    config
}

/// The test server's URL, `None` (saying so) when unset and not required.
fn server_url() -> Option<String> {
    match std::env::var("AUTH_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("AUTH_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("AUTH_TEST_REQUIRE_POSTGRES=1 but AUTH_TEST_POSTGRES_URL is not set")
        }
        _ => {
            // Past the test harness's capture, so a skip is visible.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "NOTICE: skipped: AUTH_TEST_POSTGRES_URL is not set"
            );
            None
        }
    }
}

/// A server that accepts connections and never answers used to be waited
/// for 30 s, then reported as "timed out waiting for a connection".
#[tokio::test]
async fn a_server_that_does_not_answer_is_reported_within_the_timeout() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let url = format!("postgres://auth:s3cr3t-pw@127.0.0.1:{port}/authdb");
    let started = Instant::now();
    let error = PostgresStore::connect(config(&url, Duration::from_secs(1)))
        .await
        .unwrap_err()
        .to_string();
    assert!(started.elapsed() < Duration::from_secs(5), "{error}");
    assert!(
        error.contains(&format!("127.0.0.1:{port} (database authdb)")),
        "{error}"
    );
    assert!(error.contains("no answer within 1 s"), "{error}");
    assert!(!error.contains("s3cr3t-pw"), "{error}");
    drop(silent);
}

/// A refused connection names where and why at once.
#[tokio::test]
async fn a_refused_connection_names_the_server_and_the_cause() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("postgres://auth:s3cr3t-pw@127.0.0.1:{port}/authdb");
    let error = PostgresStore::connect(config(&url, Duration::from_secs(5)))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(error.to_lowercase().contains("refused"), "{error}");
    assert!(!error.contains("s3cr3t-pw"), "{error}");
}

/// A missing database used to be "database error 3D000".
#[tokio::test]
async fn a_missing_database_is_named() {
    let Some(url) = server_url() else { return };
    let mut options = PgConnectOptions::from_str(&url).unwrap();
    options = options.database("auth_no_such_database");
    let url = format!(
        "postgres://{}@{}:{}/auth_no_such_database",
        options.get_username(),
        options.get_host(),
        options.get_port()
    );
    let error = PostgresStore::connect(config(&url, Duration::from_secs(5)))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("(database auth_no_such_database): the database does not exist"),
        "{error}"
    );
}

/// Counts the events sqlx logs for the server's notices.
struct Notices(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Notices {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::postgres::notice" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Every start on an existing schema used to log PostgreSQL's NOTICE
/// `relation "_sqlx_migrations" already exists, skipping`.
#[tokio::test]
async fn starting_on_a_migrated_database_logs_no_notice() {
    let Some(admin_url) = server_url() else {
        return;
    };
    let schema = format!("auth_notice_{}", auth_core::store::new_id());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
    let notices = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(Notices(notices.clone()));
    let guard = tracing::subscriber::set_default(subscriber);
    for _ in 0..2 {
        let store = PostgresStore::connect(config(&url, Duration::from_secs(5)))
            .await
            .unwrap();
        store.health().await.unwrap();
    }
    drop(guard);
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .unwrap();
    assert_eq!(notices.load(Ordering::SeqCst), 0);
}
