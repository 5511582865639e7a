//! `GET /v3/role_assignments`: every assignment a filter selects, direct or
//! (with `effective`) with group assignments expanded per member, and
//! (with `include_names`) named.

use std::collections::HashMap;

use auth_core::AuthError;
use auth_core::store::{Actor, Assignment, AssignmentFilter, Storage, Target};
use axum::Json;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::caller::Caller;
use super::{PublicBase, targets};
use crate::error::ServerError;
use crate::policy::Target as PolicyTarget;
use crate::services::implied_roles;
use crate::state::AppState;

/// `GET /v3/role_assignments` filters, with Keystone's dotted names, and
/// the `effective` and `include_names` flags.
#[derive(Debug, Default, Deserialize)]
pub struct AssignmentQuery {
    #[serde(rename = "user.id")]
    user: Option<String>,
    #[serde(rename = "group.id")]
    group: Option<String>,
    #[serde(rename = "role.id")]
    role: Option<String>,
    #[serde(rename = "scope.project.id")]
    project: Option<String>,
    #[serde(rename = "scope.domain.id")]
    domain: Option<String>,
    #[serde(rename = "scope.system")]
    system: Option<String>,
    effective: Option<String>,
    include_names: Option<String>,
}

/// `GET /v3/role_assignments`, Keystone-shaped, each with its
/// `links.assignment`. With `effective` (Keystone's flag: present, with
/// any value but `0`), a group's assignments become one user assignment
/// per member, with `links.membership`, and every role an assignment's
/// role implies is listed after it, with `links.prior_role`: what the
/// users really hold.
///
/// Target: for a domain-scoped token, `target.domain_id` is its domain;
/// the filters under `filter_attr` (`filter_attr.user.id`, …), as Keystone's
/// `RoleAssignmentsResource`. Such a token sees the assignments on its
/// domain and its projects only. Contradictory filters are 400s, after the
/// policy check, as in Keystone.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<AssignmentQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let scoped = caller.domain_scope();
    let mut target = PolicyTarget::new();
    if let Some(domain) = scoped {
        target = target.with("target.domain_id", domain);
    }
    let target = targets::with_filters(
        target,
        [
            ("group.id", query.group.as_deref()),
            ("role.id", query.role.as_deref()),
            ("scope.domain.id", query.domain.as_deref()),
            ("scope.project.id", query.project.as_deref()),
            ("user.id", query.user.as_deref()),
            ("scope.system", query.system.as_deref()),
        ],
    );
    super::authorize(&state, &caller, "identity:list_role_assignments", &target)?;
    let effective = query.effective.as_deref().is_some_and(|v| v != "0");
    for (both, message) in [
        (
            query.domain.is_some() && query.project.is_some(),
            "Specify a domain or project, not both",
        ),
        (
            query.system.is_some() && query.domain.is_some(),
            "Specify system or domain, not both",
        ),
        (
            query.system.is_some() && query.project.is_some(),
            "Specify system or project, not both",
        ),
        (
            query.user.is_some() && query.group.is_some(),
            "Specify a user or group, not both",
        ),
        (
            effective && query.group.is_some(),
            "Combining effective and group filter will always result in an empty list.",
        ),
    ] {
        if both {
            return Err(AuthError::bad_request(message).into());
        }
    }
    let mut filter = AssignmentFilter::default();
    // An effective listing finds an implied role through the role that
    // implies it, so the role filter applies after the expansion.
    let role_filter = query.role;
    if !effective {
        filter.role_id.clone_from(&role_filter);
    }
    filter.actor = match (query.user, query.group) {
        (Some(user), _) => Some(Actor::User(user)),
        (None, Some(group)) => Some(Actor::Group(group)),
        (None, None) => None,
    };
    filter.target = match (query.project, query.domain, query.system) {
        (Some(project), _, _) => Some(Target::Project(project)),
        (None, Some(domain), _) => Some(Target::Domain(domain)),
        (None, None, Some(_)) => Some(Target::System),
        (None, None, None) => None,
    };
    let storage = state.storage().as_ref();
    let mut listed = if effective {
        effective_assignments(storage, filter).await?
    } else {
        let direct = storage.list_assignments(&filter).await?;
        direct.into_iter().map(|a| (a, None)).collect()
    };
    if let Some(domain) = scoped {
        listed = in_domain(storage, listed, domain).await?;
    }
    let mut assignments: Vec<Value> = if effective {
        let rules = state.validations().role_graph(&state).await?;
        let entries =
            implied_roles::with_implied_roles(storage, &rules, listed, role_filter.as_deref())
                .await?;
        entries
            .iter()
            .map(|entry| {
                let mut json = assignment_json(&entry.assignment, entry.member.as_deref(), &base);
                if let Some(implied) = &entry.implied {
                    super::implied_roles::show_implied(&mut json, implied, &base);
                }
                json
            })
            .collect()
    } else {
        listed
            .iter()
            .map(|(a, member)| assignment_json(a, member.as_deref(), &base))
            .collect()
    };
    if query.include_names.as_deref().is_some_and(|v| v != "0") {
        let mut names = super::assignment_names::Names::new(storage);
        for entry in &mut assignments {
            names.name(entry).await;
        }
    }
    let links = super::collection_links(&base, "/v3/role_assignments");
    Ok(Json(
        json!({"role_assignments": assignments, "links": links}),
    ))
}

