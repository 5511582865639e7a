//! Groups and their members.
//!
//! As in Keystone, removing a user from a group ends every session the
//! user has (the roles the group gave may be gone), and so does deleting a
//! group that held role assignments, for each of its members; adding a
//! member revokes nothing.

use auth_core::AuthError;
use auth_core::store::{Actor, AssignmentFilter, Group, User};

use super::{Context, note_user, revocations};

/// Creates `group` (its domain must exist: 404 otherwise; a name taken in
/// the domain is a 409).
pub async fn create(cx: &Context<'_>, group: &Group) -> Result<(), AuthError> {
    cx.storage().get_domain(&group.domain_id).await?;
    cx.storage().create_group(group).await
}

/// Saves a group's new name or description (a name taken in the domain is
/// a 409). Nothing a token carries depends on them.
pub async fn update(cx: &Context<'_>, group: &Group) -> Result<(), AuthError> {
    cx.storage().update_group(group).await
}

/// Deletes a group with its memberships and assignments; if it held any
/// assignment, its members' tokens are revoked.
pub async fn delete(cx: &Context<'_>, group_id: &str) -> Result<(), AuthError> {
    let storage = cx.storage();
    storage.get_group(group_id).await?;
    let held_roles = !storage
        .list_assignments(
            &AssignmentFilter::default().with_actor(Actor::Group(group_id.to_owned())),
        )
        .await?
        .is_empty();
    let members = storage.list_group_users(group_id).await?;
    storage.delete_group(group_id).await?;
    if held_roles {
        for member in &members {
            revocations::user(cx, &member.id).await?;
        }
    }
    Ok(())
}

/// Adds `user` to the group `group_id` (idempotent).
pub async fn add_member(cx: &Context<'_>, group_id: &str, user: &User) -> Result<(), AuthError> {
    cx.storage().add_user_to_group(&user.id, group_id).await?;
    note_user(&user.id, &user.domain_id);
    Ok(())
}

/// Removes `user` from the group `group_id` (404 if it was not a member),
/// and ends the user's sessions.
pub async fn remove_member(cx: &Context<'_>, group_id: &str, user: &User) -> Result<(), AuthError> {
    cx.storage()
        .remove_user_from_group(&user.id, group_id)
        .await?;
    note_user(&user.id, &user.domain_id);
    revocations::user(cx, &user.id).await
}
