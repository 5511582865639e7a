//! Key material at rest: the shared key sets are sealed under a
//! key-encryption key (KEK) kept outside the database, a node with the
//! wrong KEK refuses to start and changes nothing, sets stored in clear by
//! an earlier version are sealed at start, and the KEK rotates across
//! nodes.

use auth_core::store::Storage;
use auth_core::{Clock, KeySet, TokenProvider};
use auth_plugins::tokens::jws::{JwsProvider, SigningAlgorithm, SigningKeySet};
use auth_server::keys::{self, RECEIPT_KEYS, SEALED_PURPOSES, SIGNING_KEYS};
use chrono::Duration;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::harness::{TestServer, admin_claims};

/// `GET /v3/auth/tokens` of `token` on `node`, as `caller`.
async fn validate(node: &TestServer, caller: &str, token: &str) -> u16 {
    node.validate(caller, token).await.status().as_u16()
}

/// Every stored key set's material and version.
async fn stored(storage: &dyn Storage) -> Vec<(String, i64)> {
    let mut all = Vec::new();
    for purpose in SEALED_PURPOSES {
        let set = storage.load_key_set(purpose).await.unwrap().unwrap();
        all.push((set.material.expose_secret().to_owned(), set.version));
    }
    all
}

/// Writes `kek` as the KEK file of a fresh keys directory holding a copy of
/// `from`'s credential keys, and returns the directory.
fn keys_dir_with(from: &TestServer, kek: Option<&KeySet>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = &from.config().keys.dir;
    std::fs::copy(
        source.join("credential-keys.json"),
        dir.path().join("credential-keys.json"),
    )
    .unwrap();
    if let Some(kek) = kek {
        std::fs::write(
            keys::kek_path(dir.path()),
            serde_json::to_string(&kek.export()).unwrap(),
        )
        .unwrap();
    }
    dir
}

#[tokio::test]
async fn the_shared_key_sets_are_sealed_in_the_database() {
    let s = TestServer::start().await;
    let kek = s.kek();
    for purpose in SEALED_PURPOSES {
        let set = s.storage().load_key_set(purpose).await.unwrap().unwrap();
        let material = set.material.expose_secret();
        assert!(keys::is_sealed(material), "{purpose} is stored sealed");
        assert!(
            serde_json::from_str::<Value>(material).is_err(),
            "{purpose} is not readable JSON"
        );
        let clear = keys::open(&kek, purpose, material).unwrap();
        let json: Value = serde_json::from_str(&clear).unwrap();
        assert!(json["primary"].is_object(), "the KEK opens {purpose}");
        // No key of the clear set appears in the stored form.
        let primary = json["primary"]["pkcs8"]
            .as_str()
            .or(json["primary"]["key"].as_str())
            .unwrap();
        assert!(!material.contains(primary));
        // Another KEK cannot open it, nor can the blob pass for another
        // purpose under the right one.
        assert!(keys::open(&KeySet::generate(), purpose, material).is_err());
        let other = if purpose == RECEIPT_KEYS {
            SIGNING_KEYS
        } else {
            RECEIPT_KEYS
        };
        assert!(keys::open(&kek, other, material).is_err());
    }
    // The KEK file is owner-only, like the credential keys.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(keys::kek_path(&s.config().keys.dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The KEK appears in no Debug output of the state.
    let debug = format!("{:?}", s.state);
    let exported = serde_json::to_value(kek.export()).unwrap();
    assert!(!debug.contains(exported["primary"]["key"].as_str().unwrap()));
}

