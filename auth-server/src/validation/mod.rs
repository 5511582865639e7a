//! Token validation with a bounded cache that never serves a revoked
//! token.
//!
//! A validation costs a signature check and about ten reads (revocation
//! events, the user, the scope and its domain, the effective roles, and for
//! the body the user's domain, password expiry and the catalog). All of it
//! is a function of the token and of data whose every change moves the
//! store's *token revision* in the same transaction (see
//! [`RevocationStore::token_revision`](auth_core::store::RevocationStore::token_revision)).
//! So a validation is computed once and kept, keyed by a SHA-256 digest of
//! the token (the cache never holds a token), tagged with the revision read
//! before it was computed; it is served again only while a revision read
//! that started after the new request arrived ([`RevisionGate`]) still
//! equals that tag, and while it is younger than the configured age.
//! Expiry is checked against the clock on every hit.
//!
//! A write on any node therefore reaches every node's next validation; the
//! price is a revision read per request: on SQLite in place, a 48-byte read
//! of the WAL-index header while nothing commits; on PostgreSQL one query,
//! coalesced, per batch of concurrent requests.
//!
//! The service catalog, which every scoped token body carries, is kept the
//! same way: one copy of what it is built from (services, endpoints,
//! OS-EP-FILTER associations; see [`crate::catalog`]), tagged with the
//! revision it was read under (catalog writes move the revision too), so a
//! login reads the tables only after a change and builds its project's
//! catalog in memory.
//! So are the implied-role rules every scoped token's roles are expanded
//! with ([`ValidationCache::role_graph`]): they are few, every change to
//! them (or to a role's name) moves the revision, and a login or a
//! validation reads them only after such a change, not once per request.

mod kept;
mod revision;

use std::sync::Arc;

use auth_core::implied_roles::RoleGraph;
use auth_core::store::{ApplicationCredential, Role, Trust, User};
use auth_core::{AuthError, TokenClaims, token};
use axum::body::Bytes;
use chrono::{DateTime, Duration, Utc};
use quick_cache::sync::Cache;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

pub(crate) use kept::Kept;
pub use revision::RevisionGate;

use crate::catalog::CatalogData;
use crate::scope::Scope;
use crate::state::AppState;
use crate::token_body;

/// A validated token: what the policy checks and the response need.
#[derive(Debug)]
pub struct Validated {
    /// The token's claims.
    pub claims: TokenClaims,
    /// Its user, enabled.
    pub user: User,
    /// Its scope, enabled.
    pub scope: Scope,
    /// The user's roles on that scope, with the roles they imply (empty
    /// when unscoped); for a token from an application credential, only
    /// the credential's roles the user still holds, and what they imply.
    pub roles: Vec<Role>,
    /// The application credential the token came from: its restriction
    /// and access rules bound what the token may call.
    pub application_credential: Option<ApplicationCredential>,
    /// The trust a trust-scoped token was issued through: its user is the
    /// trustee, its roles the trust's.
    pub trust: Option<Trust>,
    /// The revision it was computed under (`None`: not cacheable).
    revision: Option<i64>,
    /// When it was computed.
    computed_at: DateTime<Utc>,
    /// The rendered body without and with the catalog, once asked for.
    bodies: [OnceCell<Bytes>; 2],
}

impl Validated {
    /// Keystone's `{"token": …}` body, rendered once per entry and flag.
    pub async fn body(&self, state: &AppState, with_catalog: bool) -> Result<Bytes, AuthError> {
        self.bodies[usize::from(with_catalog)]
            .get_or_try_init(|| async {
                let body = token_body::render(
                    state,
                    &self.claims,
                    &self.user,
                    (&self.scope, &self.roles),
                    token_body::PasswordExpiry::Unknown,
                    with_catalog,
                )
                .await?;
                serde_json::to_vec(&body)
                    .map(Bytes::from)
                    .map_err(|e| AuthError::Internal(format!("rendering a token body: {e}")))
            })
            .await
            .cloned()
    }

    /// Whether the token is still usable at `now`, allowing `window` after
    /// expiry.
    fn is_live(&self, now: DateTime<Utc>, window: Duration) -> bool {
        now < self.claims.expires_at() + window
    }
}

/// The bounded cache of validations, and the revision gate it trusts.
#[derive(Debug)]
pub struct ValidationCache {
    entries: Option<Cache<[u8; 32], Arc<Validated>>>,
    gate: RevisionGate,
    max_age: Duration,
    /// What the catalog is built from, and the revision it was read under.
    catalog: Kept<CatalogData>,
    /// The implied-role rules and the revision they were read under.
    role_graph: Kept<RoleGraph>,
}

impl ValidationCache {
    /// A cache of at most `capacity` validations (0 disables caching), each
    /// kept at most `max_age`.
    pub fn new(gate: RevisionGate, capacity: usize, max_age: Duration) -> Self {
        Self {
            entries: (capacity > 0).then(|| Cache::new(capacity)),
            gate,
            max_age,
            catalog: Kept::default(),
            role_graph: Kept::default(),
        }
    }

