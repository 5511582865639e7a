//! The imaging decision as the server takes it, for every imaging door
//! (the Orthanc authorization service today; the gateway and the DICOM
//! guard next).
//!
//! The decision itself is [`auth_core::imaging`]'s: pure, a function of
//! what the caller holds and what it asks. This module finds what the
//! caller holds, from the token a door received:
//!
//! - a token of this server: validated by the same path as `GET
//!   /v3/auth/tokens` (cache, revocation, enabled user and scope), its
//!   roles on its scope (implied roles included) turned into permissions
//!   by the role map;
//! - a share token (`shr_…`): the resources it was created for, until it
//!   expires or is revoked;
//! - nothing: the anonymous role's permissions, if one is configured;
//! - anything else (unknown, expired, revoked, malformed): nothing at all.
//!
//! The role map ([`role_map`]) and share tokens ([`share_tokens`]) live in
//! the database and are kept in memory under the token revision, which
//! every change to them moves, so every node answers the next call with
//! the change. A request reads the revision once.

pub mod role_map;
pub mod share_tokens;

use std::sync::Arc;

use auth_core::AuthError;
use auth_core::imaging::{
    ALL_LABELS, Access, Permission, Permissions, SharedResource, decide_for_share, decide_for_user,
};
use chrono::{DateTime, Duration, Utc};

use crate::config::OrthancSection;
use crate::error::ServerError;
use crate::orthanc::service_caller::VerifiedCredentials;
use crate::scope::Scope;
use crate::state::AppState;
use crate::validation;

/// What the imaging doors keep between calls: the role map from the
/// configuration and the kept copies of the stored one and of share
/// tokens.
#[derive(Debug)]
pub struct Imaging {
    role_maps: role_map::RoleMaps,
    share_tokens: share_tokens::ShareTokenCache,
    service_credentials: VerifiedCredentials,
}

impl Imaging {
    /// Built at start-up from `[orthanc]`; fails on a role map naming an
    /// unknown permission.
    pub fn from_config(section: &OrthancSection) -> Result<Self, ServerError> {
        Ok(Self {
            role_maps: role_map::RoleMaps::new(section.role_map()?),
            share_tokens: share_tokens::ShareTokenCache::default(),
            service_credentials: VerifiedCredentials::default(),
        })
    }

    /// The service users' credentials verified lately (see
    /// [`crate::orthanc::service_caller`]).
    pub fn service_credentials(&self) -> &VerifiedCredentials {
        &self.service_credentials
    }

    /// The share-token lookups kept.
    pub fn share_tokens(&self) -> &share_tokens::ShareTokenCache {
        &self.share_tokens
    }

    /// The role maps: the configured one and the stored one.
    pub fn role_maps(&self) -> &role_map::RoleMaps {
        &self.role_maps
    }
}

/// Whose token a door received, and what it may do.
#[derive(Debug, Clone)]
pub struct Bearer {
    /// Who it is.
    pub kind: BearerKind,
    /// Its permissions (from its roles, or the anonymous role's).
    pub permissions: Permissions,
    /// The labels it may see (`*`: all).
    pub authorized_labels: Vec<String>,
    /// For a share token, the resources it opens.
    pub shared: Arc<[SharedResource]>,
    /// When what it holds ends (the token's or share token's expiry).
    pub expires_at: Option<DateTime<Utc>>,
}

/// The kinds of [`Bearer`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BearerKind {
    /// No token.
    Anonymous,
    /// A user, through a token of this server.
    User {
        /// The user's id.
        user_id: String,
        /// Its name.
        name: String,
        /// Its domain.
        domain_id: String,
        /// The project the token is scoped to, if any.
        project_id: Option<String>,
    },
    /// A share token.
    Share {
        /// Its id (what the admin route revokes).
        id: String,
        /// The type it was created with (e.g. `stone-viewer-publication`).
        token_type: String,
    },
    /// A token that does not hold: unknown, expired, revoked or
    /// malformed. It may do nothing.
    Invalid,
}

impl BearerKind {
    /// A word for events and the audit log.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::User { .. } => "user",
            Self::Share { .. } => "share",
            Self::Invalid => "invalid",
        }
    }
}

impl Bearer {
    fn holding(kind: BearerKind, permissions: Permissions, labels: Vec<String>) -> Self {
        Self {
            kind,
            permissions,
            authorized_labels: labels,
            shared: Arc::from(Vec::new()),
            expires_at: None,
        }
    }

    fn invalid() -> Self {
        Self::holding(BearerKind::Invalid, Permissions::default(), Vec::new())
    }

