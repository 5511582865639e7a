//! Implied roles: whoever holds a prior role holds the roles it implies.
//!
//! Keystone stores rules "prior implies implied" (its `implied_role`
//! table) and expands them wherever roles are computed: tokens at issue and
//! validation, effective role assignments, the policy. Bootstrap creates
//! `admin → manager → member → reader`, so an `admin` token lists all four.
//!
//! This module is that expansion, pure (no store, no clock), so that every
//! place that computes roles computes them the same way:
//!
//! - [`RoleGraph::expand`]: the roles a token carries, from the roles held
//!   directly; transitive, without repeats, and without domain-specific
//!   roles, which Keystone never puts in a token (they exist only to imply
//!   global ones);
//! - [`RoleGraph::implications`]: what one held role implies, each with the
//!   role that implied it, for effective role assignment listings;
//! - [`RoleGraph::check_new_rule`]: whether a new rule keeps the rules a
//!   finite, shallow graph, which every store checks inside the write's
//!   transaction;
//! - [`validate_rule`]: Keystone's own refusals, which depend on
//!   configuration and are checked by the caller.
//!
//! ## Limits
//!
//! Keystone itself neither refuses a cycle nor limits depth: its expansion
//! stops on a cycle only because it skips references it has already seen,
//! and a rule implying its own prior adds a spurious entry. Here a rule
//! that would close a cycle (including a role implying itself) or make a
//! chain longer than [`MAX_IMPLIED_ROLE_DEPTH`] is refused with 403, the
//! status Keystone gives every other refused rule (`InvalidImpliedRole`).
//! Expansion is robust anyway: it never visits a role twice and never
//! follows a chain past the limit, so rules written by other means (an
//! older build, a hand edit) cannot make it loop.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::AuthError;
use crate::store::{ImpliedRole, Role};

/// The longest chain of implications a rule may create, in rules
/// (`admin → manager → member → reader` is 3). Keystone has no limit; 8
/// leaves room for deeper custom hierarchies than any default one while
/// bounding what one login can expand.
pub const MAX_IMPLIED_ROLE_DEPTH: usize = 8;

/// Keystone's `[assignment] prohibited_implied_role` default: no rule may
/// imply `admin`, so that no other role silently grants it.
pub const DEFAULT_PROHIBITED_IMPLIED_ROLES: &[&str] = &["admin"];

/// Keystone's refusals of a rule that depend on the two roles and on
/// configuration (`create_implied_role` in `keystone/assignment/core.py`),
/// both 403 as there (`InvalidImpliedRole`):
///
/// - the implied role's name is in `prohibited` (Keystone's
///   `[assignment] prohibited_implied_role`, by default `admin`);
/// - a global role would imply a domain-specific one (a domain-specific
///   role may imply either kind).
pub fn validate_rule(prior: &Role, implied: &Role, prohibited: &[String]) -> Result<(), AuthError> {
    if prohibited.contains(&implied.name) {
        // Keystone's wording, grammar included.
        return Err(AuthError::Forbidden(format!(
            "{} cannot be an implied roles.",
            implied.id
        )));
    }
    if prior.domain_id.is_none() && implied.domain_id.is_some() {
        return Err(AuthError::Forbidden(
            "Global role cannot imply a domain-specific role".to_owned(),
        ));
    }
    Ok(())
}

/// One role a held role implies, directly or through others: what an
/// effective role assignment listing shows for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Implication {
    /// The implied role.
    pub role: Role,
    /// The role whose rule implied it (the nearer end of the chain, as
    /// Keystone's `indirect.role_id`).
    pub prior_role_id: String,
}

/// The rules, indexed by prior role: cheap to build from
/// [`AssignmentStore::list_role_inferences`](crate::store::AssignmentStore::list_role_inferences)
/// and cheap to query, so a server builds one per token revision and
/// shares it.
#[derive(Debug, Clone, Default)]
pub struct RoleGraph {
    /// Prior role id → the roles it implies directly, in rule order.
    implies: HashMap<String, Vec<Role>>,
    /// How many rules.
    rules: usize,
}

