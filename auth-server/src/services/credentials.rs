//! Credentials (TOTP seeds and other secrets, encrypted at rest by the
//! store).

use auth_core::AuthError;
use auth_core::store::Credential;

use super::{Context, note_user};

/// Stores `credential` for its user (404 if the user does not exist).
pub async fn create(cx: &Context<'_>, credential: &Credential) -> Result<(), AuthError> {
    let user = cx.storage().get_user(&credential.user_id).await?;
    cx.storage().create_credential(credential).await?;
    note_user(&user.id, &user.domain_id);
    Ok(())
}

/// Saves `updated` over the stored credential of the same id (a new owner
/// must exist: 404 otherwise).
pub async fn update(cx: &Context<'_>, updated: &Credential) -> Result<(), AuthError> {
    let user = cx.storage().get_user(&updated.user_id).await?;
    cx.storage().update_credential(updated).await?;
    note_user(&user.id, &user.domain_id);
    Ok(())
}

/// Stores `credential`, tied to a project (an EC2 credential): 404 if the
/// user or the project does not exist.
pub async fn create_for_project(
    cx: &Context<'_>,
    credential: &Credential,
) -> Result<(), AuthError> {
    if let Some(project) = &credential.project_id {
        cx.storage().get_project(project).await?;
    }
    create(cx, credential).await
}

/// Deletes `credential`.
pub async fn delete(cx: &Context<'_>, credential: &Credential) -> Result<(), AuthError> {
    cx.storage().delete_credential(&credential.id).await?;
    crate::events::note(|facts| facts.user_id = Some(credential.user_id.clone()));
    Ok(())
}
