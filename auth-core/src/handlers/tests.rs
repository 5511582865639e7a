//! The dispatcher: matching, ordering, positions, failure isolation,
//! timeouts, the off-path queue, enrichment, audit rows, no recursion.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::*;
use crate::audit::{AuditLog, AuditLogConfig};
use crate::events::{AuthEvent, EventResult};
use crate::store::{
    AuditKind, AuditQuery, AuditRecord, AuditStore, Domain, HandlerBinding, HandlerPosition,
    PasswordStore, User, UserStore,
};
use crate::testkit::MemoryStore;
use crate::{AuthError, ManualClock, Stores};

/// What the test modules saw, in order: `binding@event:position` plus the
/// response they were given.
type Seen = Arc<Mutex<Vec<(String, Option<Value>)>>>;

/// A module whose one action records the run and then, as its options
/// say, fails, hangs, waits for the gate, or re-enters the dispatcher.
#[derive(Debug)]
struct Recorder {
    seen: Seen,
    gate: Arc<Semaphore>,
    reenter: Arc<OnceLock<Dispatcher>>,
    actions: Vec<ActionSpec>,
}

impl Recorder {
    fn new() -> Arc<Self> {
        let record = ActionSpec::new("record", "records the run")
            .option(OptionSpec::boolean("fail", "fail").default_value(false))
            .option(OptionSpec::boolean("hang", "never finish").default_value(false))
            .option(OptionSpec::boolean("gated", "wait for the gate").default_value(false))
            .option(OptionSpec::boolean("reenter", "dispatch again").default_value(false))
            .option(OptionSpec::template("note", "a template").default_value("{user}"))
            .option(OptionSpec::secret("token", "a secret"));
        let only_post = ActionSpec::new("late", "post only").positions(&[HandlerPosition::Post]);
        Arc::new(Self {
            seen: Arc::default(),
            gate: Arc::new(Semaphore::new(0)),
            reenter: Arc::new(OnceLock::new()),
            actions: vec![record, only_post],
        })
    }

    fn seen(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(s, _)| s.clone())
            .collect()
    }
}

#[async_trait]
impl HandlerModule for Recorder {
    fn name(&self) -> &str {
        "Recorder"
    }
    fn actions(&self) -> &[ActionSpec] {
        &self.actions
    }
    fn check(&self, _action: &str, options: &ActionOptions) -> Result<(), AuthError> {
        match options.str("note") {
            Some("refuse") => Err(AuthError::bad_request("notes may not say refuse")),
            _ => Ok(()),
        }
    }
    async fn run(&self, call: ActionCall<'_>) -> Result<ActionEffect, AuthError> {
        let position = match call.position() {
            HandlerPosition::Pre => "pre",
            HandlerPosition::Post => "post",
        };
        let note = match call.options().str("note") {
            Some(template) if !template.is_empty() => call.tags().await.render(template),
            _ => String::new(),
        };
        self.seen.lock().unwrap().push((
            format!("{}@{}:{position}:{note}", call.binding(), call.event().name),
            call.response().cloned(),
        ));
        let options = call.options();
        if options.bool("reenter") == Some(true) {
            let dispatcher = self.reenter.get().unwrap();
            assert!(!dispatcher.wants(&call.event().name));
            dispatcher.pre(call.event()).await?;
        }
        if options.bool("gated") == Some(true) {
            self.gate.acquire().await.unwrap().forget();
        }
        if options.bool("hang") == Some(true) {
            std::future::pending::<()>().await;
        }
        if options.bool("fail") == Some(true) {
            return Err(AuthError::handler_failed("rejected"));
        }
        Ok(ActionEffect::Unchanged)
    }
}

/// Replaces the response (`set`), or tries to without saying so
/// (`rogue`), or fails with a store error (`broken`).
#[derive(Debug)]
struct Mangler(Vec<ActionSpec>);

impl Mangler {
    fn new() -> Arc<Self> {
        Arc::new(Self(vec![
            ActionSpec::new("set", "sets /mangled")
                .changing_response()
                .option(OptionSpec::json("value", "what").required()),
            ActionSpec::new("rogue", "replaces without saying so"),
            ActionSpec::new("broken", "fails with a store error"),
        ]))
    }
}

