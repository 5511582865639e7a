//! Engine tests with small in-test methods over the in-memory store.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::testkit::MemoryStore;
use crate::{
    AuthAttempt, AuthHandlerResponse, AuthOutcome, ManualClock, MethodContext, Payload,
    RecordingSink, RequestHeaders, ResponseData,
};

/// Succeeds for the user named in the payload (`{"user": "u1"}`), or fails
/// if the payload says `{"fail": true}`. Records the order it ran in.
#[derive(Debug)]
struct Named {
    label: &'static str,
    log: Arc<Mutex<Vec<&'static str>>>,
    headers: Vec<String>,
}

#[async_trait]
impl AuthMethodHandler for Named {
    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        self.log.lock().unwrap().push(self.label);
        let payload = payload.to_value();
        if payload["fail"] == true {
            return Err(AuthError::InvalidCredentials);
        }
        let user = payload["user"]
            .as_str()
            .ok_or_else(|| AuthError::bad_request("user"))?;
        let mut data = match payload["loaded_enabled"].as_bool() {
            // The method read the user itself (it may not be in the store).
            Some(enabled) => ResponseData::for_loaded_user(
                crate::store::User::new(user, format!("loaded {user}"), "default")
                    .with_enabled(enabled),
            ),
            None => ResponseData::for_user(user),
        };
        if let Some(p) = payload["project"].as_str() {
            data = data.with_project(p);
        }
        if let Some(secs) = payload["expires_in"].as_i64() {
            data = data.with_expires_at(ctx.now() + Duration::seconds(secs));
        }
        if let Some(header) = payload["echo_header"].as_str() {
            data = data.with_extra("header", json!(ctx.header(header)));
        }
        Ok(AuthHandlerResponse::success(data))
    }
    fn declared_headers(&self) -> &[String] {
        &self.headers
    }
}

/// Two rounds: first `{"user": u}` gets a nonce; then `{"answer": nonce}`
/// (with the receipt) passes for the user the nonce was issued to.
#[derive(Debug)]
struct Challenge;

#[async_trait]
impl AuthMethodHandler for Challenge {
    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let payload = payload.to_value();
        match (ctx.continuation(), payload.get("answer")) {
            (Some(state), Some(answer)) => {
                if *answer == state["nonce"] {
                    let user = state["user"].as_str().unwrap_or_default();
                    Ok(AuthHandlerResponse::success(ResponseData::for_user(user)))
                } else {
                    Err(AuthError::InvalidCredentials)
                }
            }
            _ => {
                let user = payload["user"]
                    .as_str()
                    .ok_or_else(|| AuthError::bad_request("user"))?;
                let nonce = format!("nonce-for-{user}-{}", ctx.now().timestamp());
                Ok(AuthHandlerResponse::challenge(
                    json!({"nonce": nonce}),
                    json!({"nonce": nonce, "user": user}),
                ))
            }
        }
    }
}

/// Answers with the name it was enabled under, as its context gives it.
#[derive(Debug)]
struct Echo;

#[async_trait]
impl AuthMethodHandler for Echo {
    async fn authenticate(
        &self,
        _: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        Ok(AuthHandlerResponse::success(
            ResponseData::for_user("u1").with_extra("enabled_as", json!(ctx.method())),
        ))
    }
}

struct Harness {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    events: Arc<RecordingSink>,
    log: Arc<Mutex<Vec<&'static str>>>,
    keys: Arc<KeyRing>,
}

impl Harness {
    fn new() -> Self {
        Self::with_keys(Arc::new(KeyRing::new(KeySet::generate())))
    }

