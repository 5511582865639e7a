//! Trusts (Keystone's OS-TRUST): a trustor delegating some of their roles
//! on a project to a trustee, who then gets trust-scoped tokens.
//!
//! What a trust-scoped token carries is decided again at every validation
//! (see `scope::trust_grant`), from the trust as stored and the trustor's
//! roles now: deleting the trust (or its trustor, trustee or project, which
//! delete it), disabling either user, or the trustor losing a delegated
//! role ends its tokens. Every such write moves the token revision in the
//! store's own transaction, so no node serves a validation kept from
//! before it; no revocation event is needed.

use auth_core::AuthError;
use auth_core::implied_roles::RoleGraph;
use auth_core::store::{Role, Target, Trust, new_id};
use chrono::{DateTime, Utc};

use super::application_credentials::RoleChoice;
use super::{Context, note_project, note_user};

/// The longest chain of redelegations from a trust (Keystone's `[trust]
/// max_redelegation_count` default).
pub const MAX_REDELEGATION_COUNT: i64 = 3;

/// What the trustor asks for.
#[derive(Debug)]
pub struct NewTrust {
    /// Who delegates: the caller.
    pub trustor_user_id: String,
    /// Who may use it.
    pub trustee_user_id: String,
    /// The project the roles are delegated on.
    pub project_id: Option<String>,
    /// The roles, by id or by name.
    pub roles: Vec<RoleChoice>,
    /// Whether its tokens show the trustor as their user.
    pub impersonation: bool,
    /// When it stops working (already checked not to be past).
    pub expires_at: Option<DateTime<Utc>>,
    /// How many tokens it may give (`None`: no limit).
    pub remaining_uses: Option<i64>,
    /// Whether the trustee may redelegate it.
    pub allow_redelegation: bool,
    /// How deep it may be redelegated.
    pub redelegation_count: Option<i64>,
}

/// The 404 of a trust that is missing, expired or used up, in Keystone's
/// words (`TrustNotFound`).
pub fn not_found(id: &str) -> AuthError {
    AuthError::NotFound {
        what: format!("trust: {id}"),
    }
}

/// The trust `id` if it can still be used at `now`: present, not expired,
/// not used up (Keystone's `get_trust`); else a 404.
pub async fn usable(cx: &Context<'_>, id: &str) -> Result<Trust, AuthError> {
    let trust = cx.storage().get_trust(id).await?;
    if trust.is_expired(cx.now()) || trust.is_exhausted() {
        return Err(not_found(id));
    }
    Ok(trust)
}

/// Creates a trust, as Keystone's `TrustsResource.post` and trust manager
/// do once the door has checked the caller is the trustor: the trustee
/// must exist (404), each role must exist (404; a name naming none is a
/// 404 too) and be held by the (original) trustor on the project, directly
/// or by implication (404, Keystone's `RoleNotFound`); `redelegated` is the
/// trust of the caller's trust-scoped token, which must allow it (403).
/// Returns the trust and its roles.
pub async fn create(
    cx: &Context<'_>,
    new: NewTrust,
    redelegated: Option<&Trust>,
    rules: &RoleGraph,
) -> Result<(Trust, Vec<Role>), AuthError> {
    let storage = cx.storage();
    if new.project_id.is_some() && new.roles.is_empty() {
        return Err(AuthError::Forbidden(
            "You are not authorized to perform the requested action: \
             At least one role should be specified."
                .into(),
        ));
    }
    storage.get_user(&new.trustee_user_id).await?;
    let mut roles = Vec::new();
    for choice in &new.roles {
        let role = match (&choice.id, &choice.name) {
            (Some(id), _) => storage.get_role(id).await?,
            (None, Some(name)) => storage.find_role_by_name(name).await?,
            (None, None) => {
                return Err(AuthError::bad_request(
                    "a trust's role is named by 'id' or 'name'",
                ));
            }
        };
        if !roles.iter().any(|r: &Role| r.id == role.id) {
            roles.push(role);
        }
    }
    let original_trustor = match redelegated {
        Some(parent) => original_trustor(cx, parent).await?,
        None => new.trustor_user_id.clone(),
    };
    // Without a project the trustor holds nothing to delegate.
    let mut held_ids = Vec::new();
    if let Some(project_id) = &new.project_id {
        storage.get_project(project_id).await?;
        let held = storage
            .effective_roles(&original_trustor, &Target::Project(project_id.clone()))
            .await?;
        held_ids.extend(held.iter().map(|r| r.id.clone()));
        held_ids.extend(rules.expand(held).into_iter().map(|r| r.id));
    }
    if let Some(missing) = roles.iter().find(|r| !held_ids.contains(&r.id)) {
        return Err(AuthError::NotFound {
            what: format!("role: {}", missing.id),
        });
    }
    let mut trust = Trust::new(
        new_id(),
        &new.trustor_user_id,
        &new.trustee_user_id,
        cx.now(),
    );
    trust.project_id.clone_from(&new.project_id);
    trust.impersonation = new.impersonation;
    trust.expires_at = new.expires_at;
    trust.remaining_uses = new.remaining_uses;
    trust.role_ids = roles.iter().map(|r| r.id.clone()).collect();
    redelegation(&mut trust, &new, redelegated)?;
    storage.create_trust(&trust).await?;
    note_user(&trust.trustor_user_id, &trustor_domain(cx, &trust).await);
    if let Some(project_id) = &trust.project_id {
        note_project(project_id);
    }
    Ok((trust, roles))
}

