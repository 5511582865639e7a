//! The policy: may this caller do that?
//!
//! Every door asks here, and only here. A door turns its protocol into
//! [`Credentials`] (who is calling: the user, the token's scope, the roles
//! it carries with the roles they imply) and a [`Target`] (what the call
//! acts on, flattened the way Keystone flattens it for oslo.policy:
//! `target.user.domain_id`, `user_id` from the path, …), and asks
//! [`Policy::enforce`] about one action such as `identity:get_user`.
//!
//! The engine is oslo.policy's, with Keystone 30's default rules:
//!
//! - `parser`: the check-string language (`role:`, `rule:`,
//!   `system_scope:all`, `user_id:%(user_id)s`, `'manager':%(...)s`, `@`,
//!   `!`, `and`, `or`, `not`, parentheses), parsed once when the policy is
//!   built.
//! - `check`: the parsed tree and its evaluation, which allocates
//!   nothing for the checks Keystone's rules use.
//! - `defaults`: Keystone's registered rules (generated from its source)
//!   and this server's own.
//! - [`file`]: an operator's policy file (YAML or JSON) overriding them.
//!
//! Scope types are enforced as oslo.policy does with `enforce_scope` on
//! (Keystone 30's default): a default rule lists the scopes a token may
//! have (`system`, `domain`, `project`), and a token of another scope is
//! refused whatever the check string says. oslo.policy counts a token that
//! is neither system- nor domain-scoped as project-scoped, so an unscoped
//! token passes `project` (which is how it may create its own application
//! credentials). A rule a policy file adds has no scope types; a rule it
//! overrides keeps the default's.

mod check;
mod credentials;
mod defaults;
mod file;
mod parser;
#[cfg(test)]
mod rbac_tests;
#[cfg(test)]
mod strict_tests;
mod target;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

pub use credentials::{CallerScope, Credentials};
pub use target::Target;

use auth_core::AuthError;
use serde::Deserialize;

use check::Check;

use crate::config::PolicySection;
use crate::error::ServerError;

/// A scope a rule accepts (oslo.policy's `scope_types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeType {
    /// A system-scoped token.
    System,
    /// A domain-scoped token.
    Domain,
    /// A project-scoped token (or, as oslo.policy counts it, an unscoped
    /// one).
    Project,
}

impl ScopeType {
    /// The name oslo.policy uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Domain => "domain",
            Self::Project => "project",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Self::System => 1,
            Self::Domain => 2,
            Self::Project => 4,
        }
    }

    /// The scope oslo.policy sees in a token: system, domain, or else
    /// project (unscoped tokens included).
    fn of(scope: &CallerScope) -> Self {
        match scope {
            CallerScope::System => Self::System,
            CallerScope::Domain { .. } => Self::Domain,
            CallerScope::Project { .. } | CallerScope::Unscoped => Self::Project,
        }
    }
}

impl fmt::Display for ScopeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a rule's check string comes from, for `policy list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSource {
    /// Keystone's default.
    Keystone,
    /// This server's own default (event handlers, the audit log).
    Server,
    /// A default whose check string the policy file replaced.
    File,
    /// A rule only the policy file defines.
    FileOnly,
}

impl RuleSource {
    /// A short name: `keystone`, `server`, `file` or `file-only`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keystone => "keystone",
            Self::Server => "server",
            Self::File => "file",
            Self::FileOnly => "file-only",
        }
    }

    /// Whether the policy file set this rule's check string.
    pub fn from_file(self) -> bool {
        matches!(self, Self::File | Self::FileOnly)
    }
}

/// One effective rule, as `policy list` shows it.
#[derive(Debug, Clone)]
pub struct Rule {
    name: String,
    check_str: String,
    scope_types: Option<Vec<ScopeType>>,
    /// The scope types as bits, for the check on every call.
    scope_mask: Option<u8>,
    description: Option<String>,
    source: RuleSource,
}

impl Rule {
    /// Its name (`identity:list_users`, `admin_required`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its check string, as written.
    pub fn check_str(&self) -> &str {
        &self.check_str
    }

    /// The token scopes it accepts; `None` accepts any.
    pub fn scope_types(&self) -> Option<&[ScopeType]> {
        self.scope_types.as_deref()
    }

    /// What the default is for, when documented.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Where its check string comes from.
    pub fn source(&self) -> RuleSource {
        self.source
    }
}

