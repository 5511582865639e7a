//! Roles (global ones).

use auth_core::AuthError;
use auth_core::store::Role;

use super::Context;

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

/// Deletes a role with its assignments.
pub async fn delete(cx: &Context<'_>, role_id: &str) -> Result<(), AuthError> {
    cx.storage().delete_role(role_id).await
}
