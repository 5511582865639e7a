//! Implied roles as the API serves them: the operations behind
//! `PUT/GET/HEAD/DELETE /v3/roles/{prior}/implies/{implied}`,
//! `GET /v3/roles/{prior}/implies` and `GET /v3/role_inferences`, Keystone's
//! JSON for each, and the expansion of an effective `role_assignments`
//! listing.
//!
//! The routes call these after authorizing (Keystone's actions:
//! `identity:create_implied_role`, `get_implied_role`,
//! `check_implied_role`, `delete_implied_role`, `list_implied_roles`,
//! `list_role_inference_rules`). Each operation owns its side effects: the
//! store moves the token revision with every rule change, which is all a
//! rule change needs (roles are recomputed at every validation, and every
//! node's kept rules and validations follow the revision); Keystone writes
//! no revocation event for it either.
//!
//! Errors, in Keystone's order: a missing role is 404 (Keystone looks both
//! up to build the policy target before anything else), then a prohibited
//! or global-to-domain-specific rule is 403 (`InvalidImpliedRole`), a
//! repeated rule 409, a cycle or too deep a chain 403
//! ([`RoleGraph::check_new_rule`]), a missing rule 404
//! (`ImpliedRoleNotFound`).

use std::collections::HashSet;

use auth_core::AuthError;
use auth_core::implied_roles::{Implication, RoleGraph, validate_rule};
use auth_core::store::{Assignment, AssignmentStore, ImpliedRole, Role};
use serde_json::{Value, json};

use crate::state::AppState;

/// Both roles of a rule, 404 for the first missing (the prior first), as
/// Keystone's policy target is built.
async fn both_roles(
    store: &dyn AssignmentStore,
    prior_role_id: &str,
    implied_role_id: &str,
) -> Result<(Role, Role), AuthError> {
    let prior = store.get_role(prior_role_id).await?;
    let implied = store.get_role(implied_role_id).await?;
    Ok((prior, implied))
}

/// `PUT /v3/roles/{prior}/implies/{implied}` (201): adds the rule after
/// Keystone's checks and the store's ([`AssignmentStore::create_implied_role`]).
pub async fn create(
    state: &AppState,
    prior_role_id: &str,
    implied_role_id: &str,
) -> Result<ImpliedRole, AuthError> {
    let store = state.storage().as_ref();
    let (prior, implied) = both_roles(store, prior_role_id, implied_role_id).await?;
    validate_rule(
        &prior,
        &implied,
        &state.config().assignment.prohibited_implied_role,
    )?;
    store
        .create_implied_role(prior_role_id, implied_role_id)
        .await
}

/// `GET /v3/roles/{prior}/implies/{implied}` (200), and its `HEAD` (204):
/// the rule, 404 if either role or the rule is missing.
pub async fn get(
    state: &AppState,
    prior_role_id: &str,
    implied_role_id: &str,
) -> Result<ImpliedRole, AuthError> {
    let store = state.storage().as_ref();
    both_roles(store, prior_role_id, implied_role_id).await?;
    store.get_implied_role(prior_role_id, implied_role_id).await
}

/// `DELETE /v3/roles/{prior}/implies/{implied}` (204).
pub async fn delete(
    state: &AppState,
    prior_role_id: &str,
    implied_role_id: &str,
) -> Result<(), AuthError> {
    let store = state.storage().as_ref();
    both_roles(store, prior_role_id, implied_role_id).await?;
    store
        .delete_implied_role(prior_role_id, implied_role_id)
        .await
}

/// `GET /v3/roles/{prior}/implies` (200): the prior role (404 if missing)
/// and the rules it is the prior of.
pub async fn list_for_prior(
    state: &AppState,
    prior_role_id: &str,
) -> Result<(Role, Vec<ImpliedRole>), AuthError> {
    let store = state.storage().as_ref();
    let prior = store.get_role(prior_role_id).await?;
    let rules = store.list_implied_roles(prior_role_id).await?;
    Ok((prior, rules))
}

