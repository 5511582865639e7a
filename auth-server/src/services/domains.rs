//! Domains. Disabling a domain revokes every token scoped to it, and only
//! a disabled domain can be deleted, with everything in it, as in Keystone.

use auth_core::AuthError;
use auth_core::store::{Domain, UserFilter};

use super::{Context, revocations};

/// Creates `domain` (a name taken is a 409).
pub async fn create(cx: &Context<'_>, domain: &Domain) -> Result<(), AuthError> {
    cx.storage().create_domain(domain).await
}

/// Saves `updated` over `current` (the same domain as read before the
/// change); disabling it revokes every token scoped to it.
pub async fn update(cx: &Context<'_>, current: &Domain, updated: &Domain) -> Result<(), AuthError> {
    if updated.id != current.id {
        return Err(AuthError::Internal(
            "a domain update must keep the domain's id".into(),
        ));
    }
    cx.storage().update_domain(updated).await?;
    if current.enabled && !updated.enabled {
        revocations::domain(cx, &updated.id).await?;
    }
    Ok(())
}

/// Deletes `domain`: only a disabled one (403 otherwise, as Keystone),
/// and with it everything it holds: its projects, users, groups and
/// domain-specific roles, and what hangs off them (grants on the domain
/// and its projects, memberships, credentials), in one store transaction,
/// and its configuration.
/// Then every token scoped to the domain or one of its projects, and every
/// token of one of its users, is revoked.
pub async fn delete(cx: &Context<'_>, domain: &Domain) -> Result<(), AuthError> {
    if domain.enabled {
        return Err(AuthError::Forbidden(
            "Cannot delete a domain that is enabled, please disable it first.".into(),
        ));
    }
    let storage = cx.storage();
    // Read before the purge, for the revocations after it. A disabled
    // domain's users cannot log in, nor can tokens be scoped into it, so
    // nothing read here gains a token before the purge.
    let projects = storage.list_projects(Some(&domain.id)).await?;
    let users = storage
        .list_users(&UserFilter::default().with_domain(&domain.id))
        .await?;
    storage.purge_domain(&domain.id).await?;
    crate::events::note(|facts| facts.domain_id = Some(domain.id.clone()));
    revocations::domain(cx, &domain.id).await?;
    for project in &projects {
        revocations::project(cx, &project.id).await?;
    }
    for user in &users {
        revocations::user(cx, &user.id).await?;
    }
    // Its configuration goes with it (there may be none).
    storage
        .delete_document(super::documents::DOMAIN_CONFIGS, &domain.id)
        .await?;
    Ok(())
}
