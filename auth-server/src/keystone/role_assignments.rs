//! `GET /v3/role_assignments`: every assignment a filter selects, direct or
//! (with `effective`) with group assignments expanded per member and
//! inherited ones (OS-INHERIT) applied to the projects below their target,
//! over one project or (with `include_subtree`) its subtree, and (with
//! `include_names`) named.

use std::collections::HashMap;

use auth_core::AuthError;
use auth_core::store::{Actor, Assignment, AssignmentFilter, Project, Storage, Target};
use axum::Json;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::caller::Caller;
use super::{PublicBase, targets};
use crate::error::ServerError;
use crate::policy::Target as PolicyTarget;
use crate::services::{Context, implied_roles, projects};
use crate::state::AppState;

/// `GET /v3/role_assignments` filters, with Keystone's dotted names, and
/// the `effective`, `include_subtree` and `include_names` flags.
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
    /// `projects`: only inherited assignments; any other value: only
    /// direct ones (Keystone's test); absent: both.
    #[serde(rename = "scope.OS-INHERIT:inherited_to")]
    inherited_to: Option<String>,
    effective: Option<String>,
    include_subtree: Option<String>,
    include_names: Option<String>,
}

/// Keystone's `query_filter_is_true`: a flag is set when present with any
/// value but `0`.
fn is_set(flag: Option<&str>) -> bool {
    flag.is_some_and(|v| v != "0")
}

/// The project a listing is about: the ids of the projects above it (whose
/// inherited grants reach it) and, with `include_subtree`, of every project
/// below it.
struct ProjectScope {
    project: Project,
    above: Vec<String>,
    subtree: Option<Vec<String>>,
}

impl ProjectScope {
    /// The projects whose assignments the listing shows.
    fn ids(&self) -> Vec<String> {
        let mut ids = vec![self.project.id.clone()];
        ids.extend(self.subtree.iter().flatten().cloned());
        ids
    }
}

