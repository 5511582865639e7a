//! The rule tree a check string parses into, and its evaluation.
//!
//! Evaluation follows oslo.policy's `_checks.py`:
//!
//! - `role:<name>` holds when the caller has the role (any case); the name
//!   may be a substitution (`role:%(target.role.name)s`).
//! - `rule:<name>` evaluates another rule (resolved to an index when the
//!   policy is built, so a reference costs no lookup).
//! - Any other `<kind>:<match>` is a generic check: `<match>` is rendered
//!   with the target (`%(key)s` becomes the target's value for `key`, as
//!   Python's `str()` prints it: `None`, `True`, `False`, numbers, strings
//!   as they are), and compared as a string with either a literal on the
//!   left (`'manager'`, `None`, `True`, `1`) or the caller's attribute named
//!   by `<kind>` (`user_id`, `domain_id`, `token.project.domain.id`, …).
//! - A `%(key)s` naming a key the target lacks makes the check false; it is
//!   never an error at request time.
//!
//! Python's `str(None)` is `"None"`, and oslo.context reports a scope the
//! token does not have as `None`: `domain_id:None` holds for every token
//! that is not domain-scoped, and `None:%(target.role.domain_id)s` holds for
//! a global role. Keystone's default rules rely on both, so this engine
//! reproduces them.

use std::borrow::Cow;

use serde_json::Value;

use super::credentials::{CallerScope, Credentials};
use super::target::Target;

/// One node of a parsed check string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Check {
    /// `@`, or an empty check string: always true.
    True,
    /// `!`: always false.
    False,
    /// `role:<match>`.
    Role(Match),
    /// `rule:<name>`; the index into the policy's rules is filled in when
    /// the policy is built.
    Rule {
        /// The referenced rule's name.
        name: String,
        /// Its index in [`super::Policy`]'s rules.
        index: usize,
    },
    /// `<left>:<match>`.
    Generic {
        /// A literal or a caller attribute.
        left: Left,
        /// What it must equal.
        right: Match,
    },
    /// `not <check>`.
    Not(Box<Check>),
    /// `<check> and <check> ...`.
    And(Vec<Check>),
    /// `<check> or <check> ...`.
    Or(Vec<Check>),
}

/// The left side of a generic check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Left {
    /// A Python literal, already as `str()` prints it (`'manager'` is
    /// `manager`, `None` is `None`).
    Literal(String),
    /// An attribute of the caller.
    Attr(CredAttr),
}

/// The right side of a check: a literal, one `%(key)s`, or a mix.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Match {
    /// No substitution.
    Literal(String),
    /// Exactly `%(key)s`.
    Key(String),
    /// Literal text and substitutions mixed (rare; rendering allocates).
    Template(Vec<Segment>),
}

/// A piece of a [`Match::Template`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// Text as written (`%%` already turned into `%`).
    Text(String),
    /// `%(key)s`.
    Key(String),
}

/// The caller attributes a generic check may name: oslo.context's policy
/// values and the parts of Keystone's token body its rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredAttr {
    /// `user_id`.
    UserId,
    /// `user_domain_id`.
    UserDomainId,
    /// `system_scope`: `all` on a system-scoped token, else `None`.
    SystemScope,
    /// `system`: oslo.policy's copy of `system_scope`, only when set.
    System,
    /// `domain_id`: the domain of a domain-scoped token, else `None`.
    DomainId,
    /// `project_id`: the project of a project-scoped token, else `None`.
    ProjectId,
    /// `project_domain_id`: that project's domain, else `None`.
    ProjectDomainId,
    /// `roles`: holds if any role name equals the match.
    Roles,
    /// `service_user_id`, `service_roles`, …: always `None` (this server
    /// has no service tokens).
    ServiceNone,
    /// `token.user.id`.
    TokenUserId,
    /// `token.user.domain.id`.
    TokenUserDomainId,
    /// `token.project.id` (absent unless project-scoped).
    TokenProjectId,
    /// `token.project.domain.id` (absent unless project-scoped).
    TokenProjectDomainId,
    /// `token.domain.id` (absent unless domain-scoped).
    TokenDomainId,
    /// `token.system.all`: `True` on a system-scoped token, else absent.
    TokenSystemAll,
    /// `token.roles.name`: holds if any role name equals the match.
    TokenRolesName,
    /// `token.application_credential.id` (absent unless the token came
    /// from one).
    TokenApplicationCredentialId,
    /// `is_admin`, which Keystone's `admin_required` reads for the old
    /// shared admin token: oslo.context does not report it, so it is never
    /// present and `is_admin:1` is never true. This server has no such
    /// token.
    IsAdmin,
    /// Any other name: never present, so the check is false (a warning
    /// names the rule when the policy is built).
    Unknown,
}

