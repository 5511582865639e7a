//! Conformance: sealed credentials, passcode claims and application
//! credentials (`CredentialStore`).

use std::sync::Arc;

use auth_core::store::*;
use auth_core::{AuthError, KeyRing, KeySet};
use secrecy::{ExposeSecret, SecretString};

use super::harness::{Fixture, open, project, user};

const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

fn credential(user_id: &str, kind: &str, blob: &str) -> Credential {
    Credential::new(new_id(), user_id, kind, SecretString::from(blob))
}

fn same(a: &Credential, b: &Credential) -> bool {
    (
        &a.id,
        &a.user_id,
        &a.kind,
        &a.project_id,
        a.blob.expose_secret(),
    ) == (
        &b.id,
        &b.user_id,
        &b.kind,
        &b.project_id,
        b.blob.expose_secret(),
    )
}

/// An application credential of `user_id` on `project_id` with two roles
/// and an access rule.
pub(crate) fn app_cred(name: &str, user_id: &str, project_id: &str) -> ApplicationCredential {
    ApplicationCredential::new(
        new_id(),
        name,
        user_id,
        project_id,
        SecretString::from("$argon2id$secret"),
        super::harness::at(0),
    )
    .with_description(format!("{name} pipeline"))
    .with_expires_at(super::harness::at(86_400))
    .with_roles(vec![
        RoleRef::new("r2", "member"),
        RoleRef::new("r1", "reader"),
    ])
    .with_access_rules(vec![AccessRule::new(
        new_id(),
        "compute",
        "/v2.1/servers",
        "GET",
    )])
}

fn same_app(a: &ApplicationCredential, b: &ApplicationCredential) {
    assert_eq!(
        (&a.id, &a.name, &a.description, &a.user_id, &a.project_id),
        (&b.id, &b.name, &b.description, &b.user_id, &b.project_id)
    );
    assert_eq!(a.secret_hash.expose_secret(), b.secret_hash.expose_secret());
    assert_eq!(
        (a.expires_at, a.created_at, a.unrestricted),
        (b.expires_at, b.created_at, b.unrestricted)
    );
    assert_eq!((&a.roles, &a.access_rules), (&b.roles, &b.access_rules));
}