    /// The token revision as a read that started after this call did saw
    /// it: what a kept answer must still be tagged with to be served.
    /// `None` when caching is off (a capacity of 0) or the store cannot
    /// tell, so nothing is kept.
    pub async fn revision(&self) -> Result<Option<i64>, AuthError> {
        match self.entries {
            Some(_) => self.gate.current().await,
            None => Ok(None),
        }
    }

    /// What the service catalog is built from: the kept copy while the
    /// revision has not moved since it was read, otherwise read again (and
    /// kept). With caching off (a capacity of 0) it is read every time.
    pub async fn catalog_data(&self, state: &AppState) -> Result<Arc<CatalogData>, AuthError> {
        let revision = self.revision().await?;
        self.catalog
            .get_or_read(revision, || CatalogData::read(state.storage().as_ref()))
            .await
    }

    /// The service catalog of a token of `user_id` scoped to `project_id`
    /// (`None`: a domain or system token); see [`crate::catalog`].
    pub async fn catalog(
        &self,
        state: &AppState,
        user_id: &str,
        project_id: Option<&str>,
    ) -> Result<Value, AuthError> {
        let data = self.catalog_data(state).await?;
        let config = state.config();
        let public = config.server.public_url.as_deref();
        let all = config.endpoint_filter.return_all_endpoints_if_no_filter;
        Ok(data.render(user_id, project_id, public, all))
    }

    /// The implied-role rules, as a [`RoleGraph`]: the kept graph while the
    /// revision has not moved since it was read, otherwise read again (and
    /// kept). With caching off (a capacity of 0) they are read every time.
    /// What token issue expands roles with.
    pub async fn role_graph(&self, state: &AppState) -> Result<Arc<RoleGraph>, AuthError> {
        let revision = self.revision().await?;
        self.role_graph_at(state, revision).await
    }

    /// [`ValidationCache::role_graph`] for a caller that has already read
    /// the revision (`None`: caching is off or the store cannot tell, so
    /// the rules are read now); see [`Kept::get_or_read`].
    pub(crate) async fn role_graph_at(
        &self,
        state: &AppState,
        revision: Option<i64>,
    ) -> Result<Arc<RoleGraph>, AuthError> {
        self.role_graph
            .get_or_read(revision, || async {
                let rules = state.storage().list_role_inferences().await?;
                Ok(RoleGraph::new(rules))
            })
            .await
    }

    /// Forgets every entry (after the signing keys changed).
    pub fn clear(&self) {
        if let Some(entries) = &self.entries {
            entries.clear();
        }
        self.catalog.clear();
        self.role_graph.clear();
    }
}

/// Validates `token` at the clock's now, accepting tokens expired less than
/// `expired_window` ago: signature, expiry, revocation events, the user,
/// the scope (enabled project and domain) and the roles on it. Any failure
/// of the token itself is [`token::not_found`].
pub async fn validate(
    state: &AppState,
    token: &str,
    expired_window: Duration,
) -> Result<Arc<Validated>, AuthError> {
    let revision = state.validations().revision().await?;
    validate_at(state, token, expired_window, revision).await
}

/// [`validate`] for a caller that has already read the revision with
/// [`ValidationCache::revision`] (a door that also keeps other things under
/// it pays one read per request, not one per thing).
pub async fn validate_at(
    state: &AppState,
    token: &str,
    expired_window: Duration,
    revision: Option<i64>,
) -> Result<Arc<Validated>, AuthError> {
    let cache = state.validations();
    let now = state.clock().now();
    let Some(entries) = &cache.entries else {
        return compute(state, token, expired_window, None, now).await;
    };
    let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if let Some(hit) = entries.get(&key)
        && revision.is_some()
        && hit.revision == revision
        && now - hit.computed_at < cache.max_age
    {
        state.metrics().observe_token_cache(true);
        return if hit.is_live(now, expired_window) {
            Ok(hit)
        } else {
            Err(token::not_found())
        };
    }
    state.metrics().observe_token_cache(false);
    let validated = compute(state, token, expired_window, revision, now).await?;
    if revision.is_some() {
        entries.insert(key, validated.clone());
    }
    Ok(validated)
}

async fn compute(
    state: &AppState,
    token: &str,
    expired_window: Duration,
    revision: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Arc<Validated>, AuthError> {
    let stores = state.engine().stores();
    let (claims, user) =
        token::validate(state.tokens().as_ref(), stores, token, now, expired_window).await?;
    let current = token_body::current_scope(state, &claims, revision).await?;
    Ok(Arc::new(Validated {
        claims,
        user,
        scope: current.scope,
        roles: current.roles,
        application_credential: current.application_credential,
        trust: current.trust,
        revision,
        computed_at: now,
        bodies: [OnceCell::new(), OnceCell::new()],
    }))
}
