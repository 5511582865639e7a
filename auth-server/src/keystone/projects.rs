//! `/v3/projects`: Keystone's project API, each call asking the policy with
//! the target Keystone's `keystone/api/projects.py` builds: projects with
//! their hierarchy (`parent_id`; `parents_as_list`, `parents_as_ids`,
//! `subtree_as_list`, `subtree_as_ids` on a read), projects acting as
//! domains (`is_domain`), and project tags (`/v3/projects/{id}/tags`, `tags`
//! in a project, the `tags`, `tags-any`, `not-tags` and `not-tags-any`
//! filters). Disabling a project revokes every token scoped to it.

use std::collections::{HashMap, HashSet};

use auth_core::AuthError;
use auth_core::store::{DEFAULT_DOMAIN_ID, Domain, Project, new_id};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::{ObjectTarget, PublicBase, targets};
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::{domains, projects};
use crate::state::AppState;

/// `{"project": {...}}`.
#[derive(Debug, Deserialize)]
pub struct ProjectEnvelope {
    project: ProjectBody,
}

/// The request's project; serialized back, it is what the request sent (a
/// create's policy target).
#[derive(Debug, Deserialize, Serialize)]
struct ProjectBody {
    /// An update may repeat the path's id, never name another.
    #[serde(default, skip_serializing)]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    domain_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    is_domain: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<String>>,
}

/// A listing's filters: `?domain_id=&name=&enabled=&parent_id=&is_domain=`
/// and the tag filters (each a comma-separated list).
#[derive(Debug, Default, Deserialize)]
pub struct ProjectQuery {
    domain_id: Option<String>,
    name: Option<String>,
    enabled: Option<String>,
    parent_id: Option<String>,
    is_domain: Option<String>,
    tags: Option<String>,
    #[serde(rename = "tags-any")]
    tags_any: Option<String>,
    #[serde(rename = "not-tags")]
    not_tags: Option<String>,
    #[serde(rename = "not-tags-any")]
    not_tags_any: Option<String>,
}

/// A read's expansions (`?parents_as_list` and the like): present and not
/// `0` means asked, as Keystone's `query_filter_is_true`.
#[derive(Debug, Default, Deserialize)]
pub struct ExpandQuery {
    parents_as_list: Option<String>,
    parents_as_ids: Option<String>,
    subtree_as_list: Option<String>,
    subtree_as_ids: Option<String>,
}

/// Keystone's `query_filter_is_true`: a parameter present, with any value
/// but `0`.
fn asked(param: Option<&String>) -> bool {
    param.is_some_and(|v| v != "0")
}

/// Keystone's `attr_as_boolean` for a boolean filter: oslo's false strings
/// are false, anything else true.
pub(super) fn filter_bool(value: &str) -> bool {
    !matches!(
        value.to_ascii_lowercase().as_str(),
        "f" | "false" | "off" | "n" | "no" | "0"
    )
}

/// The JSON of a project, Keystone-shaped: a project at the top of its
/// domain has the domain as its parent.
pub(super) fn project_json(p: &Project, base: &str) -> Value {
    json!({
        "id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
        "enabled": p.enabled, "is_domain": false,
        "parent_id": p.parent_id.as_deref().unwrap_or(&p.domain_id),
        "tags": p.tags, "options": {},
        "links": {"self": format!("{base}/v3/projects/{}", p.id)},
    })
}

/// The JSON of a domain seen as the project that acts as it (Keystone's
/// `is_domain` projects): no domain, no parent.
fn domain_project_json(d: &Domain, base: &str) -> Value {
    json!({
        "id": d.id, "name": d.name, "domain_id": null, "description": d.description,
        "enabled": d.enabled, "is_domain": true, "parent_id": null, "tags": [], "options": {},
        "links": {"self": format!("{base}/v3/projects/{}", d.id)},
    })
}

/// A project name: 1 to 64 characters, not all blank (Keystone's
/// `_name_properties`), stripped as Keystone stores it.
fn name_of(name: Option<String>) -> Result<String, AuthError> {
    super::required_name(name, 64).map(|n| n.trim().to_owned())
}

