//! Conformance: what the Orthanc door keeps (`ImagingStore`): settings
//! replaced as a whole, share tokens found by the digest of their string,
//! typed errors, pruning by expiry, and the token revision.

use auth_core::AuthError;
use auth_core::store::*;
use serde_json::json;

use super::harness::{Fixture, at};

/// The revision now.
async fn revision(s: &dyn Storage) -> i64 {
    s.token_revision()
        .await
        .unwrap()
        .expect("SQL stores report a revision")
}

/// A digest that differs per `seed`, with bytes above 0x7f (so the stored
/// hex must round-trip every digit).
fn digest(seed: u8) -> [u8; 32] {
    std::array::from_fn(|i| seed.wrapping_mul(37).wrapping_add(i as u8 * 8))
}

/// A study share created at `at(created)`, with no server, creator or
/// expiry.
fn share(seed: u8, created: i64) -> ShareToken {
    ShareToken::new(
        new_id(),
        digest(seed),
        "ohif-viewer-publication",
        json!([{"level": "study", "dicom-uid": format!("1.2.840.{seed}"), "orthanc-id": null}]),
        at(created),
    )
}

fn is_not_found<T: std::fmt::Debug>(result: &Result<T, AuthError>) -> bool {
    matches!(result, Err(AuthError::NotFound { .. }))
}

fn is_conflict<T: std::fmt::Debug>(result: &Result<T, AuthError>) -> bool {
    matches!(result, Err(AuthError::Conflict { .. }))
}

pub(crate) async fn settings_are_replaced_whole_and_move_the_revision(f: &Fixture) {
    let s = f.storage.as_ref();
    assert_eq!(s.get_setting("roles").await.unwrap(), None);

    let start = revision(s).await;
    let roles = json!({
        "roles": {"doctor": {"permissions": ["view", "download"], "authorized-labels": ["*"]}},
        "available-labels": ["cardio", "neuro"]
    });
    s.put_setting("roles", &roles, at(1)).await.unwrap();
    assert_eq!(s.get_setting("roles").await.unwrap(), Some(roles));
    let first = revision(s).await;
    assert!(first > start, "put_setting did not move the revision");

    // A replacement keeps nothing of the previous value.
    let replaced = json!({"roles": {"nurse": {"permissions": ["view"]}}});
    s.put_setting("roles", &replaced, at(2)).await.unwrap();
    assert_eq!(
        s.get_setting("roles").await.unwrap(),
        Some(replaced.clone())
    );
    let second = revision(s).await;
    assert!(
        second > first,
        "replacing a setting did not move the revision"
    );

    // Keys are independent; any JSON value is kept as given.
    for (key, value) in [
        ("flag", json!(true)),
        ("text", json!("hé \"quoted\"")),
        ("nothing", json!(null)),
        ("list", json!([1, 2.5, {"a": []}])),
    ] {
        s.put_setting(key, &value, at(3)).await.unwrap();
        assert_eq!(s.get_setting(key).await.unwrap(), Some(value), "{key}");
    }
    assert_eq!(s.get_setting("roles").await.unwrap(), Some(replaced));
    assert_eq!(s.get_setting("Roles").await.unwrap(), None);

    let settled = revision(s).await;
    s.get_setting("roles").await.unwrap();
    assert_eq!(revision(s).await, settled, "a read moved the revision");
}

