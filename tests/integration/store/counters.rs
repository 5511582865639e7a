//! Conformance: named counters (`CounterStore`) and the users' extra
//! attributes the event handlers read.

use std::collections::BTreeSet;

use auth_core::store::*;
use serde_json::json;

use super::harness::{Fixture, user};

pub(crate) async fn counters_adjust_reset_and_list(f: &Fixture) {
    let s = &f.storage;
    assert!(s.list_counters().await.unwrap().is_empty());
    // A counter springs into being at 0 on its first change.
    assert_eq!(s.adjust_counter("logins", 1, None).await.unwrap(), 1);
    assert_eq!(s.adjust_counter("logins", 5, None).await.unwrap(), 6);
    assert_eq!(s.adjust_counter("logins", -10, None).await.unwrap(), -4);
    // A floor stops a decrease at it, in the same step; it does not lift a
    // value already below it by an increase smaller than the gap.
    assert_eq!(s.adjust_counter("logins", -1, Some(0)).await.unwrap(), 0);
    assert_eq!(s.adjust_counter("logins", -1, Some(0)).await.unwrap(), 0);
    assert_eq!(s.adjust_counter("fresh", -3, Some(0)).await.unwrap(), 0);
    assert_eq!(s.adjust_counter("fresh", 2, Some(0)).await.unwrap(), 2);
    s.reset_counter("fresh").await.unwrap();
    s.reset_counter("never-seen").await.unwrap();
    assert_eq!(
        s.list_counters().await.unwrap(),
        vec![
            Counter::new("fresh", 0),
            Counter::new("logins", 0),
            Counter::new("never-seen", 0),
        ]
    );
}

/// N concurrent increments (as from several nodes) add exactly N, and each
/// caller sees a distinct new value.
pub(crate) async fn concurrent_counter_increments_add_exactly_n(f: &Fixture) {
    const N: i64 = 60;
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let s = f.storage.clone();
            tokio::spawn(async move { s.adjust_counter("busy", 1, None).await })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for task in tasks {
        seen.insert(task.await.unwrap().unwrap());
    }
    assert_eq!(seen, (1..=N).collect::<BTreeSet<_>>());
    assert_eq!(f.storage.adjust_counter("busy", 0, None).await.unwrap(), N);
}

pub(crate) async fn user_extra_attributes_round_trip(f: &Fixture) {
    let s = &f.storage;
    let mut alice = user("alice", DEFAULT_DOMAIN_ID);
    alice.extra = json!({
        "email": "alice@example.org",
        "department": "ops",
        "badge": 42,
        "tags": ["oncall", "admin"],
        "nested": {"since": "2024-01-01T00:00:00Z"}
    })
    .as_object()
    .unwrap()
    .clone();
    s.create_user(&alice, None).await.unwrap();
    assert_eq!(s.get_user(&alice.id).await.unwrap(), alice);
    assert_eq!(
        s.find_user_by_name(DEFAULT_DOMAIN_ID, "alice")
            .await
            .unwrap(),
        alice
    );

    alice.extra.remove("badge");
    alice.extra.insert("email".into(), json!("a@example.net"));
    s.update_user(&alice).await.unwrap();
    let listed = s
        .list_users(&UserFilter::default().with_name("alice"))
        .await
        .unwrap();
    assert_eq!(listed, vec![alice.clone()]);

    // A user created without extra attributes reads back an empty object.
    let bob = user("bob", DEFAULT_DOMAIN_ID);
    s.create_user(&bob, None).await.unwrap();
    assert!(s.get_user(&bob.id).await.unwrap().extra.is_empty());
}
