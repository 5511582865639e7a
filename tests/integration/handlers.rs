//! Event handlers with the built-in modules: bindings stored in SQLite,
//! counters and user state changed there, audit rows written there; and a
//! webhook target that hangs, on and off the request path.

use std::sync::Arc;
use std::time::Duration;

use auth_core::audit::{AuditLog, AuditLogConfig};
use auth_core::handlers::{Dispatcher, DispatcherConfig, HandlerModuleRegistration};
use auth_core::store::{AuditKind, AuditQuery, HandlerBinding, HandlerPosition, Storage, new_id};
use auth_core::testkit::MemoryStore;
use auth_core::{AuthError, AuthEvent, Clock, EventResult, Registry, Stores, SystemClock};
use serde_json::{Map, Value, json};

use crate::store::harness::Fixture;

fn modules(sections: Value) -> auth_core::handlers::HandlerModules {
    auth_plugins::link();
    Registry::<HandlerModuleRegistration>::from_inventory()
        .unwrap()
        .instantiate(sections.as_object().unwrap_or(&Map::new()))
        .unwrap()
}

fn binding(name: &str, module: &str, action: &str, position: HandlerPosition) -> HandlerBinding {
    HandlerBinding::new(
        new_id(),
        name,
        vec!["auth.tokens.create".into()],
        module,
        action,
    )
    .with_position(position)
}

fn login(user_id: &str, result: EventResult) -> AuthEvent {
    let mut e = AuthEvent::new("auth.tokens.create", chrono::Utc::now());
    e.user_id = Some(user_id.into());
    e.result = Some(result);
    e.client_addr = Some("192.0.2.10".parse().unwrap());
    e.request_id = Some(new_id());
    e
}

/// Bindings saved in SQLite, loaded into a dispatcher: three failed logins
/// count per user and disable the account; every run is audited in the
/// same database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bindings_from_the_store_count_disable_and_audit() {
    let f = Fixture::sqlite().await;
    let storage: Arc<dyn Storage> = f.storage.clone();
    let mut alice = crate::store::harness::user("alice", "default");
    alice.extra.insert("department".into(), json!("ops"));
    storage.create_user(&alice, None).await.unwrap();

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let audit = AuditLog::new(storage.clone(), clock.clone(), AuditLogConfig::default());
    let dispatcher = Dispatcher::builder()
        .modules(modules(Value::Null))
        .stores(Stores::from_storage(storage.clone()))
        .clock(clock)
        .audit(audit.clone())
        .build()
        .unwrap();

    let mut count = binding(
        "count-failures",
        "Counter",
        "increase",
        HandlerPosition::Post,
    );
    count.options = json!({"counter_name": "failures-{user_name}"});
    count.conditions = json!({"result": "failure"});
    let mut lock = binding(
        "lock-after-3",
        "UserState",
        "disable",
        HandlerPosition::Post,
    );
    lock.ordering = 10;
    lock.conditions = json!({
        "result": "failure",
        "failure_count": ">= 3",
        "user_attribute": "extra.department == ops",
        "client_ip": "192.0.2.0/24, !192.0.2.99"
    });
    let mut bad = binding("stale", "Federation", "forward", HandlerPosition::Post);
    bad.active = false;
    for b in [&count, &lock, &bad] {
        storage.create_binding(b).await.unwrap();
    }
    // A stored binding naming a module this build lacks is reported, not
    // fatal; the admin API would have refused it.
    let rejected = dispatcher.set_valid_bindings(storage.list_bindings().await.unwrap());
    assert_eq!(rejected.len(), 1);
    assert!(matches!(rejected[0].1, AuthError::BadRequest(_)));
    assert!(dispatcher.validate(&bad).is_err());

    for attempt in 1..=3 {
        // The engine records the failure before the event is dispatched.
        storage
            .record_auth_failure(&alice.id, chrono::Utc::now())
            .await
            .unwrap();
        let event = login(&alice.id, EventResult::Failure);
        dispatcher.pre(&event).await.unwrap();
        dispatcher.post(&event, &mut json!({})).await.unwrap();
        dispatcher.wait_idle().await;
        let enabled = storage.get_user(&alice.id).await.unwrap().enabled;
        assert_eq!(enabled, attempt < 3, "attempt {attempt}");
    }
    // A success counts nothing.
    let ok = login(&alice.id, EventResult::Success);
    dispatcher.post(&ok, &mut json!({})).await.unwrap();
    dispatcher.wait_idle().await;
    let counters = storage.list_counters().await.unwrap();
    assert_eq!(counters.len(), 1);
    assert_eq!(
        (counters[0].name.as_str(), counters[0].value),
        ("failures-alice", 3)
    );

    audit.flush().await;
    let rows = storage.query_audit(&AuditQuery::new(100)).await.unwrap();
    let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(
        events
            .iter()
            .filter(|e| **e == "POST-EVENT auth.tokens.create>>Counter:increase")
            .count(),
        3
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| **e == "POST-EVENT auth.tokens.create>>UserState:disable")
            .count(),
        1
    );
    assert!(
        rows.iter()
            .all(|r| r.kind == AuditKind::Handler && r.success)
    );
    assert!(
        rows.iter()
            .all(|r| r.client_addr.as_deref() == Some("192.0.2.10"))
    );
    assert!(
        rows.iter()
            .all(|r| r.user_id.as_deref() == Some(alice.id.as_str()))
    );
    assert!(rows.iter().any(|r| r.detail["binding"] == "lock-after-3"));
}