pub(crate) async fn share_tokens_round_trip_with_typed_errors(f: &Fixture) {
    let s = f.storage.as_ref();
    assert!(s.list_share_tokens().await.unwrap().is_empty());

    // Created out of order: the list is by creation time, oldest first.
    let full = share(1, 20)
        .with_server_id("orthanc-a")
        .with_created_by("user-1")
        .with_expires_at(at(3600));
    let older = share(2, 10);
    let newest = share(3, 30).with_expires_at(at(40));
    for token in [&full, &older, &newest] {
        s.create_share_token(token).await.unwrap();
    }

    assert_eq!(s.find_share_token(&digest(1)).await.unwrap(), full);
    assert_eq!(s.find_share_token(&digest(2)).await.unwrap(), older);
    assert_eq!(s.get_share_token(&full.id).await.unwrap(), full);
    assert_eq!(s.get_share_token(&newest.id).await.unwrap(), newest);
    assert_eq!(
        s.list_share_tokens().await.unwrap(),
        vec![older.clone(), full.clone(), newest.clone()]
    );

    assert!(is_not_found(&s.find_share_token(&digest(9)).await));
    assert!(is_not_found(&s.get_share_token("ghost").await));

    // A taken id or a taken digest is a conflict, and writes nothing.
    let mut same_id = share(4, 50);
    same_id.id = full.id.clone();
    assert!(is_conflict(&s.create_share_token(&same_id).await));
    assert!(is_not_found(&s.find_share_token(&digest(4)).await));
    let same_digest = share(2, 50);
    assert!(is_conflict(&s.create_share_token(&same_digest).await));
    assert!(is_not_found(&s.get_share_token(&same_digest.id).await));
    assert_eq!(s.list_share_tokens().await.unwrap().len(), 3);

    s.delete_share_token(&full.id).await.unwrap();
    assert!(is_not_found(&s.get_share_token(&full.id).await));
    assert!(is_not_found(&s.find_share_token(&digest(1)).await));
    assert!(is_not_found(&s.delete_share_token(&full.id).await));
    assert!(is_not_found(&s.delete_share_token("ghost").await));
    assert_eq!(
        s.list_share_tokens().await.unwrap(),
        vec![older.clone(), newest]
    );

    // A deleted token's digest and id are free again.
    let again = ShareToken::new(full.id.clone(), digest(1), "x", json!([]), at(60));
    s.create_share_token(&again).await.unwrap();
    assert_eq!(s.find_share_token(&digest(1)).await.unwrap(), again);
}

pub(crate) async fn share_tokens_are_pruned_by_expiry_only(f: &Fixture) {
    let s = f.storage.as_ref();
    let early = share(1, 0).with_expires_at(at(10));
    let late = share(2, 0).with_expires_at(at(20));
    let forever = share(3, 0);
    for token in [&early, &late, &forever] {
        s.create_share_token(token).await.unwrap();
    }

    assert_eq!(s.prune_share_tokens(at(15)).await.unwrap(), 1);
    assert_eq!(s.prune_share_tokens(at(15)).await.unwrap(), 0);
    assert!(is_not_found(&s.get_share_token(&early.id).await));
    // Strictly before: a token expiring at `before` stays.
    assert_eq!(s.prune_share_tokens(at(20)).await.unwrap(), 0);
    assert_eq!(s.get_share_token(&late.id).await.unwrap(), late);
    // A token without an expiry is never pruned.
    assert_eq!(s.prune_share_tokens(at(1_000_000_000)).await.unwrap(), 1);
    assert_eq!(s.list_share_tokens().await.unwrap(), vec![forever]);
}

pub(crate) async fn share_token_deletes_move_the_revision_and_creates_do_not(f: &Fixture) {
    let s = f.storage.as_ref();
    let token = share(1, 0).with_expires_at(at(5));
    let start = revision(s).await;
    // Creating a token changes no answer about another; pruning removes
    // only tokens already refused by their expiry.
    s.create_share_token(&token).await.unwrap();
    s.create_share_token(&share(2, 0).with_expires_at(at(5)))
        .await
        .unwrap();
    s.find_share_token(&digest(1)).await.unwrap();
    s.list_share_tokens().await.unwrap();
    assert_eq!(
        revision(s).await,
        start,
        "creates or reads moved the revision"
    );

    s.delete_share_token(&token.id).await.unwrap();
    let deleted = revision(s).await;
    assert!(
        deleted > start,
        "delete_share_token did not move the revision"
    );

    assert!(is_not_found(&s.delete_share_token(&token.id).await));
    assert_eq!(s.prune_share_tokens(at(10)).await.unwrap(), 1);
    assert_eq!(
        revision(s).await,
        deleted,
        "a refused delete or a prune moved the revision"
    );
}