    fn with_keys(keys: Arc<KeyRing>) -> Self {
        let store = Arc::new(MemoryStore::new());
        for (id, name) in [("u1", "alice"), ("u2", "bob")] {
            store.add_user(id, name);
        }
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        ));
        let events = Arc::new(RecordingSink::new());
        let log = Arc::new(Mutex::new(Vec::new()));
        let named = |label| {
            Arc::new(Named {
                label,
                log: Arc::clone(&log),
                headers: vec!["x-allowed".into()],
            })
        };
        let engine = Engine::builder()
            .method("a", named("a"))
            .method("b", named("b"))
            .method("c", named("c"))
            .method("challenge", Arc::new(Challenge))
            .method("challenge2", Arc::new(Challenge))
            .method("echo", Arc::new(Echo))
            .method("echo_too", Arc::new(Echo))
            .stores(
                Stores::new()
                    .with_users(store.clone())
                    .with_credentials(store.clone()),
            )
            .clock(clock.clone())
            .events(events.clone())
            .receipt_keys(Arc::clone(&keys))
            .build()
            .unwrap();
        Self {
            engine,
            store,
            clock,
            events,
            log,
            keys,
        }
    }

    fn set_rules(&self, user: &str, rules: &[&[&str]]) {
        let rules: Vec<Vec<String>> = rules
            .iter()
            .map(|r| r.iter().map(|m| (*m).to_owned()).collect())
            .collect();
        self.store
            .update_user(user, |u| u.options.multi_factor_auth_rules = rules);
    }

    async fn auth(&self, identity: Value) -> Result<AuthOutcome, AuthError> {
        let body = json!({"auth": {"identity": identity}});
        self.engine
            .authenticate(AuthAttempt::from_json(body.clone()))
            .await
    }

    async fn resume(&self, receipt: &str, identity: Value) -> Result<AuthOutcome, AuthError> {
        let body = json!({"auth": {"identity": identity}});
        self.engine
            .authenticate(AuthAttempt::from_json(body.clone()).receipt(receipt))
            .await
    }
}

fn done(outcome: Result<AuthOutcome, AuthError>) -> crate::Authenticated {
    match outcome {
        Ok(AuthOutcome::Authenticated(a)) => a,
        other => panic!("expected authenticated, got {other:?}"),
    }
}

fn more(outcome: Result<AuthOutcome, AuthError>) -> crate::Continuation {
    match outcome {
        Ok(AuthOutcome::Continue(c)) => c,
        other => panic!("expected continue, got {other:?}"),
    }
}

fn rules(r: &[&[&str]]) -> Vec<Vec<String>> {
    r.iter()
        .map(|r| r.iter().map(|m| (*m).to_owned()).collect())
        .collect()
}

#[tokio::test]
async fn methods_run_in_request_order() {
    let h = Harness::new();
    let a = done(
        h.auth(json!({"methods": ["c", "a", "b", "a"],
            "a": {"user": "u1"}, "b": {"user": "u1"}, "c": {"user": "u1"}}))
            .await,
    );
    assert_eq!(*h.log.lock().unwrap(), ["c", "a", "b"]);
    assert_eq!(a.methods(), ["c", "a", "b"]);
    assert_eq!(a.user.name, "alice");
}

#[tokio::test]
async fn a_user_a_method_loaded_is_not_read_again_but_must_be_enabled() {
    let h = Harness::new();
    // "ghost" is not in the store: only the method's own record can serve.
    let a = done(
        h.auth(json!({"methods": ["a"], "a": {"user": "ghost", "loaded_enabled": true}}))
            .await,
    );
    assert_eq!(a.user.name, "loaded ghost");
    let e = h
        .auth(json!({"methods": ["a"], "a": {"user": "ghost", "loaded_enabled": false}}))
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::UserDisabled));
    // Without a record the engine reads the store, and the ghost is unknown.
    let e = h
        .auth(json!({"methods": ["a"], "a": {"user": "ghost"}}))
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::NoUserResolved));
}

#[tokio::test]
async fn the_first_failure_stops_the_request() {
    let h = Harness::new();
    let e = h
        .auth(json!({"methods": ["a", "b", "c"],
            "a": {"user": "u1"}, "b": {"fail": true}, "c": {"user": "u1"}}))
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::InvalidCredentials));
    assert_eq!(*h.log.lock().unwrap(), ["a", "b"]);
}