/// The decision for one action: allowed, or refused with Keystone's 403.
///
/// Built once at start-up; every check string is parsed and every `rule:`
/// reference resolved then, so a check only walks a small tree.
#[derive(Clone)]
pub struct Policy {
    rules: Vec<Rule>,
    /// The parsed check of each rule, in the order of `rules`; `rule:`
    /// references index this.
    checks: Vec<Check>,
    by_name: HashMap<String, usize>,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("rules", &self.rules.len())
            .field(
                "from_file",
                &self.rules.iter().filter(|r| r.source.from_file()).count(),
            )
            .finish()
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::keystone_defaults()
    }
}

impl Policy {
    /// Keystone's default rules, and this server's own.
    #[allow(clippy::expect_used)]
    pub fn keystone_defaults() -> Self {
        // The defaults are compiled in and a unit test builds them, so this
        // cannot fail at run time.
        Self::build(Vec::new()).expect("the default policy builds (tested)")
    }

    /// The defaults with the configured policy file, if any, applied.
    /// Fails, naming the file, the rule and the problem, if the file
    /// cannot be read or a rule in it is wrong.
    pub fn from_config(section: &PolicySection) -> Result<Self, ServerError> {
        match &section.file {
            None => Self::build(Vec::new()).map_err(ServerError::Config),
            Some(path) => Self::from_file(path),
        }
    }

    /// The defaults with the policy file at `path` applied.
    pub fn from_file(path: &Path) -> Result<Self, ServerError> {
        let entries = file::read(path).map_err(ServerError::Config)?;
        Self::build(entries).map_err(ServerError::Config)
    }

    /// The defaults with a YAML (or JSON) policy document applied;
    /// `source` names it in errors.
    pub fn from_yaml(text: &str, source: &str) -> Result<Self, ServerError> {
        let entries = file::parse_yaml(text, source).map_err(ServerError::Config)?;
        Self::build(entries).map_err(ServerError::Config)
    }

    fn build(overrides: Vec<file::Entry>) -> Result<Self, String> {
        let mut rules: Vec<Rule> = Vec::new();
        let mut locations: Vec<Option<String>> = Vec::new();
        let mut by_name = HashMap::new();
        for rule in defaults::all()? {
            by_name.insert(rule.name.clone(), rules.len());
            let scope_mask = rule
                .scope_types
                .as_ref()
                .map(|types| types.iter().fold(0, |mask, t| mask | t.bit()));
            rules.push(Rule {
                name: rule.name,
                check_str: rule.check_str,
                scope_types: rule.scope_types,
                scope_mask,
                description: rule.description,
                source: if rule.keystone {
                    RuleSource::Keystone
                } else {
                    RuleSource::Server
                },
            });
            locations.push(None);
        }
        for entry in overrides {
            match by_name.get(&entry.name) {
                Some(&index) => {
                    rules[index].check_str = entry.check_str;
                    rules[index].source = RuleSource::File;
                    locations[index] = Some(entry.location);
                }
                None => {
                    by_name.insert(entry.name.clone(), rules.len());
                    rules.push(Rule {
                        name: entry.name,
                        check_str: entry.check_str,
                        scope_types: None,
                        scope_mask: None,
                        description: None,
                        source: RuleSource::FileOnly,
                    });
                    locations.push(Some(entry.location));
                }
            }
        }
        let where_is = |index: usize| -> String {
            match &locations[index] {
                Some(location) => format!("policy file {location}: rule {}", rules[index].name),
                None => format!("default rule {}", rules[index].name),
            }
        };
        let mut checks = Vec::with_capacity(rules.len());
        for (index, rule) in rules.iter().enumerate() {
            let mut check = parser::parse(&rule.check_str)
                .map_err(|e| format!("{}: {e}, in {:?}", where_is(index), rule.check_str))?;
            let mut missing = None;
            check.visit_rules_mut(&mut |name, slot| match by_name.get(name) {
                Some(&target) => *slot = target,
                None => missing = missing.take().or_else(|| Some(name.to_owned())),
            });
            if let Some(name) = missing {
                return Err(format!(
                    "{}: rule:{name} names a rule that is not defined",
                    where_is(index)
                ));
            }
            checks.push(check);
        }
        if let Some(cycle) = find_cycle(&checks) {
            let names: Vec<&str> = cycle.iter().map(|&i| rules[i].name.as_str()).collect();
            return Err(format!(
                "{}: its rule: references form a cycle: {}",
                where_is(cycle[0]),
                names.join(" -> ")
            ));
        }
        for (index, check) in checks.iter().enumerate() {
            let mut unknown = false;
            check.visit(&mut |node| {
                unknown |= matches!(
                    node,
                    Check::Generic {
                        left: check::Left::Attr(check::CredAttr::Unknown),
                        ..
                    }
                );
            });
            if unknown {
                tracing::warn!(
                    rule = %where_is(index),
                    "a check names a caller attribute this server does not know; it is always false"
                );
            }
        }
        Ok(Self {
            rules,
            checks,
            by_name,
        })
    }