/// What a domain-scoped token may see of a listing, as Keystone's
/// `_list_role_assignments` keeps it: assignments on `domain` and on its
/// projects (none on the system, none elsewhere).
async fn in_domain(
    storage: &dyn Storage,
    listed: Vec<(Assignment, Option<String>)>,
    domain: &str,
) -> Result<Vec<(Assignment, Option<String>)>, AuthError> {
    let mut project_domains: HashMap<String, Option<String>> = HashMap::new();
    let mut kept = Vec::new();
    for entry in listed {
        let keep = match &entry.0.target {
            Target::Domain(id) => id == domain,
            Target::System => false,
            Target::Project(id) => {
                if !project_domains.contains_key(id) {
                    let found = match storage.get_project(id).await {
                        Ok(project) => Some(project.domain_id),
                        Err(AuthError::NotFound { .. }) => None,
                        Err(e) => return Err(e),
                    };
                    project_domains.insert(id.clone(), found);
                }
                project_domains
                    .get(id)
                    .is_some_and(|d| d.as_deref() == Some(domain))
            }
        };
        if keep {
            kept.push(entry);
        }
    }
    Ok(kept)
}

/// The assignments `filter` selects with every group assignment replaced
/// by one per member (the member beside it), as Keystone's `effective`
/// lists them. With a user filter: the user's own assignments, then those
/// of each of the user's groups, for that user only.
async fn effective_assignments(
    storage: &dyn Storage,
    filter: AssignmentFilter,
) -> Result<Vec<(Assignment, Option<String>)>, AuthError> {
    let mut listed = Vec::new();
    if let Some(Actor::User(user)) = &filter.actor {
        for a in storage.list_assignments(&filter).await? {
            listed.push((a, None));
        }
        for group in storage.list_user_groups(user).await? {
            let of_group = filter.clone().with_actor(Actor::Group(group.id));
            for a in storage.list_assignments(&of_group).await? {
                listed.push((a, Some(user.clone())));
            }
        }
        return Ok(listed);
    }
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    for a in storage.list_assignments(&filter).await? {
        let Actor::Group(group) = &a.actor else {
            listed.push((a, None));
            continue;
        };
        if !members.contains_key(group) {
            let users = storage.list_group_users(group).await?;
            members.insert(group.clone(), users.into_iter().map(|u| u.id).collect());
        }
        for member in members.get(group).into_iter().flatten() {
            listed.push((a.clone(), Some(member.clone())));
        }
    }
    Ok(listed)
}

/// One entry of `role_assignments`: the assignment, or for `member` (an
/// effective listing) that member's share of a group assignment.
fn assignment_json(a: &Assignment, member: Option<&str>, base: &str) -> Value {
    let actor = match (&a.actor, member) {
        (_, Some(user)) => json!({"user": {"id": user}}),
        (Actor::User(user), None) => json!({"user": {"id": user}}),
        (Actor::Group(group), None) => json!({"group": {"id": group}}),
    };
    let scope = match &a.target {
        Target::Project(id) => json!({"project": {"id": id}}),
        Target::Domain(id) => json!({"domain": {"id": id}}),
        Target::System => json!({"system": {"all": true}}),
    };
    let mut links = json!({"assignment": grant_url(a, base)});
    if let (Actor::Group(group), Some(user)) = (&a.actor, member) {
        links["membership"] = json!(format!("{base}/v3/groups/{group}/users/{user}"));
    }
    let mut entry = json!({"role": {"id": a.role_id}, "scope": scope, "links": links});
    if let (Some(entry), Value::Object(actor)) = (entry.as_object_mut(), actor) {
        entry.extend(actor);
    }
    entry
}

/// The grant route of an assignment, e.g.
/// `…/v3/projects/{p}/groups/{g}/roles/{r}`.
fn grant_url(a: &Assignment, base: &str) -> String {
    let target = match &a.target {
        Target::Project(id) => format!("projects/{id}"),
        Target::Domain(id) => format!("domains/{id}"),
        Target::System => "system".to_owned(),
    };
    let actor = match &a.actor {
        Actor::User(id) => format!("users/{id}"),
        Actor::Group(id) => format!("groups/{id}"),
    };
    format!("{base}/v3/{target}/{actor}/roles/{}", a.role_id)
}