    /// The one imaging decision: may this bearer do what `access` asks?
    /// By its permissions, or, for a share token, by the resources it
    /// opens. Default deny.
    pub fn may(&self, access: &Access<'_>) -> bool {
        match self.kind {
            BearerKind::Invalid => false,
            BearerKind::Share { .. } => decide_for_share(access, &self.shared),
            BearerKind::Anonymous | BearerKind::User { .. } => {
                decide_for_user(access, self.permissions)
            }
        }
    }

    /// Whether the bearer's permissions give `permission` (`all` gives
    /// every one). Nothing for a share token or a token that does not
    /// hold: they have no permissions.
    pub fn holds(&self, permission: Permission) -> bool {
        self.permissions.contains(Permission::All) || self.permissions.contains(permission)
    }

    /// Whether the bearer's roles cover every label (`all` does). A door
    /// that cannot check the labels of what it lets through (the gateway's
    /// listings, every DICOM command) refuses a bearer restricted to some.
    pub fn sees_every_label(&self) -> bool {
        self.permissions.contains(Permission::All)
            || self.authorized_labels.iter().any(|l| l == ALL_LABELS)
    }

    /// How long a door's client may keep an answer about this bearer, in
    /// seconds: at most `max`, and never past the bearer's expiry.
    pub fn validity(&self, now: DateTime<Utc>, max: u64) -> u64 {
        let Some(expires_at) = self.expires_at else {
            return max;
        };
        let left = (expires_at - now).num_seconds().max(0);
        u64::try_from(left).unwrap_or(0).min(max)
    }
}

/// The anonymous bearer of a door: what `role` holds in the role map as of
/// `revision`, or nothing without a role.
pub async fn anonymous(
    state: &AppState,
    role: Option<&str>,
    revision: Option<i64>,
) -> Result<Bearer, AuthError> {
    let Some(role) = role else {
        return Ok(Bearer::holding(
            BearerKind::Anonymous,
            Permissions::default(),
            Vec::new(),
        ));
    };
    let roles = state.imaging().role_maps.current(state, revision).await?;
    let grant = roles.profile([role]);
    Ok(Bearer::holding(
        BearerKind::Anonymous,
        grant.permissions,
        grant.authorized_labels,
    ))
}

/// The bearer of `token` (`None` or empty: anonymous), as of `revision`
/// (read by the door for this request with
/// [`ValidationCache::revision`](crate::validation::ValidationCache::revision)).
/// Only the store failing is an error (the door answers 503, which Orthanc
/// turns into a refusal); a token that does not hold is
/// [`BearerKind::Invalid`].
pub async fn bearer(
    state: &AppState,
    token: Option<&str>,
    revision: Option<i64>,
) -> Result<Bearer, AuthError> {
    let imaging = state.imaging();
    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
        let role = state.config().orthanc.anonymous_role.as_deref();
        return anonymous(state, role, revision).await;
    };
    let roles = imaging.role_maps.current(state, revision).await?;
    if share_tokens::is_share_token(token) {
        let Some(found) = imaging.share_tokens.find(state, token, revision).await? else {
            return Ok(Bearer::invalid());
        };
        if found.is_expired(state.clock().now()) {
            return Ok(Bearer::invalid());
        }
        return Ok(Bearer {
            kind: BearerKind::Share {
                id: found.record.id.clone(),
                token_type: found.record.token_type.clone(),
            },
            permissions: Permissions::default(),
            authorized_labels: Vec::new(),
            shared: found.resources.clone(),
            expires_at: found.record.expires_at,
        });
    }
    let validated = match validation::validate_at(state, token, Duration::zero(), revision).await {
        Ok(validated) => validated,
        Err(e @ (AuthError::StoreUnavailable(_) | AuthError::Internal(_))) => return Err(e),
        Err(_) => return Ok(Bearer::invalid()),
    };
    // A token from an application credential with access rules was made
    // for named services and paths; none of them is an imaging door, so it
    // holds nothing here (fail closed).
    let restricted_by_rules = validated
        .application_credential
        .as_ref()
        .is_some_and(|c| !c.access_rules.is_empty());
    let grant = if restricted_by_rules {
        auth_core::imaging::RoleGrant::default()
    } else {
        roles.profile(validated.roles.iter().map(|r| r.name.as_str()))
    };
    Ok(Bearer {
        kind: BearerKind::User {
            user_id: validated.user.id.clone(),
            name: validated.user.name.clone(),
            domain_id: validated.user.domain_id.clone(),
            project_id: match &validated.scope {
                Scope::Project(project, _) => Some(project.id.clone()),
                _ => None,
            },
        },
        permissions: grant.permissions,
        authorized_labels: grant.authorized_labels,
        shared: Arc::from(Vec::new()),
        expires_at: Some(validated.claims.expires_at()),
    })
}
