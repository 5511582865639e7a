//! What the engine decides.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::identity::Identity;
use crate::request::ScopeRequest;
use crate::store::User;

/// The result of a request that did not fail. (A failure is an
/// `Err(AuthError)`.)
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum AuthOutcome {
    /// Every method passed and the user's MFA rules are met.
    Authenticated(Authenticated),
    /// Another round trip is needed; send the client the receipt.
    Continue(Continuation),
}

/// A completed authentication, ready for a token provider.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Authenticated {
    /// The user, as stored (enabled, checked).
    pub user: User,
    /// What the methods resolved: the methods used, expiry cap, bound
    /// project or domain and extras.
    pub identity: Identity,
    /// The scope the request asked for (not yet authorized: that is the
    /// token provider's job).
    pub scope: ScopeRequest,
}

impl Authenticated {
    /// An authentication completed outside the engine's methods: a
    /// server renewing a session it validated (the user, what the
    /// session's methods were, its audit chain) for the same scope.
    pub fn new(user: User, identity: Identity, scope: ScopeRequest) -> Self {
        Self {
            user,
            identity,
            scope,
        }
    }

    /// Every method counted as used.
    pub fn methods(&self) -> &[String] {
        &self.identity.methods
    }
}

/// A login that needs another round trip.
#[derive(Clone)]
#[non_exhaustive]
pub struct Continuation {
    /// The sealed receipt for the `Openstack-Auth-Receipt` header.
    pub receipt: String,
    /// The user, when a method has passed (absent when only a challenge was
    /// issued, so a challenge never confirms that an account exists).
    pub user: Option<User>,
    /// The methods passed so far.
    pub methods: Vec<String>,
    /// When the receipt was issued.
    pub issued_at: DateTime<Utc>,
    /// When the receipt expires.
    pub expires_at: DateTime<Utc>,
    /// Sets of methods, any one of which completes the login (Keystone's
    /// `required_auth_methods`).
    pub required_auth_methods: Vec<Vec<String>>,
    /// The challenges of methods that asked for another round trip, by
    /// method name (their `response_body`).
    pub challenges: BTreeMap<String, Value>,
}

impl fmt::Debug for Continuation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Continuation")
            .field("receipt", &"<redacted>")
            .field("user", &self.user.as_ref().map(|u| &u.id))
            .field("methods", &self.methods)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("required_auth_methods", &self.required_auth_methods)
            .field("challenges", &self.challenges.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AuthOutcome {
    /// The authenticated result, if this is one.
    pub fn authenticated(self) -> Option<Authenticated> {
        match self {
            Self::Authenticated(a) => Some(a),
            Self::Continue(_) => None,
        }
    }

    /// The continuation, if this is one.
    pub fn continuation(self) -> Option<Continuation> {
        match self {
            Self::Continue(c) => Some(c),
            Self::Authenticated(_) => None,
        }
    }

    /// Identity ids from an [`Identity`]-free vantage: the user id if known.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Self::Authenticated(a) => Some(&a.user.id),
            Self::Continue(c) => c.user.as_ref().map(|u| u.id.as_str()),
        }
    }
}