impl CredAttr {
    /// The attribute a dotted path names.
    pub(crate) fn from_path(path: &str) -> Self {
        match path {
            "user_id" => Self::UserId,
            "user_domain_id" => Self::UserDomainId,
            "system_scope" => Self::SystemScope,
            "system" => Self::System,
            "domain_id" => Self::DomainId,
            "project_id" => Self::ProjectId,
            "project_domain_id" => Self::ProjectDomainId,
            "roles" => Self::Roles,
            "service_user_id"
            | "service_user_domain_id"
            | "service_project_id"
            | "service_project_domain_id" => Self::ServiceNone,
            "token.user.id" => Self::TokenUserId,
            "token.user.domain.id" => Self::TokenUserDomainId,
            "token.project.id" => Self::TokenProjectId,
            "token.project.domain.id" => Self::TokenProjectDomainId,
            "token.domain.id" => Self::TokenDomainId,
            "token.system.all" => Self::TokenSystemAll,
            "token.roles.name" => Self::TokenRolesName,
            "token.application_credential.id" => Self::TokenApplicationCredentialId,
            "is_admin" => Self::IsAdmin,
            _ => Self::Unknown,
        }
    }

    /// Whether the caller's value of this attribute, as Python's `str()`
    /// prints it, equals `expected`. An absent attribute equals nothing.
    fn matches(self, credentials: &Credentials, expected: &str) -> bool {
        let scope = &credentials.scope;
        let value: Option<&str> = match self {
            Self::UserId | Self::TokenUserId => Some(&credentials.user_id),
            Self::UserDomainId | Self::TokenUserDomainId => Some(&credentials.user_domain_id),
            Self::SystemScope => Some(match scope {
                CallerScope::System => "all",
                _ => "None",
            }),
            Self::System => match scope {
                CallerScope::System => Some("all"),
                _ => None,
            },
            Self::DomainId => Some(match scope {
                CallerScope::Domain { id } => id,
                _ => "None",
            }),
            Self::ProjectId => Some(match scope {
                CallerScope::Project { id, .. } => id,
                _ => "None",
            }),
            Self::ProjectDomainId => Some(match scope {
                CallerScope::Project { domain_id, .. } => domain_id,
                _ => "None",
            }),
            Self::ServiceNone => Some("None"),
            Self::TokenProjectId => match scope {
                CallerScope::Project { id, .. } => Some(id),
                _ => None,
            },
            Self::TokenProjectDomainId => match scope {
                CallerScope::Project { domain_id, .. } => Some(domain_id),
                _ => None,
            },
            Self::TokenDomainId => match scope {
                CallerScope::Domain { id } => Some(id),
                _ => None,
            },
            Self::TokenSystemAll => match scope {
                CallerScope::System => Some("True"),
                _ => None,
            },
            Self::TokenApplicationCredentialId => credentials.application_credential_id.as_deref(),
            Self::Roles | Self::TokenRolesName => {
                return credentials.roles.iter().any(|r| r == expected);
            }
            Self::IsAdmin | Self::Unknown => None,
        };
        value == Some(expected)
    }
}

/// How Python's `str()` prints a target value, as `%(key)s` renders it.
/// Lists and objects never match (their `repr` is no attribute's value).
fn py_str(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Null => Some(Cow::Borrowed("None")),
        Value::Bool(true) => Some(Cow::Borrowed("True")),
        Value::Bool(false) => Some(Cow::Borrowed("False")),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Array(_) | Value::Object(_) => None,
    }
}

impl Match {
    /// The match with the target's values substituted, or `None` if the
    /// target lacks a key it names (the check is then false).
    fn render<'a>(&'a self, target: &'a Target) -> Option<Cow<'a, str>> {
        match self {
            Self::Literal(text) => Some(Cow::Borrowed(text)),
            Self::Key(key) => target.get(key).and_then(py_str),
            Self::Template(segments) => {
                let mut out = String::new();
                for segment in segments {
                    match segment {
                        Segment::Text(text) => out.push_str(text),
                        Segment::Key(key) => out.push_str(&target.get(key).and_then(py_str)?),
                    }
                }
                Some(Cow::Owned(out))
            }
        }
    }
}

/// Whether `role` (already lowercased) equals `name` without regard to
/// case, without allocating.
fn role_eq(role: &str, name: &str) -> bool {
    if role.is_ascii() && name.is_ascii() {
        return role.eq_ignore_ascii_case(name);
    }
    role.chars()
        .flat_map(char::to_lowercase)
        .eq(name.chars().flat_map(char::to_lowercase))
}

impl Check {
    /// Evaluates this check. `rules` are the policy's parsed rules, which
    /// `rule:` references index; they hold no cycle (refused when the
    /// policy is built), so the recursion ends.
    pub(crate) fn eval(&self, rules: &[Check], credentials: &Credentials, target: &Target) -> bool {
        match self {
            Self::True => true,
            Self::False => false,
            Self::Role(name) => match name {
                // Literal role names were lowercased when parsed.
                Match::Literal(name) => credentials.roles.iter().any(|r| r == name),
                other => other
                    .render(target)
                    .is_some_and(|name| credentials.roles.iter().any(|r| role_eq(r, &name))),
            },
            Self::Rule { index, .. } => rules
                .get(*index)
                .is_some_and(|rule| rule.eval(rules, credentials, target)),
            Self::Generic { left, right } => {
                let Some(expected) = right.render(target) else {
                    return false;
                };
                match left {
                    Left::Literal(literal) => *literal == *expected,
                    Left::Attr(attr) => attr.matches(credentials, &expected),
                }
            }
            Self::Not(inner) => !inner.eval(rules, credentials, target),
            Self::And(checks) => checks.iter().all(|c| c.eval(rules, credentials, target)),
            Self::Or(checks) => checks.iter().any(|c| c.eval(rules, credentials, target)),
        }
    }

