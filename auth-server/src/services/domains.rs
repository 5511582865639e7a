//! Domains. Disabling a domain revokes every token scoped to it, and only
//! a disabled domain can be deleted, as in Keystone.

use auth_core::AuthError;
use auth_core::store::Domain;

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

/// Deletes `domain`: only a disabled one (403 otherwise, as Keystone); one
/// still holding users, projects, groups or roles is a 409.
pub async fn delete(cx: &Context<'_>, domain: &Domain) -> Result<(), AuthError> {
    if domain.enabled {
        return Err(AuthError::Forbidden(
            "Cannot delete a domain that is enabled, please disable it first.".into(),
        ));
    }
    cx.storage().delete_domain(&domain.id).await?;
    // Its configuration goes with it (there may be none).
    cx.storage()
        .delete_document(super::documents::DOMAIN_CONFIGS, &domain.id)
        .await?;
    Ok(())
}
