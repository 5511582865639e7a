//! Conformance: passwords, history and lockout counters (`PasswordStore`).

use std::collections::BTreeSet;

use auth_core::AuthError;
use auth_core::store::*;
use secrecy::{ExposeSecret, SecretString};

use super::harness::{Fixture, at, password, user};

fn hashes(records: &[PasswordRecord]) -> Vec<&str> {
    records.iter().map(|r| r.hash.expose_secret()).collect()
}

pub(crate) async fn current_password_and_history(f: &Fixture) {
    let s = &f.storage;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, None).await.unwrap();
    assert!(s.current_password(&alice.id).await.unwrap().is_none());
    assert!(s.password_history(&alice.id, 5).await.unwrap().is_empty());
    assert!(matches!(
        s.rehash_password(&alice.id, &SecretString::from("$x"))
            .await,
        Err(AuthError::NotFound { .. })
    ));

    let mut third = password("$h3", at(30));
    third.expires_at = Some(at(3000));
    third.self_service = true;
    for p in [password("$h1", at(10)), password("$h2", at(20)), third] {
        s.set_password(&alice.id, &p).await.unwrap();
    }
    let current = s.current_password(&alice.id).await.unwrap().unwrap();
    assert_eq!(current.hash.expose_secret(), "$h3");
    assert_eq!(current.created_at, at(30));
    assert_eq!(current.expires_at, Some(at(3000)));
    assert!(current.self_service);
    assert_eq!(
        hashes(&s.password_history(&alice.id, 2).await.unwrap()),
        ["$h3", "$h2"]
    );
    let all = s.password_history(&alice.id, 10).await.unwrap();
    assert_eq!(hashes(&all), ["$h3", "$h2", "$h1"]);
    assert_eq!(all[2].created_at, at(10));
    assert!(!all[2].self_service);
    assert!(s.password_history(&alice.id, 0).await.unwrap().is_empty());

    // Rehashing replaces the hash in place and keeps the dates.
    s.rehash_password(&alice.id, &SecretString::from("$argon2id$new"))
        .await
        .unwrap();
    let rehashed = s.current_password(&alice.id).await.unwrap().unwrap();
    assert_eq!(rehashed.hash.expose_secret(), "$argon2id$new");
    assert_eq!(
        (rehashed.created_at, rehashed.expires_at),
        (at(30), Some(at(3000)))
    );
    assert_eq!(s.password_history(&alice.id, 10).await.unwrap().len(), 3);

    for missing in [
        s.current_password("ghost").await.map(drop),
        s.password_history("ghost", 3).await.map(drop),
        s.set_password("ghost", &password("$h", at(0))).await,
        s.rehash_password("ghost", &SecretString::from("$h")).await,
    ] {
        assert!(
            matches!(missing, Err(AuthError::NotFound { .. })),
            "{missing:?}"
        );
    }
    // A refused password (empty hash) changes nothing.
    assert!(
        s.set_password(&alice.id, &password("", at(40)))
            .await
            .is_err()
    );
    assert_eq!(
        hashes(&s.password_history(&alice.id, 10).await.unwrap())[0],
        "$argon2id$new"
    );
}

pub(crate) async fn auth_counters(f: &Fixture) {
    let s = &f.storage;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, Some(&password("$h", at(0))))
        .await
        .unwrap();
    assert_eq!(
        s.auth_state(&alice.id).await.unwrap(),
        UserAuthState::default()
    );
    assert_eq!(s.record_auth_failure(&alice.id, at(1)).await.unwrap(), 1);
    assert_eq!(s.record_auth_failure(&alice.id, at(2)).await.unwrap(), 2);
    let state = s.auth_state(&alice.id).await.unwrap();
    assert_eq!(
        (state.failed_auth_count, state.failed_auth_at),
        (2, Some(at(2)))
    );
    assert_eq!(state.last_active_at, None);

    s.record_auth_success(&alice.id, at(3)).await.unwrap();
    let state = s.auth_state(&alice.id).await.unwrap();
    assert_eq!(
        (state.failed_auth_count, state.last_active_at),
        (0, Some(at(3)))
    );

    s.record_auth_failure(&alice.id, at(4)).await.unwrap();
    s.reset_auth_failures(&alice.id).await.unwrap();
    let state = s.auth_state(&alice.id).await.unwrap();
    assert_eq!(
        (state.failed_auth_count, state.last_active_at),
        (0, Some(at(3)))
    );

    for missing in [
        s.auth_state("ghost").await.map(drop),
        s.record_auth_failure("ghost", at(5)).await.map(drop),
        s.record_auth_success("ghost", at(5)).await,
        s.reset_auth_failures("ghost").await,
    ] {
        assert!(
            matches!(missing, Err(AuthError::NotFound { .. })),
            "{missing:?}"
        );
    }
}

/// The lockout counter under load: N concurrent failures add exactly N, and
/// each caller sees a distinct new count.
pub(crate) async fn concurrent_failures_add_exactly_n(f: &Fixture) {
    const N: u32 = 60;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    f.storage.create_user(&alice, None).await.unwrap();
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, id) = (f.storage.clone(), alice.id.clone());
            tokio::spawn(async move { s.record_auth_failure(&id, at(i64::from(i))).await })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for task in tasks {
        seen.insert(task.await.unwrap().unwrap());
    }
    assert_eq!(seen, (1..=N).collect::<BTreeSet<_>>());
    assert_eq!(
        f.storage
            .auth_state(&alice.id)
            .await
            .unwrap()
            .failed_auth_count,
        N
    );
}
