//! Projects, and their hierarchy as Keystone keeps it. Disabling a project
//! revokes every token scoped to it.
//!
//! A project's parent is a project of the same domain, or none (the
//! project is at the top of its domain, whose parent Keystone renders as
//! the domain). The hierarchy is fixed at creation, no deeper than
//! `max_project_tree_depth` projects; a project is enabled only under
//! enabled parents, disabled only over a disabled subtree, and deleted
//! only without children, each as Keystone's resource manager decides it.

use std::collections::HashMap;

use auth_core::AuthError;
use auth_core::store::{Project, not_a_leaf};

use super::{Context, note_project, revocations};

/// Keystone's default `max_project_tree_depth`.
pub const DEFAULT_MAX_PROJECT_TREE_DEPTH: u32 = 5;

/// Creates `project` (a name taken in the domain is a 409). Its domain
/// must exist and be enabled, and so must its parent, if it has one, with
/// every project above it; the parent must be of the same domain and the
/// new project no deeper than `max_depth` projects (Keystone counts its
/// `max_project_tree_depth` so). What the request names and does not
/// exist is a 400, as in Keystone.
pub async fn create(cx: &Context<'_>, project: &Project, max_depth: u32) -> Result<(), AuthError> {
    let storage = cx.storage();
    let domain = storage
        .get_domain(&project.domain_id)
        .await
        .map_err(not_found_is_bad_request)?;
    if let Some(parent_id) = &project.parent_id {
        let parent = storage
            .get_project(parent_id)
            .await
            .map_err(not_found_is_bad_request)?;
        if parent.domain_id != project.domain_id {
            return Err(AuthError::bad_request(format!(
                "Cannot create project, since it specifies its domain_id {}, but specifies a \
                 parent in a different domain ({}).",
                project.domain_id, parent.domain_id
            )));
        }
        let mut branch = parents(cx, &parent).await?;
        branch.push(parent);
        if let Some(disabled) = branch.iter().find(|p| !p.enabled) {
            return Err(disabled_branch(&disabled.id));
        }
        // The new project's depth in projects: its ancestors, and itself.
        if branch.len() + 1 > max_depth as usize {
            return Err(AuthError::Forbidden(format!(
                "Max hierarchy depth reached for {parent_id} branch."
            )));
        }
    }
    if !domain.enabled {
        return Err(disabled_branch(&domain.id));
    }
    storage.create_project(project).await?;
    note_project(&project.id);
    Ok(())
}

fn disabled_branch(id: &str) -> AuthError {
    AuthError::bad_request(format!(
        "cannot create a project in a branch containing a disabled project: {id}"
    ))
}

/// Keystone answers a create naming a domain or parent that does not exist
/// with a 400 (`ValidationError`), not a 404.
fn not_found_is_bad_request(e: AuthError) -> AuthError {
    match e {
        AuthError::NotFound { what } => AuthError::bad_request(format!("Could not find {what}.")),
        other => other,
    }
}

/// Saves `updated` over `current` (the same project as read before the
/// change); disabling it revokes every token scoped to it. As Keystone: a
/// project is enabled only if every project above it is, and disabled only
/// if every project below it already is (403 otherwise).
pub async fn update(
    cx: &Context<'_>,
    current: &Project,
    updated: &Project,
) -> Result<(), AuthError> {
    if updated.id != current.id
        || updated.domain_id != current.domain_id
        || updated.parent_id != current.parent_id
    {
        return Err(AuthError::Internal(
            "a project update must keep the project's id, domain and parent".into(),
        ));
    }
    if !current.enabled && updated.enabled {
        if let Some(disabled) = parents(cx, current).await?.iter().find(|p| !p.enabled) {
            return Err(AuthError::Forbidden(format!(
                "Cannot enable project {} since it has disabled parents: {}",
                current.id, disabled.id
            )));
        }
    }
    if current.enabled && !updated.enabled && subtree(cx, current).await?.iter().any(|p| p.enabled)
    {
        return Err(AuthError::Forbidden(format!(
            "Cannot disable project {} since its subtree contains enabled projects.",
            current.id
        )));
    }
    cx.storage().update_project(updated).await?;
    note_project(&updated.id);
    if current.enabled && !updated.enabled {
        revocations::project(cx, &updated.id).await?;
    }
    Ok(())
}

/// Deletes a project with its role assignments; tokens scoped to it are
/// revoked. A project with children is refused (403), as Keystone refuses
/// it without `cascade`.
pub async fn delete(cx: &Context<'_>, project: &Project) -> Result<(), AuthError> {
    if !children(cx, project).await?.is_empty() {
        return Err(not_a_leaf(&project.id));
    }
    cx.storage().delete_project(&project.id).await?;
    note_project(&project.id);
    revocations::project(cx, &project.id).await
}

/// The projects above `project`, its parent last (none for a project at
/// the top of its domain).
pub async fn parents(cx: &Context<'_>, project: &Project) -> Result<Vec<Project>, AuthError> {
    let mut found: Vec<Project> = Vec::new();
    let mut next = project.parent_id.clone();
    while let Some(id) = next {
        if id == project.id || found.iter().any(|p| p.id == id) {
            return Err(AuthError::Internal(format!(
                "the project hierarchy above {} has a cycle",
                project.id
            )));
        }
        let parent = cx.storage().get_project(&id).await?;
        next = parent.parent_id.clone();
        found.push(parent);
    }
    found.reverse();
    Ok(found)
}

/// The projects directly below `project`.
pub async fn children(cx: &Context<'_>, project: &Project) -> Result<Vec<Project>, AuthError> {
    Ok(cx
        .storage()
        .list_projects(Some(&project.domain_id))
        .await?
        .into_iter()
        .filter(|p| p.parent_id.as_deref() == Some(&project.id))
        .collect())
}

/// Every project below `project`, each after its parent (depth first, by
/// name within a level).
pub async fn subtree(cx: &Context<'_>, project: &Project) -> Result<Vec<Project>, AuthError> {
    let mut by_parent: HashMap<String, Vec<Project>> = HashMap::new();
    for p in cx.storage().list_projects(Some(&project.domain_id)).await? {
        if let Some(parent) = p.parent_id.clone() {
            by_parent.entry(parent).or_default().push(p);
        }
    }
    let mut found = Vec::new();
    let mut stack: Vec<Project> = by_parent.remove(&project.id).unwrap_or_default();
    stack.reverse();
    while let Some(p) = stack.pop() {
        let mut below = by_parent.remove(&p.id).unwrap_or_default();
        below.reverse();
        found.push(p);
        stack.extend(below);
    }
    Ok(found)
}
