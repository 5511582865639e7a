//! Conformance: lockout under concurrency (issue 11, hole 4): the claim
//! (`PasswordStore::claim_auth_attempt`) on each driver.

use std::collections::BTreeSet;

use auth_core::AuthError;
use auth_core::store::*;
use chrono::Duration;

use super::harness::{Fixture, at, user};

/// The lockout threshold of these tests.
const LIMIT: u32 = 5;

pub(crate) async fn claims_admit_at_most_the_limit_and_locks_run_out(f: &Fixture) {
    let s = &f.storage;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, None).await.unwrap();
    let duration = Some(Duration::seconds(60));
    let tasks: Vec<_> = (0..60)
        .map(|_| {
            let (s, id) = (f.storage.clone(), alice.id.clone());
            tokio::spawn(async move { s.claim_auth_attempt(&id, LIMIT, duration, at(1)).await })
        })
        .collect();
    let mut counts = BTreeSet::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            Some(state) => assert!(counts.insert(state.failed_auth_count)),
            None => refused += 1,
        }
    }
    assert_eq!(counts, (1..=LIMIT).collect::<BTreeSet<_>>());
    assert_eq!(refused, 60 - LIMIT as usize);
    let state = s.auth_state(&alice.id).await.unwrap();
    assert_eq!(
        (state.failed_auth_count, state.failed_auth_at),
        (5, Some(at(1)))
    );

    // Refused claims wrote nothing: the lock still runs from at(1).
    assert_eq!(
        s.claim_auth_attempt(&alice.id, LIMIT, duration, at(60))
            .await
            .unwrap(),
        None
    );
    let renewed = s
        .claim_auth_attempt(&alice.id, LIMIT, duration, at(61))
        .await
        .unwrap()
        .expect("the lock ran out");
    assert_eq!(
        (renewed.failed_auth_count, renewed.failed_auth_at),
        (1, Some(at(61)))
    );
    // Without a duration a lock never runs out.
    for _ in 1..LIMIT {
        s.claim_auth_attempt(&alice.id, LIMIT, None, at(62))
            .await
            .unwrap()
            .unwrap();
    }
    let far = at(1_000_000_000);
    assert!(
        s.claim_auth_attempt(&alice.id, LIMIT, None, far)
            .await
            .unwrap()
            .is_none()
    );

    // A release gives one back, never below zero; the rest stays.
    s.release_auth_attempt(&alice.id).await.unwrap();
    let state = s.auth_state(&alice.id).await.unwrap();
    assert_eq!(
        (state.failed_auth_count, state.failed_auth_at),
        (4, Some(at(62)))
    );
    s.reset_auth_failures(&alice.id).await.unwrap();
    s.release_auth_attempt(&alice.id).await.unwrap();
    assert_eq!(s.auth_state(&alice.id).await.unwrap().failed_auth_count, 0);

    for missing in [
        s.claim_auth_attempt("ghost", LIMIT, duration, at(1))
            .await
            .map(drop),
        s.release_auth_attempt("ghost").await,
    ] {
        assert!(
            matches!(missing, Err(AuthError::NotFound { .. })),
            "{missing:?}"
        );
    }
}
