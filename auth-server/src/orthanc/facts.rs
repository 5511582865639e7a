//! What every answer notes about its bearer, for its event and audit row.

use crate::events::Facts;
use crate::imaging::{Bearer, BearerKind};

/// Notes the bearer's user, domain and project for the call's event.
pub(super) fn note_bearer(facts: &mut Facts, bearer: &Bearer) {
    if let BearerKind::User {
        user_id,
        domain_id,
        project_id,
        ..
    } = &bearer.kind
    {
        facts.user_id = Some(user_id.clone());
        facts.domain_id = Some(domain_id.clone());
        facts.project_id.clone_from(project_id);
    }
}

/// The share token's id, if the bearer is one.
pub(super) fn share_id(bearer: &Bearer) -> Option<&str> {
    match &bearer.kind {
        BearerKind::Share { id, .. } => Some(id),
        _ => None,
    }
}