#[async_trait]
impl HandlerModule for Mangler {
    fn name(&self) -> &str {
        "Mangler"
    }
    fn actions(&self) -> &[ActionSpec] {
        &self.0
    }
    async fn run(&self, call: ActionCall<'_>) -> Result<ActionEffect, AuthError> {
        match call.action() {
            "broken" => Err(AuthError::StoreUnavailable("x failed".into())),
            _ => {
                let mut response = call.response().cloned().unwrap_or(Value::Null);
                response["mangled"] = call.options().get("value").cloned().unwrap_or_default();
                Ok(ActionEffect::ReplaceResponse(response))
            }
        }
    }
}

/// A user store that counts loads.
#[derive(Debug, Default)]
struct CountingUsers {
    inner: MemoryStore,
    loads: AtomicUsize,
}

#[async_trait]
impl UserStore for CountingUsers {
    async fn get_user(&self, id: &str) -> Result<User, AuthError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_user(id).await
    }
    async fn find_user_by_name(&self, d: &str, n: &str) -> Result<User, AuthError> {
        self.inner.find_user_by_name(d, n).await
    }
    async fn get_domain(&self, id: &str) -> Result<Domain, AuthError> {
        self.inner.get_domain(id).await
    }
    async fn find_domain_by_name(&self, name: &str) -> Result<Domain, AuthError> {
        self.inner.find_domain_by_name(name).await
    }
}

struct Harness {
    dispatcher: Dispatcher,
    recorder: Arc<Recorder>,
    users: Arc<CountingUsers>,
    audit: Arc<MemoryStore>,
}

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000, 0).unwrap()
}

fn harness_with(config: DispatcherConfig) -> Harness {
    let recorder = Recorder::new();
    let users = Arc::new(CountingUsers::default());
    users.inner.add_user("u1", "alice");
    let audit = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(start()));
    let modules = HandlerModules::new()
        .with(recorder.clone())
        .unwrap()
        .with(Mangler::new())
        .unwrap();
    let stores = Stores::new()
        .with_users(users.clone())
        .with_passwords(Arc::new(MemoryStore::new()) as Arc<dyn PasswordStore>);
    let dispatcher = Dispatcher::builder()
        .modules(modules)
        .stores(stores)
        .clock(clock.clone())
        .audit(AuditLog::new(
            audit.clone(),
            clock,
            AuditLogConfig::default(),
        ))
        .config(config)
        .build()
        .unwrap();
    recorder.reenter.set(dispatcher.clone()).unwrap();
    Harness {
        dispatcher,
        recorder,
        users,
        audit,
    }
}

fn harness() -> Harness {
    harness_with(DispatcherConfig::default())
}

fn binding(name: &str, position: HandlerPosition, ordering: i32, options: Value) -> HandlerBinding {
    HandlerBinding::new(
        format!("id-{name}"),
        name,
        vec!["auth.tokens.create".into()],
        "Recorder",
        "record",
    )
    .with_options(options)
    .with_conditions(Value::Null)
    .with_position(position)
    .with_ordering(ordering)
}

fn pre(name: &str, ordering: i32) -> HandlerBinding {
    binding(name, HandlerPosition::Pre, ordering, json!({"note": ""}))
}

fn post(name: &str, ordering: i32) -> HandlerBinding {
    binding(name, HandlerPosition::Post, ordering, json!({"note": ""}))
}

fn event(name: &str) -> AuthEvent {
    let mut e = AuthEvent::new(name, start());
    e.user_id = Some("u1".into());
    e.result = Some(EventResult::Failure);
    e.client_addr = Some("10.0.0.9".parse().unwrap());
    e.request_id = Some("req-1".into());
    e
}

impl Harness {
    async fn rows(&self) -> Vec<AuditRecord> {
        self.dispatcher.audit().flush().await;
        let mut rows = self
            .audit
            .query_audit(&AuditQuery::new(1000))
            .await
            .unwrap();
        rows.reverse();
        rows
    }
}

#[tokio::test]
async fn bindings_run_in_ordering_for_their_events_and_position() {
    let h = harness();
    let mut star = pre("star", 7);
    star.events = vec!["*".into()];
    let mut inactive = pre("inactive", 0);
    inactive.active = false;
    let mut other = pre("other", 0);
    other.events = vec!["token.validate".into()];
    h.dispatcher
        .set_bindings(vec![
            pre("c", 10),
            pre("a", -1),
            star,
            inactive,
            other,
            post("p", 0),
            pre("b", 5),
        ])
        .unwrap();
    h.dispatcher
        .pre(&event("auth.tokens.create"))
        .await
        .unwrap();
    assert_eq!(
        h.recorder.seen(),
        [
            "a@auth.tokens.create:pre:",
            "b@auth.tokens.create:pre:",
            "star@auth.tokens.create:pre:",
            "c@auth.tokens.create:pre:"
        ]
    );
    h.dispatcher.pre(&event("token.validate")).await.unwrap();
    assert_eq!(
        h.recorder.seen()[4..],
        ["other@token.validate:pre:", "star@token.validate:pre:"]
    );
}