    /// Calls `f` on every node of this tree, this one first.
    pub(crate) fn visit(&self, f: &mut impl FnMut(&Check)) {
        f(self);
        match self {
            Self::Not(inner) => inner.visit(f),
            Self::And(checks) | Self::Or(checks) => {
                for check in checks {
                    check.visit(f);
                }
            }
            _ => {}
        }
    }

    /// Calls `f` on every `rule:` reference, so its index can be set.
    pub(crate) fn visit_rules_mut(&mut self, f: &mut impl FnMut(&str, &mut usize)) {
        match self {
            Self::Rule { name, index } => f(name, index),
            Self::Not(inner) => inner.visit_rules_mut(f),
            Self::And(checks) | Self::Or(checks) => {
                for check in checks {
                    check.visit_rules_mut(f);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn creds(scope: CallerScope, roles: &[&str]) -> Credentials {
        Credentials::new("u1", "dA", scope, roles)
    }

    fn generic(attr: &str, right: Match) -> Check {
        Check::Generic {
            left: Left::Attr(CredAttr::from_path(attr)),
            right,
        }
    }

    #[test]
    fn python_str_of_target_values() {
        let target = Target::new()
            .with("s", "x")
            .with("n", Value::Null)
            .with("t", true)
            .with("f", false)
            .with("i", 7)
            .with("l", json!(["x"]));
        let lit = |s: &str| Left::Literal(s.to_owned());
        let check = |left: Left, key: &str| Check::Generic {
            left,
            right: Match::Key(key.to_owned()),
        };
        let c = creds(CallerScope::Unscoped, &[]);
        for (left, key, expected) in [
            (lit("x"), "s", true),
            (lit("None"), "n", true),
            (lit("True"), "t", true),
            (lit("False"), "f", true),
            (lit("7"), "i", true),
            (lit("['x']"), "l", false),
            (lit("x"), "missing", false),
            (lit("None"), "missing", false),
        ] {
            assert_eq!(
                check(left.clone(), key).eval(&[], &c, &target),
                expected,
                "{left:?} vs {key}"
            );
        }
    }

    #[test]
    fn scope_attributes_are_none_when_the_token_lacks_them() {
        let none = Match::Literal("None".into());
        let project = creds(
            CallerScope::Project {
                id: "p1".into(),
                domain_id: "dA".into(),
            },
            &["member"],
        );
        let domain = creds(CallerScope::Domain { id: "dA".into() }, &["member"]);
        let t = Target::new();
        assert!(generic("domain_id", none.clone()).eval(&[], &project, &t));
        assert!(!generic("domain_id", none.clone()).eval(&[], &domain, &t));
        assert!(generic("system_scope", none.clone()).eval(&[], &domain, &t));
        assert!(!generic("project_id", none.clone()).eval(&[], &project, &t));
        // The token body has no `domain` on a project token: absent, not None.
        assert!(!generic("token.domain.id", none.clone()).eval(&[], &project, &t));
        assert!(!generic("is_admin", Match::Literal("1".into())).eval(&[], &project, &t));
        let dom = Match::Literal("dA".into());
        assert!(generic("token.project.domain.id", dom.clone()).eval(&[], &project, &t));
        assert!(generic("token.domain.id", dom.clone()).eval(&[], &domain, &t));
        assert!(!generic("token.project.domain.id", dom).eval(&[], &domain, &t));
        assert!(generic("roles", Match::Literal("member".into())).eval(&[], &domain, &t));
        let system = creds(CallerScope::System, &["reader"]);
        assert!(generic("system_scope", Match::Literal("all".into())).eval(&[], &system, &t));
        assert!(generic("token.system.all", Match::Literal("True".into())).eval(&[], &system, &t));
    }

    #[test]
    fn roles_compare_without_case_even_when_substituted() {
        let c = creds(CallerScope::System, &["Reader", "ÉDITEUR"]);
        let t = Target::new()
            .with("name", "READER")
            .with("other", "éditeur");
        assert!(Check::Role(Match::Key("name".into())).eval(&[], &c, &t));
        assert!(Check::Role(Match::Key("other".into())).eval(&[], &c, &t));
        assert!(!Check::Role(Match::Key("missing".into())).eval(&[], &c, &t));
    }

    #[test]
    fn templates_substitute_every_key() {
        let m = Match::Template(vec![
            Segment::Key("a".into()),
            Segment::Text("/".into()),
            Segment::Key("b".into()),
        ]);
        let t = Target::new().with("a", "x").with("b", "y");
        assert_eq!(m.render(&t).as_deref(), Some("x/y"));
        assert_eq!(m.render(&Target::new().with("a", "x")), None);
    }
}