/// Sets how far `trust` may be redelegated, and checks a redelegation
/// against the trust it comes from, as Keystone's trust manager does.
fn redelegation(
    trust: &mut Trust,
    new: &NewTrust,
    parent: Option<&Trust>,
) -> Result<(), AuthError> {
    let forbidden = |why: String| {
        AuthError::Forbidden(format!(
            "You are not authorized to perform the requested action: {why}"
        ))
    };
    let redelegatable = new.allow_redelegation && new.redelegation_count != Some(0);
    if redelegatable {
        if let Some(count) = new.redelegation_count
            && count > MAX_REDELEGATION_COUNT
        {
            return Err(forbidden(format!(
                "Requested redelegation depth of {count} is greater than allowed \
                 {MAX_REDELEGATION_COUNT}"
            )));
        }
        if new.remaining_uses.is_some() {
            return Err(AuthError::bad_request(
                "remaining_uses must not be set if redelegation is allowed",
            ));
        }
    }
    if !redelegatable && new.remaining_uses.is_some_and(|uses| uses <= 0) {
        return Err(AuthError::bad_request(
            "remaining_uses must be a positive integer or null.",
        ));
    }
    let Some(parent) = parent else {
        trust.redelegation_count = if redelegatable {
            new.redelegation_count.unwrap_or(MAX_REDELEGATION_COUNT)
        } else {
            0
        };
        return Ok(());
    };
    if !(1..=MAX_REDELEGATION_COUNT).contains(&parent.redelegation_count) {
        return Err(forbidden(format!(
            "Remaining redelegation depth of {} out of allowed range of [0..{MAX_REDELEGATION_COUNT}]",
            parent.redelegation_count
        )));
    }
    let remaining = parent.redelegation_count - 1;
    if redelegatable
        && new
            .redelegation_count
            .is_some_and(|count| count != remaining)
    {
        return Err(forbidden(
            "Modifying \"redelegation_count\" upon redelegation is forbidden. \
             Omitting this parameter is advised."
                .into(),
        ));
    }
    if let Some(uses) = new.remaining_uses {
        return Err(forbidden(format!(
            "Field \"remaining_uses\" is set to {uses} while it must not be set in order to \
             redelegate a trust"
        )));
    }
    match (trust.expires_at, parent.expires_at) {
        (Some(asked), Some(end)) if asked > end => {
            return Err(forbidden(
                "Requested expiration time is more than redelegated trust can provide".into(),
            ));
        }
        (None, end) => trust.expires_at = end,
        _ => {}
    }
    if trust
        .role_ids
        .iter()
        .any(|id| !parent.role_ids.contains(id))
    {
        return Err(forbidden(
            "Some of requested roles are not in redelegated trust".into(),
        ));
    }
    if trust.impersonation && !parent.impersonation {
        return Err(forbidden(format!(
            "Impersonation is not allowed because redelegated trust does not specify \
             impersonation. Redelegated trust id: {}",
            parent.id
        )));
    }
    if trust.project_id != parent.project_id {
        return Err(forbidden(
            "a redelegated trust is on its trust's project".into(),
        ));
    }
    trust.redelegated_trust_id = Some(parent.id.clone());
    trust.redelegation_count = remaining;
    Ok(())
}

/// The trustor at the root of `trust`'s chain of redelegations, whose
/// roles every trust of the chain delegates. Each trust up the chain must
/// not have expired, and each one's trustee must still be enabled
/// (Keystone's `get_trust` of a redelegated trust: 403 otherwise).
pub async fn original_trustor(cx: &Context<'_>, trust: &Trust) -> Result<String, AuthError> {
    let mut current = trust.clone();
    // A chain is at most MAX_REDELEGATION_COUNT long; the bound also
    // ends the walk on a corrupt (cyclic) chain.
    for _ in 0..=MAX_REDELEGATION_COUNT {
        let Some(parent_id) = &current.redelegated_trust_id else {
            return Ok(current.trustor_user_id);
        };
        current = match cx.storage().get_trust(parent_id).await {
            Ok(parent) if !parent.is_expired(cx.now()) => parent,
            Ok(_) | Err(AuthError::NotFound { .. }) => return Err(not_found(&trust.id)),
            Err(e) => return Err(e),
        };
        match cx.storage().get_user(&current.trustee_user_id).await {
            Ok(agent) if agent.enabled => {}
            Ok(_) | Err(AuthError::NotFound { .. }) => {
                return Err(AuthError::Forbidden(
                    "One of the trust agents is disabled or deleted".into(),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Err(not_found(&trust.id))
}

async fn trustor_domain(cx: &Context<'_>, trust: &Trust) -> String {
    cx.storage()
        .get_user(&trust.trustor_user_id)
        .await
        .map(|u| u.domain_id)
        .unwrap_or_default()
}

/// Deletes the trust and every trust redelegated from it; their tokens
/// stop validating at once (the delete moves the token revision).
pub async fn delete(cx: &Context<'_>, trust: &Trust) -> Result<(), AuthError> {
    cx.storage().delete_trust(&trust.id).await?;
    note_user(&trust.trustor_user_id, &trustor_domain(cx, trust).await);
    Ok(())
}

/// Takes one use of the trust for a token being issued: a 401 if another
/// node took the last one first (Keystone's `TrustNotFound` at token
/// issue, answered as `Unauthorized`).
pub async fn consume_use(cx: &Context<'_>, trust: &Trust) -> Result<(), AuthError> {
    if trust.remaining_uses.is_none() {
        return Ok(());
    }
    match cx.storage().consume_trust_use(&trust.id).await {
        Err(AuthError::NotFound { .. }) => Err(AuthError::Unauthorized(format!(
            "Could not find trust: {}",
            trust.id
        ))),
        other => other,
    }
}