/// Keystone's tag rules: at most 80, unique, each 1 to 255 characters
/// with neither `,` nor `/`; stripped as Keystone stores them.
fn checked_tags(tags: Vec<String>) -> Result<Vec<String>, AuthError> {
    if tags.len() > 80 {
        return Err(AuthError::bad_request("a project has at most 80 tags"));
    }
    let mut seen = HashSet::new();
    for tag in &tags {
        check_tag(tag)?;
        if !seen.insert(tag.as_str()) {
            return Err(AuthError::bad_request(format!(
                "the tag '{tag}' is listed twice"
            )));
        }
    }
    Ok(tags.iter().map(|t| t.trim().to_owned()).collect())
}

fn check_tag(tag: &str) -> Result<(), AuthError> {
    if tag.is_empty() || tag.chars().count() > 255 || tag.contains([',', '/']) {
        return Err(AuthError::bad_request(
            "a tag is 1 to 255 characters, without ',' or '/'",
        ));
    }
    Ok(())
}

/// The target of a call on one project (Keystone's
/// `_build_project_target_enforcement`): `project_id` from the path and
/// `target.project` when the project exists (its 404 deferred, see
/// [`super::deferred`]).
async fn project_target(
    state: &AppState,
    project_id: &str,
) -> Result<ObjectTarget<Project>, AuthError> {
    super::object_target(
        state.storage().get_project(project_id).await,
        ("project_id", project_id),
        ("target.project", targets::project),
    )
}

/// What `/v3/projects/{id}` names: a project, or a domain (Keystone's
/// domains are the projects acting as them).
enum Named {
    Project(Project),
    Domain(Domain),
}

/// The target of a call on `/v3/projects/{id}` (see `project_target`);
/// when no project has the id but a domain does, `target.project` is the
/// domain as the project acting as it. A 404 of both is deferred.
async fn named_target(
    state: &AppState,
    id: &str,
) -> Result<(Target, Result<Named, AuthError>), AuthError> {
    let (target, project) = project_target(state, id).await?;
    match project {
        Ok(project) => Ok((target, Ok(Named::Project(project)))),
        Err(missing @ AuthError::NotFound { .. }) => {
            match super::deferred(state.storage().get_domain(id).await)? {
                Ok(domain) => {
                    let object = json!({"id": domain.id, "name": domain.name,
                        "domain_id": null, "description": domain.description,
                        "enabled": domain.enabled, "is_domain": true, "parent_id": null});
                    let target = target.with_object("target.project", &object);
                    Ok((target, Ok(Named::Domain(domain))))
                }
                Err(_) => Ok((target, Err(missing))),
            }
        }
        Err(e) => Err(e),
    }
}

