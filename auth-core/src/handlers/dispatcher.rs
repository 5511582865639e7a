//! The [`Dispatcher`]: runs the bindings of an event before and after the
//! call, isolates their failures, and audits every run.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

use super::binding::{self, BindingSet, CompiledBinding, common_options};
use super::condition;
use super::module::{ActionCall, ActionEffect};
use super::queue::{self, Job, QueuedRun};
use super::registration::HandlerModules;
use super::subject::Subject;
use super::template::TAGS;
use crate::AuthError;
use crate::audit::{self, AuditLog};
use crate::clock::{Clock, SystemClock};
use crate::events::AuthEvent;
use crate::store::{AuditKind, AuditRecord, HandlerBinding, HandlerPosition, Stores};

tokio::task_local! {
    /// Set while an action runs: anything an action does that would
    /// dispatch events again is ignored, so actions never trigger events.
    static IN_ACTION: ();
}

/// Whether the current task is running an action.
fn in_action() -> bool {
    IN_ACTION.try_with(|()| ()).is_ok()
}

/// The dispatcher's settings, e.g. `[events]` in the server's
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatcherConfig {
    /// The time limit of a run whose binding sets no `timeout_ms`.
    pub default_timeout_ms: u64,
    /// The largest `timeout_ms` a binding may set.
    pub max_timeout_ms: u64,
    /// How many events' off-path runs may wait for a worker; beyond that
    /// runs are dropped, counted and audited.
    pub queue_capacity: usize,
    /// How many events' off-path runs execute at once.
    pub workers: usize,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            default_timeout_ms: u64::try_from(super::DEFAULT_TIMEOUT.as_millis()).unwrap_or(5_000),
            max_timeout_ms: 60_000,
            queue_capacity: 1024,
            workers: 4,
        }
    }
}

/// Counters of the off-path queue, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatcherStats {
    /// Runs put on the queue.
    pub queued_runs: u64,
    /// Runs dropped because the queue was full (each audited as a failed
    /// run with the cause `queue_full`).
    pub dropped_runs: u64,
    /// Events whose runs are queued or running.
    pub pending_events: usize,
}

/// Builds a [`Dispatcher`].
#[derive(Debug)]
pub struct DispatcherBuilder {
    modules: HandlerModules,
    stores: Stores,
    clock: Arc<dyn Clock>,
    audit: AuditLog,
    config: DispatcherConfig,
}

impl DispatcherBuilder {
    /// The handler modules bindings may name.
    pub fn modules(mut self, modules: HandlerModules) -> Self {
        self.modules = modules;
        self
    }

    /// The stores actions and conditions read (the user, counters, …).
    pub fn stores(mut self, stores: Stores) -> Self {
        self.stores = stores;
        self
    }

    /// The clock (audit times, `{now}`, `last_auth`).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where the per-run audit rows go (default: nowhere).
    pub fn audit(mut self, audit: AuditLog) -> Self {
        self.audit = audit;
        self
    }

    /// Timeouts and queue sizes.
    pub fn config(mut self, config: DispatcherConfig) -> Self {
        self.config = config;
        self
    }

