//! Implied roles: the rules (prior role → implied role) behind
//! `PUT/GET/HEAD/DELETE /v3/roles/{prior}/implies/{implied}`,
//! `GET /v3/roles/{prior}/implies` and `GET /v3/role_inferences`, and the
//! expansion of an effective `role_assignments` listing.
//!
//! Each operation owns its side effects: the store moves the token
//! revision with every rule change, which is all a rule change needs
//! (roles are recomputed at every validation, and every node's kept rules
//! and validations follow the revision); Keystone writes no revocation
//! event for it either.
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

use super::Context;

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
/// Keystone's checks (`prohibited`: `[assignment] prohibited_implied_role`)
/// and the store's ([`AssignmentStore::create_implied_role`]).
pub async fn create(
    cx: &Context<'_>,
    prior_role_id: &str,
    implied_role_id: &str,
    prohibited: &[String],
) -> Result<ImpliedRole, AuthError> {
    let store = cx.storage();
    let (prior, implied) = both_roles(store, prior_role_id, implied_role_id).await?;
    validate_rule(&prior, &implied, prohibited)?;
    store
        .create_implied_role(prior_role_id, implied_role_id)
        .await
}

/// `GET /v3/roles/{prior}/implies/{implied}` (200), and its `HEAD` (204):
/// the rule, 404 if either role or the rule is missing.
pub async fn get(
    cx: &Context<'_>,
    prior_role_id: &str,
    implied_role_id: &str,
) -> Result<ImpliedRole, AuthError> {
    let store = cx.storage();
    both_roles(store, prior_role_id, implied_role_id).await?;
    store.get_implied_role(prior_role_id, implied_role_id).await
}

/// `DELETE /v3/roles/{prior}/implies/{implied}` (204).
pub async fn delete(
    cx: &Context<'_>,
    prior_role_id: &str,
    implied_role_id: &str,
) -> Result<(), AuthError> {
    let store = cx.storage();
    both_roles(store, prior_role_id, implied_role_id).await?;
    store
        .delete_implied_role(prior_role_id, implied_role_id)
        .await
}

/// `GET /v3/roles/{prior}/implies` (200): the prior role (404 if missing)
/// and the rules it is the prior of.
pub async fn list_for_prior(
    cx: &Context<'_>,
    prior_role_id: &str,
) -> Result<(Role, Vec<ImpliedRole>), AuthError> {
    let store = cx.storage();
    let prior = store.get_role(prior_role_id).await?;
    let rules = store.list_implied_roles(prior_role_id).await?;
    Ok((prior, rules))
}

/// `GET /v3/role_inferences` (200): every rule.
pub async fn list_all(cx: &Context<'_>) -> Result<Vec<ImpliedRole>, AuthError> {
    cx.storage().list_role_inferences().await
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
///    `keystone::implied_roles::show_implied` on the JSON.
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
            // The prior's grant: same actor, target and inheritance.
            let mut prior = assignment.clone();
            prior.role_id.clone_from(&implied.prior_role_id);
            entries.push(EffectiveEntry {
                assignment: prior,
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
