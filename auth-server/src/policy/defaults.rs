//! The default rules: Keystone's, as data, and this server's own.
//!
//! `keystone_defaults.json` is every rule Keystone registers (base rules
//! such as `admin_required` and every `identity:*` action, for APIs this
//! server has and those it has not yet), with their scope types and the
//! check strings Keystone enforces with `enforce_new_defaults` on (its
//! default). It is generated from Keystone's source by
//! `scripts/keystone-policy-defaults.py`, which reads the policy modules
//! without running them; regenerate it rather than editing it.

use serde::Deserialize;

use super::ScopeType;

/// Keystone's registered defaults, as generated.
const KEYSTONE_JSON: &str = include_str!("keystone_defaults.json");

/// One default rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DefaultRule {
    pub(crate) name: String,
    pub(crate) check_str: String,
    pub(crate) scope_types: Option<Vec<ScopeType>>,
    pub(crate) description: Option<String>,
    /// Keystone's (`true`) or this server's own (`false`).
    pub(crate) keystone: bool,
}

#[derive(Deserialize)]
struct Document {
    rules: Vec<JsonRule>,
}

#[derive(Deserialize)]
struct JsonRule {
    name: String,
    check_str: String,
    scope_types: Option<Vec<ScopeType>>,
    description: Option<String>,
}

/// Reads: an admin, or a reader on the system. Writes: an admin. The
/// scope types are those of Keystone's rules for other deployment-wide
/// configuration (services, endpoints, domain configuration): a
/// domain-scoped token is refused, since event handlers and the audit log
/// span every domain.
const SERVER_READ: &str = "rule:admin_required or (role:reader and system_scope:all)";
const SERVER_WRITE: &str = "rule:admin_required";

/// This server's own actions, in Keystone's style.
const SERVER_RULES: &[(&str, &str, &str)] = &[
    (
        "identity:list_event_handlers",
        SERVER_READ,
        "List event-handler bindings.",
    ),
    (
        "identity:get_event_handler",
        SERVER_READ,
        "Show an event-handler binding.",
    ),
    (
        "identity:get_event_handler_schema",
        SERVER_READ,
        "Show the event names and handler modules a binding may use.",
    ),
    (
        "identity:create_event_handler",
        SERVER_WRITE,
        "Create an event-handler binding.",
    ),
    (
        "identity:update_event_handler",
        SERVER_WRITE,
        "Update an event-handler binding.",
    ),
    (
        "identity:enable_event_handler",
        SERVER_WRITE,
        "Enable an event-handler binding.",
    ),
    (
        "identity:disable_event_handler",
        SERVER_WRITE,
        "Disable an event-handler binding.",
    ),
    (
        "identity:delete_event_handler",
        SERVER_WRITE,
        "Delete an event-handler binding.",
    ),
    (
        "identity:list_audit",
        SERVER_READ,
        "List audit-log records.",
    ),
    (
        "identity:export_audit",
        SERVER_READ,
        "Export audit-log records.",
    ),
    (
        "identity:list_share_tokens",
        SERVER_READ,
        "List imaging share tokens.",
    ),
    (
        "identity:revoke_share_token",
        SERVER_WRITE,
        "Revoke an imaging share token.",
    ),
];

/// Every default rule: Keystone's, then this server's.
pub(crate) fn all() -> Result<Vec<DefaultRule>, String> {
    let document: Document = serde_json::from_str(KEYSTONE_JSON)
        .map_err(|e| format!("the embedded Keystone defaults do not parse: {e}"))?;
    let keystone = document.rules.into_iter().map(|rule| DefaultRule {
        name: rule.name,
        check_str: rule.check_str,
        scope_types: rule.scope_types,
        description: rule.description,
        keystone: true,
    });
    let server = SERVER_RULES
        .iter()
        .map(|(name, check_str, description)| DefaultRule {
            name: (*name).to_owned(),
            check_str: (*check_str).to_owned(),
            scope_types: Some(vec![ScopeType::System, ScopeType::Project]),
            description: Some((*description).to_owned()),
            keystone: false,
        });
    Ok(keystone.chain(server).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystone_defaults_are_all_there() {
        let rules = all().unwrap();
        let keystone = rules.iter().filter(|r| r.keystone).count();
        // Keystone @30ef2ff registers 203 rules: 9 base rules and 194 actions.
        assert_eq!(keystone, 203);
        let names: std::collections::HashSet<_> = rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names.len(), rules.len(), "no rule is defined twice");
        for name in [
            "admin_required",
            "domain_managed_target_role",
            "identity:list_users",
            "identity:create_trust",
            "identity:get_auth_catalog",
            "identity:list_event_handlers",
            "identity:export_audit",
        ] {
            assert!(names.contains(name), "{name}");
        }
        let list_users = rules
            .iter()
            .find(|r| r.name == "identity:list_users")
            .unwrap();
        assert_eq!(
            list_users.check_str,
            "(rule:admin_required) or (role:reader and system_scope:all) or \
             (role:reader and domain_id:%(target.domain_id)s)"
        );
        assert_eq!(
            list_users.scope_types.as_deref(),
            Some(&[ScopeType::System, ScopeType::Domain, ScopeType::Project][..])
        );
    }
}