    /// The dispatcher, with no bindings yet. Spawns the off-path worker,
    /// so it must be called inside a Tokio runtime.
    pub fn build(self) -> Result<Dispatcher, AuthError> {
        let config = self.config;
        if config.default_timeout_ms == 0
            || config.max_timeout_ms < config.default_timeout_ms
            || config.queue_capacity == 0
            || config.workers == 0
        {
            return Err(AuthError::invalid_config(
                "events",
                "timeouts, the queue capacity and the workers must be positive, and the \
                 default timeout at most the maximum",
            ));
        }
        let runner = Arc::new(Runner {
            stores: self.stores,
            clock: self.clock,
            audit: self.audit,
            pending: AtomicUsize::new(0),
            idle: Notify::new(),
            queued: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        let (queue, jobs) = mpsc::channel(config.queue_capacity);
        queue::spawn_workers(runner.clone(), jobs, config.workers);
        Ok(Dispatcher {
            inner: Arc::new(Inner {
                modules: self.modules,
                bindings: ArcSwap::from_pointee(BindingSet::default()),
                runner,
                queue,
                config,
            }),
        })
    }
}

/// Runs event-handler bindings: `pre` before a call, `post` after it.
///
/// - **Matching.** A binding runs for an event when it is active, is bound
///   to the event's name (or `*`), has the position asked for, and all its
///   conditions hold. Bindings run in ascending `ordering`.
/// - **Isolation.** Every run has a time limit (`timeout_ms`, else the
///   configured default). A run that fails or times out is audited and
///   otherwise ignored, unless its binding has `abort_on_error`: then
///   [`Dispatcher::pre`] or [`Dispatcher::post`] returns
///   [`AuthError::HandlerFailed`] (502) and stops running bindings.
/// - **Off the request path.** Post bindings that neither change the
///   response nor abort on error go on a bounded queue and run on worker
///   tasks after `post` returns (their event-only conditions are checked
///   first, on the path, so nothing is queued in vain). A full queue drops
///   the runs, counts them ([`Dispatcher::stats`]) and audits each.
/// - **Audit.** Every run writes one row: kind `handler`, event
///   `PRE-EVENT <event>>><Module>:<action>` or `POST-EVENT …`, success,
///   duration, the event's client, user, project and request id, and the
///   binding's name and id; a failure adds the error kind (and its fixed
///   cause), never a message.
/// - **No recursion.** Actions never trigger events: while an action runs,
///   `pre` and `post` do nothing.
///
/// Bindings are swapped at runtime ([`Dispatcher::set_bindings`]) without
/// stopping events in flight. Cloning is cheap and shares everything.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    modules: HandlerModules,
    bindings: ArcSwap<BindingSet>,
    runner: Arc<Runner>,
    queue: mpsc::Sender<Job>,
    config: DispatcherConfig,
}

/// What runs need, shared with the off-path workers.
pub(crate) struct Runner {
    stores: Stores,
    clock: Arc<dyn Clock>,
    audit: AuditLog,
    /// Events whose runs are queued or running.
    pub(crate) pending: AtomicUsize,
    /// Notified when `pending` drops.
    pub(crate) idle: Notify,
    queued: AtomicU64,
    dropped: AtomicU64,
}

impl Dispatcher {
    /// A builder with no modules or stores, the system clock, no audit and
    /// the default configuration.
    pub fn builder() -> DispatcherBuilder {
        DispatcherBuilder {
            modules: HandlerModules::new(),
            stores: Stores::new(),
            clock: Arc::new(SystemClock),
            audit: AuditLog::disabled(),
            config: DispatcherConfig::default(),
        }
    }

    /// The handler modules.
    pub fn modules(&self) -> &HandlerModules {
        &self.inner.modules
    }

    /// The audit log runs are recorded in (the server writes its per-call
    /// rows there too).
    pub fn audit(&self) -> &AuditLog {
        &self.inner.runner.audit
    }

    /// Checks a binding as the admin API should before saving it: the
    /// module and action exist, the position is allowed, the options and
    /// conditions are valid. [`AuthError::BadRequest`] names the problem.
    pub fn validate(&self, binding: &HandlerBinding) -> Result<(), AuthError> {
        binding::compile(binding, &self.inner.modules, &self.inner.config).map(drop)
    }

    /// Replaces every binding (inactive ones are checked and kept out).
    /// All or nothing: if one is invalid, the error names it and the
    /// current bindings stay.
    pub fn set_bindings(&self, bindings: Vec<HandlerBinding>) -> Result<(), AuthError> {
        let compiled = bindings
            .iter()
            .map(|b| binding::compile(b, &self.inner.modules, &self.inner.config))
            .collect::<Result<Vec<_>, _>>()?;
        self.inner
            .bindings
            .store(Arc::new(BindingSet::new(compiled)));
        Ok(())
    }

    /// Replaces every binding with the valid ones and returns the others
    /// with their errors: for start-up, where a stored binding naming a
    /// module this build lacks should not stop the rest.
    pub fn set_valid_bindings(
        &self,
        bindings: Vec<HandlerBinding>,
    ) -> Vec<(HandlerBinding, AuthError)> {
        let mut valid = Vec::new();
        let mut invalid = Vec::new();
        for b in bindings {
            match binding::compile(&b, &self.inner.modules, &self.inner.config) {
                Ok(compiled) => valid.push(compiled),
                Err(e) => invalid.push((b, e)),
            }
        }
        self.inner.bindings.store(Arc::new(BindingSet::new(valid)));
        invalid
    }

    /// `binding` with its secret options (and any option whose name looks
    /// secret) replaced, for showing it back through the admin API.
    pub fn redact(&self, binding: &HandlerBinding) -> HandlerBinding {
        binding::redact(binding, &self.inner.modules)
    }

