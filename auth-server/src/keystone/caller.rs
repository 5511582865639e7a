//! Who is calling: the validated `X-Auth-Token`, and what the policy knows
//! of it ([`Credentials`]).

use std::sync::Arc;

use auth_core::store::{ApplicationCredential, Role, User};
use auth_core::{AuthError, TokenClaims};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use chrono::Duration;

use crate::access_rules;
use crate::error::ServerError;
use crate::policy::{CallerScope, Credentials};
use crate::scope::Scope;
use crate::state::AppState;
use crate::validation::{self, Validated};

/// An authenticated caller: its token as validated now (user, scope and
/// roles on it), and the policy's view of it.
#[derive(Debug)]
pub struct Caller {
    validated: Arc<Validated>,
    credentials: Credentials,
}

impl Caller {
    /// The caller of `method` `path` from `X-Auth-Token`, or 401: no token,
    /// a token that does not validate, or a token from an application
    /// credential whose access rules do not allow this request (as
    /// keystonemiddleware refuses it for any service, this one being
    /// `identity`; see [`access_rules`]).
    pub async fn for_request(
        state: &AppState,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Result<Self, ServerError> {
        let caller = Self::from_headers(state, headers).await?;
        let rules = caller
            .application_credential()
            .map_or(&[][..], |c| c.access_rules.as_slice());
        if !access_rules::allows(rules, access_rules::IDENTITY, method.as_str(), path) {
            return Err(ServerError::MissingToken);
        }
        Ok(caller)
    }

    /// The caller from `X-Auth-Token`, or 401, whatever the request; doors
    /// other than this server's own API use it and apply access rules for
    /// their own service type.
    pub async fn from_headers(state: &AppState, headers: &HeaderMap) -> Result<Self, ServerError> {
        let token = headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or(ServerError::MissingToken)?;
        let validated = validation::validate(state, token, Duration::zero())
            .await
            .map_err(|e| match e {
                AuthError::StoreUnavailable(_) | AuthError::Internal(_) => ServerError::from(e),
                _ => ServerError::MissingToken,
            })?;
        let credentials = credentials_of(&validated);
        Ok(Self {
            validated,
            credentials,
        })
    }

    /// What the policy checks: the user and its domain, the token's scope,
    /// its role names (lowercased) and the application credential it came
    /// from.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The caller's token.
    pub fn claims(&self) -> &TokenClaims {
        &self.validated.claims
    }

    /// The caller's user.
    pub fn user(&self) -> &User {
        &self.validated.user
    }

    /// The token's scope now.
    pub fn scope(&self) -> &Scope {
        &self.validated.scope
    }

    /// The caller's roles on that scope now.
    pub fn roles(&self) -> &[Role] {
        &self.validated.roles
    }

    /// The application credential the caller's token came from.
    pub fn application_credential(&self) -> Option<&ApplicationCredential> {
        self.validated.application_credential.as_ref()
    }

    /// Whether the token came from a restricted application credential,
    /// which Keystone lets create or delete no application credential (nor
    /// trust): a leaked secret cannot mint longer-lived ones.
    pub fn is_restricted(&self) -> bool {
        self.application_credential()
            .is_some_and(|c| !c.unrestricted)
    }

    /// The domain a domain-scoped token is scoped to: Keystone confines
    /// what such a caller lists to that domain.
    pub fn domain_scope(&self) -> Option<&str> {
        match &self.credentials.scope {
            CallerScope::Domain { id } => Some(id),
            _ => None,
        }
    }
}

/// The policy's view of a validated token.
fn credentials_of(validated: &Validated) -> Credentials {
    let scope = match &validated.scope {
        Scope::Unscoped => CallerScope::Unscoped,
        Scope::System => CallerScope::System,
        Scope::Domain(domain) => CallerScope::Domain {
            id: domain.id.clone(),
        },
        Scope::Project(project, domain) => CallerScope::Project {
            id: project.id.clone(),
            domain_id: domain.id.clone(),
        },
    };
    let mut credentials = Credentials::new(
        &validated.user.id,
        &validated.user.domain_id,
        scope,
        validated.roles.iter().map(|r| &r.name),
    );
    credentials
        .application_credential_id
        .clone_from(&validated.claims.app_cred_id);
    credentials
}

/// Handlers take a `Caller` argument to require a valid `X-Auth-Token`;
/// without one the request is answered with Keystone's 401 before the
/// handler runs.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ServerError> {
        Self::for_request(state, &parts.method, parts.uri.path(), &parts.headers).await
    }
}
