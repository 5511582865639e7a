//! `backup` and `restore`: a user with a password and a TOTP credential
//! survives a backup, a wipe (database and key files) and a restore.

use auth_core::Clock;
use auth_core::store::{Credential, new_id};
use auth_plugins::methods::totp;
use auth_server::{Config, backup, operations};
use secrecy::SecretString;
use serde_json::json;
use sqlx::Connection;

use super::harness::{TestServer, password_body};

const TOTP_SEED: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// Creates carol (password and TOTP) on `config`'s node, backs up, lets
/// `wipe` destroy the database, restores, and logs carol in both ways.
async fn survives_backup_wipe_and_restore(
    config: impl Fn(&mut Config) + Clone,
    wipe: impl AsyncFnOnce(&Config),
) {
    let s = TestServer::start_custom(None, "", config.clone(), None).await;
    let cx = s.state.services();
    let carol = operations::create_user(
        &cx,
        "default",
        "carol",
        SecretString::from("carol-pass".to_owned()),
    )
    .await
    .unwrap();
    s.storage()
        .create_credential(&Credential::new(
            new_id(),
            carol.id.clone(),
            "totp",
            SecretString::from(TOTP_SEED.to_owned()),
        ))
        .await
        .unwrap();
    let node = s.config().clone();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("backup");
    let manifest = backup::backup(&node, &dir).await.unwrap();
    assert!(
        manifest
            .files
            .iter()
            .any(|f| f.path == "keys/credential-keys.json"),
        "{manifest:?}"
    );
    // A damaged backup is refused, even with --force, before anything is
    // touched.
    let damaged = out.path().join("damaged");
    std::fs::create_dir_all(damaged.join("keys")).unwrap();
    for file in manifest
        .files
        .iter()
        .map(|f| f.path.as_str())
        .chain(["manifest.json"])
    {
        std::fs::copy(dir.join(file), damaged.join(file)).unwrap();
    }
    std::fs::write(damaged.join("keys/credential-keys.json"), b"{}").unwrap();
    let refused = backup::restore(&node, &damaged, true).await.unwrap_err();
    assert!(refused.to_string().contains("checksum"), "{refused}");
    // A database that already holds tables is not replaced without --force.
    let refused = backup::restore(&node, &dir, false).await.unwrap_err();
    assert!(refused.to_string().contains("--force"), "{refused}");
    drop(s);
    wipe(&node).await;
    std::fs::remove_dir_all(&node.keys.dir).unwrap();

    backup::restore(&node, &dir, false).await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(node.keys.dir.join("credential-keys.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let restored = TestServer::start_custom(None, "", config, None).await;
    assert_eq!(
        restored
            .issue(&password_body("carol", "carol-pass", None), None)
            .await
            .status(),
        201
    );
    let secret = totp::decode_secret(TOTP_SEED).unwrap();
    let passcode = totp::passcode_at(&secret, restored.clock.now());
    let body = json!({"auth": {"identity": {"methods": ["totp"],
        "totp": {"user": {"id": carol.id, "passcode": passcode}}}}});
    assert_eq!(restored.issue(&body, None).await.status(), 201);
}

#[tokio::test]
async fn a_sqlite_backup_restores_passwords_and_totp_after_a_wipe() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("auth.db");
    let keys = data.path().join("keys");
    let url = format!("sqlite://{}", db.display());
    survives_backup_wipe_and_restore(
        move |c: &mut Config| {
            c.database.url = url.clone();
            c.keys.dir = keys.clone();
        },
        async |node: &Config| {
            let file = node.database.url.trim_start_matches("sqlite://").to_owned();
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{file}{suffix}"));
            }
            assert!(!std::path::Path::new(&file).exists());
        },
    )
    .await;
}

/// On a database of its own (`pg_dump` dumps a whole database), created
/// and dropped here so parallel tests on the shared one are not disturbed.
#[tokio::test]
async fn a_postgres_backup_restores_passwords_and_totp_after_a_wipe() {
    let Some(admin_url) = crate::store::harness::postgres_url() else {
        return;
    };
    let name = format!("auth_backup_{}", new_id().replace('-', ""));
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url.as_str(), String::new()),
    };
    let (server, _) = base.rsplit_once('/').unwrap();
    let url = format!("{server}/{name}{query}");
    let data = tempfile::tempdir().unwrap();
    let keys = data.path().join("keys");
    let wipe_db = name.clone();
    let wipe_admin = admin_url.clone();
    survives_backup_wipe_and_restore(
        move |c: &mut Config| {
            c.database.url = url.clone();
            c.keys.dir = keys.clone();
        },
        async move |_: &Config| {
            let mut admin = sqlx::PgConnection::connect(&wipe_admin).await.unwrap();
            for sql in [
                format!("DROP DATABASE {wipe_db} WITH (FORCE)"),
                format!("CREATE DATABASE {wipe_db}"),
            ] {
                sqlx::query(&sql).execute(&mut admin).await.unwrap();
            }
        },
    )
    .await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}
