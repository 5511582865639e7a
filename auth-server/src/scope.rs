//! Turning a requested scope into an authorized one, with roles.
//!
//! A token's roles are the roles its user holds on the scope, directly or
//! through a group, and every role those imply ([`token_roles`]): the one
//! computation token issue and token validation share.

use auth_core::AuthError;
use auth_core::implied_roles::RoleGraph;
use auth_core::request::{ProjectRef, ScopeRequest};
use auth_core::store::{
    AssignmentStore, Domain, DomainRef, Project, Role, RoleRef, Storage, Target, Trust, User,
};

use crate::state::AppState;

/// An authorized scope.
#[derive(Debug, Clone)]
pub enum Scope {
    /// No scope: no roles, no catalog.
    Unscoped,
    /// A project, with its domain.
    Project(Project, Domain),
    /// A domain.
    Domain(Domain),
    /// The whole deployment.
    System,
}

impl Scope {
    /// The domain this scope holds (a project's, or the scoped domain).
    pub fn domain(&self) -> Option<&Domain> {
        match self {
            Self::Project(_, d) | Self::Domain(d) => Some(d),
            Self::Unscoped | Self::System => None,
        }
    }

    /// The assignment target, for scoped tokens.
    pub fn target(&self) -> Option<Target> {
        match self {
            Self::Unscoped => None,
            Self::Project(p, _) => Some(Target::Project(p.id.clone())),
            Self::Domain(d) => Some(Target::Domain(d.id.clone())),
            Self::System => Some(Target::System),
        }
    }
}

fn refused(reason: &str) -> AuthError {
    AuthError::Unauthorized(reason.to_owned())
}

/// The roles a token for `user_id` on `target` carries: those the user
/// holds there, directly or through a group, and every role they imply
/// under `rules`, without domain-specific roles (Keystone never puts them
/// in a token; they only imply). Sorted by name.
pub async fn token_roles(
    assignments: &dyn AssignmentStore,
    rules: &RoleGraph,
    user_id: &str,
    target: &Target,
) -> Result<Vec<Role>, AuthError> {
    let held = assignments.effective_roles(user_id, target).await?;
    Ok(rules.expand(held))
}

/// Resolves `requested` for `user`: the target must exist and be enabled,
/// and the user must hold a role on it (Keystone answers 401 otherwise).
/// `bound_project` (an application credential's) overrides the request.
/// The roles are [`token_roles`], with the implied-role rules the state
/// keeps ([`ValidationCache::role_graph`](crate::validation::ValidationCache::role_graph)).
pub async fn resolve(
    state: &AppState,
    user: &User,
    requested: &ScopeRequest,
    bound_project: Option<&str>,
) -> Result<(Scope, Vec<Role>), AuthError> {
    let storage = state.storage().as_ref();
    if let Some(project_id) = bound_project {
        let scope = project_scope(storage, storage.get_project(project_id).await, None).await?;
        return with_roles(state, user, scope).await;
    }
    let scope = match requested {
        ScopeRequest::Unscoped => return Ok((Scope::Unscoped, Vec::new())),
        ScopeRequest::Default => {
            // The default project, if usable; otherwise unscoped.
            let Some(project_id) = &user.default_project_id else {
                return Ok((Scope::Unscoped, Vec::new()));
            };
            let found = storage.get_project(project_id).await;
            let Ok(scope) = project_scope(storage, found, None).await else {
                return Ok((Scope::Unscoped, Vec::new()));
            };
            return match with_roles(state, user, scope).await {
                Ok(scoped) => Ok(scoped),
                Err(AuthError::Unauthorized(_)) => Ok((Scope::Unscoped, Vec::new())),
                Err(e) => Err(e),
            };
        }
        ScopeRequest::Project(ProjectRef::Id(id)) => {
            project_scope(storage, storage.get_project(id).await, None).await?
        }
        ScopeRequest::Project(ProjectRef::Name { name, domain }) => {
            let domain = find_domain(storage, domain).await?;
            let found = storage.find_project_by_name(&domain.id, name).await;
            project_scope(storage, found, Some(domain)).await?
        }
        ScopeRequest::Domain(reference) => {
            let domain = find_domain(storage, reference).await?;
            if !domain.enabled {
                return Err(refused("the requested domain is disabled"));
            }
            Scope::Domain(domain)
        }
        ScopeRequest::System => Scope::System,
        // A trust names its own scope and roles: see `resolve_trust`,
        // which token issue calls instead.
        ScopeRequest::Trust { id } => {
            let (_, scope, roles) = resolve_trust(state, user, id).await?;
            return Ok((scope, roles));
        }
    };
    with_roles(state, user, scope).await
}

async fn find_domain(storage: &dyn Storage, reference: &DomainRef) -> Result<Domain, AuthError> {
    let found = match reference {
        DomainRef::Id(id) => storage.get_domain(id).await,
        DomainRef::Name(name) => storage.find_domain_by_name(name).await,
    };
    found.map_err(|e| match e {
        AuthError::NotFound { .. } => refused("could not find the requested domain"),
        other => other,
    })
}