/// `POST /v3/projects`. Target: `target.project`, the request's project as
/// sent (so without a `domain_id` if it names none, as in Keystone, which
/// fills it in only after the check: from the parent, else the caller's
/// domain scope, else the default domain). With `is_domain: true` it
/// creates a domain, shown as the project acting as it.
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<ProjectEnvelope>,
) -> Result<Response, ServerError> {
    let body = body.project;
    let sent = serde_json::to_value(&body).unwrap_or(Value::Null);
    let target = Target::new().with_object("target.project", &sent);
    super::authorize(&state, &caller, "identity:create_project", &target)?;
    let name = name_of(body.name)?;
    let tags = checked_tags(body.tags.unwrap_or_default())?;
    let description = body.description.unwrap_or_default();
    let enabled = body.enabled.unwrap_or(true);
    if body.is_domain == Some(true) {
        if body.parent_id.is_some() {
            return Err(AuthError::bad_request(
                "only root projects are allowed to act as domains.",
            )
            .into());
        }
        let domain = Domain::new(new_id(), name)
            .with_description(description)
            .with_enabled(enabled);
        domains::create(&state.services(), &domain).await?;
        let body = json!({"project": domain_project_json(&domain, &base)});
        return Ok((StatusCode::CREATED, Json(body)).into_response());
    }
    let storage = state.storage();
    // A parent naming a domain (Keystone's domains are projects) puts the
    // project at the top of that domain.
    let (parent, parent_domain) = match body.parent_id {
        None => (None, None),
        Some(id) => match storage.get_project(&id).await {
            Ok(parent) => {
                let domain = parent.domain_id.clone();
                (Some(parent.id), Some(domain))
            }
            Err(AuthError::NotFound { .. }) if storage.get_domain(&id).await.is_ok() => {
                (None, Some(id))
            }
            Err(AuthError::NotFound { .. }) => {
                return Err(AuthError::bad_request(format!(
                    "Could not find parent project: {id}."
                ))
                .into());
            }
            Err(e) => return Err(e.into()),
        },
    };
    let domain_id = body
        .domain_id
        .or_else(|| parent_domain.clone())
        .or_else(|| caller.domain_scope().map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_DOMAIN_ID.to_owned());
    if parent.is_none() && parent_domain.as_ref().is_some_and(|d| *d != domain_id) {
        return Err(AuthError::bad_request(
            "Cannot create project, the parent is acting as a domain, but this project's \
             domain id does not match the parent's id.",
        )
        .into());
    }
    let mut project = Project::new(new_id(), name, domain_id)
        .with_description(description)
        .with_enabled(enabled)
        .with_tags(tags);
    project.parent_id = parent;
    let depth = state.config().resource.max_project_tree_depth;
    projects::create(&state.services(), &project, depth).await?;
    let body = json!({"project": project_json(&project, &base)});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Splits a tag filter's comma-separated list.
fn tag_list(value: Option<&String>) -> Option<Vec<&str>> {
    value.map(|v| v.split(',').collect())
}

/// Whether `project` passes the tag filters: `tags` (every one),
/// `tags-any` (at least one), `not-tags` (not every one), `not-tags-any`
/// (none), as Keystone's API reference defines them.
fn tags_match(query: &ProjectQuery, project: &Project) -> bool {
    let has = |tag: &&str| project.tags.iter().any(|t| t == tag);
    tag_list(query.tags.as_ref()).is_none_or(|all| all.iter().all(has))
        && tag_list(query.tags_any.as_ref()).is_none_or(|any| any.iter().any(has))
        && tag_list(query.not_tags.as_ref()).is_none_or(|all| !all.iter().all(has))
        && tag_list(query.not_tags_any.as_ref()).is_none_or(|any| !any.iter().any(has))
}

/// `GET /v3/projects`. Target: for a domain-scoped token,
/// `target.domain_id` is its domain; the filters under `filter_attr`. Such
/// a token lists its own domain's projects only, as Keystone. With
/// `?is_domain=true`, the projects acting as domains: the domains.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<ProjectQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let scoped = caller.domain_scope();
    let mut target = Target::new();
    if let Some(domain) = scoped {
        target = target.with("target.domain_id", domain);
    }
    let target = targets::with_filters(
        target,
        [
            ("domain_id", query.domain_id.as_deref()),
            ("enabled", query.enabled.as_deref()),
            ("name", query.name.as_deref()),
            ("parent_id", query.parent_id.as_deref()),
            ("is_domain", query.is_domain.as_deref()),
        ],
    );
    super::authorize(&state, &caller, "identity:list_projects", &target)?;
    let enabled = query.enabled.as_deref().map(filter_bool);
    let links = super::collection_links(&base, "/v3/projects");
    if query.is_domain.as_deref().is_some_and(filter_bool) {
        // A domain has no domain and no parent, so those filters, and a
        // domain scope (Keystone keeps only projects of the token's
        // domain), leave none.
        let none_left = scoped.is_some() || query.domain_id.is_some() || query.parent_id.is_some();
        let domains: Vec<Value> = if none_left {
            Vec::new()
        } else {
            state
                .storage()
                .list_domains()
                .await?
                .iter()
                .filter(|d| {
                    super::name_matches(query.name.as_deref(), &d.name)
                        && enabled.is_none_or(|e| e == d.enabled)
                        && query.tags.is_none()
                        && query.tags_any.is_none()
                })
                .map(|d| domain_project_json(d, &base))
                .collect()
        };
        return Ok(Json(json!({"projects": domains, "links": links})));
    }
    let projects: Vec<Value> = state
        .storage()
        .list_projects(query.domain_id.as_deref())
        .await?
        .iter()
        .filter(|p| {
            super::name_matches(query.name.as_deref(), &p.name)
                && scoped.is_none_or(|d| d == p.domain_id)
                && enabled.is_none_or(|e| e == p.enabled)
                && query
                    .parent_id
                    .as_deref()
                    .is_none_or(|want| want == p.parent_id.as_deref().unwrap_or(&p.domain_id))
                && tags_match(&query, p)
        })
        .map(|p| project_json(p, &base))
        .collect();
    Ok(Json(json!({"projects": projects, "links": links})))
}