#[tokio::test]
async fn a_node_with_a_wrong_or_missing_kek_refuses_to_start_and_changes_nothing() {
    let s = TestServer::start().await;
    let before = stored(s.storage().as_ref()).await;

    let wrong = keys_dir_with(&s, Some(&KeySet::generate()));
    let mut config = s.config().clone();
    config.keys.dir = wrong.path().to_owned();
    let refused = auth_server::AppState::build(config.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("cannot be opened with this node's key-encryption-keys.json")
            && refused.contains("every node on one database needs the same"),
        "{refused}"
    );
    assert_eq!(stored(s.storage().as_ref()).await, before, "nothing saved");
    // `doctor` names the problem too.
    let checks = auth_server::operations::doctor(&config).await;
    let failed: Vec<_> = checks
        .iter()
        .filter(|c| c.problem.is_some())
        .map(|c| c.name)
        .collect();
    assert_eq!(
        failed,
        [
            "receipt keys are readable with the key-encryption keys",
            "token signing keys are readable with the key-encryption keys"
        ],
        "{checks:?}"
    );

    let missing = keys_dir_with(&s, None);
    config.keys.dir = missing.path().to_owned();
    let refused = auth_server::AppState::build(config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("are sealed, but") && refused.contains("does not exist"),
        "{refused}"
    );
    assert!(
        !keys::kek_path(missing.path()).exists(),
        "no new KEK was written"
    );
    assert_eq!(stored(s.storage().as_ref()).await, before, "nothing saved");

    // With the same KEK file a second node starts.
    let same = keys_dir_with(&s, Some(&s.kek()));
    let b = s.node_with(|c| c.keys.dir = same.path().to_owned()).await;
    let admin = b.admin_token().await;
    assert_eq!(validate(&s, &admin, &admin).await, 200);
}

#[tokio::test]
async fn key_sets_stored_in_clear_by_an_earlier_version_are_sealed_at_start() {
    let s = TestServer::start().await;
    // What an earlier version stored: the exported sets, in clear.
    let signing = SigningKeySet::generate(SigningAlgorithm::ES256).unwrap();
    let receipt = KeySet::generate();
    let clear = [
        (
            SIGNING_KEYS,
            SecretString::from(signing.export().unwrap().to_string()),
        ),
        (
            RECEIPT_KEYS,
            SecretString::from(serde_json::to_string(&receipt.export()).unwrap()),
        ),
    ];
    for (purpose, material) in &clear {
        let version = s.storage().load_key_set(purpose).await.unwrap().unwrap();
        s.storage()
            .save_key_set(purpose, material, Some(version.version))
            .await
            .unwrap();
    }
    let versions: Vec<i64> = stored(s.storage().as_ref())
        .await
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    // A token the earlier version signed with its clear key.
    let now = s.clock.now();
    let old_token = JwsProvider::new(signing)
        .issue(&admin_claims(&s, now, now + Duration::hours(1)))
        .unwrap();

    // A node of this version starts on that database and seals them.
    let b = s.node_with(|_| {}).await;
    let kek = s.kek();
    for ((purpose, material), version) in clear.iter().zip(versions) {
        let now_stored = s.storage().load_key_set(purpose).await.unwrap().unwrap();
        assert!(keys::is_sealed(now_stored.material.expose_secret()));
        assert_eq!(now_stored.version, version + 1, "one compare-and-swap save");
        let opened = keys::open(&kek, purpose, now_stored.material.expose_secret()).unwrap();
        assert_eq!(opened.as_str(), material.expose_secret(), "the same keys");
    }
    // The keys are the ones the earlier version used.
    assert_eq!(validate(&b, &old_token, &old_token).await, 200);
    assert_eq!(
        b.state.receipt_keys().current().primary().id(),
        receipt.primary().id()
    );
    // The first node, reloading, reads the sealed sets too.
    assert!(keys::refresh(&s.state).await.unwrap());
    assert_eq!(validate(&s, &old_token, &old_token).await, 200);
}