/// `GET /v3/role_inferences` (200): every rule.
pub async fn list_all(state: &AppState) -> Result<Vec<ImpliedRole>, AuthError> {
    state.storage().list_role_inferences().await
}

/// A prior or implied role as Keystone shows it in these bodies: id,
/// `links.self` and name (no domain, no description).
fn role_ref(role: &Role, base: &str) -> Value {
    json!({
        "id": role.id,
        "links": {"self": format!("{base}/v3/roles/{}", role.id)},
        "name": role.name,
    })
}

/// The body of `PUT` and `GET /v3/roles/{prior}/implies/{implied}`:
/// `{"role_inference": {"prior_role", "implies"}, "links": {"self"}}`.
/// `base` is the public URL without `/v3`.
pub fn rule_body(rule: &ImpliedRole, base: &str) -> Value {
    json!({
        "role_inference": {
            "prior_role": role_ref(&rule.prior, base),
            "implies": role_ref(&rule.implied, base),
        },
        "links": {
            "self": format!("{base}/v3/roles/{}/implies/{}", rule.prior.id, rule.implied.id),
        },
    })
}

/// The body of `GET /v3/roles/{prior}/implies`: one `role_inference` whose
/// `implies` lists every role `prior` implies directly.
pub fn implied_roles_body(prior: &Role, rules: &[ImpliedRole], base: &str) -> Value {
    let implies: Vec<Value> = rules
        .iter()
        .filter(|r| r.prior.id == prior.id)
        .map(|r| role_ref(&r.implied, base))
        .collect();
    json!({
        "role_inference": {"prior_role": role_ref(prior, base), "implies": implies},
        "links": {"self": format!("{base}/v3/roles/{}/implies", prior.id)},
    })
}

/// The body of `GET /v3/role_inferences`: one entry per prior role, in the
/// order the rules come (the stores list them by prior role name), each
/// with every role it implies directly. As Keystone's code renders it:
/// no top-level `links` and no `description` (its api-ref sample shows
/// both; its response schema notes the sample is wrong about the latter).
pub fn role_inferences_body(rules: &[ImpliedRole], base: &str) -> Value {
    let mut inferences: Vec<(&Role, Vec<Value>)> = Vec::new();
    for rule in rules {
        let implied = role_ref(&rule.implied, base);
        match inferences.iter_mut().find(|(p, _)| p.id == rule.prior.id) {
            Some((_, implies)) => implies.push(implied),
            None => inferences.push((&rule.prior, vec![implied])),
        }
    }
    let inferences: Vec<Value> = inferences
        .into_iter()
        .map(|(prior, implies)| json!({"prior_role": role_ref(prior, base), "implies": implies}))
        .collect();
    json!({ "role_inferences": inferences })
}

/// One entry of an effective `role_assignments` listing after
/// [`with_implied_roles`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveEntry {
    /// The assignment the entry's `links.assignment` names. For an implied
    /// role its role is the prior role that implied it (Keystone's link
    /// names `indirect.role_id`, the nearer prior, even when that role was
    /// itself implied).
    pub assignment: Assignment,
    /// For a group's grant listed for one member: that member.
    pub member: Option<String>,
    /// For an implied role: the role shown and its prior.
    pub implied: Option<Implication>,
}

impl EffectiveEntry {
    /// The role the entry shows (`role.id`).
    pub fn role_id(&self) -> &str {
        self.implied
            .as_ref()
            .map_or(&self.assignment.role_id, |i| &i.role.id)
    }
}