pub(crate) async fn credentials_are_sealed_at_rest(f: &Fixture) {
    let s = &f.storage;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    let bob = user("bob", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, None).await.unwrap();
    s.create_user(&bob, None).await.unwrap();
    let web = project("web", DEFAULT_DOMAIN_ID);
    s.create_project(&web).await.unwrap();

    let totp = credential(&alice.id, "totp", SEED);
    let mut key = credential(&alice.id, "publickey", "ed25519 public key");
    key.project_id = Some(web.id.clone());
    let bobs = credential(&bob.id, "totp", "bob's seed");
    for c in [&totp, &key, &bobs] {
        s.create_credential(c).await.unwrap();
    }
    assert!(same(&s.get_credential(&totp.id).await.unwrap(), &totp));
    let listed = s.list_credentials(&alice.id, "totp").await.unwrap();
    assert!(listed.len() == 1 && same(&listed[0], &totp));
    assert!(
        s.list_credentials(&alice.id, "password")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.list_credentials("ghost", "totp")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.list_all_credentials(None).await.unwrap().len(), 3);
    let alices = s.list_all_credentials(Some(&alice.id)).await.unwrap();
    assert_eq!(alices.len(), 2);
    assert!(alices.iter().any(|c| same(c, &key)));

    // What the database holds is sealed: not the seed, and not the seed's
    // bytes anywhere inside.
    let stored = f.raw_credential_blob(&totp.id).await;
    assert!(!stored.windows(SEED.len()).any(|w| w == SEED.as_bytes()));
    assert!(stored.len() > SEED.len());

    assert!(matches!(
        s.create_credential(&totp).await,
        Err(AuthError::Conflict { .. })
    ));
    assert!(matches!(
        s.create_credential(&credential("ghost", "totp", "x")).await,
        Err(AuthError::NotFound { .. })
    ));
    s.delete_credential(&totp.id).await.unwrap();
    assert!(matches!(
        s.get_credential(&totp.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete_credential(&totp.id).await,
        Err(AuthError::NotFound { .. })
    ));
}

pub(crate) async fn a_blob_that_does_not_open_is_an_error(f: &Fixture) {
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    f.storage.create_user(&alice, None).await.unwrap();
    let totp = credential(&alice.id, "totp", SEED);
    f.storage.create_credential(&totp).await.unwrap();

    // Another node with another credential key set.
    let other = open(&f.url, Arc::new(KeyRing::new(KeySet::generate()))).await;
    for result in [
        other.get_credential(&totp.id).await.map(drop),
        other.list_credentials(&alice.id, "totp").await.map(drop),
        other.list_all_credentials(None).await.map(drop),
    ] {
        let e = result.unwrap_err();
        assert!(matches!(e, AuthError::StoreUnavailable(_)), "{e:?}");
        assert!(!e.to_string().contains(SEED));
    }
    // A sealed blob moved onto another credential's row does not open
    // either: the purpose binds the id.
    let decoy = credential(&alice.id, "totp", "decoy");
    f.storage.create_credential(&decoy).await.unwrap();
    f.raw_execute(&format!(
        "UPDATE credentials SET sealed_blob = \
         (SELECT sealed_blob FROM credentials WHERE id = '{}') WHERE id = '{}'",
        totp.id, decoy.id
    ))
    .await;
    assert!(matches!(
        f.storage.get_credential(&decoy.id).await,
        Err(AuthError::StoreUnavailable(_))
    ));
    // The same key ring opens it again after a rotation.
    let mut rotated = f.keys.current().as_ref().clone();
    rotated.rotate(3);
    f.keys.replace(rotated);
    assert!(same(
        &f.storage.get_credential(&totp.id).await.unwrap(),
        &totp
    ));
}

pub(crate) async fn passcodes_are_claimed_once(f: &Fixture) {
    let s = &f.storage;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, None).await.unwrap();
    let totp = credential(&alice.id, "totp", SEED);
    s.create_credential(&totp).await.unwrap();
    let far = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!(s.claim_passcode(&totp.id, 100, far).await.unwrap());
    assert!(
        !s.claim_passcode(&totp.id, 100, far).await.unwrap(),
        "a replay"
    );
    assert!(s.claim_passcode(&totp.id, 101, far).await.unwrap());
    assert!(matches!(
        s.claim_passcode("no-such-credential", 100, far).await,
        Err(AuthError::NotFound { .. })
    ));

    // Twenty nodes racing to accept one passcode: exactly one wins.
    let racers: Vec<_> = (0..20)
        .map(|_| {
            let (s, id) = (f.storage.clone(), totp.id.clone());
            tokio::spawn(async move { s.claim_passcode(&id, 200, far).await })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        winners += usize::from(racer.await.unwrap().unwrap());
    }
    assert_eq!(winners, 1);

    // Claims past their expiry are pruned: the step is claimable again
    // (the caller never accepts a passcode that old anyway).
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    assert!(s.claim_passcode(&totp.id, 300, past).await.unwrap());
    assert!(s.claim_passcode(&totp.id, 300, far).await.unwrap());
    assert!(!s.claim_passcode(&totp.id, 300, far).await.unwrap());
}

pub(crate) async fn application_credentials_round_trip(f: &Fixture) {
    let s = &f.storage;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    let bob = user("bob", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, None).await.unwrap();
    s.create_user(&bob, None).await.unwrap();
    let ci = app_cred("ci", &alice.id, "p1");
    let mut backup = app_cred("backup", &alice.id, "p1");
    backup.expires_at = None;
    backup.unrestricted = true;
    backup.access_rules.clear();
    let bobs_ci = app_cred("ci", &bob.id, "p1");
    for c in [&ci, &backup, &bobs_ci] {
        s.create_application_credential(c).await.unwrap();
    }
    same_app(&s.get_application_credential(&ci.id).await.unwrap(), &ci);
    same_app(
        &s.find_application_credential(&alice.id, "backup")
            .await
            .unwrap(),
        &backup,
    );
    let listed = s.list_application_credentials(&alice.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    same_app(&listed[0], &backup);
    same_app(&listed[1], &ci);
    assert!(
        s.list_application_credentials("ghost")
            .await
            .unwrap()
            .is_empty()
    );

    let duplicate = s
        .create_application_credential(&app_cred("ci", &alice.id, "p2"))
        .await;
    assert!(
        matches!(duplicate, Err(AuthError::Conflict { .. })),
        "{duplicate:?}"
    );
    let orphan = s
        .create_application_credential(&app_cred("x", "ghost", "p1"))
        .await;
    assert!(
        matches!(orphan, Err(AuthError::NotFound { .. })),
        "{orphan:?}"
    );
    assert!(matches!(
        s.find_application_credential(&bob.id, "backup").await,
        Err(AuthError::NotFound { .. })
    ));

    s.delete_application_credential(&ci.id).await.unwrap();
    assert!(matches!(
        s.get_application_credential(&ci.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete_application_credential(&ci.id).await,
        Err(AuthError::NotFound { .. })
    ));
    same_app(
        &s.find_application_credential(&bob.id, "ci").await.unwrap(),
        &bobs_ci,
    );
}

pub(crate) async fn a_failed_application_credential_writes_nothing(f: &Fixture) {
    let s = &f.storage;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, None).await.unwrap();
    // The credential row and the first role go in; the repeated role then
    // breaks the roles' primary key, so all of it must roll back.
    let mut broken = app_cred("ci", &alice.id, "p1");
    broken.roles.push(broken.roles[0].clone());
    assert!(s.create_application_credential(&broken).await.is_err());
    assert!(matches!(
        s.get_application_credential(&broken.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(
        s.list_application_credentials(&alice.id)
            .await
            .unwrap()
            .is_empty()
    );
    // Nothing half-written blocks the corrected one.
    broken.roles.pop();
    s.create_application_credential(&broken).await.unwrap();
    assert_eq!(
        s.get_application_credential(&broken.id)
            .await
            .unwrap()
            .roles
            .len(),
        2
    );
}

pub(crate) async fn credentials_are_updated_and_sealed_again(f: &Fixture) {
    let s = &f.storage;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    let bob = user("bob", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, None).await.unwrap();
    s.create_user(&bob, None).await.unwrap();
    let mut c = credential(&alice.id, "cert", "first secret");
    s.create_credential(&c).await.unwrap();
    let sealed = f.raw_credential_blob(&c.id).await;

    c.user_id = bob.id.clone();
    c.kind = "ec2".into();
    c.project_id = Some("some-project".into());
    c.blob = SecretString::from("second secret");
    s.update_credential(&c).await.unwrap();
    assert!(same(&s.get_credential(&c.id).await.unwrap(), &c));
    let resealed = f.raw_credential_blob(&c.id).await;
    assert_ne!(resealed, sealed);
    assert!(!String::from_utf8_lossy(&resealed).contains("second secret"));

    let mut ownerless = c.clone();
    ownerless.user_id = "ghost".into();
    assert!(matches!(
        s.update_credential(&ownerless).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.update_credential(&credential(&alice.id, "cert", "x"))
            .await,
        Err(AuthError::NotFound { .. })
    ));
}