#[tokio::test]
async fn a_kek_rotation_on_one_node_is_picked_up_by_the_others_reload() {
    let a = TestServer::start().await;
    // B has its own keys directory: a copy of A's files, as an operator
    // sets up a second machine.
    let b_dir = keys_dir_with(&a, Some(&a.kek()));
    let b = a.node_with(|c| c.keys.dir = b_dir.path().to_owned()).await;
    let old_kek = a.kek();
    let token = a.admin_token().await;
    assert_eq!(validate(&b, &token, &token).await, 200);

    // rotate-kek on A: every set re-sealed under A's new KEK, whose primary
    // B's (old) file holds as its staged key.
    let before = stored(a.storage().as_ref()).await;
    let resealed = keys::rotate_kek(&a.config().keys.dir, a.storage().as_ref())
        .await
        .unwrap();
    assert_eq!(resealed, SEALED_PURPOSES.len());
    let new_kek = a.kek();
    assert_ne!(new_kek.primary().id(), old_kek.primary().id());
    for ((purpose, (material, version)), (old_material, old_version)) in SEALED_PURPOSES
        .iter()
        .zip(stored(a.storage().as_ref()).await)
        .zip(before)
    {
        assert_eq!(version, old_version + 1);
        assert_ne!(material, old_material);
        assert_eq!(
            keys::open(&new_kek, purpose, &material).unwrap().as_str(),
            keys::open(&old_kek, purpose, &old_material)
                .unwrap()
                .as_str(),
            "the same key set, re-sealed"
        );
    }
    // Then the signing keys rotate twice (sealed under the new KEK), so the
    // key that signed `token` is gone and A signs with a key B never saw.
    for _ in 0..2 {
        keys::rotate(a.storage().as_ref(), &new_kek, SigningAlgorithm::ES256)
            .await
            .unwrap();
    }
    assert!(keys::refresh(&a.state).await.unwrap());
    let fresh = a.admin_token().await;
    assert_eq!(validate(&b, &token, &fresh).await, 404, "B lacks the key");

    // B's periodic reload picks it all up with B's old KEK file.
    assert!(keys::refresh(&b.state).await.unwrap());
    assert_eq!(validate(&b, &fresh, &fresh).await, 200);
    assert_eq!(validate(&b, &fresh, &token).await, 404, "retired key");

    // A second KEK rotation before B got the new file: B can no longer
    // open the sets, says so, and keeps serving with the keys it has.
    keys::rotate_kek(&a.config().keys.dir, a.storage().as_ref())
        .await
        .unwrap();
    keys::rotate(a.storage().as_ref(), &a.kek(), SigningAlgorithm::ES256)
        .await
        .unwrap();
    let error = keys::refresh(&b.state).await.unwrap_err().to_string();
    assert!(error.contains("key-encryption"), "{error}");
    assert_eq!(validate(&b, &fresh, &fresh).await, 200, "still serving");
    // Once the operator copies the file, the next reload reads it.
    std::fs::copy(
        keys::kek_path(&a.config().keys.dir),
        keys::kek_path(b_dir.path()),
    )
    .unwrap();
    assert!(keys::refresh(&b.state).await.unwrap());
    assert!(keys::refresh(&a.state).await.unwrap());
    let newest = a.admin_token().await;
    assert_eq!(validate(&b, &newest, &newest).await, 200);
}

/// Quick `keys rotate` runs used to drop the key that signed every
/// outstanding token: the second rotation within `[token] expiration` +
/// `[keys] refresh_interval` of the first is refused (and changes nothing)
/// unless forced, and says when it becomes safe.
#[tokio::test]
async fn a_rotation_that_would_invalidate_tokens_is_refused_unless_forced() {
    let s = TestServer::start().await;
    let storage = s.storage().as_ref();
    let clock = s.clock.as_ref();
    let wait = keys::rotation_wait(
        s.config().token.expiration,
        s.config().keys.refresh_interval,
    );
    let kek = s.kek();
    let rotate =
        |force| keys::rotate_checked(storage, &kek, SigningAlgorithm::ES256, clock, wait, force);
    let token = s.admin_token().await;
    rotate(false).await.unwrap();
    let before = stored(storage).await;
    let refused = rotate(false).await.unwrap_err().to_string();
    assert!(refused.contains("refusing to rotate"), "{refused}");
    let safe_from = (clock.now() + wait).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(refused.contains(&safe_from), "{refused}");
    assert!(refused.contains("--force"), "{refused}");
    assert_eq!(stored(storage).await, before, "nothing changed");
    keys::refresh(&s.state).await.unwrap();
    assert_eq!(validate(&s, &token, &token).await, 200);

    // Once the tokens signed before the first rotation have expired, the
    // next one goes through; right after it, --force overrides the check.
    s.clock.advance(wait);
    rotate(false).await.unwrap();
    assert!(rotate(false).await.is_err());
    rotate(true).await.unwrap();
}
