//! Conformance: implied-role rules (`AssignmentStore::*_implied_role*`,
//! Keystone's `implied_role` table): typed errors, refusals, cascades, the
//! token revision, and concurrent writers that cannot close a cycle.

use std::sync::Arc;

use auth_core::AuthError;
use auth_core::implied_roles::{MAX_IMPLIED_ROLE_DEPTH, RoleGraph};
use auth_core::store::*;

use super::harness::Fixture;

fn role(name: &str, domain_id: Option<&str>) -> Role {
    let mut role = Role::new(new_id(), name);
    role.domain_id = domain_id.map(Into::into);
    role
}

/// Creates global roles with these names, in order.
async fn roles<const N: usize>(s: &dyn Storage, names: [&str; N]) -> [Role; N] {
    let roles = names.map(|name| role(name, None));
    for r in &roles {
        s.create_role(r).await.unwrap();
    }
    roles
}

/// (prior name, implied name) of each rule, in listed order.
fn pairs(rules: &[ImpliedRole]) -> Vec<(&str, &str)> {
    rules
        .iter()
        .map(|r| (r.prior.name.as_str(), r.implied.name.as_str()))
        .collect()
}

async fn revision(s: &dyn Storage) -> i64 {
    s.token_revision()
        .await
        .unwrap()
        .expect("SQL stores report one")
}

pub(crate) async fn implied_roles_round_trip_with_typed_errors(f: &Fixture) {
    let s = f.storage.as_ref();
    let [admin, manager, member, reader] = roles(s, ["admin", "manager", "member", "reader"]).await;
    let scoped = role("dom-ops", Some(DEFAULT_DOMAIN_ID));
    s.create_role(&scoped).await.unwrap();

    let made = s.create_implied_role(&admin.id, &manager.id).await.unwrap();
    assert_eq!(made.prior, admin);
    assert_eq!(made.implied, manager);
    for (prior, implied) in [(&manager, &member), (&member, &reader), (&scoped, &member)] {
        s.create_implied_role(&prior.id, &implied.id).await.unwrap();
    }
    // Keystone answers a repeated rule with 409.
    let again = s.create_implied_role(&admin.id, &manager.id).await;
    assert!(
        matches!(again, Err(AuthError::Conflict { .. })),
        "{again:?}"
    );
    for (prior, implied) in [(admin.id.as_str(), "ghost"), ("ghost", reader.id.as_str())] {
        let missing = s.create_implied_role(prior, implied).await;
        assert!(
            matches!(&missing, Err(AuthError::NotFound { what }) if what.contains("ghost")),
            "{missing:?}"
        );
    }

    let got = s.get_implied_role(&member.id, &reader.id).await.unwrap();
    assert_eq!((got.prior, got.implied), (member.clone(), reader.clone()));
    let absent = s.get_implied_role(&reader.id, &member.id).await;
    assert!(
        matches!(absent, Err(AuthError::NotFound { .. })),
        "{absent:?}"
    );

    let more = role("auditor", None);
    s.create_role(&more).await.unwrap();
    s.create_implied_role(&manager.id, &more.id).await.unwrap();
    assert_eq!(
        pairs(&s.list_implied_roles(&manager.id).await.unwrap()),
        [("manager", "auditor"), ("manager", "member")]
    );
    assert!(s.list_implied_roles(&reader.id).await.unwrap().is_empty());
    assert!(s.list_implied_roles("ghost").await.unwrap().is_empty());
    let all = s.list_role_inferences().await.unwrap();
    assert_eq!(
        pairs(&all),
        [
            ("admin", "manager"),
            ("dom-ops", "member"),
            ("manager", "auditor"),
            ("manager", "member"),
            ("member", "reader"),
        ]
    );
    assert_eq!(all[1].prior, scoped, "roles come whole, domain too");

    s.delete_implied_role(&manager.id, &more.id).await.unwrap();
    let gone = s.delete_implied_role(&manager.id, &more.id).await;
    assert!(matches!(gone, Err(AuthError::NotFound { .. })), "{gone:?}");
    assert_eq!(
        pairs(&s.list_implied_roles(&manager.id).await.unwrap()),
        [("manager", "member")]
    );
}