/// Keystone's effective listing, implied roles included
/// (`_list_effective_role_assignments`): every entry of `listed` (direct
/// grants, and group grants already replaced by one per member), each
/// followed by one entry per role it implies ([`RoleGraph::implications`]),
/// then without entries showing a domain-specific role (Keystone strips
/// them after expansion), then only those showing `role_filter` if given.
///
/// How the `role_assignments` route uses it when `effective` is set:
///
/// 1. list as today but **without** the `role.id` filter (an implied role
///    must be found through the role that implies it), replacing group
///    grants by members;
/// 2. `let rules = state.validations().role_graph(&state).await?;`
///    `let entries = with_implied_roles(storage, &rules, listed, query.role.as_deref()).await?;`
/// 3. render each entry as today from `entry.assignment` and
///    `entry.member`, then, if `entry.implied` is set, call
///    [`show_implied`] on the JSON.
pub async fn with_implied_roles(
    store: &dyn AssignmentStore,
    rules: &RoleGraph,
    listed: Vec<(Assignment, Option<String>)>,
    role_filter: Option<&str>,
) -> Result<Vec<EffectiveEntry>, AuthError> {
    let mut entries: Vec<EffectiveEntry> = Vec::with_capacity(listed.len());
    for (assignment, member) in listed {
        let implications = rules.implications(&assignment.role_id);
        entries.push(EffectiveEntry {
            assignment: assignment.clone(),
            member: member.clone(),
            implied: None,
        });
        for implied in implications {
            entries.push(EffectiveEntry {
                assignment: Assignment::new(
                    implied.prior_role_id.clone(),
                    assignment.actor.clone(),
                    assignment.target.clone(),
                ),
                member: member.clone(),
                implied: Some(implied),
            });
        }
    }
    if entries.is_empty() {
        return Ok(entries);
    }
    let domain_specific: HashSet<String> = store
        .list_roles()
        .await?
        .into_iter()
        .filter(|r| r.domain_id.is_some())
        .map(|r| r.id)
        .collect();
    entries.retain(|e| {
        !domain_specific.contains(e.role_id()) && role_filter.is_none_or(|r| r == e.role_id())
    });
    Ok(entries)
}