#[tokio::test]
async fn methods_resolving_different_users_or_projects_fail() {
    let h = Harness::new();
    let e = h
        .auth(json!({"methods": ["a", "b"], "a": {"user": "u1"}, "b": {"user": "u2"}}))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        AuthError::IdentityConflict {
            attribute: "user_id"
        }
    ));
    let e = h
        .auth(
            json!({"methods": ["a", "b"], "a": {"user": "u1", "project": "p1"},
            "b": {"user": "u1", "project": "p2"}}),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        AuthError::IdentityConflict {
            attribute: "project_id"
        }
    ));
}

#[tokio::test]
async fn the_earliest_expiry_wins() {
    let h = Harness::new();
    let a = done(
        h.auth(
            json!({"methods": ["a", "b"], "a": {"user": "u1", "expires_in": 600},
            "b": {"user": "u1", "expires_in": 60}}),
        )
        .await,
    );
    assert_eq!(
        a.identity.expires_at,
        Some(h.clock.now() + Duration::seconds(60))
    );
}

#[tokio::test]
async fn a_method_that_is_not_enabled_is_a_401_naming_the_enabled_ones() {
    let h = Harness::new();
    let e = h
        .auth(json!({"methods": ["totp"], "totp": {}}))
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), 401);
    assert!(
        e.to_string()
            .contains("a, b, c, challenge, challenge2, echo, echo_too"),
        "{e}"
    );
}

#[tokio::test]
async fn a_listed_method_without_payload_is_a_400() {
    let h = Harness::new();
    let e = h
        .auth(json!({"methods": ["a", "b"], "a": {"user": "u1"}}))
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::MissingMethodPayload { .. }));
    assert!(h.log.lock().unwrap().is_empty(), "no method may run");
}

#[tokio::test]
async fn disabled_and_vanished_users_are_refused() {
    let h = Harness::new();
    h.store.update_user("u1", |u| u.enabled = false);
    let e = h
        .auth(json!({"methods": ["a"], "a": {"user": "u1"}}))
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::UserDisabled));
    let e = h
        .auth(json!({"methods": ["a"], "a": {"user": "ghost"}}))
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::NoUserResolved));
}

#[tokio::test]
async fn a_method_sees_only_the_headers_it_declared() {
    let h = Harness::new();
    let body = json!({"auth": {"identity": {"methods": ["a", "b"],
        "a": {"user": "u1", "echo_header": "X-Allowed"},
        "b": {"user": "u1", "echo_header": "x-password"}}}});
    let headers = RequestHeaders::new()
        .with("X-Allowed", "yes")
        .with("X-Password", "hunter2");
    let a = done(
        h.engine
            .authenticate(AuthAttempt::from_json(body.clone()).headers(headers))
            .await,
    );
    // Both ran; "b" asked for an undeclared header and saw nothing, and the
    // later method's extras overwrite the earlier one's.
    assert_eq!(a.identity.extras["header"], Value::Null);
    let body = json!({"auth": {"identity": {"methods": ["a"],
        "a": {"user": "u1", "echo_header": "X-Allowed"}}}});
    let headers = RequestHeaders::new().with("x-allowed", "yes");
    let a = done(
        h.engine
            .authenticate(AuthAttempt::from_json(body.clone()).headers(headers))
            .await,
    );
    assert_eq!(a.identity.extras["header"], "yes");
}

#[tokio::test]
async fn mfa_rules_issue_a_receipt_and_the_receipt_completes_the_login() {
    let h = Harness::new();
    h.set_rules("u1", &[&["a", "b"]]);
    let c = more(h.auth(json!({"methods": ["a"], "a": {"user": "u1"}})).await);
    assert_eq!(c.methods, ["a"]);
    assert_eq!(c.required_auth_methods, rules(&[&["a", "b"]]));
    assert_eq!(c.user.as_ref().unwrap().id, "u1");
    assert_eq!(c.expires_at - c.issued_at, Duration::seconds(300));
    assert!(c.challenges.is_empty());
    let a = done(
        h.resume(&c.receipt, json!({"methods": ["b"], "b": {"user": "u1"}}))
            .await,
    );
    assert_eq!(a.methods(), ["a", "b"]);
    // Both at once also works, without a receipt.
    done(
        h.auth(json!({"methods": ["a", "b"], "a": {"user": "u1"}, "b": {"user": "u1"}}))
            .await,
    );
}

