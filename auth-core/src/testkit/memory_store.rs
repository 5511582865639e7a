//! An in-memory store for tests and examples.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::AuthError;
use crate::implied_roles::RoleGraph;
use crate::store::{
    Actor, ApplicationCredential, Assignment, AssignmentFilter, AssignmentStore, AuditQuery,
    AuditRecord, AuditStore, Counter, CounterStore, Credential, CredentialStore, Domain, Group,
    GroupFilter, ImpliedRole, PasswordRecord, PasswordStore, RevocationEvent, RevocationStore,
    Role, Target, User, UserAuthState, UserFilter, UserStore, no_such_rule,
};

/// Users, domains, groups, passwords, credentials and application
/// credentials in memory: the roles auth methods read, for their tests;
/// roles, grants and implied-role rules, for tests of what tokens carry;
/// plus counters and the audit log, for event-handler tests. Starts with
/// the `default` domain, as every deployment does.
///
/// It keeps no projects, so a grant on a project is not checked against
/// one, and an inherited grant (held on the projects below its target,
/// which it cannot know) gives no role anywhere; everything else follows
/// the SQL stores' contract.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    domains: BTreeMap<String, Domain>,
    users: BTreeMap<String, User>,
    groups: BTreeMap<String, Group>,
    memberships: BTreeSet<(String, String)>,
    credentials: Vec<Credential>,
    /// Oldest first; the last is current.
    passwords: BTreeMap<String, Vec<PasswordRecord>>,
    auth_states: BTreeMap<String, UserAuthState>,
    application_credentials: BTreeMap<String, ApplicationCredential>,
    claimed_passcodes: BTreeSet<(String, i64)>,
    revocations: Vec<RevocationEvent>,
    counters: BTreeMap<String, i64>,
    audit: Vec<AuditRecord>,
    /// The last audit id handed out (ids are never reused, as in SQL).
    audit_last_id: i64,
    roles: BTreeMap<String, Role>,
    /// Grants, in the order made (no repeats).
    assignments: Vec<Assignment>,
    /// Implied-role rules as (prior id, implied id), in the order made.
    implied_roles: Vec<(String, String)>,
}

impl Inner {
    fn role(&self, id: &str) -> Result<Role, AuthError> {
        self.roles
            .get(id)
            .cloned()
            .ok_or_else(|| not_found("role", id))
    }