    /// Every effective rule, defaults first in Keystone's order, then the
    /// rules only the policy file defines.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }

    /// The effective rules as `auth-server policy list` prints them: a
    /// header, then one tab-separated line per rule (name, scope types or
    /// `any`, where the check string comes from, the check string, `""`
    /// when empty), so that `grep` and `cut` work on it.
    pub fn listing(&self) -> String {
        let mut out = String::from("name\tscope_types\tsource\tcheck_str\n");
        for rule in &self.rules {
            let scopes = match rule.scope_types() {
                None => "any".to_owned(),
                Some(types) => types
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            };
            let check = if rule.check_str.is_empty() {
                "\"\""
            } else {
                rule.check_str.as_str()
            };
            out.push_str(&format!(
                "{}\t{scopes}\t{}\t{check}\n",
                rule.name,
                rule.source.as_str()
            ));
        }
        out
    }

    /// The effective rule called `name`.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.by_name.get(name).map(|&i| &self.rules[i])
    }

    /// Whether `credentials` may perform `action` (`identity:get_user`) on
    /// `target`. An action no rule names is refused (fail closed), as is a
    /// token whose scope is not among the rule's scope types.
    pub fn allows(&self, action: &str, credentials: &Credentials, target: &Target) -> bool {
        let Some(&index) = self.by_name.get(action) else {
            tracing::warn!(action, "no policy rule for this action; refused");
            return false;
        };
        let (Some(rule), Some(check)) = (self.rules.get(index), self.checks.get(index)) else {
            return false;
        };
        if let Some(mask) = rule.scope_mask {
            if mask & ScopeType::of(&credentials.scope).bit() == 0 {
                return false;
            }
        }
        check.eval(&self.checks, credentials, target)
    }

    /// [`Policy::allows`], or Keystone's 403 naming the action.
    pub fn enforce(
        &self,
        action: &str,
        credentials: &Credentials,
        target: &Target,
    ) -> Result<(), AuthError> {
        if self.allows(action, credentials, target) {
            Ok(())
        } else {
            Err(forbidden(action))
        }
    }
}

/// A cycle of `rule:` references, as rule indices from its first rule back
/// to it, if there is one.
fn find_cycle(checks: &[Check]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn references(check: &Check) -> Vec<usize> {
        let mut out = Vec::new();
        check.visit(&mut |node| {
            if let Check::Rule { index, .. } = node {
                out.push(*index);
            }
        });
        out
    }
    let mut marks = vec![Mark::New; checks.len()];
    for start in 0..checks.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Iterative depth-first search; `path` is the chain being explored.
        let mut path: Vec<(usize, Vec<usize>)> = vec![(start, references(&checks[start]))];
        marks[start] = Mark::Open;
        while let Some((node, pending)) = path.last_mut() {
            let node = *node;
            match pending.pop() {
                None => {
                    marks[node] = Mark::Done;
                    path.pop();
                }
                Some(next) => match marks.get(next).copied() {
                    Some(Mark::Open) => {
                        let from = path.iter().position(|(n, _)| *n == next).unwrap_or(0);
                        let mut cycle: Vec<usize> = path[from..].iter().map(|(n, _)| *n).collect();
                        cycle.push(next);
                        return Some(cycle);
                    }
                    Some(Mark::New) => {
                        marks[next] = Mark::Open;
                        path.push((next, references(&checks[next])));
                    }
                    _ => {}
                },
            }
        }
    }
    None
}

/// Keystone's 403 for a refused action.
pub fn forbidden(action: &str) -> AuthError {
    AuthError::Forbidden(format!(
        "You are not authorized to perform the requested action: {action}."
    ))
}