#[tokio::test]
async fn a_receipt_never_completes_a_login_for_another_user() {
    let h = Harness::new();
    h.set_rules("u1", &[&["a", "b"]]);
    let c = more(h.auth(json!({"methods": ["a"], "a": {"user": "u1"}})).await);
    let e = h
        .resume(&c.receipt, json!({"methods": ["b"], "b": {"user": "u2"}}))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        AuthError::IdentityConflict {
            attribute: "user_id"
        }
    ));
}

#[tokio::test]
async fn receipts_can_be_retried_until_they_expire() {
    let h = Harness::new();
    h.set_rules("u1", &[&["a", "b"]]);
    let c = more(h.auth(json!({"methods": ["a"], "a": {"user": "u1"}})).await);
    let e = h
        .resume(&c.receipt, json!({"methods": ["b"], "b": {"fail": true}}))
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::InvalidCredentials));
    h.clock.advance(Duration::seconds(299));
    done(
        h.resume(&c.receipt, json!({"methods": ["b"], "b": {"user": "u1"}}))
            .await,
    );
    h.clock.advance(Duration::seconds(1));
    let e = h
        .resume(&c.receipt, json!({"methods": ["b"], "b": {"user": "u1"}}))
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::ReceiptInvalid));
}

#[tokio::test]
async fn tampered_and_foreign_receipts_are_refused() {
    let h = Harness::new();
    h.set_rules("u1", &[&["a", "b"]]);
    let c = more(h.auth(json!({"methods": ["a"], "a": {"user": "u1"}})).await);
    let mut tampered = c.receipt.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let b = json!({"methods": ["b"], "b": {"user": "u1"}});
    for bad in [
        tampered.as_str(),
        "",
        "garbage",
        &c.receipt[..c.receipt.len() - 2],
    ] {
        let e = h.resume(bad, b.clone()).await.unwrap_err();
        assert!(matches!(e, AuthError::ReceiptInvalid), "{bad}");
    }
    let other = Harness::new();
    other.set_rules("u1", &[&["a", "b"]]);
    let e = other.resume(&c.receipt, b.clone()).await.unwrap_err();
    assert!(matches!(e, AuthError::ReceiptInvalid));
}

#[tokio::test]
async fn any_node_sharing_the_keys_resumes_and_rotation_keeps_receipts_valid() {
    let keys = Arc::new(KeyRing::new(KeySet::generate()));
    let node1 = Harness::with_keys(Arc::clone(&keys));
    let node2 = Harness::with_keys(Arc::clone(&keys));
    node1.set_rules("u1", &[&["a", "b"]]);
    node2.set_rules("u1", &[&["a", "b"]]);
    let c = more(
        node1
            .auth(json!({"methods": ["a"], "a": {"user": "u1"}}))
            .await,
    );
    let mut rotated = (*keys.current()).clone();
    rotated.rotate(3);
    node2.keys.replace(rotated);
    done(
        node2
            .resume(&c.receipt, json!({"methods": ["b"], "b": {"user": "u1"}}))
            .await,
    );
}

#[tokio::test]
async fn a_challenge_round_trip_completes_the_login() {
    let h = Harness::new();
    let c = more(
        h.auth(json!({"methods": ["challenge"], "challenge": {"user": "u1"}}))
            .await,
    );
    assert!(c.methods.is_empty(), "nothing passed yet");
    assert!(c.user.is_none(), "a challenge does not reveal the account");
    let nonce = c.challenges["challenge"]["nonce"].clone();
    assert_eq!(c.required_auth_methods, rules(&[&["challenge"]]));
    let wrong = h
        .resume(
            &c.receipt,
            json!({"methods": ["challenge"], "challenge": {"answer": "no"}}),
        )
        .await
        .unwrap_err();
    assert!(matches!(wrong, AuthError::InvalidCredentials));
    let a = done(
        h.resume(
            &c.receipt,
            json!({"methods": ["challenge"], "challenge": {"answer": nonce}}),
        )
        .await,
    );
    assert_eq!(a.user.id, "u1");
    assert_eq!(a.methods(), ["challenge"]);
}

