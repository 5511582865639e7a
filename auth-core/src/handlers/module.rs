//! The contract handler modules implement: [`HandlerModule`], the actions
//! it offers ([`ActionSpec`]), what a run sees ([`ActionCall`]) and what it
//! may do to the response ([`ActionEffect`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::options::{ActionOptions, OptionSpec};
use super::subject::Subject;
use super::template::{RunLabels, Tags};
use crate::AuthError;
use crate::events::AuthEvent;
use crate::store::{HandlerPosition, Stores, User, UserAuthState};

/// A handler module: a named set of actions that bindings attach to
/// events (privacyIDEA's handler modules: WebHook, Counter, …).
///
/// Built once at start-up from its configuration section (through the
/// [registry](super::HandlerModuleRegistration)) and shared by every run,
/// so it is `Send + Sync` and keeps per-run state out of `self`.
///
/// ```
/// use async_trait::async_trait;
/// use auth_core::AuthError;
/// use auth_core::handlers::{ActionCall, ActionEffect, ActionSpec, HandlerModule, OptionSpec};
///
/// /// Prints a line per event.
/// #[derive(Debug)]
/// struct Print {
///     actions: Vec<ActionSpec>,
/// }
///
/// impl Print {
///     fn new() -> Self {
///         let say = ActionSpec::new("say", "prints the message")
///             .option(OptionSpec::template("message", "what to print").default_value("{event}"));
///         Self { actions: vec![say] }
///     }
/// }
///
/// #[async_trait]
/// impl HandlerModule for Print {
///     fn name(&self) -> &str {
///         "Print"
///     }
///
///     fn actions(&self) -> &[ActionSpec] {
///         &self.actions
///     }
///
///     async fn run(&self, call: ActionCall<'_>) -> Result<ActionEffect, AuthError> {
///         let message = call.options().require_str("message")?;
///         println!("{}", call.tags().await.render(message));
///         Ok(ActionEffect::Unchanged)
///     }
/// }
/// # let _ = Print::new();
/// ```
#[async_trait]
pub trait HandlerModule: Send + Sync + fmt::Debug + 'static {
    /// The module's name, as bindings and audit rows name it (`WebHook`).
    fn name(&self) -> &str;

    /// What the module is for, for the schema.
    fn description(&self) -> &str {
        ""
    }

    /// The actions the module offers.
    fn actions(&self) -> &[ActionSpec];

    /// Checks a binding's already type-checked options beyond what the
    /// [`OptionSpec`]s say (a script that must exist, a JSON pointer that
    /// must parse, a feature the configuration must enable). Called when a
    /// binding is validated, saved or loaded; answer
    /// [`AuthError::BadRequest`] naming the problem.
    fn check(&self, action: &str, options: &ActionOptions) -> Result<(), AuthError> {
        let _ = (action, options);
        Ok(())
    }

    /// Runs one action for one event.
    ///
    /// A failure of something the action calls is
    /// [`AuthError::HandlerFailed`] with a fixed word as its cause; no
    /// error may carry a secret. The dispatcher bounds the run with a
    /// timeout by dropping the future, so the action must not block the
    /// thread. Never panic.
    async fn run(&self, call: ActionCall<'_>) -> Result<ActionEffect, AuthError>;
}

/// One action of a module: its name, options and where it may run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionSpec {
    /// The action's name in a binding (`post`, `increase`).
    pub name: String,
    /// What it does, for people.
    pub description: String,
    /// The options a binding may (or must) give.
    pub options: Vec<OptionSpec>,
    /// Where a binding may put it.
    pub positions: Vec<HandlerPosition>,
    /// The `abort_on_error` an admin UI should propose for a new binding.
    pub abort_on_error_default: bool,
    /// Whether it may replace the response ([`ActionEffect::ReplaceResponse`]).
    /// Such an action runs on the request path, in order; others that do
    /// not abort on error run off it.
    pub changes_response: bool,
}