/// A webhook target that accepts and never answers: the call still
/// finishes at the binding's time limit (aborting if told to), and an
/// off-path hook does not hold up the call at all.
#[tokio::test(start_paused = true)]
async fn a_hanging_webhook_never_holds_a_call_past_its_limit() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let store = Arc::new(MemoryStore::new());
    store.add_user("u1", "alice");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let audit = AuditLog::new(store.clone(), clock.clone(), AuditLogConfig::default());
    let dispatcher = Dispatcher::builder()
        .modules(modules(Value::Null))
        .stores(Stores::new().with_users(store.clone()))
        .clock(clock)
        .audit(audit.clone())
        .config(DispatcherConfig {
            default_timeout_ms: 2_000,
            ..Default::default()
        })
        .build()
        .unwrap();

    let mut pre_hook = binding("pre-hook", "WebHook", "post", HandlerPosition::Pre);
    pre_hook.options = json!({"url": url, "timeout_ms": 300});
    dispatcher.set_bindings(vec![pre_hook.clone()]).unwrap();
    let event = login("u1", EventResult::Success);
    let started = tokio::time::Instant::now();
    dispatcher.pre(&event).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(300));

    pre_hook.abort_on_error = true;
    dispatcher.set_bindings(vec![pre_hook]).unwrap();
    let started = tokio::time::Instant::now();
    let e = dispatcher.pre(&event).await.unwrap_err();
    assert!(
        matches!(e, AuthError::HandlerFailed { cause: "timeout" }),
        "{e:?}"
    );
    assert_eq!(e.http_status(), 502);
    assert!(started.elapsed() <= Duration::from_millis(300));

    // Off the path: post returns at once; the run ends at the default
    // limit on the worker.
    let mut post_hook = binding("post-hook", "WebHook", "post", HandlerPosition::Post);
    post_hook.options = json!({"url": url});
    dispatcher.set_bindings(vec![post_hook]).unwrap();
    let started = tokio::time::Instant::now();
    let mut response = json!({"token": {}});
    dispatcher.post(&event, &mut response).await.unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
    dispatcher.wait_idle().await;
    assert_eq!(started.elapsed(), Duration::from_secs(2));

    audit.flush().await;
    let rows = auth_core::store::AuditStore::query_audit(store.as_ref(), &AuditQuery::new(10))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| !r.success && r.detail["cause"] == "timeout")
    );
    assert_eq!(rows[0].event, "POST-EVENT auth.tokens.create>>WebHook:post");
    assert_eq!(rows[0].detail["off_path"], true);
    assert_eq!(rows[2].event, "PRE-EVENT auth.tokens.create>>WebHook:post");
}

/// ResponseMangler changes what the caller gets back; Script is refused
/// unless configured.
#[tokio::test]
async fn responses_are_mangled_and_scripts_need_configuration() {
    let dispatcher = Dispatcher::builder()
        .modules(modules(Value::Null))
        .build()
        .unwrap();
    let mut hide = binding(
        "hide-catalog",
        "ResponseMangler",
        "delete",
        HandlerPosition::Post,
    );
    hide.options = json!({"path": "/token/catalog"});
    let mut note = binding("note", "ResponseMangler", "set", HandlerPosition::Post);
    note.options = json!({"path": "/token/notice", "value": "welcome"});
    note.ordering = 1;
    dispatcher.set_bindings(vec![hide, note]).unwrap();
    let mut response = json!({"token": {"catalog": [1], "methods": ["password"]}});
    dispatcher
        .post(&login("u1", EventResult::Success), &mut response)
        .await
        .unwrap();
    assert_eq!(
        response,
        json!({"token": {"methods": ["password"], "notice": "welcome"}})
    );

    let mut script = binding("script", "Script", "run", HandlerPosition::Post);
    script.options = json!({"script": "notify.sh"});
    let e = dispatcher.validate(&script).unwrap_err();
    assert!(e.to_string().contains("scripts are disabled"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notify.sh"), "#!/bin/sh\nexit 0\n").unwrap();
    let enabled = Dispatcher::builder()
        .modules(modules(
            json!({"Script": {"enabled": true, "directory": dir.path()}}),
        ))
        .build()
        .unwrap();
    enabled.validate(&script).unwrap();
}
