//! Projects. Disabling a project revokes every token scoped to it.

use auth_core::AuthError;
use auth_core::store::Project;

use super::{Context, note_project, revocations};

/// Creates `project` (its domain must exist: 404 otherwise; a name taken
/// in the domain is a 409).
pub async fn create(cx: &Context<'_>, project: &Project) -> Result<(), AuthError> {
    cx.storage().get_domain(&project.domain_id).await?;
    cx.storage().create_project(project).await?;
    note_project(&project.id);
    Ok(())
}

/// Saves `updated` over `current` (the same project as read before the
/// change); disabling it revokes every token scoped to it.
pub async fn update(
    cx: &Context<'_>,
    current: &Project,
    updated: &Project,
) -> Result<(), AuthError> {
    if updated.id != current.id {
        return Err(AuthError::Internal(
            "a project update must keep the project's id".into(),
        ));
    }
    cx.storage().update_project(updated).await?;
    note_project(&updated.id);
    if current.enabled && !updated.enabled {
        revocations::project(cx, &updated.id).await?;
    }
    Ok(())
}

/// Deletes a project with its role assignments; tokens scoped to it fail
/// validation from then on, as their scope is gone.
pub async fn delete(cx: &Context<'_>, project_id: &str) -> Result<(), AuthError> {
    cx.storage().delete_project(project_id).await?;
    note_project(project_id);
    Ok(())
}