impl ActionSpec {
    /// An action without options, allowed pre and post, that does not
    /// abort on error and leaves the response alone.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            options: Vec::new(),
            positions: vec![HandlerPosition::Pre, HandlerPosition::Post],
            abort_on_error_default: false,
            changes_response: false,
        }
    }

    /// Adds an option.
    pub fn option(mut self, option: OptionSpec) -> Self {
        self.options.push(option);
        self
    }

    /// Limits where the action may run.
    pub fn positions(mut self, positions: &[HandlerPosition]) -> Self {
        self.positions = positions.to_vec();
        self
    }

    /// Proposes `abort_on_error` for new bindings.
    pub fn abort_on_error_by_default(mut self) -> Self {
        self.abort_on_error_default = true;
        self
    }

    /// Checks a binding's `options` against this action's option specs
    /// alone (the dispatcher adds the common ones, such as `timeout_ms`),
    /// filling in defaults: for modules' own tests and tools. `module`
    /// names the module in errors.
    pub fn validate_options(
        &self,
        module: &str,
        options: &Value,
    ) -> Result<ActionOptions, AuthError> {
        super::options::validate(&format!("{module}:{}", self.name), &self.options, options)
    }

    /// Marks the action as replacing the response; it may then only run
    /// post.
    pub fn changing_response(mut self) -> Self {
        self.changes_response = true;
        self.positions = vec![HandlerPosition::Post];
        self
    }
}

/// What a run did to the response.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ActionEffect {
    /// Nothing: the usual answer.
    Unchanged,
    /// Replace the response body with this (post actions whose spec says
    /// [`ActionSpec::changes_response`] only; later bindings see the new
    /// body).
    ReplaceResponse(Value),
}

/// Everything one run of an action sees: the action and its validated
/// options, the event, the position, the response (post), the stores and
/// the time, plus the event's user, loaded on demand.
pub struct ActionCall<'a> {
    action: &'a str,
    module: &'a str,
    binding: &'a str,
    options: &'a ActionOptions,
    event: &'a AuthEvent,
    position: HandlerPosition,
    response: Option<&'a Value>,
    stores: &'a Stores,
    now: DateTime<Utc>,
    timeout: Duration,
    subject: Arc<Subject>,
}

impl<'a> ActionCall<'a> {
    /// A call of `action` about `event`. The dispatcher builds calls;
    /// modules' own tests build them with this.
    pub fn new(
        action: &'a str,
        options: &'a ActionOptions,
        event: &'a AuthEvent,
        position: HandlerPosition,
        stores: &'a Stores,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            action,
            module: "",
            binding: "",
            options,
            event,
            position,
            response: None,
            stores,
            now,
            timeout: super::DEFAULT_TIMEOUT,
            subject: Arc::new(Subject::new(event.user_id.clone(), stores.clone())),
        }
    }

    /// With the response body a post run sees.
    pub fn with_response(mut self, response: &'a Value) -> Self {
        self.response = Some(response);
        self
    }

    /// With the names of the binding and module, for tags.
    pub fn with_names(mut self, binding: &'a str, module: &'a str) -> Self {
        self.binding = binding;
        self.module = module;
        self
    }

    /// With the run's time limit.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Shares an already (partly) loaded subject.
    pub(crate) fn with_subject(mut self, subject: Arc<Subject>) -> Self {
        self.subject = subject;
        self
    }

    /// The action to run.
    pub fn action(&self) -> &str {
        self.action
    }

    /// The binding's name.
    pub fn binding(&self) -> &str {
        self.binding
    }

    /// The binding's options, validated, defaults filled in.
    pub fn options(&self) -> &ActionOptions {
        self.options
    }

    /// The event.
    pub fn event(&self) -> &AuthEvent {
        self.event
    }

    /// Pre or post.
    pub fn position(&self) -> HandlerPosition {
        self.position
    }

    /// The response body, for post runs (as earlier bindings left it).
    pub fn response(&self) -> Option<&Value> {
        self.response
    }

    /// The stores.
    pub fn stores(&self) -> &Stores {
        self.stores
    }

    /// The current time, by the dispatcher's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// How long the run may take; the dispatcher stops it after that. An
    /// action calling out may use it as its own timeout, to fail with a
    /// clearer cause.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The event's user, loaded from the stores at most once per event;
    /// `None` when the event names none or it cannot be loaded.
    pub async fn user(&self) -> Option<&User> {
        self.subject.user().await
    }

    /// The user's failure count and last login, likewise.
    pub async fn auth_state(&self) -> Option<&UserAuthState> {
        self.subject.auth_state().await
    }

    /// The tag values for templates (loads the user).
    pub async fn tags(&self) -> Tags {
        let labels = RunLabels {
            binding: self.binding,
            module: self.module,
            action: self.action,
            position: self.position,
        };
        Tags::build(self.event, self.user().await, labels)
    }
}

impl fmt::Debug for ActionCall<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionCall")
            .field("action", &self.action)
            .field("module", &self.module)
            .field("binding", &self.binding)
            .field("options", self.options)
            .field("event", &self.event.name)
            .field("position", &self.position)
            .field("now", &self.now)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