#[tokio::test]
async fn wants_is_the_fast_path() {
    let h = harness();
    assert!(!h.dispatcher.wants("auth.tokens.create"));
    let mut inactive = pre("off", 0);
    inactive.active = false;
    h.dispatcher.set_bindings(vec![inactive.clone()]).unwrap();
    assert!(!h.dispatcher.wants("auth.tokens.create"));
    h.dispatcher.set_bindings(vec![post("p", 0)]).unwrap();
    assert!(h.dispatcher.wants("auth.tokens.create"));
    assert!(
        !h.dispatcher
            .wants_at("auth.tokens.create", HandlerPosition::Pre)
    );
    assert!(!h.dispatcher.wants("token.validate"));
    let mut star = pre("star", 0);
    star.events = vec!["*".into()];
    h.dispatcher.set_bindings(vec![star]).unwrap();
    assert!(h.dispatcher.wants("anything.at.all"));
}

#[tokio::test]
async fn a_failure_is_audited_and_ignored_unless_the_binding_aborts() {
    let h = harness();
    let failing = binding(
        "failing",
        HandlerPosition::Pre,
        1,
        json!({"fail": true, "note": ""}),
    );
    h.dispatcher
        .set_bindings(vec![failing.clone(), pre("after", 2)])
        .unwrap();
    h.dispatcher
        .pre(&event("auth.tokens.create"))
        .await
        .unwrap();
    assert_eq!(h.recorder.seen().len(), 2);

    let aborting = HandlerBinding {
        abort_on_error: true,
        ..failing
    };
    h.dispatcher
        .set_bindings(vec![aborting, pre("after", 2)])
        .unwrap();
    let e = h
        .dispatcher
        .pre(&event("auth.tokens.create"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, AuthError::HandlerFailed { cause: "rejected" }),
        "{e:?}"
    );
    assert_eq!(e.http_status(), 502);
    assert_eq!(
        h.recorder.seen().len(),
        3,
        "the binding after the abort did not run"
    );

    let rows = h.rows().await;
    assert_eq!(rows.len(), 3);
    let failed = &rows[0];
    assert_eq!(failed.kind, AuditKind::Handler);
    assert_eq!(
        failed.event,
        "PRE-EVENT auth.tokens.create>>Recorder:record"
    );
    assert!(!failed.success);
    assert_eq!(
        failed.detail,
        json!({"binding": "failing", "binding_id": "id-failing", "off_path": false,
               "error": "handler_failed", "cause": "rejected"})
    );
    assert_eq!(failed.client_addr.as_deref(), Some("10.0.0.9"));
    assert_eq!(failed.user_id.as_deref(), Some("u1"));
    assert_eq!(failed.request_id.as_deref(), Some("req-1"));
    assert!(failed.duration_us.is_some());
    assert!(rows[1].success);
    assert_eq!(rows[1].detail["binding"], "after");
}

#[tokio::test]
async fn other_errors_abort_as_a_502_with_their_kind_only() {
    let h = harness();
    let mut broken = binding("broken", HandlerPosition::Pre, 0, Value::Null);
    broken.module = "Mangler".into();
    broken.action = "broken".into();
    broken.abort_on_error = true;
    h.dispatcher.set_bindings(vec![broken]).unwrap();
    let e = h
        .dispatcher
        .pre(&event("auth.tokens.create"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            AuthError::HandlerFailed {
                cause: "store_unavailable"
            }
        ),
        "{e:?}"
    );
    let row = &h.rows().await[0];
    assert_eq!(row.detail["error"], "store_unavailable");
    assert!(
        !row.detail.to_string().contains("x failed"),
        "no message in the audit"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hanging_action_is_cut_off_at_its_timeout() {
    let h = harness();
    let hang = binding(
        "hang",
        HandlerPosition::Pre,
        0,
        json!({"hang": true, "timeout_ms": 250}),
    );
    h.dispatcher
        .set_bindings(vec![hang.clone(), pre("after", 1)])
        .unwrap();
    let started = tokio::time::Instant::now();
    h.dispatcher
        .pre(&event("auth.tokens.create"))
        .await
        .unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(250));
    assert_eq!(h.recorder.seen().len(), 2, "the next binding still ran");
    let rows = h.rows().await;
    assert_eq!(rows[0].detail["cause"], "timeout");
    assert_eq!(rows[0].duration_us, Some(250_000));

    // Without timeout_ms, the configured default applies; with
    // abort_on_error, the timeout fails the call.
    let mut default = binding("hang", HandlerPosition::Pre, 0, json!({"hang": true}));
    default.abort_on_error = true;
    h.dispatcher.set_bindings(vec![default]).unwrap();
    let started = tokio::time::Instant::now();
    let e = h
        .dispatcher
        .pre(&event("auth.tokens.create"))
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::HandlerFailed { cause: "timeout" }));
    assert_eq!(started.elapsed(), DEFAULT_TIMEOUT);
}