    /// Everything an admin UI needs to build bindings: positions, every
    /// module's actions and their options, the options every action takes,
    /// the conditions, comparators and template tags.
    pub fn schema(&self) -> Value {
        let modules: Vec<Value> = self
            .inner
            .modules
            .iter()
            .map(|(name, module)| {
                json!({
                    "name": name,
                    "description": module.description(),
                    "actions": module.actions(),
                })
            })
            .collect();
        let tags: Vec<Value> = TAGS
            .iter()
            .map(|(name, description)| json!({"name": name, "description": description}))
            .collect();
        let mut schema = json!({
            "positions": ["pre", "post"],
            "any_event": binding::ANY_EVENT,
            "modules": modules,
            "common_options": common_options(&self.inner.config),
            "tags": tags,
        });
        if let (Value::Object(schema), Value::Object(conditions)) =
            (&mut schema, condition::schema())
        {
            schema.extend(conditions);
        }
        schema
    }

    /// Whether any active binding is bound to `event_name` (or `*`), pre or
    /// post: the fast path that lets a caller skip building an event.
    pub fn wants(&self, event_name: &str) -> bool {
        self.wants_at(event_name, HandlerPosition::Pre)
            || self.wants_at(event_name, HandlerPosition::Post)
    }

    /// Whether any active binding of `position` is bound to `event_name`.
    pub fn wants_at(&self, event_name: &str, position: HandlerPosition) -> bool {
        !in_action() && self.inner.bindings.load().wants(event_name, position)
    }

    /// Runs the pre bindings of `event`, in order, on the request path.
    /// An error means a binding with `abort_on_error` failed: the call must
    /// not go ahead.
    pub async fn pre(&self, event: &AuthEvent) -> Result<(), AuthError> {
        if !self.wants_at(&event.name, HandlerPosition::Pre) {
            return Ok(());
        }
        let set = self.inner.bindings.load_full();
        let runner = &self.inner.runner;
        let subject = Arc::new(runner.subject(event));
        for b in set.bound_to(&event.name, HandlerPosition::Pre) {
            if !b.conditions.hold(event, &subject, runner.clock.now()).await {
                continue;
            }
            let result = runner
                .run(b, event, HandlerPosition::Pre, None, &subject, false)
                .await;
            if let Err(e) = result {
                if b.binding.abort_on_error {
                    return Err(aborted(&e));
                }
            }
        }
        Ok(())
    }

    /// Runs the post bindings of `event` with the call's `response`, in
    /// order. Bindings that change the response replace it (later ones see
    /// the new one); bindings that neither change it nor abort on error
    /// are queued and run after this returns. An error means a binding with
    /// `abort_on_error` failed.
    pub async fn post(&self, event: &AuthEvent, response: &mut Value) -> Result<(), AuthError> {
        if !self.wants_at(&event.name, HandlerPosition::Post) {
            return Ok(());
        }
        let set = self.inner.bindings.load_full();
        let runner = &self.inner.runner;
        let subject = Arc::new(runner.subject(event));
        let mut queued = Vec::new();
        let mut snapshot: Option<Arc<Value>> = None;
        let mut outcome = Ok(());
        for b in set.bound_to(&event.name, HandlerPosition::Post) {
            let now = runner.clock.now();
            if !b.conditions.event_conditions_hold(event, now) {
                continue;
            }
            if !b.on_request_path() {
                // Off the path: it sees the response as it is now.
                let seen = snapshot.get_or_insert_with(|| Arc::new(response.clone()));
                queued.push(QueuedRun {
                    binding: b.clone(),
                    response: seen.clone(),
                });
                continue;
            }
            if !b.conditions.hold(event, &subject, now).await {
                continue;
            }
            let result = runner
                .run(
                    b,
                    event,
                    HandlerPosition::Post,
                    Some(response),
                    &subject,
                    false,
                )
                .await;
            match result {
                Ok(ActionEffect::ReplaceResponse(replacement)) => {
                    *response = replacement;
                    snapshot = None;
                }
                Ok(_) => {}
                Err(e) if b.binding.abort_on_error => {
                    outcome = Err(aborted(&e));
                    break;
                }
                Err(_) => {}
            }
        }
        if !queued.is_empty() {
            self.enqueue(Job {
                event: event.clone(),
                subject,
                runs: queued,
            });
        }
        outcome
    }

    /// Puts a job on the queue, or drops, counts and audits its runs.
    fn enqueue(&self, job: Job) {
        let runner = &self.inner.runner;
        let runs = u64::try_from(job.runs.len()).unwrap_or(u64::MAX);
        runner.pending.fetch_add(1, Ordering::SeqCst);
        match self.inner.queue.try_send(job) {
            Ok(()) => {
                runner.queued.fetch_add(runs, Ordering::Relaxed);
            }
            Err(refused) => {
                runner.done();
                runner.dropped.fetch_add(runs, Ordering::Relaxed);
                let job = refused.into_inner();
                for run in &job.runs {
                    let failure = Err(AuthError::handler_failed("queue_full"));
                    runner.audit.record(runner.row(
                        &run.binding,
                        &job.event,
                        HandlerPosition::Post,
                        &failure,
                        Duration::ZERO,
                        true,
                    ));
                }
            }
        }
    }

