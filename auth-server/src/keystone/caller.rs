//! Who is calling: the validated `X-Auth-Token`, its current roles, and
//! the policy checks the admin API applies (admin, or the user acting on
//! itself).

use auth_core::store::Role;
use auth_core::{AuthError, TokenClaims};
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use chrono::Duration;

use crate::error::ServerError;
use crate::scope::Scope;
use crate::state::AppState;
use crate::validation;

/// An authenticated caller.
#[derive(Debug)]
pub struct Caller {
    /// The caller's token.
    pub claims: TokenClaims,
    /// The token's scope now.
    pub scope: Scope,
    /// The caller's roles on that scope now.
    pub roles: Vec<Role>,
}

impl Caller {
    /// The caller from `X-Auth-Token`, or 401.
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
        Ok(Self {
            claims: validated.claims.clone(),
            scope: validated.scope.clone(),
            roles: validated.roles.clone(),
        })
    }

    /// Whether the caller holds the admin role on its scope.
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r.name == "admin")
    }

    /// Refuses anyone but an admin.
    pub fn require_admin(&self, action: &str) -> Result<(), ServerError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(forbidden(action))
        }
    }

    /// Refuses anyone but an admin or the user `user_id` itself.
    pub fn require_admin_or_self(&self, user_id: &str, action: &str) -> Result<(), ServerError> {
        if self.is_admin() || self.claims.sub == user_id {
            Ok(())
        } else {
            Err(forbidden(action))
        }
    }
}

/// Handlers take a `Caller` argument to require a valid `X-Auth-Token`;
/// without one the request is answered with Keystone's 401 before the
/// handler runs.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ServerError> {
        Self::from_headers(state, &parts.headers).await
    }
}

fn forbidden(action: &str) -> ServerError {
    AuthError::Forbidden(format!(
        "You are not authorized to perform the requested action: identity:{action}."
    ))
    .into()
}
