//! The policy file at start-up: a bad one stops the server before anything
//! is opened; a good one is the policy every door asks.

use std::path::PathBuf;

use auth_server::policy::RuleSource;
use auth_server::{AppState, Config};

fn config_in(dir: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}/auth.db", dir.display());
    config.keys.dir = dir.join("keys");
    config
}

#[tokio::test]
async fn a_bad_policy_file_stops_start_up_naming_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(
        &file,
        "# overrides\n\"identity:list_users\": \"role:reader and\"\n",
    )
    .unwrap();
    let mut config = config_in(dir.path());
    config.policy.file = Some(file);
    let message = match AppState::build(config).await {
        Ok(_) => panic!("a bad policy file must stop start-up"),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("policy.yaml:2"), "{message}");
    assert!(message.contains("rule identity:list_users"), "{message}");
    assert!(message.contains("column 16"), "{message}");
    // Refused before the database or the keys were touched.
    assert!(!dir.path().join("auth.db").exists());
    assert!(!dir.path().join("keys").exists());
}

#[tokio::test]
async fn the_shipped_strict_policy_file_is_what_the_server_asks() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_in(dir.path());
    config.policy.file = Some(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../auth-server/policies/domain-confined.yaml"),
    );
    let state = AppState::build(config).await.unwrap();
    let rule = state.policy().rule("admin_required").unwrap();
    assert_eq!(rule.source(), RuleSource::File);
    assert_eq!(rule.check_str(), "role:admin and system_scope:all");
    // Without a file, Keystone's.
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::build(config_in(dir.path())).await.unwrap();
    assert_eq!(
        state.policy().rule("admin_required").unwrap().source(),
        RuleSource::Keystone
    );
}