#[tokio::test]
async fn continuation_state_belongs_to_the_method_that_issued_it() {
    let h = Harness::new();
    let c = more(
        h.auth(json!({"methods": ["challenge"], "challenge": {"user": "u1"}}))
            .await,
    );
    let nonce = c.challenges["challenge"]["nonce"].clone();
    // The same answer sent to another method finds no state: it starts over.
    let again = more(
        h.resume(
            &c.receipt,
            json!({"methods": ["challenge2"], "challenge2": {"answer": nonce, "user": "u1"}}),
        )
        .await,
    );
    assert!(again.challenges.contains_key("challenge2"));
    // The first method's state was carried forward in the new receipt.
    let a = done(
        h.resume(
            &again.receipt,
            json!({"methods": ["challenge"], "challenge": {"answer": nonce}}),
        )
        .await,
    );
    assert_eq!(a.user.id, "u1");
}

#[tokio::test]
async fn a_challenge_and_mfa_rules_share_one_receipt() {
    let h = Harness::new();
    h.set_rules("u1", &[&["a", "challenge"]]);
    let c1 = more(h.auth(json!({"methods": ["a"], "a": {"user": "u1"}})).await);
    assert_eq!(c1.required_auth_methods, rules(&[&["a", "challenge"]]));
    let c2 = more(
        h.resume(
            &c1.receipt,
            json!({"methods": ["challenge"], "challenge": {"user": "u1"}}),
        )
        .await,
    );
    assert_eq!(c2.methods, ["a"]);
    assert_eq!(c2.user.as_ref().unwrap().id, "u1");
    let nonce = c2.challenges["challenge"]["nonce"].clone();
    let a = done(
        h.resume(
            &c2.receipt,
            json!({"methods": ["challenge"], "challenge": {"answer": nonce}}),
        )
        .await,
    );
    assert_eq!(a.methods(), ["a", "challenge"]);
}

#[tokio::test]
async fn a_challenge_for_another_user_cannot_finish_a_receipt() {
    let h = Harness::new();
    h.set_rules("u1", &[&["a", "challenge"]]);
    let c1 = more(h.auth(json!({"methods": ["a"], "a": {"user": "u1"}})).await);
    let c2 = more(
        h.resume(
            &c1.receipt,
            json!({"methods": ["challenge"], "challenge": {"user": "u2"}}),
        )
        .await,
    );
    let nonce = c2.challenges["challenge"]["nonce"].clone();
    let e = h
        .resume(
            &c2.receipt,
            json!({"methods": ["challenge"], "challenge": {"answer": nonce}}),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        AuthError::IdentityConflict {
            attribute: "user_id"
        }
    ));
}

#[tokio::test]
async fn bypass_rules_naming_disabled_methods_fail_closed() {
    let h = Harness::new();
    h.set_rules("u1", &[&["a", "webauthn"]]);
    let e = h
        .auth(json!({"methods": ["a"], "a": {"user": "u1"}}))
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::MfaRulesUnsatisfiable));
    let e = h
        .auth(json!({"methods": ["a", "b", "c"], "a": {"user": "u1"}, "b": {"user": "u1"}, "c": {"user": "u1"}}))
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::MfaRulesUnsatisfiable));
}

#[tokio::test]
async fn bypass_a_rule_is_never_shrunk_to_its_enabled_part() {
    let h = Harness::new();
    h.set_rules("u1", &[&["a", "b"], &["a", "webauthn"]]);
    let c = more(h.auth(json!({"methods": ["a"], "a": {"user": "u1"}})).await);
    assert_eq!(c.required_auth_methods, rules(&[&["a", "b"]]));
}

#[tokio::test]
async fn bypass_a_challenged_method_does_not_count_as_passed() {
    let h = Harness::new();
    h.set_rules("u1", &[&["a", "challenge"]]);
    let c = more(
        h.auth(json!({"methods": ["a", "challenge"], "a": {"user": "u1"}, "challenge": {"user": "u1"}}))
            .await,
    );
    assert_eq!(c.methods, ["a"]);
    // Replaying the receipt with only "a" again gets no further.
    let again = more(
        h.resume(&c.receipt, json!({"methods": ["a"], "a": {"user": "u1"}}))
            .await,
    );
    assert_eq!(again.methods, ["a"]);
}