/// `GET /v3/projects/{id}`, with Keystone's expansions:
/// `parents_as_list` and `subtree_as_list` (the projects above or below
/// it that the caller holds a role on, each as `{"project": ...}`),
/// `parents_as_ids` and `subtree_as_ids` (the ids, nested). The id of a
/// domain reads the project acting as it. Target: see `named_target`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    Query(expand): Query<ExpandQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, named) = named_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:get_project", &target)?;
    let project = match named? {
        Named::Project(project) => project,
        Named::Domain(domain) => {
            return Ok(Json(
                json!({"project": domain_project_json(&domain, &base)}),
            ));
        }
    };
    let (parents_as_list, parents_as_ids) = (
        asked(expand.parents_as_list.as_ref()),
        asked(expand.parents_as_ids.as_ref()),
    );
    let (subtree_as_list, subtree_as_ids) = (
        asked(expand.subtree_as_list.as_ref()),
        asked(expand.subtree_as_ids.as_ref()),
    );
    if parents_as_list && parents_as_ids {
        return Err(AuthError::bad_request(
            "Cannot use parents_as_list and parents_as_ids query params at the same time.",
        )
        .into());
    }
    if subtree_as_list && subtree_as_ids {
        return Err(AuthError::bad_request(
            "Cannot use subtree_as_list and subtree_as_ids query params at the same time.",
        )
        .into());
    }
    let mut rendered = project_json(&project, &base);
    let cx = state.services();
    if parents_as_list || subtree_as_list {
        let visible = caller_projects(&state, &caller).await?;
        let wrap = |list: Vec<Project>| -> Vec<Value> {
            list.iter()
                .filter(|p| visible.contains(&p.id))
                .map(|p| json!({"project": project_json(p, &base)}))
                .collect()
        };
        if parents_as_list {
            rendered["parents"] = json!(wrap(projects::parents(&cx, &project).await?));
        }
        if subtree_as_list {
            rendered["subtree"] = json!(wrap(projects::subtree(&cx, &project).await?));
        }
    }
    if parents_as_ids {
        // Nested from the parent up, ending with the domain (Keystone's
        // domains are the top projects): {parent: {grandparent: {domain: null}}}.
        let mut nested = json!({ project.domain_id.clone(): null });
        for parent in projects::parents(&cx, &project).await? {
            nested = json!({ parent.id: nested });
        }
        rendered["parents"] = nested;
    }
    if subtree_as_ids {
        let subtree = projects::subtree(&cx, &project).await?;
        rendered["subtree"] = subtree_ids(&project.id, &subtree);
    }
    Ok(Json(json!({"project": rendered})))
}

/// Keystone's `subtree_as_ids`: `{child: {grandchild: null}}`, null for a
/// project without children.
fn subtree_ids(root: &str, subtree: &[Project]) -> Value {
    let mut by_parent: HashMap<&str, Vec<&str>> = HashMap::new();
    for p in subtree {
        if let Some(parent) = p.parent_id.as_deref() {
            by_parent.entry(parent).or_default().push(&p.id);
        }
    }
    fn below(id: &str, by_parent: &HashMap<&str, Vec<&str>>, depth: usize) -> Value {
        match by_parent.get(id) {
            Some(children) if depth < 64 => {
                let map: Map<String, Value> = children
                    .iter()
                    .map(|c| ((*c).to_owned(), below(c, by_parent, depth + 1)))
                    .collect();
                Value::Object(map)
            }
            _ => Value::Null,
        }
    }
    below(root, &by_parent, 0)
}

/// The projects the caller holds a role on, directly or through a group
/// (what Keystone filters `parents_as_list` and `subtree_as_list` by).
async fn caller_projects(state: &AppState, caller: &Caller) -> Result<HashSet<String>, AuthError> {
    Ok(state
        .storage()
        .targets_for_user(&caller.user().id)
        .await?
        .into_iter()
        .filter_map(|t| match t {
            auth_core::store::Target::Project(id) => Some(id),
            _ => None,
        })
        .collect())
}

