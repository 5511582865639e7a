//! A writer killed with SIGKILL mid-write loses nothing it reported
//! committed, and leaves a database that opens and checks clean.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use auth_core::{KeyRing, KeySet};
use sqlx::Connection;

use super::harness::open;

/// How many committed users to read before killing the writer.
const COMMITTED_BEFORE_KILL: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_writer_loses_no_committed_user() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash").join("auth.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_store-writer"))
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut committed = Vec::new();
    while committed.len() < COMMITTED_BEFORE_KILL {
        let line = lines.next().expect("the writer stopped early").unwrap();
        committed.push(line);
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no checkpoint
    // Anything printed between our last read and the kill was committed too.
    committed.extend(lines.map_while(Result::ok));
    child.wait().unwrap();

    let url = format!("sqlite://{}", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u WHERE NOT EXISTS \
         (SELECT 1 FROM passwords p WHERE p.user_id = u.id)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(orphans, 0, "a user was committed without its password");
    conn.close().await.unwrap();

    let storage = open(&url, Arc::new(KeyRing::new(KeySet::generate()))).await;
    storage.health().await.unwrap();
    for id in &committed {
        let user = storage.get_user(id).await.unwrap();
        assert!(storage.current_password(&user.id).await.unwrap().is_some());
    }
}
