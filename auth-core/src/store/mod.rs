//! What the framework needs to remember, as traits.
//!
//! `auth-core` knows no SQL. Storage drivers in `auth-plugins` implement these
//! traits; methods and the engine reach them through [`Stores`], which the
//! engine hands to every method in its [`MethodContext`](crate::MethodContext).
//!
//! The traits are split by role (as lldap splits its handlers) so that an
//! embedder who only has a user directory implements only [`UserStore`].
//!
//! Conventions every implementation follows: a missing row is
//! [`AuthError::NotFound`], a broken unique constraint is
//! [`AuthError::Conflict`], and a backend failure is
//! [`AuthError::StoreUnavailable`] whose message names no data.

mod driver;
mod model;
mod traits;

use std::fmt;
use std::sync::Arc;

pub use driver::{ConnectFuture, Storage, StorageConfig, StorageRegistration, connect};
pub use model::*;
pub use traits::*;

use serde::{Deserialize, Serialize};

use crate::AuthError;

/// The store handles available to the engine and to every method.
///
/// Usually all come from one [`Storage`] driver ([`Stores::from_storage`]);
/// an embedder may provide only the roles its methods use. Asking for a
/// missing one is a configuration error ([`AuthError::InvalidConfig`])
/// rather than a panic.
#[derive(Clone, Default)]
pub struct Stores {
    storage: Option<Arc<dyn Storage>>,
    users: Option<Arc<dyn UserStore>>,
    passwords: Option<Arc<dyn PasswordStore>>,
    assignments: Option<Arc<dyn AssignmentStore>>,
    credentials: Option<Arc<dyn CredentialStore>>,
    revocations: Option<Arc<dyn RevocationStore>>,
    counters: Option<Arc<dyn CounterStore>>,
    oauth1: Option<Arc<dyn OAuth1Store>>,
}

macro_rules! role_accessors {
    ($($(#[$doc:meta])* $field:ident, $with:ident, $trait:ident;)*) => {$(
        $(#[$doc])*
        pub fn $field(&self) -> Result<&dyn $trait, AuthError> {
            self.$field.as_deref().ok_or_else(|| {
                AuthError::invalid_config(
                    "stores",
                    concat!("no ", stringify!($field), " store is configured"),
                )
            })
        }

        /// Sets this role's store.
        pub fn $with(mut self, store: Arc<dyn $trait>) -> Self {
            self.$field = Some(store);
            self
        }
    )*};
}

impl Stores {
    /// No stores at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every role from one storage driver.
    pub fn from_storage(storage: Arc<dyn Storage>) -> Self {
        Self {
            users: Some(storage.clone()),
            passwords: Some(storage.clone()),
            assignments: Some(storage.clone()),
            credentials: Some(storage.clone()),
            revocations: Some(storage.clone()),
            counters: Some(storage.clone()),
            oauth1: Some(storage.clone()),
            storage: Some(storage),
        }
    }

    /// The whole driver, when the stores came from one.
    pub fn storage(&self) -> Option<&Arc<dyn Storage>> {
        self.storage.as_ref()
    }

    role_accessors! {
        /// Users, domains, projects and groups.
        users, with_users, UserStore;
        /// Passwords and lockout bookkeeping.
        passwords, with_passwords, PasswordStore;
        /// Roles and assignments.
        assignments, with_assignments, AssignmentStore;
        /// Credentials and application credentials.
        credentials, with_credentials, CredentialStore;
        /// Revocation events.
        revocations, with_revocations, RevocationStore;
        /// Named counters (event handlers).
        counters, with_counters, CounterStore;
        /// OAuth1 request and access tokens, nonces, consumer secrets.
        oauth1, with_oauth1, OAuth1Store;
    }

    /// Whether a user store is present.
    pub fn has_users(&self) -> bool {
        self.users.is_some()
    }
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores")
            .field("storage", &self.storage.as_ref().map(|s| s.backend()))
            .field("users", &self.users.is_some())
            .field("passwords", &self.passwords.is_some())
            .field("assignments", &self.assignments.is_some())
            .field("credentials", &self.credentials.is_some())
            .field("revocations", &self.revocations.is_some())
            .field("counters", &self.counters.is_some())
            .field("oauth1", &self.oauth1.is_some())
            .finish()
    }
}

/// Resolves a user the way Keystone's methods name one: by `id`, or by
/// `name` plus a domain given by `id` or `name`.
///
/// Returns [`AuthError::InvalidCredentials`] for a user or domain that does
/// not exist and for a disabled domain, so callers cannot probe for names.
/// It does not check `user.enabled`: a method checks that only after the
/// credential verified, so that a wrong secret never reveals whether an
/// account is disabled (Keystone's order).
pub async fn resolve_user(users: &dyn UserStore, reference: &UserRef) -> Result<User, AuthError> {
    let found = match reference {
        UserRef::Id(id) => users.get_user(id).await,
        UserRef::Name { name, domain } => {
            let domain = match domain {
                DomainRef::Id(id) => users.get_domain(id).await,
                DomainRef::Name(name) => users.find_domain_by_name(name).await,
            };
            match domain {
                Ok(domain) if !domain.enabled => return Err(AuthError::InvalidCredentials),
                Ok(domain) => users.find_user_by_name(&domain.id, name).await,
                Err(e) => Err(e),
            }
        }
    };
    match found {
        Ok(user) => Ok(user),
        Err(AuthError::NotFound { .. }) => Err(AuthError::InvalidCredentials),
        Err(e) => Err(e),
    }
}

/// A reference to a user in a request payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    /// By id.
    Id(String),
    /// By name within a domain.
    Name {
        /// The user's name.
        name: String,
        /// The user's domain.
        domain: DomainRef,
    },
}

/// A reference to a domain in a request payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DomainRef {
    /// By id.
    Id(String),
    /// By name.
    Name(String),
}