impl RoleGraph {
    /// The graph of `rules` (a repeated rule counts once).
    pub fn new(rules: impl IntoIterator<Item = ImpliedRole>) -> Self {
        let mut graph = Self::default();
        for rule in rules {
            let implied = graph.implies.entry(rule.prior.id).or_default();
            if !implied.iter().any(|r| r.id == rule.implied.id) {
                implied.push(rule.implied);
                graph.rules += 1;
            }
        }
        graph
    }

    /// Whether there are no rules (then expansion changes nothing).
    pub fn is_empty(&self) -> bool {
        self.rules == 0
    }

    /// How many rules.
    pub fn len(&self) -> usize {
        self.rules
    }

    /// The roles `role_id` implies directly.
    pub fn implied_by(&self, role_id: &str) -> &[Role] {
        self.implies.get(role_id).map_or(&[], Vec::as_slice)
    }

    /// The roles a token carries for roles held `direct`ly: those roles and
    /// every role they imply, transitively, each once, without
    /// domain-specific roles (Keystone strips them after expansion: they
    /// imply, they are never carried), sorted by name then id.
    ///
    /// Follows chains at most [`MAX_IMPLIED_ROLE_DEPTH`] rules deep and
    /// visits each role once, so it ends whatever the rules.
    pub fn expand(&self, direct: Vec<Role>) -> Vec<Role> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut roles: Vec<Role> = Vec::with_capacity(direct.len());
        let mut queue: VecDeque<(String, usize)> = VecDeque::new();
        for role in direct {
            if seen.insert(role.id.clone()) {
                queue.push_back((role.id.clone(), 0));
                roles.push(role);
            }
        }
        while let Some((id, depth)) = queue.pop_front() {
            if depth >= MAX_IMPLIED_ROLE_DEPTH {
                continue;
            }
            for implied in self.implied_by(&id) {
                if seen.insert(implied.id.clone()) {
                    queue.push_back((implied.id.clone(), depth + 1));
                    roles.push(implied.clone());
                }
            }
        }
        roles.retain(|r| r.domain_id.is_none());
        roles.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        roles
    }

    /// Every role `role_id` implies, directly or through others, each with
    /// the role whose rule implied it, nearest first along each chain
    /// (Keystone's `add_implied_roles` order: depth first, in rule order).
    /// A pair (role, prior) appears once; chains stop at
    /// [`MAX_IMPLIED_ROLE_DEPTH`]. Domain-specific roles are included: an
    /// effective listing strips them after expansion, as Keystone does.
    pub fn implications(&self, role_id: &str) -> Vec<Implication> {
        let mut found: Vec<Implication> = Vec::new();
        let mut seen: HashSet<(String, String)> = HashSet::new();
        // A stack, as Keystone's: the last rule's chain is followed first.
        let mut stack: Vec<(String, usize)> = vec![(role_id.to_owned(), 0)];
        while let Some((prior, depth)) = stack.pop() {
            if depth >= MAX_IMPLIED_ROLE_DEPTH {
                continue;
            }
            for implied in self.implied_by(&prior) {
                if seen.insert((implied.id.clone(), prior.clone())) {
                    found.push(Implication {
                        role: implied.clone(),
                        prior_role_id: prior.clone(),
                    });
                    stack.push((implied.id.clone(), depth + 1));
                }
            }
        }
        found
    }

    /// Whether the rule "`prior_role_id` implies `implied_role_id`" may be
    /// added to these rules:
    ///
    /// - [`AuthError::Conflict`] if it exists (Keystone's 409);
    /// - [`AuthError::Forbidden`] if the role would imply itself, if the
    ///   implied role already implies the prior one (a cycle), or if some
    ///   chain through the new rule would be longer than
    ///   [`MAX_IMPLIED_ROLE_DEPTH`].
    pub fn check_new_rule(
        &self,
        prior_role_id: &str,
        implied_role_id: &str,
    ) -> Result<(), AuthError> {
        if self
            .implied_by(prior_role_id)
            .iter()
            .any(|r| r.id == implied_role_id)
        {
            return Err(AuthError::Conflict {
                what: format!("implied role: {prior_role_id} implies {implied_role_id}"),
            });
        }
        if prior_role_id == implied_role_id {
            return Err(AuthError::Forbidden(format!(
                "Role {prior_role_id} cannot imply itself."
            )));
        }
        if self.reaches(implied_role_id, prior_role_id) {
            return Err(AuthError::Forbidden(format!(
                "Role {prior_role_id} cannot imply role {implied_role_id}: \
                 {implied_role_id} already implies {prior_role_id}, and implications \
                 may not form a cycle."
            )));
        }
        let above = self.longest_chain_to(prior_role_id);
        let below = self.longest_chain_from(implied_role_id);
        let length = above + 1 + below;
        if length > MAX_IMPLIED_ROLE_DEPTH {
            return Err(AuthError::Forbidden(format!(
                "Role {prior_role_id} cannot imply role {implied_role_id}: it would make a \
                 chain of {length} implications, more than the limit of \
                 {MAX_IMPLIED_ROLE_DEPTH}."
            )));
        }
        Ok(())
    }

    /// Whether `to` is implied by `from`, through any number of rules.
    fn reaches(&self, from: &str, to: &str) -> bool {
        let mut seen: HashSet<&str> = HashSet::from([from]);
        let mut queue: VecDeque<&str> = VecDeque::from([from]);
        while let Some(id) = queue.pop_front() {
            for implied in self.implied_by(id) {
                if implied.id == to {
                    return true;
                }
                if seen.insert(&implied.id) {
                    queue.push_back(&implied.id);
                }
            }
        }
        false
    }

    /// The most rules a chain starting at `role_id` follows, counted up to
    /// one past the limit (enough to refuse; it ends on a cycle too).
    fn longest_chain_from(&self, role_id: &str) -> usize {
        self.longest_chain(role_id, |id| {
            self.implied_by(id).iter().map(|r| r.id.as_str()).collect()
        })
    }

    /// The most rules a chain ending at `role_id` follows, counted up to one
    /// past the limit.
    fn longest_chain_to(&self, role_id: &str) -> usize {
        self.longest_chain(role_id, |id| {
            self.implies
                .iter()
                .filter(|(_, implied)| implied.iter().any(|r| r.id == id))
                .map(|(prior, _)| prior.as_str())
                .collect()
        })
    }

    /// The largest k such that some chain of k rules leaves `start` along
    /// `next`, up to `MAX_IMPLIED_ROLE_DEPTH + 1`: the roles at the end of
    /// chains of exactly k rules, layer by layer.
    fn longest_chain<'g>(&'g self, start: &'g str, next: impl Fn(&str) -> Vec<&'g str>) -> usize {
        let mut layer: HashSet<&str> = HashSet::from([start]);
        let mut length = 0;
        while length <= MAX_IMPLIED_ROLE_DEPTH {
            let following: HashSet<&str> = layer.iter().flat_map(|id| next(id)).collect();
            if following.is_empty() {
                break;
            }
            layer = following;
            length += 1;
        }
        length
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str) -> Role {
        Role {
            id: format!("id-{name}"),
            name: name.into(),
            domain_id: None,
        }
    }

    fn domain_role(name: &str) -> Role {
        Role {
            domain_id: Some("d1".into()),
            ..role(name)
        }
    }

    fn rule(prior: &Role, implied: &Role) -> ImpliedRole {
        ImpliedRole::new(prior.clone(), implied.clone())
    }

    fn names(roles: &[Role]) -> Vec<&str> {
        roles.iter().map(|r| r.name.as_str()).collect()
    }

    /// Keystone 30's bootstrap rules.
    fn bootstrap() -> (RoleGraph, [Role; 4]) {
        let [admin, manager, member, reader] = ["admin", "manager", "member", "reader"].map(role);
        let graph = RoleGraph::new([
            rule(&admin, &manager),
            rule(&manager, &member),
            rule(&member, &reader),
        ]);
        (graph, [admin, manager, member, reader])
    }

    #[test]
    fn expansion_is_transitive_sorted_and_without_repeats() {
        let (graph, [admin, _, member, reader]) = bootstrap();
        assert_eq!(
            names(&graph.expand(vec![admin.clone()])),
            ["admin", "manager", "member", "reader"]
        );
        assert_eq!(
            names(&graph.expand(vec![member.clone()])),
            ["member", "reader"]
        );
        assert_eq!(
            names(&graph.expand(vec![reader.clone(), admin, member, reader])),
            ["admin", "manager", "member", "reader"],
            "held and implied twice, listed once"
        );
        let other = role("observer");
        assert_eq!(names(&graph.expand(vec![other.clone()])), ["observer"]);
        assert!(graph.expand(Vec::new()).is_empty());
        assert_eq!(
            names(&RoleGraph::default().expand(vec![other])),
            ["observer"]
        );
    }

    #[test]
    fn domain_specific_roles_imply_but_are_never_carried() {
        let (dom, global) = (domain_role("dom-ops"), role("operator"));
        let graph = RoleGraph::new([rule(&dom, &global)]);
        assert_eq!(names(&graph.expand(vec![dom.clone()])), ["operator"]);
        let alone = domain_role("dom-alone");
        assert!(graph.expand(vec![alone]).is_empty());
    }

    #[test]
    fn expansion_ends_on_a_cycle_and_stops_at_the_depth_limit() {
        // Rules no store accepts, as if written by other means.
        let (a, b, c) = (role("a"), role("b"), role("c"));
        let cyclic = RoleGraph::new([rule(&a, &b), rule(&b, &c), rule(&c, &a)]);
        assert_eq!(names(&cyclic.expand(vec![b.clone()])), ["a", "b", "c"]);
        let self_loop = RoleGraph::new([rule(&a, &a)]);
        assert_eq!(names(&self_loop.expand(vec![a.clone()])), ["a"]);
        assert_eq!(self_loop.implications("id-a").len(), 1);
        assert!(cyclic.implications("id-a").len() <= 3);

        let chain: Vec<Role> = (0..=MAX_IMPLIED_ROLE_DEPTH + 2)
            .map(|i| role(&format!("r{i:02}")))
            .collect();
        let deep = RoleGraph::new(chain.windows(2).map(|w| rule(&w[0], &w[1])));
        let reached = deep.expand(vec![chain[0].clone()]);
        assert_eq!(reached.len(), MAX_IMPLIED_ROLE_DEPTH + 1);
        assert_eq!(
            deep.implications(&chain[0].id).len(),
            MAX_IMPLIED_ROLE_DEPTH
        );
    }

    #[test]
    fn implications_name_the_nearer_prior_in_keystones_order() {
        let (graph, [admin, manager, member, reader]) = bootstrap();
        let found = graph.implications(&admin.id);
        let pairs: Vec<(&str, &str)> = found
            .iter()
            .map(|i| (i.role.name.as_str(), i.prior_role_id.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("manager", admin.id.as_str()),
                ("member", manager.id.as_str()),
                ("reader", member.id.as_str()),
            ]
        );
        assert!(graph.implications(&reader.id).is_empty());

        // Two ways to one role: one entry per prior, as Keystone lists them.
        let extra = RoleGraph::new([
            rule(&admin, &manager),
            rule(&admin, &member),
            rule(&manager, &member),
        ]);
        let members = extra
            .implications(&admin.id)
            .into_iter()
            .filter(|i| i.role.id == member.id)
            .count();
        assert_eq!(members, 2);
    }

    #[test]
    fn new_rules_that_repeat_loop_or_go_too_deep_are_refused() {
        let (graph, [admin, manager, member, reader]) = bootstrap();
        let refused = |prior: &Role, implied: &Role| graph.check_new_rule(&prior.id, &implied.id);
        assert!(matches!(
            refused(&manager, &member),
            Err(AuthError::Conflict { .. })
        ));
        for (prior, implied) in [
            (&reader, &admin),
            (&reader, &manager),
            (&member, &manager),
            (&reader, &reader),
        ] {
            let e = refused(prior, implied).unwrap_err();
            assert_eq!(
                e.http_status(),
                403,
                "{} → {}: {e}",
                prior.name,
                implied.name
            );
        }
        // A shortcut and a new branch are fine.
        assert!(refused(&admin, &reader).is_ok());
        assert!(refused(&reader, &role("viewer")).is_ok());

        let chain: Vec<Role> = (0..=MAX_IMPLIED_ROLE_DEPTH + 1)
            .map(|i| role(&format!("r{i:02}")))
            .collect();
        let longest = RoleGraph::new(
            chain[..=MAX_IMPLIED_ROLE_DEPTH]
                .windows(2)
                .map(|w| rule(&w[0], &w[1])),
        );
        let last = &chain[MAX_IMPLIED_ROLE_DEPTH];
        let past = &chain[MAX_IMPLIED_ROLE_DEPTH + 1];
        let too_deep = longest.check_new_rule(&last.id, &past.id).unwrap_err();
        assert_eq!(too_deep.http_status(), 403);
        assert!(too_deep.to_string().contains("chain"), "{too_deep}");
        let above = longest.check_new_rule(&past.id, &chain[0].id).unwrap_err();
        assert_eq!(above.http_status(), 403, "a new head makes it too deep too");
        // Joining two short chains in the middle counts both halves.
        let half = MAX_IMPLIED_ROLE_DEPTH / 2;
        let split = RoleGraph::new(
            chain
                .windows(2)
                .enumerate()
                .filter(|(i, _)| *i != half)
                .map(|(_, w)| rule(&w[0], &w[1])),
        );
        assert!(
            split
                .check_new_rule(&chain[half].id, &chain[half + 1].id)
                .is_err()
        );
        assert!(
            split
                .check_new_rule(&chain[half].id, &role("leaf").id)
                .is_ok()
        );
    }

    #[test]
    fn keystones_own_refusals() {
        let (prior, member) = (role("prior"), role("member"));
        let prohibited = vec!["admin".to_owned()];
        assert!(validate_rule(&prior, &member, &prohibited).is_ok());
        let admin = role("admin");
        let e = validate_rule(&prior, &admin, &prohibited).unwrap_err();
        assert_eq!(e.http_status(), 403);
        assert_eq!(e.to_string(), "id-admin cannot be an implied roles.");
        assert!(validate_rule(&prior, &admin, &[]).is_ok());
        let (dom_a, dom_b) = (domain_role("a"), domain_role("b"));
        let e = validate_rule(&prior, &dom_a, &prohibited).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Global role cannot imply a domain-specific role"
        );
        assert!(validate_rule(&dom_a, &dom_b, &prohibited).is_ok());
        assert!(validate_rule(&dom_a, &prior, &prohibited).is_ok());
    }

    #[test]
    fn a_repeated_rule_counts_once() {
        let (a, b) = (role("a"), role("b"));
        let graph = RoleGraph::new([rule(&a, &b), rule(&a, &b)]);
        assert_eq!(graph.len(), 1);
        assert!(!graph.is_empty());
        assert_eq!(names(graph.implied_by("id-a")), ["b"]);
        assert!(graph.implied_by("id-b").is_empty());
    }
}
