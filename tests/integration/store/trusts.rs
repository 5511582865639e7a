//! Conformance: trusts (`TrustStore`): created with their roles in order,
//! read back whole, listed by trustor and trustee, used up atomically, and
//! deleted with what they were redelegated to, and with their trustor,
//! trustee or project; deletes move the token revision, creates and uses
//! do not.

use auth_core::AuthError;
use auth_core::store::{DEFAULT_DOMAIN_ID, Trust, new_id};

use super::harness::{Fixture, at, project, user};

pub(crate) async fn trusts_round_trip_and_delete_with_what_they_hang_off(f: &Fixture) {
    let s = f.storage.as_ref();
    let (alice, bob, carol) = (
        user("alice", DEFAULT_DOMAIN_ID),
        user("bob", DEFAULT_DOMAIN_ID),
        user("carol", DEFAULT_DOMAIN_ID),
    );
    for u in [&alice, &bob, &carol] {
        s.create_user(u, None).await.unwrap();
    }
    let p = project("p", DEFAULT_DOMAIN_ID);
    s.create_project(&p).await.unwrap();

    let mut trust = Trust::new(new_id(), &alice.id, &bob.id, at(1));
    trust.project_id = Some(p.id.clone());
    trust.impersonation = true;
    trust.expires_at = Some(at(100));
    trust.remaining_uses = Some(2);
    trust.role_ids = vec!["r2".into(), "r1".into()];
    let revision = s.token_revision().await.unwrap();
    s.create_trust(&trust).await.unwrap();
    assert_eq!(s.get_trust(&trust.id).await.unwrap(), trust);
    let mut duplicate = trust.clone();
    duplicate.id = new_id();
    assert!(matches!(
        s.create_trust(&duplicate).await,
        Err(AuthError::Conflict { .. })
    ));
    let mut orphan = Trust::new(new_id(), &alice.id, "nobody", at(1));
    orphan.role_ids = vec!["r1".into()];
    assert!(matches!(
        s.create_trust(&orphan).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.get_trust(&orphan.id).await,
        Err(AuthError::NotFound { .. })
    ));

    // Uses: two, then none; a trust without a limit is never used up.
    s.consume_trust_use(&trust.id).await.unwrap();
    assert_eq!(
        s.get_trust(&trust.id).await.unwrap().remaining_uses,
        Some(1)
    );
    s.consume_trust_use(&trust.id).await.unwrap();
    assert!(matches!(
        s.consume_trust_use(&trust.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(s.get_trust(&trust.id).await.unwrap().is_exhausted());
    assert!(matches!(
        s.consume_trust_use("missing").await,
        Err(AuthError::NotFound { .. })
    ));
    let mut unlimited = Trust::new(new_id(), &bob.id, &carol.id, at(2));
    unlimited.redelegation_count = 3;
    s.create_trust(&unlimited).await.unwrap();
    s.consume_trust_use(&unlimited.id).await.unwrap();
    assert_eq!(
        s.get_trust(&unlimited.id).await.unwrap().remaining_uses,
        None
    );
    assert_eq!(
        s.token_revision().await.unwrap(),
        revision,
        "creating and using trusts changes no token"
    );

    // Listings by trustor, trustee, both, or none.
    let ids = |trusts: Vec<Trust>| trusts.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_trusts(Some(&alice.id), None).await.unwrap()),
        vec![trust.id.clone()]
    );
    assert_eq!(
        ids(s.list_trusts(None, Some(&carol.id)).await.unwrap()),
        vec![unlimited.id.clone()]
    );
    assert!(
        s.list_trusts(Some(&alice.id), Some(&carol.id))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.list_trusts(None, None).await.unwrap().len(), 2);

    // A redelegated trust goes with the trust it came from.
    let mut child = Trust::new(new_id(), &carol.id, &alice.id, at(3));
    child.redelegated_trust_id = Some(unlimited.id.clone());
    child.redelegation_count = 2;
    s.create_trust(&child).await.unwrap();
    s.delete_trust(&unlimited.id).await.unwrap();
    assert!(matches!(
        s.get_trust(&child.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete_trust(&unlimited.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert_ne!(
        s.token_revision().await.unwrap(),
        revision,
        "a delete moves it"
    );

    // A trust goes with its trustee, and with its project.
    let revision = s.token_revision().await.unwrap();
    s.delete_user(&bob.id).await.unwrap();
    assert!(matches!(
        s.get_trust(&trust.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert_ne!(s.token_revision().await.unwrap(), revision);
    let mut on_project = Trust::new(new_id(), &alice.id, &carol.id, at(4));
    on_project.project_id = Some(p.id.clone());
    on_project.role_ids = vec!["r1".into()];
    s.create_trust(&on_project).await.unwrap();
    s.delete_project(&p.id).await.unwrap();
    assert!(matches!(
        s.get_trust(&on_project.id).await,
        Err(AuthError::NotFound { .. })
    ));
}
