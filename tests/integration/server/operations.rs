//! The operator CLI's library functions: users and doctor.

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
