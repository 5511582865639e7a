use std::sync::Arc;

use auth_core::store::{AccessRule, RoleRef};
use auth_core::testkit::MemoryStore;
use auth_core::{AuthAttempt, AuthError, AuthOutcome, Clock, Engine, ManualClock, Stores};
use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::hashing::tests::fast;

struct Setup {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
}

fn setup() -> Setup {
    let store = Arc::new(MemoryStore::new());
    store.add_user("owner", "alice");
    store.add_user("other", "mallory");
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
    ));
    let hasher = fast();
    store.add_application_credential(
        ApplicationCredential::new(
            "ac1",
            "ci",
            "owner",
            "p1",
            hasher
                .hash(&SecretString::from("s3cret".to_owned()))
                .unwrap(),
            clock.now(),
        )
        .with_expires_at(clock.now() + Duration::hours(1))
        .with_roles(vec![RoleRef::new("r1", "reader")])
        .with_access_rules(vec![AccessRule::new(
            "ar1",
            "compute",
            "/v2.1/servers",
            "GET",
        )]),
    );
    let engine = Engine::builder()
        .method(NAME, Arc::new(ApplicationCredentialMethod::new(hasher)))
        .stores(
            Stores::new()
                .with_users(store.clone())
                .with_credentials(store.clone()),
        )
        .clock(clock.clone())
        .build()
        .unwrap();
    Setup {
        engine,
        store,
        clock,
    }
}

async fn login(s: &Setup, payload: Value, scope: Option<Value>) -> Result<AuthOutcome, AuthError> {
    let mut body = json!({"auth": {"identity": {"methods": [NAME], NAME: payload}}});
    if let Some(scope) = scope {
        body["auth"]["scope"] = scope;
    }
    s.engine.authenticate(AuthAttempt::from_json(body)).await
}

#[tokio::test]
async fn by_id_or_by_name_the_owner_is_authenticated_into_the_project() {
    let s = setup();
    for payload in [
        json!({"id": "ac1", "secret": "s3cret"}),
        json!({"name": "ci", "secret": "s3cret", "user": {"name": "alice", "domain": {"id": "default"}}}),
    ] {
        let a = login(&s, payload, None)
            .await
            .unwrap()
            .authenticated()
            .unwrap();
        assert_eq!(a.user.id, "owner");
        assert_eq!(a.identity.project_id.as_deref(), Some("p1"));
        assert_eq!(
            a.identity.expires_at,
            Some(s.clock.now() + Duration::hours(1))
        );
        let info = &a.identity.extras["application_credential"];
        assert_eq!(info["restricted"], true);
        assert_eq!(info["access_rules"][0]["service"], "compute");
        assert_eq!(
            a.identity.extras["application_credential_roles"][0]["name"],
            "reader"
        );
    }
}

#[tokio::test]
async fn another_users_name_does_not_find_the_credential() {
    let s = setup();
    let payload = json!({"name": "ci", "secret": "s3cret", "user": {"id": "other"}});
    assert!(matches!(
        login(&s, payload, None).await,
        Err(AuthError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn an_explicit_scope_is_refused() {
    let s = setup();
    let e = login(
        &s,
        json!({"id": "ac1", "secret": "s3cret"}),
        Some(json!({"project": {"id": "p2"}})),
    )
    .await
    .unwrap_err();
    assert_eq!(e.http_status(), 401);
    assert!(e.to_string().contains("cannot request a scope"));
}

#[tokio::test]
async fn expired_unknown_and_wrong_secrets_look_alike() {
    let s = setup();
    let wrong = login(&s, json!({"id": "ac1", "secret": "nope"}), None)
        .await
        .unwrap_err();
    let unknown = login(&s, json!({"id": "zzz", "secret": "s3cret"}), None)
        .await
        .unwrap_err();
    s.clock.advance(Duration::hours(1));
    let expired = login(&s, json!({"id": "ac1", "secret": "s3cret"}), None)
        .await
        .unwrap_err();
    for e in [wrong, unknown, expired] {
        assert_eq!(e.to_string(), AuthError::InvalidCredentials.to_string());
    }
}

#[tokio::test]
async fn the_owner_must_still_be_enabled() {
    let s = setup();
    s.store.update_user("owner", |u| u.enabled = false);
    let e = login(&s, json!({"id": "ac1", "secret": "s3cret"}), None)
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::UserDisabled));
}

#[tokio::test]
async fn malformed_payloads_are_400s() {
    let s = setup();
    for payload in [
        json!({"secret": "s3cret"}),
        json!({"id": "ac1"}),
        json!({"name": "ci", "secret": "x"}),
    ] {
        assert_eq!(
            login(&s, payload, None).await.unwrap_err().http_status(),
            400
        );
    }
}

#[tokio::test]
async fn passes_the_conformance_kit() {
    use auth_core::testkit::conformance::{MethodCase, check};
    let s = setup();
    check(
        MethodCase::new(
            NAME,
            Arc::new(ApplicationCredentialMethod::new(fast())),
            Stores::new()
                .with_users(s.store.clone())
                .with_credentials(s.store.clone()),
            json!({"id": "ac1", "secret": "s3cret"}),
            vec![json!({"id": "ac1", "secret": "guessed-wrong"}).into()],
        )
        .with_clock(s.clock.clone())
        .with_unknown_user(vec![
            json!({"name": "ci", "secret": "s3cret", "user": {"id": "ghost"}}).into(),
        ])
        .with_malformed(vec![
            json!({"id": "ac1"}),
            json!({"secret": "s3cret"}),
            json!({"name": "ci", "secret": "s3cret"}),
        ])
        .with_secrets(["s3cret", "guessed-wrong"]),
    )
    .await;
}