pub(crate) async fn implied_roles_refuse_cycles_and_deep_chains(f: &Fixture) {
    let s = f.storage.as_ref();
    let [a, b, c] = roles(s, ["a", "b", "c"]).await;
    s.create_implied_role(&a.id, &b.id).await.unwrap();
    s.create_implied_role(&b.id, &c.id).await.unwrap();
    let before = s.list_role_inferences().await.unwrap();
    let start = revision(s).await;
    for (prior, implied) in [(&c, &a), (&b, &a), (&c, &c)] {
        let refused = s.create_implied_role(&prior.id, &implied.id).await;
        assert!(
            matches!(refused, Err(AuthError::Forbidden(_))),
            "{} → {}: {refused:?}",
            prior.name,
            implied.name
        );
    }
    assert_eq!(
        s.list_role_inferences().await.unwrap(),
        before,
        "nothing written"
    );
    assert_eq!(revision(s).await, start, "a refused rule moves nothing");
    // A shortcut is no cycle.
    s.create_implied_role(&a.id, &c.id).await.unwrap();

    // A chain of exactly the limit is fine; one more is refused.
    let chain: Vec<Role> = (0..=MAX_IMPLIED_ROLE_DEPTH + 1)
        .map(|i| role(&format!("level-{i:02}"), None))
        .collect();
    for r in &chain {
        s.create_role(r).await.unwrap();
    }
    for w in chain[..=MAX_IMPLIED_ROLE_DEPTH].windows(2) {
        s.create_implied_role(&w[0].id, &w[1].id).await.unwrap();
    }
    let too_deep = s
        .create_implied_role(
            &chain[MAX_IMPLIED_ROLE_DEPTH].id,
            &chain[MAX_IMPLIED_ROLE_DEPTH + 1].id,
        )
        .await;
    assert!(
        matches!(too_deep, Err(AuthError::Forbidden(_))),
        "{too_deep:?}"
    );
}

pub(crate) async fn deleting_a_role_deletes_its_rules_either_way_round(f: &Fixture) {
    let s = f.storage.as_ref();
    let [admin, manager, member, reader] = roles(s, ["admin", "manager", "member", "reader"]).await;
    for (prior, implied) in [(&admin, &manager), (&manager, &member), (&member, &reader)] {
        s.create_implied_role(&prior.id, &implied.id).await.unwrap();
    }
    // Manager is implied by one rule and implies by another: both go.
    s.delete_role(&manager.id).await.unwrap();
    assert_eq!(
        pairs(&s.list_role_inferences().await.unwrap()),
        [("member", "reader")]
    );
    s.delete_role(&reader.id).await.unwrap();
    assert!(s.list_role_inferences().await.unwrap().is_empty());
    s.get_role(&admin.id).await.unwrap();
    s.get_role(&member.id).await.unwrap();
}

pub(crate) async fn implied_role_changes_move_the_revision(f: &Fixture) {
    let s = f.storage.as_ref();
    let [admin, member] = roles(s, ["admin", "member"]).await;
    let start = revision(s).await;
    s.create_implied_role(&admin.id, &member.id).await.unwrap();
    let created = revision(s).await;
    assert!(
        created > start,
        "create_implied_role did not move the revision"
    );
    s.get_implied_role(&admin.id, &member.id).await.unwrap();
    s.list_role_inferences().await.unwrap();
    assert_eq!(revision(s).await, created, "reads moved the revision");
    assert!(s.create_implied_role(&admin.id, &member.id).await.is_err());
    assert_eq!(
        revision(s).await,
        created,
        "a refused rule moved the revision"
    );
    s.delete_implied_role(&admin.id, &member.id).await.unwrap();
    let deleted = revision(s).await;
    assert!(
        deleted > created,
        "delete_implied_role did not move the revision"
    );
    assert!(s.delete_implied_role(&admin.id, &member.id).await.is_err());
    assert_eq!(
        revision(s).await,
        deleted,
        "a failed delete moved the revision"
    );
}

pub(crate) async fn concurrent_rules_cannot_close_a_cycle(f: &Fixture) {
    // Each round, RING writers at once each add one rule of a ring
    // r0 → r1 → … → r0. Every rule alone is fine; all of them close a
    // cycle. At least one must be refused, whatever the interleaving.
    const RING: usize = 6;
    for round in 0..4 {
        let ring: Vec<Role> = (0..RING)
            .map(|i| role(&format!("ring{round}-{i}"), None))
            .collect();
        for r in &ring {
            f.storage.create_role(r).await.unwrap();
        }
        let writers: Vec<_> = (0..RING)
            .map(|i| {
                let s: Arc<dyn Storage> = f.storage.clone();
                let (prior, implied) = (ring[i].id.clone(), ring[(i + 1) % RING].id.clone());
                tokio::spawn(async move { s.create_implied_role(&prior, &implied).await })
            })
            .collect();
        let mut made = 0;
        for writer in writers {
            match writer.await.unwrap() {
                Ok(_) => made += 1,
                Err(AuthError::Forbidden(_)) => {}
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
        assert!(
            made < RING,
            "round {round}: all {RING} rules of a ring were stored"
        );
        // Whatever was stored is acyclic: re-adding each rule to the others
        // passes the same check the store made.
        let stored = f.storage.list_role_inferences().await.unwrap();
        for rule in &stored {
            let others = stored.iter().filter(|r| *r != rule).cloned();
            RoleGraph::new(others)
                .check_new_rule(&rule.prior.id, &rule.implied.id)
                .unwrap_or_else(|e| panic!("round {round}: a cycle was stored: {e}"));
        }
    }
}