#[tokio::test]
async fn post_bindings_change_the_response_in_order() {
    let h = harness();
    let mut set = binding("set", HandlerPosition::Post, 2, json!({"value": 1}));
    set.module = "Mangler".into();
    set.action = "set".into();
    let mut inline_before = post("before", 1);
    inline_before.abort_on_error = true; // runs on the path
    let mut inline_after = post("after", 3);
    inline_after.abort_on_error = true;
    let queued_before = post("queued-before", 1);
    let queued_after = post("queued-after", 3);
    h.dispatcher
        .set_bindings(vec![
            set,
            inline_before,
            inline_after,
            queued_before,
            queued_after,
        ])
        .unwrap();
    let mut response = json!({"token": "t"});
    h.dispatcher
        .post(&event("auth.tokens.create"), &mut response)
        .await
        .unwrap();
    assert_eq!(response, json!({"token": "t", "mangled": 1}));
    h.dispatcher.wait_idle().await;
    let seen: std::collections::BTreeMap<String, Option<Value>> =
        h.recorder.seen.lock().unwrap().iter().cloned().collect();
    let before = Some(json!({"token": "t"}));
    let after = Some(json!({"token": "t", "mangled": 1}));
    assert_eq!(seen["before@auth.tokens.create:post:"], before);
    assert_eq!(seen["queued-before@auth.tokens.create:post:"], before);
    assert_eq!(seen["after@auth.tokens.create:post:"], after);
    assert_eq!(seen["queued-after@auth.tokens.create:post:"], after);
    let stats = h.dispatcher.stats();
    assert_eq!((stats.queued_runs, stats.dropped_runs), (2, 0));
    let off_path: Vec<bool> = h
        .rows()
        .await
        .iter()
        .map(|r| r.detail["off_path"].as_bool().unwrap())
        .collect();
    assert_eq!(off_path.iter().filter(|o| **o).count(), 2);
}

#[tokio::test]
async fn a_response_change_the_spec_does_not_allow_is_refused() {
    let h = harness();
    let mut rogue = post("rogue", 0);
    rogue.module = "Mangler".into();
    rogue.action = "rogue".into();
    rogue.options = Value::Null;
    rogue.abort_on_error = true; // on the path, so the change would land
    h.dispatcher.set_bindings(vec![rogue]).unwrap();
    let mut response = json!({"a": 1});
    let e = h
        .dispatcher
        .post(&event("auth.tokens.create"), &mut response)
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::HandlerFailed { cause: "contract" }));
    assert_eq!(response, json!({"a": 1}));
}