#[tokio::test]
async fn a_method_is_known_by_the_name_it_is_enabled_under() {
    // One type enabled under two names: each instance learns its own from
    // the context, as the trait gives a method no name of its own that
    // could disagree with its registration.
    let h = Harness::new();
    for name in ["echo", "echo_too"] {
        let a = done(h.auth(json!({"methods": [name], name: {}})).await);
        assert_eq!(a.identity.extras["enabled_as"], name);
        assert_eq!(a.methods(), [name]);
    }
}

#[tokio::test]
async fn events_tell_the_story() {
    let h = Harness::new();
    h.set_rules("u1", &[&["a", "b"]]);
    let body = json!({"auth": {"identity": {"methods": ["a"], "a": {"user": "u1"}}}});
    let addr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
    let c = more(
        h.engine
            .authenticate(
                AuthAttempt::from_json(body.clone())
                    .client_addr(addr)
                    .request_id("req-1"),
            )
            .await,
    );
    assert_eq!(
        h.events.names(),
        [
            "auth.request.received",
            "auth.method.a",
            "auth.receipt.issued",
            "auth.outcome"
        ]
    );
    let events = h.events.events();
    assert!(
        events
            .iter()
            .all(|e| e.client_addr == Some(addr) && e.request_id.as_deref() == Some("req-1"))
    );
    assert_eq!(events[1].user_id.as_deref(), Some("u1"));
    assert_eq!(events[3].result, Some(crate::EventResult::Continue));
    assert_eq!(events[3].domain_id.as_deref(), Some("default"));
    h.events.clear();
    let e = h
        .resume(&c.receipt, json!({"methods": ["b"], "b": {"fail": true}}))
        .await
        .unwrap_err();
    let events = h.events.events();
    let last = events.last().unwrap();
    assert_eq!(last.result, Some(crate::EventResult::Failure));
    assert_eq!(last.error.as_ref().unwrap().kind, e.kind());
    assert_eq!(
        last.user_id.as_deref(),
        Some("u1"),
        "the receipt's user is known"
    );
    let serialized = serde_json::to_string(&events).unwrap();
    assert!(
        !serialized.contains(&c.receipt),
        "events never carry the receipt"
    );
}

#[test]
fn building_an_engine_checks_its_parts() {
    let store = Arc::new(MemoryStore::new());
    let users = Stores::new().with_users(store);
    assert!(
        Engine::builder().stores(users.clone()).build().is_err(),
        "no methods"
    );
    assert!(
        Engine::builder()
            .method("c", Arc::new(Challenge))
            .build()
            .is_err(),
        "no store"
    );
    assert!(
        Engine::builder()
            .method("c", Arc::new(Challenge))
            .method("c", Arc::new(Challenge))
            .stores(users.clone())
            .build()
            .is_err(),
        "duplicate"
    );
    assert!(
        Engine::builder()
            .method("c", Arc::new(Challenge))
            .stores(users)
            .receipt_ttl(Duration::days(2))
            .build()
            .is_err(),
        "ttl"
    );
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            Just("a".to_owned()),
            Just("challenge".to_owned()),
            Just("methods".to_owned()),
            Just("u1".to_owned()),
            ".{0,12}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("auth".to_owned()),
                    Just("identity".to_owned()),
                    Just("methods".to_owned()),
                    Just("scope".to_owned()),
                    Just("a".to_owned()),
                    Just("user".to_owned()),
                    Just("challenge".to_owned()),
                    ".{0,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_json_never_panics(identity in arbitrary_json(), whole in arbitrary_json(), raw in prop::collection::vec(any::<u8>(), 0..256)) {
        let h = Harness::new();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let _ = h.auth(identity).await;
            let _ = h.engine.authenticate(AuthAttempt::from_json(whole.clone())).await;
            let _ = h.engine.authenticate(AuthAttempt::new(&raw)).await;
            let _ = h.engine.authenticate(AuthAttempt::new(b"{}").receipt(&String::from_utf8_lossy(&raw))).await;
        });
    }
}
