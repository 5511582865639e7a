//! An in-memory store for tests and examples.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::AuthError;
use crate::store::{Credential, CredentialStore, Domain, User, UserOptions, UserStore};

/// Users, domains and credentials in memory. Starts with the `default`
/// domain, as every deployment does.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    domains: BTreeMap<String, Domain>,
    users: BTreeMap<String, User>,
    credentials: Vec<Credential>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store holding only the `default` domain (named `Default`).
    pub fn new() -> Self {
        let store = Self {
            inner: Mutex::new(Inner::default()),
        };
        store.add_domain("default", "Default", true);
        store
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds (or replaces) a domain.
    pub fn add_domain(&self, id: &str, name: &str, enabled: bool) {
        self.lock().domains.insert(
            id.to_owned(),
            Domain {
                id: id.to_owned(),
                name: name.to_owned(),
                description: String::new(),
                enabled,
            },
        );
    }

    /// Adds an enabled user without options in the `default` domain and
    /// returns it.
    pub fn add_user(&self, id: &str, name: &str) -> User {
        let user = User {
            id: id.to_owned(),
            name: name.to_owned(),
            domain_id: "default".to_owned(),
            enabled: true,
            default_project_id: None,
            options: UserOptions::default(),
        };
        self.put_user(user.clone());
        user
    }

    /// Adds or replaces a user.
    pub fn put_user(&self, user: User) {
        self.lock().users.insert(user.id.clone(), user);
    }

    /// Changes a stored user in place.
    pub fn update_user(&self, id: &str, change: impl FnOnce(&mut User)) {
        if let Some(user) = self.lock().users.get_mut(id) {
            change(user);
        }
    }

    /// Adds a credential.
    pub fn add_credential(&self, id: &str, user_id: &str, kind: &str, blob: &str) {
        self.lock().credentials.push(Credential {
            id: id.to_owned(),
            user_id: user_id.to_owned(),
            kind: kind.to_owned(),
            project_id: None,
            blob: SecretString::from(blob.to_owned()),
        });
    }
}

fn not_found(what: &str, id: &str) -> AuthError {
    AuthError::NotFound {
        what: format!("{what}: {id}"),
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn get_user(&self, user_id: &str) -> Result<User, AuthError> {
        self.lock()
            .users
            .get(user_id)
            .cloned()
            .ok_or_else(|| not_found("user", user_id))
    }

    async fn find_user_by_name(&self, domain_id: &str, name: &str) -> Result<User, AuthError> {
        self.lock()
            .users
            .values()
            .find(|u| u.domain_id == domain_id && u.name == name)
            .cloned()
            .ok_or_else(|| not_found("user", name))
    }

    async fn get_domain(&self, domain_id: &str) -> Result<Domain, AuthError> {
        self.lock()
            .domains
            .get(domain_id)
            .cloned()
            .ok_or_else(|| not_found("domain", domain_id))
    }

    async fn find_domain_by_name(&self, name: &str) -> Result<Domain, AuthError> {
        self.lock()
            .domains
            .values()
            .find(|d| d.name == name)
            .cloned()
            .ok_or_else(|| not_found("domain", name))
    }
}

#[async_trait]
impl CredentialStore for MemoryStore {
    async fn list_credentials(
        &self,
        user_id: &str,
        kind: &str,
    ) -> Result<Vec<Credential>, AuthError> {
        Ok(self
            .lock()
            .credentials
            .iter()
            .filter(|c| c.user_id == user_id && c.kind == kind)
            .cloned()
            .collect())
    }
}