/// Turns the JSON of an assignment entry rendered from
/// [`EffectiveEntry::assignment`] into the implied role's: `role.id` is the
/// implied role, and `links.prior_role` is added exactly as Keystone 30
/// renders it, `{base}/v3/prior_role/{implied}/implies/{prior}` (its
/// `_format_entity` swaps the two and names no real route; clients do not
/// follow it).
pub fn show_implied(entry: &mut Value, implied: &Implication, base: &str) {
    entry["role"] = json!({"id": implied.role.id});
    entry["links"]["prior_role"] = json!(format!(
        "{base}/v3/prior_role/{}/implies/{}",
        implied.role.id, implied.prior_role_id
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(id: &str, name: &str) -> Role {
        Role::new(id, name)
    }

    const BASE: &str = "http://example.com/identity";

    #[test]
    fn a_rule_is_rendered_as_keystones_role_inference() {
        let rule = ImpliedRole::new(
            role("7ceab6192ea34a548cc71b24f72e762c", "prior role name"),
            role("97e2f5d38bc94842bc3da818c16762ed", "implied role name"),
        );
        // Keystone's api-ref sample, get-role-inferences-response.json.
        let expected = json!({
            "role_inference": {
                "prior_role": {
                    "id": "7ceab6192ea34a548cc71b24f72e762c",
                    "links": {
                        "self": "http://example.com/identity/v3/roles/7ceab6192ea34a548cc71b24f72e762c"
                    },
                    "name": "prior role name"
                },
                "implies": {
                    "id": "97e2f5d38bc94842bc3da818c16762ed",
                    "links": {
                        "self": "http://example.com/identity/v3/roles/97e2f5d38bc94842bc3da818c16762ed"
                    },
                    "name": "implied role name"
                }
            },
            "links": {
                "self": "http://example.com/identity/v3/roles/7ceab6192ea34a548cc71b24f72e762c/implies/97e2f5d38bc94842bc3da818c16762ed"
            }
        });
        assert_eq!(rule_body(&rule, BASE), expected);
    }

    #[test]
    fn a_prior_roles_rules_are_rendered_as_one_inference() {
        let prior = role("42c764f0c19146728dbfe73a49cc35c3", "prior role name");
        let rules = [
            ImpliedRole::new(
                prior.clone(),
                role("066fbfc8b3e54fb68784c9e7e92ab8d7", "implied role1 name"),
            ),
            ImpliedRole::new(
                prior.clone(),
                role("32a0df1cc22848aca3986adae9e0b9a0", "implied role2 name"),
            ),
        ];
        // list-implied-roles-for-role-response.json.
        let expected = json!({
            "role_inference": {
                "prior_role": {
                    "id": "42c764f0c19146728dbfe73a49cc35c3",
                    "links": {
                        "self": "http://example.com/identity/v3/roles/42c764f0c19146728dbfe73a49cc35c3"
                    },
                    "name": "prior role name"
                },
                "implies": [
                    {
                        "id": "066fbfc8b3e54fb68784c9e7e92ab8d7",
                        "links": {
                            "self": "http://example.com/identity/v3/roles/066fbfc8b3e54fb68784c9e7e92ab8d7"
                        },
                        "name": "implied role1 name"
                    },
                    {
                        "id": "32a0df1cc22848aca3986adae9e0b9a0",
                        "links": {
                            "self": "http://example.com/identity/v3/roles/32a0df1cc22848aca3986adae9e0b9a0"
                        },
                        "name": "implied role2 name"
                    }
                ]
            },
            "links": {
                "self": "http://example.com/identity/v3/roles/42c764f0c19146728dbfe73a49cc35c3/implies"
            }
        });
        assert_eq!(implied_roles_body(&prior, &rules, BASE), expected);
        let none = implied_roles_body(&prior, &[], BASE);
        assert_eq!(none["role_inference"]["implies"], json!([]));
    }

    #[test]
    fn every_rule_is_grouped_by_prior_role_as_keystones_code_renders_it() {
        let (a, b) = (role("a1", "prior a"), role("b1", "prior b"));
        let rules = [
            ImpliedRole::new(a.clone(), role("x1", "x")),
            ImpliedRole::new(a.clone(), role("y1", "y")),
            ImpliedRole::new(b.clone(), role("z1", "z")),
        ];
        let body = role_inferences_body(&rules, BASE);
        let link = |id: &str| json!({"self": format!("{BASE}/v3/roles/{id}")});
        assert_eq!(
            body,
            json!({"role_inferences": [
                {
                    "prior_role": {"id": "a1", "links": link("a1"), "name": "prior a"},
                    "implies": [
                        {"id": "x1", "links": link("x1"), "name": "x"},
                        {"id": "y1", "links": link("y1"), "name": "y"},
                    ]
                },
                {
                    "prior_role": {"id": "b1", "links": link("b1"), "name": "prior b"},
                    "implies": [{"id": "z1", "links": link("z1"), "name": "z"}]
                },
            ]})
        );
        assert_eq!(
            role_inferences_body(&[], BASE),
            json!({"role_inferences": []})
        );
    }

    #[test]
    fn an_implied_entry_shows_its_role_and_keystones_prior_role_link() {
        let mut entry = json!({
            "role": {"id": "manager-id"},
            "user": {"id": "u1"},
            "scope": {"project": {"id": "p1"}},
            "links": {"assignment": format!("{BASE}/v3/projects/p1/users/u1/roles/manager-id")},
        });
        let implied = Implication {
            role: role("member-id", "member"),
            prior_role_id: "manager-id".into(),
        };
        show_implied(&mut entry, &implied, BASE);
        assert_eq!(entry["role"], json!({"id": "member-id"}));
        assert_eq!(
            entry["links"]["prior_role"],
            json!(format!("{BASE}/v3/prior_role/member-id/implies/manager-id"))
        );
        assert_eq!(
            entry["links"]["assignment"],
            json!(format!("{BASE}/v3/projects/p1/users/u1/roles/manager-id"))
        );
    }
}
