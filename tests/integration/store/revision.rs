//! Conformance: the token revision moves with every write that can change
//! a token validation, and stands still on the login path; and SQLite's
//! in-place reader sees another process's commit at its next read.

use std::process::Command;
use std::sync::Arc;

use auth_core::store::*;
use auth_core::{KeyRing, KeySet};

use super::credentials::app_cred;
use super::harness::{Fixture, at, open, password, project, user};

/// The revision now, as the awaited read and the in-place reader (where
/// the store has one) both see it.
async fn revision(f: &Fixture) -> i64 {
    let awaited = f
        .storage
        .token_revision()
        .await
        .unwrap()
        .expect("SQL stores report a revision");
    if let Some(reader) = f.storage.revision_reader() {
        assert_eq!(reader.read().unwrap(), awaited, "the in-place reader lags");
    }
    awaited
}

/// Asserts that `write` moved the revision, and returns the new value.
macro_rules! moves {
    ($f:expr, $before:expr, $what:literal, $write:expr) => {{
        $write.await.unwrap();
        let after = revision($f).await;
        assert!(after > $before, "{} did not move the revision", $what);
        after
    }};
}

pub(crate) async fn the_token_revision_follows_validation_relevant_writes(f: &Fixture) {
    let s = &f.storage;
    let mut alice = user("alice", DEFAULT_DOMAIN_ID);
    let dev = project("dev", DEFAULT_DOMAIN_ID);
    s.create_project(&dev).await.unwrap();
    s.create_user(&alice, Some(&password("h0", at(0))))
        .await
        .unwrap();
    let role = Role::new(new_id(), "member");
    s.create_role(&role).await.unwrap();
    let assignment = Assignment::new(
        role.id.clone(),
        Actor::User(alice.id.clone()),
        Target::Project(dev.id.clone()),
    );

    assert_eq!(
        s.revision_reader().is_some(),
        s.backend() == "sqlite",
        "SQLite on a file reads the revision in place, a network database does not"
    );

    // The login path writes without moving it: caches stay warm under load.
    let start = revision(f).await;
    s.record_auth_failure(&alice.id, at(1)).await.unwrap();
    s.record_auth_success(&alice.id, at(2)).await.unwrap();
    s.reset_auth_failures(&alice.id).await.unwrap();
    s.claim_auth_attempt(&alice.id, 5, None, at(2))
        .await
        .unwrap();
    s.release_auth_attempt(&alice.id).await.unwrap();
    assert_eq!(
        revision(f).await,
        start,
        "the login path moved the revision"
    );

    let r = moves!(f, start, "grant", s.grant(&assignment));
    let r = moves!(f, r, "revoke", s.revoke(&assignment));
    alice.enabled = false;
    let r = moves!(f, r, "update_user", s.update_user(&alice));
    let r = moves!(
        f,
        r,
        "set_password",
        s.set_password(&alice.id, &password("h1", at(3)))
    );
    let mut disabled = dev.clone();
    disabled.enabled = false;
    let r = moves!(f, r, "update_project", s.update_project(&disabled));
    let event = RevocationEvent::at(at(4)).with_audit_id("audit");
    let r = moves!(f, r, "add_revocation", s.add_revocation(&event));
    let mut renamed = role.clone();
    renamed.name = "participant".into();
    moves!(f, r, "update_role", s.update_role(&renamed));
    // Deleting an application credential must reach every node's cached
    // validations of its tokens.
    let ci = app_cred("ci", &alice.id, &dev.id);
    s.create_application_credential(&ci).await.unwrap();
    let r = revision(f).await;
    let r = moves!(
        f,
        r,
        "delete_application_credential",
        s.delete_application_credential(&ci.id)
    );
    let r = moves!(f, r, "delete_role", s.delete_role(&role.id));
    let r = moves!(f, r, "delete_user", s.delete_user(&alice.id));

    // A write that fails moves nothing.
    assert!(s.update_user(&alice).await.is_err());
    assert_eq!(revision(f).await, r, "a failed write moved the revision");
}

pub(crate) async fn group_memberships_move_the_revision_and_renames_do_not(f: &Fixture) {
    let s = &f.storage;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, None).await.unwrap();
    let mut ops = Group::new(new_id(), "ops", DEFAULT_DOMAIN_ID);
    s.create_group(&ops).await.unwrap();

    let start = revision(f).await;
    ops.name = "operators".into();
    s.update_group(&ops).await.unwrap();
    assert_eq!(
        revision(f).await,
        start,
        "a group's name decides no validation"
    );
    let r = moves!(
        f,
        start,
        "add_user_to_group",
        s.add_user_to_group(&alice.id, &ops.id)
    );
    let r = moves!(
        f,
        r,
        "remove_user_from_group",
        s.remove_user_from_group(&alice.id, &ops.id)
    );
    moves!(f, r, "delete_group", s.delete_group(&ops.id));
}

/// SQLite's in-place reader (which answers from the WAL-index header while
/// nothing commits) sees a commit another process made, at its next read.
#[tokio::test]
async fn the_in_place_reader_sees_another_processs_commit_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("revision").join("auth.db");
    let url = format!("sqlite://{}", path.display());
    let storage = open(&url, Arc::new(KeyRing::new(KeySet::generate()))).await;
    let reader = storage
        .revision_reader()
        .expect("SQLite on a file reads in place");
    // Several reads: the reader pairs a header with a revision, then
    // answers from the header.
    let mut seen = reader.read().unwrap();
    for _ in 0..3 {
        assert_eq!(reader.read().unwrap(), seen);
    }
    for _ in 0..2 {
        let status = Command::new(env!("CARGO_BIN_EXE_store-writer"))
            .arg(&path)
            .arg("--revoke")
            .status()
            .unwrap();
        assert!(status.success(), "the other process failed");
        let now = reader.read().unwrap();
        assert!(now > seen, "the reader missed another process's commit");
        assert_eq!(Some(now), storage.token_revision().await.unwrap());
        seen = now;
    }
}