    /// The rules with both roles, those matching `keep`, by prior role name
    /// then implied role name (as the SQL stores list them).
    fn rules(&self, keep: impl Fn(&(String, String)) -> bool) -> Vec<ImpliedRole> {
        let mut rules: Vec<ImpliedRole> = self
            .implied_roles
            .iter()
            .filter(|rule| keep(rule))
            .filter_map(|(prior, implied)| {
                Some(ImpliedRole::new(
                    self.roles.get(prior)?.clone(),
                    self.roles.get(implied)?.clone(),
                ))
            })
            .collect();
        rules.sort_by(|a, b| {
            (&a.prior.name, &a.prior.id, &a.implied.name, &a.implied.id).cmp(&(
                &b.prior.name,
                &b.prior.id,
                &b.implied.name,
                &b.implied.id,
            ))
        });
        rules
    }
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
        self.lock()
            .domains
            .insert(id.to_owned(), Domain::new(id, name).with_enabled(enabled));
    }

    /// Adds an enabled user without options in the `default` domain and
    /// returns it.
    pub fn add_user(&self, id: &str, name: &str) -> User {
        let user = User::new(id, name, "default");
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

    /// Adds a group.
    pub fn add_group(&self, id: &str, name: &str, domain_id: &str) {
        self.lock()
            .groups
            .insert(id.to_owned(), Group::new(id, name, domain_id));
    }

    /// Adds (or replaces) a role and returns it: global without a
    /// `domain_id`.
    pub fn add_role(&self, id: &str, name: &str, domain_id: Option<&str>) -> Role {
        let role = Role {
            id: id.to_owned(),
            name: name.to_owned(),
            domain_id: domain_id.map(str::to_owned),
        };
        self.lock().roles.insert(role.id.clone(), role.clone());
        role
    }

    /// Adds an application credential.
    pub fn add_application_credential(&self, credential: ApplicationCredential) {
        self.lock()
            .application_credentials
            .insert(credential.id.clone(), credential);
    }

    /// Sets a user's failure bookkeeping directly.
    pub fn set_auth_state(&self, user_id: &str, state: UserAuthState) {
        self.lock().auth_states.insert(user_id.to_owned(), state);
    }

    /// Stores `credential` whole (a project-bound one, say), replacing any
    /// of the same id.
    pub fn put_credential(&self, credential: Credential) {
        let mut inner = self.lock();
        inner.credentials.retain(|c| c.id != credential.id);
        inner.credentials.push(credential);
    }

    /// Adds a credential.
    pub fn add_credential(&self, id: &str, user_id: &str, kind: &str, blob: &str) {
        self.lock().credentials.push(Credential::new(
            id.to_owned(),
            user_id.to_owned(),
            kind.to_owned(),
            SecretString::from(blob.to_owned()),
        ));
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

    async fn create_user(
        &self,
        user: &User,
        password: Option<&PasswordRecord>,
    ) -> Result<(), AuthError> {
        let mut inner = self.lock();
        let taken = inner
            .users
            .values()
            .any(|u| u.id == user.id || (u.domain_id == user.domain_id && u.name == user.name));
        if taken {
            return Err(AuthError::Conflict {
                what: format!("user '{}'", user.name),
            });
        }
        inner.users.insert(user.id.clone(), user.clone());
        if let Some(password) = password {
            inner
                .passwords
                .insert(user.id.clone(), vec![password.clone()]);
        }
        Ok(())
    }

    async fn update_user(&self, user: &User) -> Result<(), AuthError> {
        match self.lock().users.get_mut(&user.id) {
            Some(stored) => {
                *stored = user.clone();
                Ok(())
            }
            None => Err(not_found("user", &user.id)),
        }
    }

    async fn list_users(&self, filter: &UserFilter) -> Result<Vec<User>, AuthError> {
        Ok(self
            .lock()
            .users
            .values()
            .filter(|u| filter.domain_id.as_ref().is_none_or(|d| *d == u.domain_id))
            .filter(|u| filter.name.as_ref().is_none_or(|n| *n == u.name))
            .cloned()
            .collect())
    }

    async fn get_group(&self, group_id: &str) -> Result<Group, AuthError> {
        self.lock()
            .groups
            .get(group_id)
            .cloned()
            .ok_or_else(|| not_found("group", group_id))
    }

    async fn list_groups(&self, filter: &GroupFilter) -> Result<Vec<Group>, AuthError> {
        let mut groups: Vec<Group> = self
            .lock()
            .groups
            .values()
            .filter(|g| filter.domain_id.as_ref().is_none_or(|d| *d == g.domain_id))
            .filter(|g| filter.name.as_ref().is_none_or(|n| *n == g.name))
            .cloned()
            .collect();
        groups.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(groups)
    }

    async fn update_group(&self, group: &Group) -> Result<(), AuthError> {
        let mut inner = self.lock();
        if !inner.groups.contains_key(&group.id) {
            return Err(not_found("group", &group.id));
        }
        let taken = inner
            .groups
            .values()
            .any(|g| g.id != group.id && g.domain_id == group.domain_id && g.name == group.name);
        if taken {
            return Err(AuthError::Conflict {
                what: format!("group '{}' in domain {}", group.name, group.domain_id),
            });
        }
        if let Some(stored) = inner.groups.get_mut(&group.id) {
            stored.name.clone_from(&group.name);
            stored.description.clone_from(&group.description);
        }
        Ok(())
    }

    async fn add_user_to_group(&self, user_id: &str, group_id: &str) -> Result<(), AuthError> {
        let mut inner = self.lock();
        if !inner.groups.contains_key(group_id) {
            return Err(not_found("group", group_id));
        }
        if !inner.users.contains_key(user_id) {
            return Err(not_found("user", user_id));
        }
        inner
            .memberships
            .insert((user_id.to_owned(), group_id.to_owned()));
        Ok(())
    }

    async fn remove_user_from_group(&self, user_id: &str, group_id: &str) -> Result<(), AuthError> {
        let removed = self
            .lock()
            .memberships
            .remove(&(user_id.to_owned(), group_id.to_owned()));
        if removed {
            Ok(())
        } else {
            Err(not_found("membership", group_id))
        }
    }

    async fn list_user_groups(&self, user_id: &str) -> Result<Vec<Group>, AuthError> {
        let inner = self.lock();
        Ok(inner
            .memberships
            .iter()
            .filter(|(u, _)| u == user_id)
            .filter_map(|(_, g)| inner.groups.get(g).cloned())
            .collect())
    }

    async fn list_group_users(&self, group_id: &str) -> Result<Vec<User>, AuthError> {
        let inner = self.lock();
        let mut users: Vec<User> = inner
            .memberships
            .iter()
            .filter(|(_, g)| g == group_id)
            .filter_map(|(u, _)| inner.users.get(u).cloned())
            .collect();
        users.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(users)
    }
}

#[async_trait]
impl AssignmentStore for MemoryStore {
    async fn create_role(&self, role: &Role) -> Result<(), AuthError> {
        let mut inner = self.lock();
        if let Some(domain) = &role.domain_id
            && !inner.domains.contains_key(domain)
        {
            return Err(not_found("domain", domain));
        }
        let taken = inner
            .roles
            .values()
            .any(|r| r.id == role.id || (r.name == role.name && r.domain_id == role.domain_id));
        if taken {
            return Err(AuthError::Conflict {
                what: format!("role '{}'", role.name),
            });
        }
        inner.roles.insert(role.id.clone(), role.clone());
        Ok(())
    }

    async fn get_role(&self, role_id: &str) -> Result<Role, AuthError> {
        self.lock().role(role_id)
    }

    async fn find_role_by_name(&self, name: &str) -> Result<Role, AuthError> {
        self.lock()
            .roles
            .values()
            .find(|r| r.name == name && r.domain_id.is_none())
            .cloned()
            .ok_or_else(|| not_found("role", name))
    }

    async fn list_roles(&self) -> Result<Vec<Role>, AuthError> {
        let mut roles: Vec<Role> = self.lock().roles.values().cloned().collect();
        roles.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(roles)
    }

    async fn update_role(&self, role: &Role) -> Result<(), AuthError> {
        let mut inner = self.lock();
        let domain_id = inner.role(&role.id)?.domain_id;
        let taken = inner
            .roles
            .values()
            .any(|r| r.id != role.id && r.name == role.name && r.domain_id == domain_id);
        if taken {
            return Err(AuthError::Conflict {
                what: format!("role '{}'", role.name),
            });
        }
        if let Some(stored) = inner.roles.get_mut(&role.id) {
            stored.name.clone_from(&role.name);
        }
        Ok(())
    }

    async fn delete_role(&self, role_id: &str) -> Result<(), AuthError> {
        let mut inner = self.lock();
        if inner.roles.remove(role_id).is_none() {
            return Err(not_found("role", role_id));
        }
        inner.assignments.retain(|a| a.role_id != role_id);
        inner
            .implied_roles
            .retain(|(prior, implied)| prior != role_id && implied != role_id);
        Ok(())
    }

    async fn grant(&self, assignment: &Assignment) -> Result<(), AuthError> {
        let mut inner = self.lock();
        inner.role(&assignment.role_id)?;
        let actor_known = match &assignment.actor {
            Actor::User(id) => inner.users.contains_key(id),
            Actor::Group(id) => inner.groups.contains_key(id),
        };
        let target_known = match &assignment.target {
            Target::Domain(id) => inner.domains.contains_key(id),
            Target::Project(_) | Target::System => true,
        };
        if !actor_known || !target_known {
            return Err(AuthError::NotFound {
                what: "role, user, group, project or domain of the assignment".to_owned(),
            });
        }
        if assignment.inherited && assignment.target == Target::System {
            return Err(AuthError::bad_request(
                "a role cannot be inherited from the system",
            ));
        }
        if !inner.assignments.contains(assignment) {
            inner.assignments.push(assignment.clone());
        }
        Ok(())
    }

    async fn revoke(&self, assignment: &Assignment) -> Result<(), AuthError> {
        let mut inner = self.lock();
        let before = inner.assignments.len();
        inner.assignments.retain(|a| a != assignment);
        if inner.assignments.len() == before {
            return Err(AuthError::NotFound {
                what: format!("assignment of role {}", assignment.role_id),
            });
        }
        Ok(())
    }

    async fn list_assignments(
        &self,
        filter: &AssignmentFilter,
    ) -> Result<Vec<Assignment>, AuthError> {
        Ok(self
            .lock()
            .assignments
            .iter()
            .filter(|a| filter.role_id.as_ref().is_none_or(|r| *r == a.role_id))
            .filter(|a| filter.actor.as_ref().is_none_or(|actor| *actor == a.actor))
            .filter(|a| filter.target.as_ref().is_none_or(|t| *t == a.target))
            .filter(|a| filter.inherited.is_none_or(|i| i == a.inherited))
            .cloned()
            .collect())
    }

    async fn effective_roles(
        &self,
        user_id: &str,
        target: &Target,
    ) -> Result<Vec<Role>, AuthError> {
        let inner = self.lock();
        let holds = |actor: &Actor| match actor {
            Actor::User(id) => id == user_id,
            Actor::Group(id) => inner
                .memberships
                .contains(&(user_id.to_owned(), id.clone())),
        };
        let mut roles: Vec<Role> = inner
            .assignments
            .iter()
            .filter(|a| !a.inherited && a.target == *target && holds(&a.actor))
            .filter_map(|a| inner.roles.get(&a.role_id).cloned())
            .collect();
        roles.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        roles.dedup_by(|a, b| a.id == b.id);
        Ok(roles)
    }

    async fn targets_for_user(&self, user_id: &str) -> Result<Vec<Target>, AuthError> {
        let inner = self.lock();
        let mut targets: Vec<Target> = Vec::new();
        for a in &inner.assignments {
            let held = match &a.actor {
                Actor::User(id) => id == user_id,
                Actor::Group(id) => inner
                    .memberships
                    .contains(&(user_id.to_owned(), id.clone())),
            };
            if held && !a.inherited && !targets.contains(&a.target) {
                targets.push(a.target.clone());
            }
        }
        Ok(targets)
    }

    async fn create_implied_role(
        &self,
        prior_role_id: &str,
        implied_role_id: &str,
    ) -> Result<ImpliedRole, AuthError> {
        let mut inner = self.lock();
        let prior = inner.role(prior_role_id)?;
        let implied = inner.role(implied_role_id)?;
        RoleGraph::new(inner.rules(|_| true)).check_new_rule(prior_role_id, implied_role_id)?;
        inner
            .implied_roles
            .push((prior_role_id.to_owned(), implied_role_id.to_owned()));
        Ok(ImpliedRole::new(prior, implied))
    }

    async fn get_implied_role(
        &self,
        prior_role_id: &str,
        implied_role_id: &str,
    ) -> Result<ImpliedRole, AuthError> {
        self.lock()
            .rules(|(p, i)| p == prior_role_id && i == implied_role_id)
            .pop()
            .ok_or_else(|| no_such_rule(prior_role_id, implied_role_id))
    }

    async fn delete_implied_role(
        &self,
        prior_role_id: &str,
        implied_role_id: &str,
    ) -> Result<(), AuthError> {
        let mut inner = self.lock();
        let before = inner.implied_roles.len();
        inner
            .implied_roles
            .retain(|(p, i)| !(p == prior_role_id && i == implied_role_id));
        if inner.implied_roles.len() == before {
            return Err(no_such_rule(prior_role_id, implied_role_id));
        }
        Ok(())
    }

    async fn list_implied_roles(&self, prior_role_id: &str) -> Result<Vec<ImpliedRole>, AuthError> {
        Ok(self.lock().rules(|(p, _)| p == prior_role_id))
    }

    async fn list_role_inferences(&self) -> Result<Vec<ImpliedRole>, AuthError> {
        Ok(self.lock().rules(|_| true))
    }
}

#[async_trait]
impl PasswordStore for MemoryStore {
    async fn current_password(&self, user_id: &str) -> Result<Option<PasswordRecord>, AuthError> {
        Ok(self
            .lock()
            .passwords
            .get(user_id)
            .and_then(|history| history.last().cloned()))
    }

    async fn set_password(
        &self,
        user_id: &str,
        password: &PasswordRecord,
    ) -> Result<(), AuthError> {
        self.lock()
            .passwords
            .entry(user_id.to_owned())
            .or_default()
            .push(password.clone());
        Ok(())
    }

    async fn rehash_password(&self, user_id: &str, hash: &SecretString) -> Result<(), AuthError> {
        let mut inner = self.lock();
        let current = inner
            .passwords
            .get_mut(user_id)
            .and_then(|history| history.last_mut())
            .ok_or_else(|| not_found("password of user", user_id))?;
        current.hash = hash.clone();
        Ok(())
    }

    async fn password_history(
        &self,
        user_id: &str,
        limit: u32,
    ) -> Result<Vec<PasswordRecord>, AuthError> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(self
            .lock()
            .passwords
            .get(user_id)
            .map(|history| history.iter().rev().take(limit).cloned().collect())
            .unwrap_or_default())
    }

    async fn auth_state(&self, user_id: &str) -> Result<UserAuthState, AuthError> {
        Ok(self
            .lock()
            .auth_states
            .get(user_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn record_auth_failure(
        &self,
        user_id: &str,
        at: DateTime<Utc>,
    ) -> Result<u32, AuthError> {
        let mut inner = self.lock();
        let state = inner.auth_states.entry(user_id.to_owned()).or_default();
        state.failed_auth_count += 1;
        state.failed_auth_at = Some(at);
        Ok(state.failed_auth_count)
    }

    async fn record_auth_success(&self, user_id: &str, at: DateTime<Utc>) -> Result<(), AuthError> {
        let mut inner = self.lock();
        let state = inner.auth_states.entry(user_id.to_owned()).or_default();
        state.failed_auth_count = 0;
        state.failed_auth_at = None;
        state.last_active_at = Some(at);
        Ok(())
    }

    async fn reset_auth_failures(&self, user_id: &str) -> Result<(), AuthError> {
        let mut inner = self.lock();
        let state = inner.auth_states.entry(user_id.to_owned()).or_default();
        state.failed_auth_count = 0;
        state.failed_auth_at = None;
        Ok(())
    }

    async fn claim_auth_attempt(
        &self,
        user_id: &str,
        limit: u32,
        lock_duration: Option<chrono::Duration>,
        at: DateTime<Utc>,
    ) -> Result<Option<UserAuthState>, AuthError> {
        // Decided and written under the one lock: atomic.
        let mut inner = self.lock();
        let state = inner.auth_states.entry(user_id.to_owned()).or_default();
        if state.failed_auth_count >= limit {
            let ran_out = match (lock_duration, state.failed_auth_at) {
                (Some(duration), Some(last)) => last
                    .checked_add_signed(duration)
                    .is_some_and(|end| end <= at),
                _ => false,
            };
            if !ran_out {
                return Ok(None);
            }
            state.failed_auth_count = 0;
        }
        state.failed_auth_count += 1;
        state.failed_auth_at = Some(at);
        Ok(Some(state.clone()))
    }

    async fn release_auth_attempt(&self, user_id: &str) -> Result<(), AuthError> {
        let mut inner = self.lock();
        let state = inner.auth_states.entry(user_id.to_owned()).or_default();
        state.failed_auth_count = state.failed_auth_count.saturating_sub(1);
        Ok(())
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

    async fn get_credential(&self, credential_id: &str) -> Result<Credential, AuthError> {
        self.lock()
            .credentials
            .iter()
            .find(|c| c.id == credential_id)
            .cloned()
            .ok_or_else(|| not_found("credential", credential_id))
    }

    async fn claim_passcode(
        &self,
        credential_id: &str,
        step: i64,
        _expires_at: DateTime<Utc>,
    ) -> Result<bool, AuthError> {
        Ok(self
            .lock()
            .claimed_passcodes
            .insert((credential_id.to_owned(), step)))
    }

    async fn get_application_credential(
        &self,
        id: &str,
    ) -> Result<ApplicationCredential, AuthError> {
        self.lock()
            .application_credentials
            .get(id)
            .cloned()
            .ok_or_else(|| not_found("application credential", id))
    }

    async fn find_application_credential(
        &self,
        user_id: &str,
        name: &str,
    ) -> Result<ApplicationCredential, AuthError> {
        self.lock()
            .application_credentials
            .values()
            .find(|c| c.user_id == user_id && c.name == name)
            .cloned()
            .ok_or_else(|| not_found("application credential", name))
    }
}

#[async_trait]
impl RevocationStore for MemoryStore {
    async fn add_revocation(&self, event: &RevocationEvent) -> Result<(), AuthError> {
        self.lock().revocations.push(event.clone());
        Ok(())
    }

    async fn list_revocations(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<RevocationEvent>, AuthError> {
        Ok(self
            .lock()
            .revocations
            .iter()
            .filter(|e| e.revoked_at >= since)
            .cloned()
            .collect())
    }

    async fn prune_revocations(&self, before: DateTime<Utc>) -> Result<u64, AuthError> {
        let mut inner = self.lock();
        let was = inner.revocations.len();
        inner.revocations.retain(|e| e.revoked_at >= before);
        Ok(u64::try_from(was - inner.revocations.len()).unwrap_or(u64::MAX))
    }
}

#[async_trait]
impl CounterStore for MemoryStore {
    async fn adjust_counter(
        &self,
        name: &str,
        delta: i64,
        floor: Option<i64>,
    ) -> Result<i64, AuthError> {
        let mut inner = self.lock();
        let value = inner.counters.entry(name.to_owned()).or_insert(0);
        let next = value.saturating_add(delta);
        *value = floor.map_or(next, |floor| next.max(floor));
        Ok(*value)
    }

    async fn reset_counter(&self, name: &str) -> Result<(), AuthError> {
        self.lock().counters.insert(name.to_owned(), 0);
        Ok(())
    }

    async fn list_counters(&self) -> Result<Vec<Counter>, AuthError> {
        Ok(self
            .lock()
            .counters
            .iter()
            .map(|(name, value)| Counter::new(name.clone(), *value))
            .collect())
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn append_audit(&self, records: &[AuditRecord]) -> Result<(), AuthError> {
        let mut inner = self.lock();
        for record in records {
            inner.audit_last_id += 1;
            let id = inner.audit_last_id;
            inner.audit.push(record.clone().with_id(id));
        }
        Ok(())
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AuthError> {
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        Ok(self
            .lock()
            .audit
            .iter()
            .rev()
            .filter(|r| query.since.is_none_or(|since| r.at >= since))
            .filter(|r| query.until.is_none_or(|until| r.at < until))
            .filter(|r| query.user_id.is_none() || r.user_id == query.user_id)
            .filter(|r| query.event.as_ref().is_none_or(|e| *e == r.event))
            .filter(|r| query.success.is_none_or(|s| s == r.success))
            .filter(|r| query.before_id.is_none_or(|id| r.id < id))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn prune_audit(&self, before: DateTime<Utc>) -> Result<u64, AuthError> {
        let mut inner = self.lock();
        let was = inner.audit.len();
        inner.audit.retain(|r| r.at >= before);
        Ok(u64::try_from(was - inner.audit.len()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuditKind, AuditQuery};
    use serde_json::json;

    fn row(n: i64, user: &str, success: bool) -> AuditRecord {
        AuditRecord::new(
            DateTime::from_timestamp(1_800_000_000 + n, 0).unwrap(),
            AuditKind::Call,
            if n % 2 == 0 { "a" } else { "b" },
            success,
        )
        .with_user(user)
        .with_detail(json!({ "n": n }))
    }

    #[tokio::test]
    async fn the_audit_log_filters_pages_and_prunes_like_the_sql_stores() {
        let s = MemoryStore::new();
        let rows: Vec<_> = (0..10)
            .map(|n| row(n, if n < 5 { "u1" } else { "u2" }, n != 3))
            .collect();
        s.append_audit(&rows).await.unwrap();
        let q = |query: AuditQuery| {
            let s = &s;
            async move {
                s.query_audit(&AuditQuery {
                    limit: 100,
                    ..query
                })
                .await
                .unwrap()
            }
        };
        let all = q(AuditQuery::default()).await;
        assert_eq!(all.len(), 10);
        assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
        assert_eq!(q(AuditQuery::default().with_user("u1")).await.len(), 5);
        assert_eq!(q(AuditQuery::default().with_event("a")).await.len(), 5);
        assert_eq!(q(AuditQuery::default().with_success(false)).await.len(), 1);
        let window = q(AuditQuery::default()
            .with_since(rows[2].at)
            .with_until(rows[6].at))
        .await;
        assert_eq!(window.len(), 4);
        let page = s
            .query_audit(&AuditQuery::new(3).with_before_id(all[2].id))
            .await
            .unwrap();
        assert_eq!(
            page.iter().map(|r| r.id).collect::<Vec<_>>(),
            [all[3].id, all[4].id, all[5].id]
        );
        assert_eq!(s.prune_audit(rows[4].at).await.unwrap(), 4);
        s.append_audit(&[row(99, "u3", true)]).await.unwrap();
        assert!(
            q(AuditQuery::default()).await[0].id > all[0].id,
            "ids are never reused"
        );
    }

    #[tokio::test]
    async fn groups_are_listed_renamed_and_list_their_members() {
        let s = MemoryStore::new();
        s.add_domain("d2", "Other", true);
        s.add_group("g-ops", "ops", "default");
        s.add_group("g-devs", "devs", "default");
        s.add_group("g-ops2", "ops", "d2");
        let names = |groups: Vec<Group>| groups.into_iter().map(|g| g.id).collect::<Vec<_>>();
        assert_eq!(
            names(s.list_groups(&GroupFilter::default()).await.unwrap()),
            ["g-devs", "g-ops", "g-ops2"]
        );
        let in_default = GroupFilter::default().with_domain("default");
        assert_eq!(
            names(s.list_groups(&in_default).await.unwrap()),
            ["g-devs", "g-ops"]
        );
        let named_ops = GroupFilter::default().with_name("ops");
        assert_eq!(
            names(s.list_groups(&named_ops).await.unwrap()),
            ["g-ops", "g-ops2"]
        );

        let mut ops = s.get_group("g-ops").await.unwrap();
        ops.name = "devs".into();
        assert!(matches!(
            s.update_group(&ops).await,
            Err(AuthError::Conflict { .. })
        ));
        ops.name = "operators".into();
        ops.description = "on call".into();
        s.update_group(&ops).await.unwrap();
        assert_eq!(s.get_group("g-ops").await.unwrap(), ops);
        ops.id = "ghost".into();
        assert!(matches!(
            s.update_group(&ops).await,
            Err(AuthError::NotFound { .. })
        ));

        s.add_user("u-zed", "zed");
        s.add_user("u-amy", "amy");
        for user in ["u-zed", "u-amy"] {
            s.add_user_to_group(user, "g-ops").await.unwrap();
        }
        let members: Vec<String> = s
            .list_group_users("g-ops")
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(members, ["amy", "zed"]);
        assert!(s.list_group_users("g-devs").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn implied_roles_follow_the_sql_stores_contract() {
        let s = MemoryStore::new();
        let [admin, manager, member, reader] =
            ["admin", "manager", "member", "reader"].map(|name| s.add_role(name, name, None));
        for (prior, implied) in [(&admin, &manager), (&manager, &member), (&member, &reader)] {
            s.create_implied_role(&prior.id, &implied.id).await.unwrap();
        }
        let status = |r: Result<ImpliedRole, AuthError>| r.map(drop).unwrap_err().http_status();
        assert_eq!(status(s.create_implied_role("admin", "manager").await), 409);
        assert_eq!(status(s.create_implied_role("admin", "ghost").await), 404);
        assert_eq!(status(s.create_implied_role("reader", "admin").await), 403);
        assert_eq!(status(s.create_implied_role("reader", "reader").await), 403);
        let listed = |rules: Vec<ImpliedRole>| {
            rules
                .into_iter()
                .map(|r| format!("{}>{}", r.prior.name, r.implied.name))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            listed(s.list_role_inferences().await.unwrap()),
            ["admin>manager", "manager>member", "member>reader"]
        );
        assert_eq!(
            listed(s.list_implied_roles("manager").await.unwrap()),
            ["manager>member"]
        );
        assert_eq!(
            s.get_implied_role("member", "reader")
                .await
                .unwrap()
                .implied,
            reader
        );
        assert_eq!(status(s.get_implied_role("reader", "member").await), 404);

        // What a token carries: the held role and all it implies.
        s.add_user("u1", "alice");
        let on_system = Assignment::new(admin.id.clone(), Actor::User("u1".into()), Target::System);
        s.grant(&on_system).await.unwrap();
        let held = s.effective_roles("u1", &Target::System).await.unwrap();
        let carried = RoleGraph::new(s.list_role_inferences().await.unwrap()).expand(held);
        let names: Vec<&str> = carried.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["admin", "manager", "member", "reader"]);

        // Deleting a role deletes its rules either way round, and its grants.
        s.delete_role("manager").await.unwrap();
        assert_eq!(
            listed(s.list_role_inferences().await.unwrap()),
            ["member>reader"]
        );
        s.delete_implied_role("member", "reader").await.unwrap();
        assert!(s.delete_implied_role("member", "reader").await.is_err());
        s.delete_role("admin").await.unwrap();
        assert!(
            s.list_assignments(&AssignmentFilter::default())
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn roles_and_grants_have_the_sql_stores_typed_errors() {
        let s = MemoryStore::new();
        let role = |id: &str, name: &str, domain: Option<&str>| Role {
            id: id.into(),
            name: name.into(),
            domain_id: domain.map(Into::into),
        };
        s.create_role(&role("r1", "reader", None)).await.unwrap();
        s.create_role(&role("r2", "reader", Some("default")))
            .await
            .unwrap();
        let status = |r: Result<(), AuthError>| r.unwrap_err().http_status();
        assert_eq!(
            status(s.create_role(&role("r3", "reader", None)).await),
            409
        );
        assert_eq!(
            status(s.create_role(&role("r3", "x", Some("nowhere"))).await),
            404
        );
        s.create_role(&role("r4", "admin", None)).await.unwrap();
        assert_eq!(status(s.update_role(&role("r1", "admin", None)).await), 409);
        s.update_role(&role("r2", "reader", None)).await.unwrap();
        assert_eq!(status(s.update_role(&role("ghost", "g", None)).await), 404);
        s.update_role(&role("r1", "viewer", None)).await.unwrap();
        assert_eq!(s.find_role_by_name("viewer").await.unwrap().id, "r1");

        s.add_user("u1", "alice");
        s.add_group("g1", "ops", "default");
        s.add_user_to_group("u1", "g1").await.unwrap();
        let grant = |role_id: &str, actor: Actor| {
            Assignment::new(role_id, actor, Target::Project("p1".into()))
        };
        assert_eq!(
            status(s.grant(&grant("ghost", Actor::User("u1".into()))).await),
            404
        );
        assert_eq!(
            status(s.grant(&grant("r1", Actor::User("ghost".into()))).await),
            404
        );
        for _ in 0..2 {
            s.grant(&grant("r1", Actor::User("u1".into())))
                .await
                .unwrap();
        }
        s.grant(&grant("r1", Actor::Group("g1".into())))
            .await
            .unwrap();
        let held = s
            .effective_roles("u1", &Target::Project("p1".into()))
            .await
            .unwrap();
        assert_eq!(held.len(), 1, "directly and through a group, once");
        assert_eq!(
            s.targets_for_user("u1").await.unwrap(),
            [Target::Project("p1".into())]
        );
        s.revoke(&grant("r1", Actor::User("u1".into())))
            .await
            .unwrap();
        assert_eq!(
            status(s.revoke(&grant("r1", Actor::User("u1".into()))).await),
            404
        );

        // An inherited grant is a grant of its own, and (no projects kept
        // here) gives no role on its target.
        let on_domain = Assignment::inherited(
            "r1",
            Actor::User("u1".into()),
            Target::Domain("default".into()),
        );
        s.grant(&on_domain).await.unwrap();
        assert_eq!(
            s.list_assignments(&AssignmentFilter::default().with_inherited(true))
                .await
                .unwrap(),
            std::slice::from_ref(&on_domain)
        );
        assert!(
            s.effective_roles("u1", &Target::Domain("default".into()))
                .await
                .unwrap()
                .is_empty()
        );
        let direct = Assignment::new(
            "r1",
            Actor::User("u1".into()),
            Target::Domain("default".into()),
        );
        assert_eq!(status(s.revoke(&direct).await), 404);
        s.revoke(&on_domain).await.unwrap();
        let from_system = Assignment::inherited("r1", Actor::User("u1".into()), Target::System);
        assert_eq!(status(s.grant(&from_system).await), 400);
    }

    #[tokio::test]
    async fn counters_are_floored_only_when_asked() {
        let s = MemoryStore::new();
        assert_eq!(s.adjust_counter("c", -2, Some(0)).await.unwrap(), 0);
        assert_eq!(s.adjust_counter("c", -2, None).await.unwrap(), -2);
        assert_eq!(s.adjust_counter("c", 5, Some(0)).await.unwrap(), 3);
        s.reset_counter("c").await.unwrap();
        assert_eq!(s.list_counters().await.unwrap(), [Counter::new("c", 0)]);
    }
}
