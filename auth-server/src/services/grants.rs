//! Role grants to users and groups on projects, domains and the system.

use auth_core::AuthError;
use auth_core::store::{Actor, Assignment, Target};

use super::{Context, application_credentials, note_project, revocations};

/// Grants the role (idempotent), directly or, with
/// [`Assignment::inherited`], to every project below the target
/// (OS-INHERIT). A domain's role is granted on that domain's projects only
/// (Keystone's `DomainSpecificRoleMismatch`, a 403), inherited or not.
/// There is no inherited grant on the system (400).
pub async fn grant(cx: &Context<'_>, assignment: &Assignment) -> Result<(), AuthError> {
    if assignment.inherited && assignment.target == Target::System {
        return Err(AuthError::bad_request(
            "a role cannot be inherited from the system",
        ));
    }
    if let Target::Project(project_id) = &assignment.target {
        let role = cx.storage().get_role(&assignment.role_id).await?;
        if let Some(role_domain) = &role.domain_id {
            let project = cx.storage().get_project(project_id).await?;
            if project.domain_id != *role_domain {
                return Err(AuthError::Forbidden(format!(
                    "Project {project_id} must be in the same domain as the role {} being \
                     assigned.",
                    role.id
                )));
            }
        }
    }
    cx.storage().grant(assignment).await?;
    note(assignment);
    Ok(())
}

/// Revokes the role (404 if it was not granted).
///
/// A user's tokens on that scope go, whatever roles remain (a client
/// re-authenticates to see the new set), and, as in Keystone, a user who
/// loses a role on a project loses their application credentials on that
/// project. A group's members are left to validation, as Keystone leaves
/// them: roles are recomputed at every validation, so a member left with no
/// role on the scope gets 404 at the next one, and the others keep their
/// tokens with the roles they still hold.
///
/// An inherited grant is left to validation the same way, whoever held
/// it: it reached every project below its target, and Keystone revokes no
/// token for it either. The store's write moves the token revision, so
/// every node recomputes the roles of every token at its next validation.
pub async fn revoke(cx: &Context<'_>, assignment: &Assignment) -> Result<(), AuthError> {
    cx.storage().revoke(assignment).await?;
    note(assignment);
    if assignment.inherited {
        return Ok(());
    }
    let Actor::User(user_id) = &assignment.actor else {
        return Ok(());
    };
    match &assignment.target {
        Target::Project(project_id) => {
            revocations::user_on(cx, user_id, Some(project_id), None).await?;
            application_credentials::delete_for_user_on_project(cx, user_id, project_id).await
        }
        Target::Domain(domain_id) => revocations::user_on(cx, user_id, None, Some(domain_id)).await,
        Target::System => revocations::user_on(cx, user_id, None, None).await,
    }
}

/// Notes the user and project of a grant for the call's event.
fn note(assignment: &Assignment) {
    if let Actor::User(user_id) = &assignment.actor {
        crate::events::note(|facts| facts.user_id = Some(user_id.clone()));
    }
    if let Target::Project(project_id) = &assignment.target {
        note_project(project_id);
    }
}