    /// Waits until every queued run has finished: for tests and shutdown.
    pub async fn wait_idle(&self) {
        let runner = &self.inner.runner;
        loop {
            let mut notified = std::pin::pin!(runner.idle.notified());
            notified.as_mut().enable();
            if runner.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Counters of the off-path queue.
    pub fn stats(&self) -> DispatcherStats {
        let runner = &self.inner.runner;
        DispatcherStats {
            queued_runs: runner.queued.load(Ordering::Relaxed),
            dropped_runs: runner.dropped.load(Ordering::Relaxed),
            pending_events: runner.pending.load(Ordering::SeqCst),
        }
    }
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("modules", &self.inner.modules)
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// The error an aborting binding's failure becomes: one variant, one
/// status (502), with the failure's fixed cause or kind.
fn aborted(e: &AuthError) -> AuthError {
    match e {
        AuthError::HandlerFailed { cause } => AuthError::handler_failed(cause),
        other => AuthError::handler_failed(other.kind()),
    }
}

/// The audit event of a run: `PRE-EVENT auth.tokens.create>>WebHook:post`.
pub fn handler_audit_event(
    position: HandlerPosition,
    event: &str,
    module: &str,
    action: &str,
) -> String {
    let position = match position {
        HandlerPosition::Pre => "PRE",
        HandlerPosition::Post => "POST",
    };
    format!("{position}-EVENT {event}>>{module}:{action}")
}

impl Runner {
    pub(crate) fn subject(&self, event: &AuthEvent) -> Subject {
        Subject::new(event.user_id.clone(), self.stores.clone())
    }

    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// One queued or running event fewer.
    pub(crate) fn done(&self) {
        self.pending.fetch_sub(1, Ordering::SeqCst);
        self.idle.notify_waiters();
    }

    /// Runs one binding with its time limit, outside any event dispatch,
    /// and audits the run.
    pub(crate) async fn run(
        &self,
        b: &CompiledBinding,
        event: &AuthEvent,
        position: HandlerPosition,
        response: Option<&Value>,
        subject: &Arc<Subject>,
        off_path: bool,
    ) -> Result<ActionEffect, AuthError> {
        let call = ActionCall::new(
            &b.binding.action,
            &b.options,
            event,
            position,
            &self.stores,
            self.clock.now(),
        )
        .with_names(&b.binding.name, &b.binding.module)
        .with_timeout(b.timeout)
        .with_subject(subject.clone());
        let call = match response {
            Some(response) => call.with_response(response),
            None => call,
        };
        let started = tokio::time::Instant::now();
        let outcome = IN_ACTION
            .scope((), tokio::time::timeout(b.timeout, b.module.run(call)))
            .await;
        let elapsed = started.elapsed();
        let result = match outcome {
            Err(_elapsed) => Err(AuthError::handler_failed("timeout")),
            Ok(Ok(ActionEffect::ReplaceResponse(_)))
                if position == HandlerPosition::Pre || !b.changes_response =>
            {
                // A module that replaces a response its spec says it
                // leaves alone broke its contract; the replacement is
                // ignored.
                Err(AuthError::handler_failed("contract"))
            }
            Ok(result) => result,
        };
        self.audit
            .record(self.row(b, event, position, &result, elapsed, off_path));
        result
    }

    /// The audit row of one run.
    pub(crate) fn row(
        &self,
        b: &CompiledBinding,
        event: &AuthEvent,
        position: HandlerPosition,
        result: &Result<ActionEffect, AuthError>,
        elapsed: Duration,
        off_path: bool,
    ) -> AuditRecord {
        let name = handler_audit_event(position, &event.name, &b.binding.module, &b.binding.action);
        let mut row = audit::record_for(event, AuditKind::Handler, name);
        row.at = self.clock.now();
        row.success = result.is_ok();
        row.duration_us = Some(i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX));
        let mut detail = json!({
            "binding": b.binding.name,
            "binding_id": b.binding.id,
            "off_path": off_path,
        });
        if let (Err(e), Value::Object(members)) = (result, &mut detail) {
            members.insert("error".into(), json!(e.kind()));
            if let AuthError::HandlerFailed { cause } = e {
                members.insert("cause".into(), json!(cause));
            }
        }
        row.detail = detail;
        row
    }
}
