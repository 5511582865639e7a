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

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::AuthError;

/// A domain: the namespace users and projects live in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// Stable identifier (`default` for the default domain).
    pub id: String,
    /// Unique, human-readable name.
    pub name: String,
    /// A disabled domain disables every user in it.
    pub enabled: bool,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Stable identifier.
    pub id: String,
    /// Name, unique within the domain.
    pub name: String,
    /// The owning domain.
    pub domain_id: String,
    /// Whether the account may authenticate at all.
    pub enabled: bool,
    /// The project a token is scoped to when the request names no scope.
    pub default_project_id: Option<String>,
    /// Per-user security options (Keystone's resource options).
    #[serde(default)]
    pub options: UserOptions,
}

/// Keystone's per-user options, with Keystone's names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserOptions {
    /// Lists of method names; a login must use every method of at least one
    /// list. See [`crate::mfa`] for the exact semantics.
    pub multi_factor_auth_rules: Vec<Vec<String>>,
    /// Whether the rules apply. `None` (unset) means they do, as Keystone's
    /// code (not its docs) behaves.
    pub multi_factor_auth_enabled: Option<bool>,
    /// Exempt from lockout after failed attempts.
    pub ignore_lockout_failure_attempts: bool,
    /// Exempt from password expiry.
    pub ignore_password_expiry: bool,
    /// Exempt from the forced change on first use.
    pub ignore_change_password_upon_first_use: bool,
    /// Exempt from disabling after inactivity.
    pub ignore_user_inactivity: bool,
    /// The user may not change their own password.
    pub lock_password: bool,
}

/// A stored credential: a TOTP seed, a public key, …
///
/// The blob is decrypted by the store on read; it is a [`SecretString`] so
/// it never appears in `Debug` output.
#[derive(Debug, Clone)]
pub struct Credential {
    /// Stable identifier.
    pub id: String,
    /// The owner.
    pub user_id: String,
    /// The credential type, e.g. `totp` or `publickey`.
    pub kind: String,
    /// An optional project the credential is tied to.
    pub project_id: Option<String>,
    /// The credential material, in clear (decrypted by the store).
    pub blob: SecretString,
}

/// Users and domains, read side.
#[async_trait]
pub trait UserStore: Send + Sync + fmt::Debug {
    /// The user with this id, or [`AuthError::NotFound`].
    async fn get_user(&self, user_id: &str) -> Result<User, AuthError>;

    /// The user with this name in this domain, or [`AuthError::NotFound`].
    async fn find_user_by_name(&self, domain_id: &str, name: &str) -> Result<User, AuthError>;

    /// The domain with this id, or [`AuthError::NotFound`].
    async fn get_domain(&self, domain_id: &str) -> Result<Domain, AuthError>;

    /// The domain with this name, or [`AuthError::NotFound`].
    async fn find_domain_by_name(&self, name: &str) -> Result<Domain, AuthError>;
}

/// Credentials, read side.
#[async_trait]
pub trait CredentialStore: Send + Sync + fmt::Debug {
    /// Every credential of `kind` owned by `user_id` (possibly none).
    async fn list_credentials(
        &self,
        user_id: &str,
        kind: &str,
    ) -> Result<Vec<Credential>, AuthError>;
}

/// The store handles available to the engine and to every method.
///
/// Each handle is optional so that an embedder provides only what its
/// methods use; asking for a missing one is a configuration error
/// ([`AuthError::InvalidConfig`]) rather than a panic.
#[derive(Clone, Default)]
pub struct Stores {
    users: Option<Arc<dyn UserStore>>,
    credentials: Option<Arc<dyn CredentialStore>>,
}

impl Stores {
    /// No stores at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the user store.
    pub fn with_users(mut self, users: Arc<dyn UserStore>) -> Self {
        self.users = Some(users);
        self
    }

    /// Adds the credential store.
    pub fn with_credentials(mut self, credentials: Arc<dyn CredentialStore>) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The user store.
    pub fn users(&self) -> Result<&dyn UserStore, AuthError> {
        self.users
            .as_deref()
            .ok_or_else(|| AuthError::invalid_config("stores", "no user store is configured"))
    }

    /// The credential store.
    pub fn credentials(&self) -> Result<&dyn CredentialStore, AuthError> {
        self.credentials
            .as_deref()
            .ok_or_else(|| AuthError::invalid_config("stores", "no credential store is configured"))
    }

    /// Whether a user store is present.
    pub fn has_users(&self) -> bool {
        self.users.is_some()
    }
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores")
            .field("users", &self.users.is_some())
            .field("credentials", &self.credentials.is_some())
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
