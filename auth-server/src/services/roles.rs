//! Roles (global ones).

use auth_core::AuthError;
use auth_core::store::{Actor, AssignmentFilter, Role, Target};

use super::{Context, application_credentials};

/// Creates `role` (a name taken is a 409).
pub async fn create(cx: &Context<'_>, role: &Role) -> Result<(), AuthError> {
    cx.storage().create_role(role).await
}

/// Renames a role (a name taken is a 409). Role names are in token
/// bodies, so the store moves the token revision and every node shows the
/// new name at its next validation.
pub async fn update(cx: &Context<'_>, role: &Role) -> Result<(), AuthError> {
    cx.storage().update_role(role).await
}

/// Deletes a role with its assignments. As Keystone does, every user who
/// held it directly on a project first loses their application
/// credentials on that project (they may delegate the role).
pub async fn delete(cx: &Context<'_>, role_id: &str) -> Result<(), AuthError> {
    let storage = cx.storage();
    storage.get_role(role_id).await?;
    let holders = storage
        .list_assignments(&AssignmentFilter::default().with_role(role_id))
        .await?;
    for assignment in &holders {
        if let (Actor::User(user_id), Target::Project(project_id)) =
            (&assignment.actor, &assignment.target)
        {
            application_credentials::delete_for_user_on_project(cx, user_id, project_id).await?;
        }
    }
    storage.delete_role(role_id).await
}
