//! Bindings checked and compiled for the dispatcher: the module and action
//! resolved, the options validated, the conditions compiled, the timeout
//! fixed; and the active ones indexed by position and event name.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::condition::Conditions;
use super::dispatcher::DispatcherConfig;
use super::module::HandlerModule;
use super::options::{self, ActionOptions, OptionSpec};
use super::registration::HandlerModules;
use crate::AuthError;
use crate::store::{HandlerBinding, HandlerPosition};

/// The event name that binds to every event.
pub const ANY_EVENT: &str = "*";

/// The option every action takes, handled by the dispatcher: the run's
/// time limit.
pub const TIMEOUT_OPTION: &str = "timeout_ms";

/// The options every action takes besides its own.
pub(crate) fn common_options(config: &DispatcherConfig) -> Vec<OptionSpec> {
    vec![OptionSpec::integer(
        TIMEOUT_OPTION,
        format!(
            "how long a run may take, in milliseconds (1 to {}; default {})",
            config.max_timeout_ms, config.default_timeout_ms
        ),
    )]
}

/// A binding ready to run.
#[derive(Debug)]
pub(crate) struct CompiledBinding {
    pub(crate) binding: HandlerBinding,
    pub(crate) module: Arc<dyn HandlerModule>,
    pub(crate) changes_response: bool,
    pub(crate) options: ActionOptions,
    pub(crate) conditions: Conditions,
    pub(crate) timeout: Duration,
}

impl CompiledBinding {
    /// Whether it runs on the request path: every pre binding, and post
    /// bindings that change the response or abort on error. The others
    /// run off it, on the dispatcher's queue.
    pub(crate) fn on_request_path(&self) -> bool {
        self.binding.position == HandlerPosition::Pre
            || self.changes_response
            || self.binding.abort_on_error
    }

    fn is_bound_to(&self, event: &str) -> bool {
        self.binding
            .events
            .iter()
            .any(|e| e == ANY_EVENT || e == event)
    }
}

/// `handler binding 'name': <problem>` for the 400s of a binding.
fn named(binding: &HandlerBinding, e: AuthError) -> AuthError {
    match e {
        AuthError::BadRequest(message) => {
            AuthError::bad_request(format!("handler binding '{}': {message}", binding.name))
        }
        other => other,
    }
}

/// Checks and compiles `binding`.
pub(crate) fn compile(
    binding: &HandlerBinding,
    modules: &HandlerModules,
    config: &DispatcherConfig,
) -> Result<CompiledBinding, AuthError> {
    compile_unnamed(binding, modules, config).map_err(|e| named(binding, e))
}

fn compile_unnamed(
    binding: &HandlerBinding,
    modules: &HandlerModules,
    config: &DispatcherConfig,
) -> Result<CompiledBinding, AuthError> {
    if binding.name.trim().is_empty() {
        return Err(AuthError::bad_request("the name is empty"));
    }
    if binding.events.is_empty() || binding.events.iter().any(|e| e.trim().is_empty()) {
        return Err(AuthError::bad_request(
            "events must list at least one event name (or \"*\"), none empty",
        ));
    }
    let module = modules.get(&binding.module).ok_or_else(|| {
        AuthError::bad_request(format!(
            "no handler module '{}'; modules: {}",
            binding.module,
            modules.names().join(", ")
        ))
    })?;
    let spec = module
        .actions()
        .iter()
        .find(|a| a.name == binding.action)
        .ok_or_else(|| {
            let actions: Vec<&str> = module.actions().iter().map(|a| a.name.as_str()).collect();
            AuthError::bad_request(format!(
                "{} has no action '{}'; actions: {}",
                binding.module,
                binding.action,
                if actions.is_empty() {
                    "none".to_owned()
                } else {
                    actions.join(", ")
                }
            ))
        })?;
    if !spec.positions.contains(&binding.position) {
        return Err(AuthError::bad_request(format!(
            "{}:{} cannot run {}",
            binding.module,
            binding.action,
            match binding.position {
                HandlerPosition::Pre => "pre",
                HandlerPosition::Post => "post",
            }
        )));
    }
    let owner = format!("{}:{}", binding.module, binding.action);
    let mut specs = spec.options.clone();
    for common in common_options(config) {
        if !specs.iter().any(|s| s.name == common.name) {
            specs.push(common);
        }
    }
    let options = options::validate(&owner, &specs, &binding.options)?;
    let timeout = match options.i64(TIMEOUT_OPTION) {
        None => Duration::from_millis(config.default_timeout_ms),
        Some(ms) => match u64::try_from(ms) {
            Ok(ms) if (1..=config.max_timeout_ms).contains(&ms) => Duration::from_millis(ms),
            _ => {
                return Err(AuthError::bad_request(format!(
                    "option '{TIMEOUT_OPTION}' of {owner} must be between 1 and {}",
                    config.max_timeout_ms
                )));
            }
        },
    };
    module.check(&binding.action, &options)?;
    let conditions = Conditions::compile(&binding.conditions)?;
    Ok(CompiledBinding {
        binding: binding.clone(),
        module: module.clone(),
        changes_response: spec.changes_response,
        options,
        conditions,
        timeout,
    })
}