#[tokio::test]
async fn off_path_runs_do_not_hold_up_the_call() {
    let h = harness();
    let gated = binding(
        "gated",
        HandlerPosition::Post,
        0,
        json!({"gated": true, "note": ""}),
    );
    h.dispatcher.set_bindings(vec![gated]).unwrap();
    let mut response = json!({});
    // Returns although the run is waiting for the gate.
    h.dispatcher
        .post(&event("auth.tokens.create"), &mut response)
        .await
        .unwrap();
    assert_eq!(h.dispatcher.stats().pending_events, 1);
    h.recorder.gate.add_permits(1);
    h.dispatcher.wait_idle().await;
    assert_eq!(h.recorder.seen(), ["gated@auth.tokens.create:post:"]);
    assert_eq!(h.dispatcher.stats().pending_events, 0);
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_drops_counts_and_audits() {
    let h = harness_with(DispatcherConfig {
        queue_capacity: 1,
        workers: 1,
        ..Default::default()
    });
    let gated = binding(
        "gated",
        HandlerPosition::Post,
        0,
        json!({"gated": true, "note": ""}),
    );
    h.dispatcher.set_bindings(vec![gated]).unwrap();
    let ev = event("auth.tokens.create");
    h.dispatcher.post(&ev, &mut json!({})).await.unwrap();
    // Let the worker take the first job and block in it.
    tokio::time::sleep(Duration::from_millis(1)).await;
    h.dispatcher.post(&ev, &mut json!({})).await.unwrap(); // waits in the queue
    h.dispatcher.post(&ev, &mut json!({})).await.unwrap(); // dropped
    assert_eq!(h.dispatcher.stats().dropped_runs, 1);
    assert_eq!(h.dispatcher.stats().queued_runs, 2);
    h.recorder.gate.add_permits(10);
    h.dispatcher.wait_idle().await;
    assert_eq!(h.recorder.seen().len(), 2);
    let rows = h.rows().await;
    let dropped: Vec<_> = rows
        .iter()
        .filter(|r| r.detail.get("cause") == Some(&json!("queue_full")))
        .collect();
    assert_eq!(dropped.len(), 1);
    assert!(!dropped[0].success);
    assert_eq!(
        dropped[0].event,
        "POST-EVENT auth.tokens.create>>Recorder:record"
    );
    assert_eq!(rows.iter().filter(|r| r.success).count(), 2);
}

#[tokio::test]
async fn conditions_gate_runs_and_the_user_is_loaded_once_when_needed() {
    let h = harness();
    let mut on_failure = pre("on-failure", 0);
    on_failure.conditions = json!({"result": "failure"});
    let mut on_success = pre("on-success", 1);
    on_success.conditions = json!({"result": "success"});
    let mut alice = pre("alice", 2);
    alice.conditions = json!({"user": "^alice$", "client_ip": "10.0.0.0/8"});
    let mut bob = pre("bob", 3);
    bob.conditions = json!({"user_attribute": "name == bob"});
    let mut counted = pre("counted", 4);
    counted.conditions = json!({"failure_count": 0});
    h.dispatcher
        .set_bindings(vec![on_failure.clone(), on_success, alice, bob, counted])
        .unwrap();
    h.dispatcher
        .pre(&event("auth.tokens.create"))
        .await
        .unwrap();
    assert_eq!(
        h.recorder.seen(),
        [
            "on-failure@auth.tokens.create:pre:",
            "alice@auth.tokens.create:pre:",
            "counted@auth.tokens.create:pre:"
        ]
    );
    assert_eq!(
        h.users.loads.load(Ordering::SeqCst),
        1,
        "one load for three bindings"
    );

    // Nothing needs the user: nothing is loaded.
    h.dispatcher.set_bindings(vec![on_failure]).unwrap();
    h.dispatcher
        .pre(&event("auth.tokens.create"))
        .await
        .unwrap();
    assert_eq!(h.users.loads.load(Ordering::SeqCst), 1);

    // A template that names the user loads it for the run.
    h.dispatcher
        .set_bindings(vec![binding(
            "tpl",
            HandlerPosition::Pre,
            0,
            json!({"note": "{user}/{user_id}"}),
        )])
        .unwrap();
    h.dispatcher
        .pre(&event("auth.tokens.create"))
        .await
        .unwrap();
    assert_eq!(
        h.recorder.seen().last().unwrap(),
        "tpl@auth.tokens.create:pre:alice/u1"
    );
}

#[tokio::test]
async fn off_path_conditions_on_the_user_are_checked_by_the_worker() {
    let h = harness();
    let mut alice = post("alice", 0);
    alice.conditions = json!({"user": "^alice$", "result": "failure"});
    let mut bob = post("bob", 1);
    bob.conditions = json!({"user": "^bob$"});
    let mut on_success = post("on-success", 2);
    on_success.conditions = json!({"result": "success"});
    h.dispatcher
        .set_bindings(vec![alice, bob, on_success])
        .unwrap();
    h.dispatcher
        .post(&event("auth.tokens.create"), &mut json!({}))
        .await
        .unwrap();
    // The event-only condition kept on-success off the queue.
    assert_eq!(h.dispatcher.stats().queued_runs, 2);
    h.dispatcher.wait_idle().await;
    assert_eq!(h.recorder.seen(), ["alice@auth.tokens.create:post:"]);
}

#[tokio::test]
async fn actions_never_trigger_events() {
    let h = harness();
    let reenter = binding(
        "reenter",
        HandlerPosition::Pre,
        0,
        json!({"reenter": true, "note": ""}),
    );
    h.dispatcher.set_bindings(vec![reenter]).unwrap();
    h.dispatcher
        .pre(&event("auth.tokens.create"))
        .await
        .unwrap();
    assert_eq!(h.recorder.seen().len(), 1);
}

#[tokio::test]
async fn invalid_bindings_are_refused_with_the_problem_named() {
    let h = harness();
    let refused = |b: HandlerBinding| {
        let e = h.dispatcher.validate(&b).unwrap_err();
        assert_eq!(e.http_status(), 400, "{e}");
        e.to_string()
    };
    let ok = pre("ok", 0);
    h.dispatcher.validate(&ok).unwrap();
    let e = refused(HandlerBinding {
        module: "Nope".into(),
        ..ok.clone()
    });
    assert!(
        e.contains("handler binding 'ok': no handler module 'Nope'; modules: Mangler, Recorder"),
        "{e}"
    );
    let e = refused(HandlerBinding {
        action: "nope".into(),
        ..ok.clone()
    });
    assert!(
        e.contains("Recorder has no action 'nope'; actions: record, late"),
        "{e}"
    );
    let e = refused(HandlerBinding {
        action: "late".into(),
        options: Value::Null,
        ..ok.clone()
    });
    assert!(e.contains("Recorder:late cannot run pre"), "{e}");
    let e = refused(HandlerBinding {
        options: json!({"fail": "yes"}),
        ..ok.clone()
    });
    assert!(
        e.contains("option 'fail' of Recorder:record must be true or false"),
        "{e}"
    );
    let e = refused(HandlerBinding {
        options: json!({"timeout_ms": 0}),
        ..ok.clone()
    });
    assert!(
        e.contains("'timeout_ms'") && e.contains("between 1 and 60000"),
        "{e}"
    );
    let e = refused(HandlerBinding {
        options: json!({"note": "refuse"}),
        ..ok.clone()
    });
    assert!(e.contains("notes may not say refuse"), "{e}");
    let e = refused(HandlerBinding {
        conditions: json!({"client_ip": "nowhere"}),
        ..ok.clone()
    });
    assert!(e.contains("condition 'client_ip'"), "{e}");
    let e = refused(HandlerBinding {
        events: vec![],
        ..ok.clone()
    });
    assert!(e.contains("events"), "{e}");

    // set_bindings is all or nothing; set_valid_bindings keeps the good.
    h.dispatcher.set_bindings(vec![ok.clone()]).unwrap();
    let bad = HandlerBinding {
        name: "bad".into(),
        module: "Nope".into(),
        ..ok.clone()
    };
    assert!(
        h.dispatcher
            .set_bindings(vec![pre("other", 0), bad.clone()])
            .is_err()
    );
    h.dispatcher
        .pre(&event("auth.tokens.create"))
        .await
        .unwrap();
    assert_eq!(h.recorder.seen(), ["ok@auth.tokens.create:pre:"]);
    let rejected = h.dispatcher.set_valid_bindings(vec![pre("other", 0), bad]);
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].0.name, "bad");
    h.dispatcher
        .pre(&event("auth.tokens.create"))
        .await
        .unwrap();
    assert_eq!(h.recorder.seen()[1], "other@auth.tokens.create:pre:");
}

#[tokio::test]
async fn the_schema_and_redaction_serve_the_admin_api() {
    let h = harness();
    let schema = h.dispatcher.schema();
    let names: Vec<&str> = schema["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Mangler", "Recorder"]);
    assert_eq!(schema["modules"][0]["actions"][0]["changes_response"], true);
    assert_eq!(
        schema["modules"][0]["actions"][0]["positions"],
        json!(["post"])
    );
    assert_eq!(schema["common_options"][0]["name"], "timeout_ms");
    assert!(
        schema["comparators"]
            .as_array()
            .unwrap()
            .contains(&json!("matches"))
    );
    assert!(
        schema["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "user_attribute")
    );
    assert!(
        schema["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "client_ip")
    );

    let secretive = binding(
        "s",
        HandlerPosition::Pre,
        0,
        json!({"token": "abc", "note": "x", "api_password": "p"}),
    );
    let shown = h.dispatcher.redact(&secretive);
    assert_eq!(
        shown.options,
        json!({"token": "[redacted]", "note": "x", "api_password": "[redacted]"})
    );
}
