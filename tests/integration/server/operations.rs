//! The operator CLI's library functions: users and doctor.

use auth_core::store::{Credential, new_id};
use auth_server::{AppState, Config, operations};
use secrecy::SecretString;

use super::harness::{TestServer, password_body};

#[tokio::test]
async fn users_are_created_listed_and_given_new_passwords() {
    let s = TestServer::start().await;
    let storage = s.storage().as_ref();
    let cx = s.state.services();
    let secret = |p: &str| SecretString::from(p.to_owned());
    let frank = operations::create_user(&cx, "default", "frank", secret("f1"))
        .await
        .unwrap();
    let listed = operations::list_users(storage, Some("default"))
        .await
        .unwrap();
    assert!(
        listed.contains(&format!("{}  frank  default  enabled", frank.id)),
        "{listed}"
    );
    assert!(
        operations::create_user(&cx, "default", "frank", secret("x"))
            .await
            .is_err()
    );
    assert!(
        operations::create_user(&cx, "nowhere", "gina", secret("x"))
            .await
            .is_err()
    );
    assert_eq!(
        s.issue(&password_body("frank", "f1", None), None)
            .await
            .status(),
        201
    );
    operations::set_password(&cx, "default", "frank", secret("f2"))
        .await
        .unwrap();
    assert_eq!(
        s.issue(&password_body("frank", "f1", None), None)
            .await
            .status(),
        401
    );
    assert_eq!(
        s.issue(&password_body("frank", "f2", None), None)
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn doctor_finds_an_unmigrated_database_and_passes_a_running_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}/auth.db", dir.path().display());
    config.keys.dir = dir.path().join("keys");
    // An empty database file, as a node that never migrated leaves.
    auth_server::state::connect_without_migrating(&config, auth_core::KeySet::generate())
        .await
        .unwrap();
    let fresh = operations::doctor(&config).await;
    let failed: Vec<_> = fresh
        .iter()
        .filter(|c| c.problem.is_some())
        .map(|c| c.name)
        .collect();
    assert!(
        failed
            .iter()
            .any(|n| n.starts_with("the schema is current")),
        "{fresh:?}"
    );
    assert!(operations::report(&fresh).is_err());
    // Starting the server migrates and creates the keys.
    AppState::build(config.clone()).await.unwrap();
    let healthy = operations::doctor(&config).await;
    assert!(healthy.iter().all(|c| c.problem.is_none()), "{healthy:?}");
    assert!(
        operations::report(&healthy)
            .unwrap()
            .lines()
            .all(|l| l.starts_with("ok"))
    );
    config.auth.methods.push("kerberos".into());
    let unknown = operations::doctor(&config).await;
    assert!(unknown[0].problem.as_ref().unwrap().contains("kerberos"));
}

/// Run from a directory without the node's files, `doctor` used to create
/// `./data`, an empty database and a credential key file, then report on
/// them. It must create nothing and say what is missing.
#[tokio::test]
async fn doctor_run_elsewhere_creates_nothing_and_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}/data/auth.db", dir.path().display());
    config.keys.dir = dir.path().join("keys");
    let checks = operations::doctor(&config).await;
    let created: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(created.is_empty(), "doctor created {created:?}");
    let problems: Vec<_> = checks.iter().filter_map(|c| c.problem.clone()).collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("credential-keys.json does not exist")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("auth.db does not exist")),
        "{problems:?}"
    );
}

/// A node given another credential key file starts, and TOTP logins fail
/// there with a 503: `doctor` must find it by decrypting the stored
/// credentials, and name the file.
#[tokio::test]
async fn doctor_finds_a_credential_key_file_from_another_node() {
    let s = super::harness::TestServer::start().await;
    s.storage()
        .create_credential(&Credential::new(
            new_id(),
            s.admin.user.id.clone(),
            "totp",
            SecretString::from("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".to_owned()),
        ))
        .await
        .unwrap();
    let same = operations::doctor(s.config()).await;
    assert!(same.iter().all(|c| c.problem.is_none()), "{same:?}");
    // Another node: the same KEK file, but its own credential key file.
    let other = tempfile::tempdir().unwrap();
    let mut config = s.config().clone();
    config.keys.dir = other.path().to_path_buf();
    std::fs::copy(
        auth_server::keys::kek_path(&s.config().keys.dir),
        auth_server::keys::kek_path(&config.keys.dir),
    )
    .unwrap();
    auth_server::keys::credential_keys(&config.keys.dir).unwrap();
    let checks = operations::doctor(&config).await;
    let failed: Vec<_> = checks.iter().filter(|c| c.problem.is_some()).collect();
    assert_eq!(failed.len(), 1, "{checks:?}");
    let problem = failed[0].problem.as_deref().unwrap();
    let file = auth_server::keys::credential_keys_path(&config.keys.dir);
    assert!(problem.contains(&file.display().to_string()), "{problem}");
    assert!(operations::report(&checks).is_err());
}