/// The secret options of `binding` replaced, for showing it back.
pub(crate) fn redact(binding: &HandlerBinding, modules: &HandlerModules) -> HandlerBinding {
    let specs = modules
        .get(&binding.module)
        .and_then(|m| {
            m.actions()
                .iter()
                .find(|a| a.name == binding.action)
                .map(|a| a.options.clone())
        })
        .unwrap_or_default();
    let mut shown = binding.clone();
    shown.options = options::redact(&specs, &binding.options);
    // Names that look secret are hidden too, whatever the spec says (and
    // when the module is gone).
    crate::audit::redact(&mut shown.options);
    shown
}

/// The bindings of one position, in the order they run.
#[derive(Debug, Default)]
struct Positioned {
    bindings: Vec<Arc<CompiledBinding>>,
    any_event: bool,
    events: HashSet<String>,
}

impl Positioned {
    fn push(&mut self, binding: Arc<CompiledBinding>) {
        for event in &binding.binding.events {
            if event == ANY_EVENT {
                self.any_event = true;
            } else {
                self.events.insert(event.clone());
            }
        }
        self.bindings.push(binding);
    }

    fn wants(&self, event: &str) -> bool {
        self.any_event || self.events.contains(event)
    }
}

/// The active bindings, swapped in whole when they change.
#[derive(Debug, Default)]
pub(crate) struct BindingSet {
    pre: Positioned,
    post: Positioned,
}

impl BindingSet {
    /// The active ones of `compiled`, each position in ascending
    /// `ordering` (then name and id, so that equal orderings run in a
    /// stable order on every node).
    pub(crate) fn new(mut compiled: Vec<CompiledBinding>) -> Self {
        compiled.retain(|c| c.binding.active);
        compiled.sort_by(|a, b| {
            let key = |c: &CompiledBinding| {
                (
                    c.binding.ordering,
                    c.binding.name.clone(),
                    c.binding.id.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        let mut set = Self::default();
        for c in compiled {
            match c.binding.position {
                HandlerPosition::Pre => set.pre.push(Arc::new(c)),
                HandlerPosition::Post => set.post.push(Arc::new(c)),
            }
        }
        set
    }

    fn positioned(&self, position: HandlerPosition) -> &Positioned {
        match position {
            HandlerPosition::Pre => &self.pre,
            HandlerPosition::Post => &self.post,
        }
    }

    /// Whether any binding of `position` is bound to `event`.
    pub(crate) fn wants(&self, event: &str, position: HandlerPosition) -> bool {
        self.positioned(position).wants(event)
    }

    /// The bindings of `position` bound to `event`, in order.
    pub(crate) fn bound_to<'s>(
        &'s self,
        event: &'s str,
        position: HandlerPosition,
    ) -> impl Iterator<Item = &'s Arc<CompiledBinding>> + 's {
        self.positioned(position)
            .bindings
            .iter()
            .filter(move |b| b.is_bound_to(event))
    }
}