/// `PATCH /v3/projects/{id}`; disabling a project revokes its tokens. Its
/// domain, parent and `is_domain` never change: Keystone refuses a new
/// domain (400), a new parent (403) and a new `is_domain` (400). The id of
/// a domain updates the domain (see `update_acting_domain`). Target: see
/// `named_target`.
pub async fn update(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<ProjectEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, named) = named_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:update_project", &target)?;
    let body = body.project;
    let current = match named? {
        Named::Project(project) => project,
        Named::Domain(domain) => {
            let domain = update_acting_domain(&state, &domain, body).await?;
            return Ok(Json(
                json!({"project": domain_project_json(&domain, &base)}),
            ));
        }
    };
    if body.id.as_ref().is_some_and(|sent| *sent != id) {
        return Err(AuthError::bad_request("Cannot change ID").into());
    }
    if body
        .domain_id
        .as_ref()
        .is_some_and(|d| *d != current.domain_id)
    {
        return Err(AuthError::bad_request("Cannot change Domain ID").into());
    }
    let parent = current.parent_id.as_deref().unwrap_or(&current.domain_id);
    if body.parent_id.as_ref().is_some_and(|p| p != parent) {
        return Err(AuthError::Forbidden("Update of `parent_id` is not allowed.".into()).into());
    }
    if body.is_domain == Some(true) {
        return Err(AuthError::bad_request("Update of `is_domain` is not allowed.").into());
    }
    let mut project = current.clone();
    if body.name.is_some() {
        project.name = name_of(body.name)?;
    }
    if let Some(description) = body.description {
        project.description = description;
    }
    if let Some(enabled) = body.enabled {
        project.enabled = enabled;
    }
    if let Some(tags) = body.tags {
        project.tags = checked_tags(tags)?;
    }
    projects::update(&state.services(), &current, &project).await?;
    Ok(Json(json!({"project": project_json(&project, &base)})))
}