/// The scope of a `found` project, with its domain: `known_domain` when the
/// caller already read it, otherwise read now.
async fn project_scope(
    storage: &dyn Storage,
    found: Result<Project, AuthError>,
    known_domain: Option<Domain>,
) -> Result<Scope, AuthError> {
    let project = found.map_err(|e| match e {
        AuthError::NotFound { .. } => refused("could not find the requested project"),
        other => other,
    })?;
    let domain = match known_domain.filter(|d| d.id == project.domain_id) {
        Some(domain) => domain,
        None => storage.get_domain(&project.domain_id).await?,
    };
    if !project.enabled || !domain.enabled {
        return Err(refused("the requested project is disabled"));
    }
    Ok(Scope::Project(project, domain))
}

async fn with_roles(
    state: &AppState,
    user: &User,
    scope: Scope,
) -> Result<(Scope, Vec<Role>), AuthError> {
    let Some(target) = scope.target() else {
        return Ok((scope, Vec::new()));
    };
    let rules = state.validations().role_graph(state).await?;
    let roles = token_roles(state.storage().as_ref(), &rules, &user.id, &target).await?;
    if roles.is_empty() {
        return Err(refused("the user has no role on the requested scope"));
    }
    Ok((scope, roles))
}

/// The roles a token from an application credential carries: of the roles
/// the user holds on the scope (`held`), those the credential delegates.
/// A role the user has lost since the credential was made is gone from its
/// tokens too, as Keystone computes them (`_get_application_credential_roles`).
pub fn delegated_roles(held: Vec<Role>, delegated: &[RoleRef]) -> Vec<Role> {
    held.into_iter()
        .filter(|role| delegated.iter().any(|d| d.id == role.id))
        .collect()
}

/// Resolves a trust scope for `user`, the trustee logging in: the trust
/// must be usable (present, not expired, not used up; else Keystone's 401,
/// `TrustNotFound` at login), then [`trust_grant`] decides its scope and
/// roles. Returns the trust too, whose uses and expiry bound the token.
pub async fn resolve_trust(
    state: &AppState,
    user: &User,
    trust_id: &str,
) -> Result<(Trust, Scope, Vec<Role>), AuthError> {
    let trust = match crate::services::trusts::usable(&state.services(), trust_id).await {
        Ok(trust) => trust,
        Err(AuthError::NotFound { .. }) => {
            return Err(refused(&format!("Could not find trust: {trust_id}")));
        }
        Err(e) => return Err(e),
    };
    let rules = state.validations().role_graph(state).await?;
    let (scope, roles) = trust_grant(state, &trust, &user.id, &rules).await?;
    Ok((trust, scope, roles))
}

/// What a token of `trust` held by `user_id` carries now, as Keystone's
/// token model computes it at issue and at every validation: `user_id`
/// must be the trustee (403), the trustor present and enabled in an
/// enabled domain (403), the project present and enabled (401); the
/// roles are the trust's, with what they imply, each of which the
/// (original) trustor must still hold on the project, directly or by
/// implication; one lost and the trust gives nothing (403, "Trustee has
/// no delegated roles."). A trust on no project gives an unscoped token.
pub async fn trust_grant(
    state: &AppState,
    trust: &Trust,
    user_id: &str,
    rules: &RoleGraph,
) -> Result<(Scope, Vec<Role>), AuthError> {
    let storage = state.storage().as_ref();
    if trust.trustee_user_id != user_id {
        return Err(AuthError::Forbidden("User is not a trustee.".into()));
    }
    let disabled = || AuthError::Forbidden("Trustor is disabled.".into());
    let trustor = match storage.get_user(&trust.trustor_user_id).await {
        Ok(trustor) if trustor.enabled => trustor,
        Ok(_) | Err(AuthError::NotFound { .. }) => return Err(disabled()),
        Err(e) => return Err(e),
    };
    match storage.get_domain(&trustor.domain_id).await {
        Ok(domain) if domain.enabled => {}
        Ok(_) | Err(AuthError::NotFound { .. }) => return Err(disabled()),
        Err(e) => return Err(e),
    }
    let Some(project_id) = &trust.project_id else {
        return Ok((Scope::Unscoped, Vec::new()));
    };
    let scope = project_scope(storage, storage.get_project(project_id).await, None).await?;
    let no_roles = || AuthError::Forbidden("Trustee has no delegated roles.".into());
    let mut delegated = Vec::new();
    for id in &trust.role_ids {
        match storage.get_role(id).await {
            Ok(role) => delegated.push(role),
            Err(AuthError::NotFound { .. }) => return Err(no_roles()),
            Err(e) => return Err(e),
        }
    }
    let original = crate::services::trusts::original_trustor(&state.services(), trust)
        .await
        .map_err(|e| match e {
            AuthError::NotFound { .. } => refused(&format!("Could not find trust: {}", trust.id)),
            other => other,
        })?;
    let target = Target::Project(project_id.clone());
    let held = token_roles(storage, rules, &original, &target).await?;
    let roles = rules.expand(delegated);
    if roles.is_empty() || roles.iter().any(|r| !held.iter().any(|h| h.id == r.id)) {
        return Err(no_roles());
    }
    Ok((scope, roles))
}