/// `GET /v3/role_assignments`, Keystone-shaped, each with its
/// `links.assignment`. With `effective` (Keystone's flag: present, with
/// any value but `0`), a group's assignments become one user assignment
/// per member, with `links.membership`; an inherited assignment becomes one
/// per project it reaches (of those the filter selects), its link naming
/// the inherited grant; and every role an assignment's role implies is
/// listed after it, with `links.prior_role`: what the users really hold.
/// `scope.OS-INHERIT:inherited_to=projects` keeps inherited assignments
/// only (any other value, direct ones only).
///
/// Target: for a domain-scoped token, `target.domain_id` is its domain;
/// the filters under `filter_attr` (`filter_attr.user.id`, …), as Keystone's
/// `RoleAssignmentsResource`. Such a token sees the assignments on its
/// domain and its projects only. With `include_subtree`, Keystone's
/// `identity:list_role_assignments_for_tree` on `target.project` (read
/// first: a missing one is a 404) and `target.domain_id`, its domain; it
/// needs `scope.project.id` (400). Contradictory filters are 400s, after
/// the policy check, as in Keystone.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<AssignmentQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let storage = state.storage().as_ref();
    let include_subtree = is_set(query.include_subtree.as_deref());
    let scoped = if include_subtree {
        None
    } else {
        caller.domain_scope()
    };
    let mut target = PolicyTarget::new();
    let mut tree_root = None;
    if include_subtree {
        if let Some(id) = &query.project {
            let project = storage.get_project(id).await?;
            target = target
                .with_object("target.project", &targets::project(&project))
                .with("target.domain_id", project.domain_id.as_str());
            tree_root = Some(project);
        }
    } else if let Some(domain) = scoped {
        target = target.with("target.domain_id", domain);
    }
    let target = targets::with_filters(
        target,
        [
            ("group.id", query.group.as_deref()),
            ("role.id", query.role.as_deref()),
            ("scope.domain.id", query.domain.as_deref()),
            ("scope.project.id", query.project.as_deref()),
            (
                "scope.OS-INHERIT:inherited_to",
                query.inherited_to.as_deref(),
            ),
            ("user.id", query.user.as_deref()),
            (
                "scope.system",
                query.system.as_deref().filter(|_| !include_subtree),
            ),
        ],
    );
    let action = if include_subtree {
        "identity:list_role_assignments_for_tree"
    } else {
        "identity:list_role_assignments"
    };
    super::authorize(&state, &caller, action, &target)?;
    if include_subtree && query.project.is_none() {
        return Err(AuthError::bad_request(
            "scope.project.id must be specified if include_subtree is also specified",
        )
        .into());
    }
    let effective = is_set(query.effective.as_deref());
    let inherited = query.inherited_to.as_deref().map(|to| to == "projects");
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
        (
            effective && inherited == Some(true) && query.domain.is_some(),
            "Combining effective, domain and inherited filters will always result in an \
             empty list.",
        ),
    ] {
        if both {
            return Err(AuthError::bad_request(message).into());
        }
    }
    let cx = state.services();
    let project_scope = match query.project {
        Some(id) => {
            let project = match tree_root {
                Some(project) => Some(project),
                None => match storage.get_project(&id).await {
                    Ok(project) => Some(project),
                    // Keystone lists nothing for a project that is not.
                    Err(AuthError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                },
            };
            Some(match project {
                Some(project) => ProjectScope {
                    above: ids(projects::parents(&cx, &project).await?),
                    subtree: if include_subtree {
                        Some(ids(projects::subtree(&cx, &project).await?))
                    } else {
                        None
                    },
                    project,
                },
                None => ProjectScope {
                    project: Project::new(id, "", ""),
                    above: Vec::new(),
                    subtree: None,
                },
            })
        }
        None => None,
    };
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
    filter.target = match (query.domain, query.system) {
        (Some(domain), _) => Some(Target::Domain(domain)),
        (None, Some(_)) if project_scope.is_none() => Some(Target::System),
        _ => None,
    };
    let mut listed = if effective {
        effective_assignments(storage, filter, inherited, project_scope.as_ref()).await?
    } else {
        filter.inherited = inherited;
        let direct = on_targets(storage, &filter, project_scope.as_ref()).await?;
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
        let mut reached = Reached::default();
        let mut shown = Vec::with_capacity(entries.len());
        for entry in &entries {
            let on: Vec<Option<String>> = if entry.assignment.inherited {
                reached
                    .projects(&cx, &entry.assignment.target, project_scope.as_ref())
                    .await?
                    .into_iter()
                    .map(Some)
                    .collect()
            } else {
                vec![None]
            };
            for project in on {
                let mut json = assignment_json(
                    &entry.assignment,
                    entry.member.as_deref(),
                    project.as_deref(),
                    &base,
                );
                if let Some(implied) = &entry.implied {
                    super::implied_roles::show_implied(&mut json, implied, &base);
                }
                shown.push(json);
            }
        }
        shown
    } else {
        listed
            .iter()
            .map(|(a, member)| assignment_json(a, member.as_deref(), None, &base))
            .collect()
    };
    if is_set(query.include_names.as_deref()) {
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

/// The assignments `filter` selects, on the listing's project (and its
/// subtree) when it names one: Keystone's `project_ids` filter.
async fn on_targets(
    storage: &dyn Storage,
    filter: &AssignmentFilter,
    scope: Option<&ProjectScope>,
) -> Result<Vec<Assignment>, AuthError> {
    let Some(scope) = scope else {
        return storage.list_assignments(filter).await;
    };
    let mut found = Vec::new();
    for id in scope.ids() {
        let on = filter.clone().with_target(Target::Project(id));
        found.extend(storage.list_assignments(&on).await?);
    }
    Ok(found)
}

/// The projects each inherited grant reaches, computed once per target.
#[derive(Default)]
struct Reached {
    by_target: HashMap<Target, Vec<String>>,
}

impl Reached {
    /// The projects an inherited grant on `target` reaches among those the
    /// listing shows, as Keystone's `expand_inherited_assignment`: with a
    /// project filter, that project (and its subtree with
    /// `include_subtree`, or only the part of it below the grant's project
    /// when the grant is inside it); without, every project of the domain,
    /// or every project below the project.
    async fn projects(
        &mut self,
        cx: &Context<'_>,
        target: &Target,
        scope: Option<&ProjectScope>,
    ) -> Result<Vec<String>, AuthError> {
        if let Some(found) = self.by_target.get(target) {
            return Ok(found.clone());
        }
        let found = match (scope, target) {
            (Some(scope), Target::Project(id)) if scope.subtree.is_some() => {
                let ids = scope.ids();
                if ids.contains(id) {
                    below(cx, id).await?
                } else {
                    ids
                }
            }
            (Some(scope), _) => scope.ids(),
            (None, Target::Domain(id)) => ids(cx.storage().list_projects(Some(id)).await?),
            (None, Target::Project(id)) => below(cx, id).await?,
            (None, Target::System) => Vec::new(),
        };
        self.by_target.insert(target.clone(), found.clone());
        Ok(found)
    }
}

/// The ids of the projects below `project_id` (none if it is gone).
async fn below(cx: &Context<'_>, project_id: &str) -> Result<Vec<String>, AuthError> {
    match cx.storage().get_project(project_id).await {
        Ok(project) => Ok(ids(projects::subtree(cx, &project).await?)),
        Err(AuthError::NotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The ids of `projects`.
fn ids(projects: Vec<Project>) -> Vec<String> {
    projects.into_iter().map(|p| p.id).collect()
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

/// The assignments that give what `filter` selects, with every group
/// assignment replaced by one per member (the member beside it), as
/// Keystone's `effective` lists them before applying inheritance: the
/// direct ones on the filter's target (or the listing's projects), and,
/// unless `inherited` is `Some(false)` or the target is a domain or the
/// system (which inherit nothing), the inherited ones that reach it: with
/// a project, those on its domain and on the projects above it (and, with
/// `include_subtree`, on it and below it); without a target, all of them.
/// With a user filter: the user's own assignments, then those of each of
/// the user's groups, for that user only.
async fn effective_assignments(
    storage: &dyn Storage,
    filter: AssignmentFilter,
    inherited: Option<bool>,
    scope: Option<&ProjectScope>,
) -> Result<Vec<(Assignment, Option<String>)>, AuthError> {
    let inherited = if filter.target.is_some() {
        Some(false)
    } else {
        inherited
    };
    let mut sources: Vec<Option<Target>> = Vec::new();
    if let Some(scope) = scope {
        sources.push(Some(Target::Domain(scope.project.domain_id.clone())));
        sources.extend(
            scope
                .above
                .iter()
                .map(|id| Some(Target::Project(id.clone()))),
        );
        if scope.subtree.is_some() {
            sources.extend(scope.ids().into_iter().map(|id| Some(Target::Project(id))));
        }
    } else {
        sources.push(filter.target.clone());
    }
    let held = Held {
        storage,
        filter: &filter,
        inherited,
        scope,
        sources: &sources,
    };
    let mut listed = Vec::new();
    if let Some(Actor::User(user)) = &filter.actor {
        for a in held.by(None).await? {
            listed.push((a, None));
        }
        for group in storage.list_user_groups(user).await? {
            for a in held.by(Some(Actor::Group(group.id))).await? {
                listed.push((a, Some(user.clone())));
            }
        }
        return Ok(listed);
    }
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    for a in held.by(None).await? {
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

/// What an effective listing reads for one actor: the direct assignments
/// the filter selects and the inherited ones on `sources`.
struct Held<'a> {
    storage: &'a dyn Storage,
    filter: &'a AssignmentFilter,
    inherited: Option<bool>,
    scope: Option<&'a ProjectScope>,
    sources: &'a [Option<Target>],
}

impl Held<'_> {
    /// The assignments of `actor` (else the filter's actor, or anyone's).
    async fn by(&self, actor: Option<Actor>) -> Result<Vec<Assignment>, AuthError> {
        let mut of = self.filter.clone();
        if let Some(actor) = actor {
            of = of.with_actor(actor);
        }
        let mut found = Vec::new();
        if self.inherited != Some(true) {
            let direct = of.clone().with_inherited(false);
            found.extend(on_targets(self.storage, &direct, self.scope).await?);
        }
        if self.inherited != Some(false) {
            for source in self.sources {
                let mut inherited = of.clone().with_inherited(true);
                inherited.target.clone_from(source);
                found.extend(self.storage.list_assignments(&inherited).await?);
            }
        }
        Ok(found)
    }
}

/// One entry of `role_assignments`: the assignment, or for `member` (an
/// effective listing) that member's share of a group assignment, and for
/// `on` (an effective listing) an inherited assignment as held on that
/// project. An inherited assignment's scope says so
/// (`OS-INHERIT:inherited_to`) and its link is the OS-INHERIT route.
fn assignment_json(a: &Assignment, member: Option<&str>, on: Option<&str>, base: &str) -> Value {
    let actor = match (&a.actor, member) {
        (_, Some(user)) => json!({"user": {"id": user}}),
        (Actor::User(user), None) => json!({"user": {"id": user}}),
        (Actor::Group(group), None) => json!({"group": {"id": group}}),
    };
    let mut scope = match (&a.target, on) {
        (_, Some(project)) => json!({"project": {"id": project}}),
        (Target::Project(id), None) => json!({"project": {"id": id}}),
        (Target::Domain(id), None) => json!({"domain": {"id": id}}),
        (Target::System, None) => json!({"system": {"all": true}}),
    };
    if a.inherited {
        scope["OS-INHERIT:inherited_to"] = json!("projects");
    }
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
/// `…/v3/projects/{p}/groups/{g}/roles/{r}`, or for an inherited one
/// `…/v3/OS-INHERIT/domains/{d}/users/{u}/roles/{r}/inherited_to_projects`.
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
    if a.inherited {
        format!(
            "{base}/v3/OS-INHERIT/{target}/{actor}/roles/{}/inherited_to_projects",
            a.role_id
        )
    } else {
        format!("{base}/v3/{target}/{actor}/roles/{}", a.role_id)
    }
}