/// `DELETE /v3/projects/{id}`: a project with children is refused (403),
/// as Keystone; the id of a domain deletes the domain (disabled only).
/// Target: see `named_target`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, named) = named_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:delete_project", &target)?;
    match named? {
        Named::Project(project) => projects::delete(&state.services(), &project).await?,
        // Keystone deletes a project acting as a domain as it deletes the
        // domain: only disabled, with what it holds.
        Named::Domain(domain) => domains::delete(&state.services(), &domain).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A `PATCH /v3/projects/{id}` of a project acting as a domain: its name,
/// description and enabled flag, as the domain API changes them; a domain
/// never gains a domain or a parent, nor stops acting as one (400).
async fn update_acting_domain(
    state: &AppState,
    current: &Domain,
    body: ProjectBody,
) -> Result<Domain, ServerError> {
    if body.id.as_ref().is_some_and(|sent| *sent != current.id) {
        return Err(AuthError::bad_request("Cannot change ID").into());
    }
    if body.domain_id.is_some() || body.parent_id.is_some() || body.is_domain == Some(false) {
        return Err(AuthError::bad_request(
            "a project acting as a domain has no domain and no parent, and stays a domain",
        )
        .into());
    }
    let mut domain = current.clone();
    if body.name.is_some() {
        domain.name = name_of(body.name)?;
    }
    if let Some(description) = body.description {
        domain.description = description;
    }
    if let Some(enabled) = body.enabled {
        domain.enabled = enabled;
    }
    domains::update(&state.services(), current, &domain).await?;
    Ok(domain)
}

/// `{"tags": [...]}`.
#[derive(Debug, Deserialize)]
pub struct TagsEnvelope {
    tags: Vec<String>,
}

/// A tag listing, as Keystone wraps it: the tags and the request's URL.
fn tags_json(tags: &[String], base: &str, project_id: &str) -> Value {
    json!({"tags": tags, "links": {"self": format!("{base}/v3/projects/{project_id}/tags")}})
}

/// Asks the policy about `action` on the project (see `project_target`),
/// then reads it (its 404 after the check).
async fn authorize_on_project(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    id: &str,
) -> Result<Project, ServerError> {
    let (target, project) = project_target(state, id).await?;
    super::authorize(state, caller, action, &target)?;
    Ok(project?)
}

/// Saves `tags` as the project's.
async fn save_tags(
    state: &AppState,
    current: &Project,
    tags: Vec<String>,
) -> Result<(), AuthError> {
    let mut project = current.clone();
    project.tags = tags;
    projects::update(&state.services(), current, &project).await
}

/// `GET /v3/projects/{id}/tags`.
pub async fn list_tags(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let project = authorize_on_project(&state, &caller, "identity:list_project_tags", &id).await?;
    Ok(Json(tags_json(&project.tags, &base, &id)))
}

/// `PUT /v3/projects/{id}/tags`: replaces every tag.
pub async fn update_tags(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<TagsEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let project =
        authorize_on_project(&state, &caller, "identity:update_project_tags", &id).await?;
    let tags = checked_tags(body.tags)?;
    save_tags(&state, &project, tags.clone()).await?;
    Ok(Json(tags_json(&tags, &base, &id)))
}

/// `DELETE /v3/projects/{id}/tags`: removes every tag.
pub async fn delete_tags(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let project =
        authorize_on_project(&state, &caller, "identity:delete_project_tags", &id).await?;
    save_tags(&state, &project, Vec::new()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The path of one tag.
#[derive(Debug, Deserialize)]
pub struct TagPath {
    id: String,
    tag: String,
}

/// Keystone's `ProjectTagNotFound`.
fn no_such_tag(tag: &str) -> ServerError {
    AuthError::NotFound {
        what: format!("project tag: {tag}"),
    }
    .into()
}

/// `GET /v3/projects/{id}/tags/{tag}`: 204 if the project has it, 404 if
/// not.
pub async fn check_tag_route(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<TagPath>,
) -> Result<impl IntoResponse, ServerError> {
    let project =
        authorize_on_project(&state, &caller, "identity:get_project_tag", &path.id).await?;
    if !project.tags.contains(&path.tag) {
        return Err(no_such_tag(&path.tag));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v3/projects/{id}/tags/{tag}`: adds one tag (201, with its URL in
/// `Location`). As Keystone, a tag the project has already is a 400 (the
/// tags must stay unique), and so is an 81st.
pub async fn add_tag(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(path): Path<TagPath>,
) -> Result<Response, ServerError> {
    let project =
        authorize_on_project(&state, &caller, "identity:create_project_tag", &path.id).await?;
    check_tag(&path.tag)?;
    let mut tags = project.tags.clone();
    tags.push(path.tag.clone());
    let tags = checked_tags(tags)?;
    save_tags(&state, &project, tags).await?;
    let location = format!("{base}/v3/projects/{}/tags/{}", path.id, path.tag);
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `DELETE /v3/projects/{id}/tags/{tag}`: 404 if the project lacks it.
pub async fn delete_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<TagPath>,
) -> Result<impl IntoResponse, ServerError> {
    let project =
        authorize_on_project(&state, &caller, "identity:delete_project_tag", &path.id).await?;
    if !project.tags.contains(&path.tag) {
        return Err(no_such_tag(&path.tag));
    }
    let tags = project
        .tags
        .iter()
        .filter(|t| **t != path.tag)
        .cloned()
        .collect();
    save_tags(&state, &project, tags).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/users/{id}/projects`: the enabled projects the user holds a
/// role on, directly or through a group, as Keystone's
/// `list_projects_for_user`. Target: the user's (see
/// `super::users::user_target`); the filters under `filter_attr`.
pub async fn list_for_user(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ProjectQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, user) = super::users::user_target(&state, &id).await?;
    let target = targets::with_filters(
        target,
        [
            ("domain_id", query.domain_id.as_deref()),
            ("enabled", query.enabled.as_deref()),
            ("name", query.name.as_deref()),
        ],
    );
    super::authorize(&state, &caller, "identity:list_user_projects", &target)?;
    user?;
    let enabled = query.enabled.as_deref().map(filter_bool);
    let mut projects: Vec<Value> = Vec::new();
    for scoped in state.storage().targets_for_user(&id).await? {
        let auth_core::store::Target::Project(project_id) = scoped else {
            continue;
        };
        let Ok(project) = state.storage().get_project(&project_id).await else {
            continue;
        };
        let wanted = project.enabled
            && enabled.is_none_or(|e| e == project.enabled)
            && super::name_matches(query.name.as_deref(), &project.name)
            && query
                .domain_id
                .as_ref()
                .is_none_or(|d| *d == project.domain_id);
        if wanted {
            projects.push(project_json(&project, &base));
        }
    }
    let links = super::collection_links(&base, &format!("/v3/users/{id}/projects"));
    Ok(Json(json!({"projects": projects, "links": links})))
}
