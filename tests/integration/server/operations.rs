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
        failed.contains(&"the schema matches this binary"),
        "{fresh:?}"
    );
    let said = fresh
        .iter()
        .find_map(|c| c.problem.clone().filter(|p| p.contains("migrate")))
        .unwrap_or_default();
    assert!(said.contains("run `auth-server migrate`"), "{fresh:?}");
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

/// `bootstrap` with another password or public URL used to print
/// "bootstrapped" and change neither: like `keystone-manage bootstrap`, it
/// resets the admin password (revoking the admin's tokens), moves the
/// identity endpoint (URL and region), and says what it changed.
#[tokio::test]
async fn bootstrap_again_resets_the_password_and_moves_the_endpoint() {
    use super::harness::ADMIN_PASSWORD;
    let s = super::harness::TestServer::start().await;
    let old_token = s.admin_token().await;
    s.clock.advance(chrono::Duration::seconds(1));
    let endpoint_id = s
        .storage()
        .list_endpoints()
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.interface == "public")
        .unwrap()
        .id;
    let plan = auth_server::bootstrap::Bootstrap {
        admin_user: "admin".into(),
        admin_password: SecretString::from("a-new-admin-secret"),
        admin_project: "admin".into(),
        public_url: "https://identity.example/".into(),
        region: "RegionTwo".into(),
    };
    let done = auth_server::bootstrap::run(&s.state.services(), &plan)
        .await
        .unwrap();
    assert_eq!(done.changes.len(), 2, "{:?}", done.changes);
    assert!(done.changes[0].contains("reset the password of admin"));
    assert!(
        done.changes[1].contains("to https://identity.example in RegionTwo"),
        "{:?}",
        done.changes
    );
    let old_password = password_body("admin", ADMIN_PASSWORD, None);
    assert_eq!(s.issue(&old_password, None).await.status(), 401);
    let new_password = password_body("admin", "a-new-admin-secret", None);
    let fresh = s.issue(&new_password, None).await;
    assert_eq!(fresh.status(), 201);
    let fresh = fresh.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let old = s.validate(&fresh, &old_token).await;
    assert_eq!(old.status(), 404, "the old password's tokens are revoked");
    let moved = s.storage().get_endpoint(&endpoint_id).await.unwrap();
    assert_eq!(moved.url, "https://identity.example");
    assert_eq!(moved.region.as_deref(), Some("RegionTwo"));
    let again = auth_server::bootstrap::run(&s.state.services(), &plan)
        .await
        .unwrap();
    assert!(again.changes.is_empty(), "{:?}", again.changes);
}

/// A version applied by a newer build: `doctor` used to call such a schema
/// current (it compared only the highest version, and a higher one passed),
/// and a node started on it (sqlx's `ignore_missing`). Now `doctor` says
/// the binary is the older one and the node refuses to start, saying the
/// same; `/healthz` of a node already running stays 200, so a rolling
/// upgrade does not empty the load balancer.
async fn a_schema_newer_than_the_binary(config: Config) {
    AppState::build(config.clone()).await.unwrap();
    let raw = auth_server::state::connect_without_migrating(&config, auth_core::KeySet::generate())
        .await
        .unwrap();
    raw.health().await.unwrap();
    mark_future_migration(&config.database.url).await;
    raw.health().await.unwrap();
    let checks = operations::doctor(&config).await;
    let problems: Vec<_> = checks.iter().filter_map(|c| c.problem.clone()).collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("this binary is older than the database: upgrade it")),
        "{checks:?}"
    );
    let refused = match AppState::build(config.clone()).await {
        Ok(_) => panic!("a node started on a newer schema"),
        Err(e) => e.to_string(),
    };
    assert!(
        refused.contains("this binary is older than the database: upgrade it"),
        "{refused}"
    );
}

/// Records a migration version no build has, as a newer build would.
async fn mark_future_migration(url: &str) {
    let sql = "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
               execution_time) VALUES (99990101000000, 'from the future', TRUE, '', 0)";
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

#[tokio::test]
async fn doctor_and_start_refuse_a_schema_newer_than_the_binary_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}/auth.db", dir.path().display());
    config.keys.dir = dir.path().join("keys");
    a_schema_newer_than_the_binary(config).await;
}

#[tokio::test]
async fn doctor_and_start_refuse_a_schema_newer_than_the_binary_on_postgres() {
    let Some((url, _cleanup)) = crate::store::harness::postgres_schema().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.database.url = url;
    config.keys.dir = dir.path().join("keys");
    a_schema_newer_than_the_binary(config).await;
}
