//! The store contract, split by role.
//!
//! Conventions every implementation follows, checked by the conformance
//! suite in the workspace tests:
//!
//! - a missing row is [`AuthError::NotFound`]; a broken unique constraint is
//!   [`AuthError::Conflict`]; a backend failure is
//!   [`AuthError::StoreUnavailable`] whose message names the operation, never
//!   the data;
//! - every operation that writes several rows is one transaction;
//! - counters ([`PasswordStore::record_auth_failure`]) are atomic: N
//!   concurrent failures add exactly N, and of N concurrent
//!   [`PasswordStore::claim_auth_attempt`]s with a limit of T at most T
//!   succeed;
//! - deleting a row deletes what hangs off it (a user's passwords,
//!   credentials, group memberships, assignments, application
//!   credentials and the OAuth1 tokens they authorized; a project's
//!   assignments, the credentials tied to it, as Keystone's
//!   `delete_credentials_for_project`, and the OAuth1 tokens on it; a
//!   role's assignments and the implied-role rules it is either side of)
//!   and nothing else.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::model::*;
use crate::AuthError;

/// Domains, projects, users and groups.
#[async_trait]
pub trait UserStore: Send + Sync + std::fmt::Debug {
    /// The user with this id.
    async fn get_user(&self, user_id: &str) -> Result<User, AuthError>;

    /// The user with this name in this domain.
    async fn find_user_by_name(&self, domain_id: &str, name: &str) -> Result<User, AuthError>;

    /// The domain with this id.
    async fn get_domain(&self, domain_id: &str) -> Result<Domain, AuthError>;

    /// The domain with this name.
    async fn find_domain_by_name(&self, name: &str) -> Result<Domain, AuthError>;

    /// Adds a domain.
    async fn create_domain(&self, domain: &Domain) -> Result<(), AuthError> {
        let _ = domain;
        Err(read_only("create_domain"))
    }

    /// Every domain, by name.
    async fn list_domains(&self) -> Result<Vec<Domain>, AuthError> {
        Err(read_only("list_domains"))
    }

    /// Replaces a domain's name, description and enabled flag.
    async fn update_domain(&self, domain: &Domain) -> Result<(), AuthError> {
        let _ = domain;
        Err(read_only("update_domain"))
    }

    /// Deletes a domain; refused with [`AuthError::Conflict`] while it still
    /// holds users, groups or projects.
    async fn delete_domain(&self, domain_id: &str) -> Result<(), AuthError> {
        let _ = domain_id;
        Err(read_only("delete_domain"))
    }

    /// Deletes a domain and everything in it, as Keystone deletes a
    /// disabled domain: its projects (whatever their hierarchy), users,
    /// groups and domain-specific roles, with everything that hangs off
    /// them (assignments on the domain and its projects, memberships,
    /// passwords, credentials, those tied to its projects too, application
    /// credentials, implied-role rules), in one transaction that moves the token revision.
    /// [`AuthError::NotFound`] if there is no such domain. Whether the
    /// domain may go (Keystone insists that it be disabled) is the caller's
    /// decision.
    async fn purge_domain(&self, domain_id: &str) -> Result<(), AuthError> {
        let _ = domain_id;
        Err(read_only("purge_domain"))
    }

    /// Adds a project.
    async fn create_project(&self, project: &Project) -> Result<(), AuthError> {
        let _ = project;
        Err(read_only("create_project"))
    }

    /// The project with this id.
    async fn get_project(&self, project_id: &str) -> Result<Project, AuthError> {
        let _ = project_id;
        Err(read_only("get_project"))
    }

    /// The project with this name in this domain.
    async fn find_project_by_name(
        &self,
        domain_id: &str,
        name: &str,
    ) -> Result<Project, AuthError> {
        let _ = (domain_id, name);
        Err(read_only("find_project_by_name"))
    }

    /// Every project, or those of one domain, by name.
    async fn list_projects(&self, domain_id: Option<&str>) -> Result<Vec<Project>, AuthError> {
        let _ = domain_id;
        Err(read_only("list_projects"))
    }

    /// Replaces a project's name, description, enabled flag and tags (its
    /// domain and parent never change).
    async fn update_project(&self, project: &Project) -> Result<(), AuthError> {
        let _ = project;
        Err(read_only("update_project"))
    }

    /// Deletes a project, its assignments and the credentials tied to it
    /// (an EC2 credential is for one project), in one transaction; refused
    /// with [`not_a_leaf`]'s [`AuthError::Forbidden`] while it has
    /// children.
    async fn delete_project(&self, project_id: &str) -> Result<(), AuthError> {
        let _ = project_id;
        Err(read_only("delete_project"))
    }

    /// Adds a user, and its first password if given, in one transaction.
    async fn create_user(
        &self,
        user: &User,
        password: Option<&PasswordRecord>,
    ) -> Result<(), AuthError> {
        let _ = (user, password);
        Err(read_only("create_user"))
    }

    /// Users matching `filter`, by name.
    async fn list_users(&self, filter: &UserFilter) -> Result<Vec<User>, AuthError> {
        let _ = filter;
        Err(read_only("list_users"))
    }

    /// Replaces a user's name, enabled flag, default project, options and
    /// extra attributes.
    async fn update_user(&self, user: &User) -> Result<(), AuthError> {
        let _ = user;
        Err(read_only("update_user"))
    }

    /// Deletes a user and everything that hangs off it.
    async fn delete_user(&self, user_id: &str) -> Result<(), AuthError> {
        let _ = user_id;
        Err(read_only("delete_user"))
    }

    /// Adds a group.
    async fn create_group(&self, group: &Group) -> Result<(), AuthError> {
        let _ = group;
        Err(read_only("create_group"))
    }

    /// The group with this id.
    async fn get_group(&self, group_id: &str) -> Result<Group, AuthError> {
        let _ = group_id;
        Err(read_only("get_group"))
    }

    /// Groups matching `filter`, by name.
    async fn list_groups(&self, filter: &GroupFilter) -> Result<Vec<Group>, AuthError> {
        let _ = filter;
        Err(read_only("list_groups"))
    }

    /// Replaces a group's name and description (its domain never
    /// changes); [`AuthError::Conflict`] if the name is taken in the domain.
    async fn update_group(&self, group: &Group) -> Result<(), AuthError> {
        let _ = group;
        Err(read_only("update_group"))
    }

    /// Deletes a group, its memberships and its assignments.
    async fn delete_group(&self, group_id: &str) -> Result<(), AuthError> {
        let _ = group_id;
        Err(read_only("delete_group"))
    }

    /// Makes a user a member of a group (idempotent).
    async fn add_user_to_group(&self, user_id: &str, group_id: &str) -> Result<(), AuthError> {
        let _ = (user_id, group_id);
        Err(read_only("add_user_to_group"))
    }

    /// Ends a membership; [`AuthError::NotFound`] if there was none.
    async fn remove_user_from_group(&self, user_id: &str, group_id: &str) -> Result<(), AuthError> {
        let _ = (user_id, group_id);
        Err(read_only("remove_user_from_group"))
    }

    /// The groups a user is a member of, by name.
    async fn list_user_groups(&self, user_id: &str) -> Result<Vec<Group>, AuthError> {
        let _ = user_id;
        Err(read_only("list_user_groups"))
    }

    /// The members of a group, by name (none for a group that does not
    /// exist).
    async fn list_group_users(&self, group_id: &str) -> Result<Vec<User>, AuthError> {
        let _ = group_id;
        Err(read_only("list_group_users"))
    }
}

/// Passwords and the bookkeeping lockout and inactivity rules need.
#[async_trait]
pub trait PasswordStore: Send + Sync + std::fmt::Debug {
    /// The user's current password, if they have one.
    async fn current_password(&self, user_id: &str) -> Result<Option<PasswordRecord>, AuthError>;

    /// Makes `password` current and keeps the previous one in the history,
    /// in one transaction.
    async fn set_password(&self, user_id: &str, password: &PasswordRecord)
    -> Result<(), AuthError>;

    /// Replaces the current password's hash in place (re-hashing an imported
    /// hash after a successful login), keeping its dates.
    async fn rehash_password(
        &self,
        user_id: &str,
        hash: &secrecy::SecretString,
    ) -> Result<(), AuthError>;

    /// The most recent `limit` passwords, newest (the current one) first.
    async fn password_history(
        &self,
        user_id: &str,
        limit: u32,
    ) -> Result<Vec<PasswordRecord>, AuthError>;

    /// The user's failure count and last activity.
    async fn auth_state(&self, user_id: &str) -> Result<UserAuthState, AuthError>;

    /// Atomically adds one failure at `at` and returns the new count.
    async fn record_auth_failure(&self, user_id: &str, at: DateTime<Utc>)
    -> Result<u32, AuthError>;

    /// Clears the failure count and sets `last_active_at` to `at`.
    async fn record_auth_success(&self, user_id: &str, at: DateTime<Utc>) -> Result<(), AuthError>;

    /// Clears the failure count (an administrator unlocking an account).
    async fn reset_auth_failures(&self, user_id: &str) -> Result<(), AuthError>;

    /// Claims one attempt at the user's secret for the lockout rule, in one
    /// atomic step, *before* the secret is checked: the attempt is counted
    /// as a failure (`failed_auth_count + 1`, `failed_auth_at = at`) and a
    /// success gives it back ([`PasswordStore::record_auth_success`], or
    /// [`PasswordStore::release_auth_attempt`]). Counting first is what
    /// makes the limit hold under concurrency: of N simultaneous attempts
    /// at most `limit` are admitted, so at most `limit` secrets are checked
    /// per lockout, where checking first and counting after let every
    /// attempt in flight through.
    ///
    /// Returns the state the claim left (its count includes this attempt),
    /// or `None`, writing nothing, when the account is locked: the count is
    /// at `limit` or more (attempts in flight included) and the lock has
    /// not run out. A lock runs out `lock_duration` after the last counted
    /// attempt (`failed_auth_at`); never when `lock_duration` is `None`.
    /// Claiming on an account whose lock has run out starts a new count,
    /// at 1.
    ///
    /// Implementations must decide and write in one step (a single
    /// conditional `UPDATE ... RETURNING`, a row lock, or one writer), never
    /// read then write.
    async fn claim_auth_attempt(
        &self,
        user_id: &str,
        limit: u32,
        lock_duration: Option<chrono::Duration>,
        at: DateTime<Utc>,
    ) -> Result<Option<UserAuthState>, AuthError>;

    /// Gives back an attempt [`PasswordStore::claim_auth_attempt`] counted,
    /// whose secret turned out right but which was refused for another
    /// reason (a disabled user, an expired password, a new password the
    /// rules refuse): one less failure, never below zero. Keystone neither
    /// counts nor clears anything in those cases.
    async fn release_auth_attempt(&self, user_id: &str) -> Result<(), AuthError>;
}

/// Roles and role assignments.
#[async_trait]
pub trait AssignmentStore: Send + Sync + std::fmt::Debug {
    /// Adds a role.
    async fn create_role(&self, role: &Role) -> Result<(), AuthError>;

    /// The role with this id.
    async fn get_role(&self, role_id: &str) -> Result<Role, AuthError>;

    /// The global role with this name.
    async fn find_role_by_name(&self, name: &str) -> Result<Role, AuthError>;

    /// Every role, by name.
    async fn list_roles(&self) -> Result<Vec<Role>, AuthError>;

    /// Renames a role (`role.id` names it). A name another role has is
    /// [`AuthError::Conflict`]; an unknown id, [`AuthError::NotFound`].
    /// Role names appear in token bodies, so this moves the token revision.
    async fn update_role(&self, role: &Role) -> Result<(), AuthError> {
        let _ = role;
        Err(read_only("update_role"))
    }

    /// Deletes a role, its assignments and the implied-role rules it is
    /// either side of.
    async fn delete_role(&self, role_id: &str) -> Result<(), AuthError>;

    /// Grants a role (idempotent). A direct and an inherited grant
    /// ([`Assignment::inherited`]) of the same role on the same target are
    /// two grants.
    async fn grant(&self, assignment: &Assignment) -> Result<(), AuthError>;

    /// Revokes a grant, direct or inherited as `assignment` says (never
    /// the other); [`AuthError::NotFound`] if there was none.
    async fn revoke(&self, assignment: &Assignment) -> Result<(), AuthError>;

    /// Assignments matching `filter`, as stored: group assignments are not
    /// expanded, nor inherited ones applied to the projects below them.
    async fn list_assignments(
        &self,
        filter: &AssignmentFilter,
    ) -> Result<Vec<Assignment>, AuthError>;

    /// The roles a user holds on `target`, directly or through any of its
    /// groups, without repeats, by name. On a project, that includes the
    /// roles inherited from the project's domain and from every project
    /// above it (OS-INHERIT); an inherited grant never gives its role on
    /// its own target. The hot path of token issue and validation: one
    /// query.
    async fn effective_roles(&self, user_id: &str, target: &Target)
    -> Result<Vec<Role>, AuthError>;

    /// The targets on which a user holds any role, directly or through a
    /// group, inherited grants included: each project they apply to
    /// (`/v3/auth/projects`, `/v3/auth/domains`).
    async fn targets_for_user(&self, user_id: &str) -> Result<Vec<Target>, AuthError>;

    /// Adds the rule "`prior_role_id` implies `implied_role_id`" and returns
    /// it. [`AuthError::NotFound`] if either role does not exist;
    /// [`AuthError::Conflict`] if the rule exists (Keystone's 409);
    /// [`AuthError::Forbidden`] if it would close a cycle or make a chain
    /// longer than [`MAX_IMPLIED_ROLE_DEPTH`](crate::implied_roles::MAX_IMPLIED_ROLE_DEPTH)
    /// ([`RoleGraph::check_new_rule`](crate::implied_roles::RoleGraph::check_new_rule)).
    /// The check reads the rules in the write's own transaction, so two
    /// writers cannot close a cycle between them. Rules change every
    /// token's roles, so this moves the token revision.
    ///
    /// Keystone's own refusals that depend on configuration (a prohibited
    /// implied role, a global role implying a domain-specific one) are the
    /// caller's: see [`validate_rule`](crate::implied_roles::validate_rule).
    /// The default (a store without rules) refuses, as other writes do.
    async fn create_implied_role(
        &self,
        prior_role_id: &str,
        implied_role_id: &str,
    ) -> Result<ImpliedRole, AuthError> {
        let _ = (prior_role_id, implied_role_id);
        Err(read_only("create_implied_role"))
    }

    /// The rule "`prior_role_id` implies `implied_role_id`";
    /// [`AuthError::NotFound`] if there is none.
    async fn get_implied_role(
        &self,
        prior_role_id: &str,
        implied_role_id: &str,
    ) -> Result<ImpliedRole, AuthError> {
        Err(no_such_rule(prior_role_id, implied_role_id))
    }

    /// Deletes a rule; [`AuthError::NotFound`] if there was none. Moves the
    /// token revision. (Deleting either role deletes its rules too.)
    async fn delete_implied_role(
        &self,
        prior_role_id: &str,
        implied_role_id: &str,
    ) -> Result<(), AuthError> {
        let _ = (prior_role_id, implied_role_id);
        Err(read_only("delete_implied_role"))
    }

    /// The rules whose prior role is `prior_role_id` (none for an unknown
    /// role), by implied role name.
    async fn list_implied_roles(&self, prior_role_id: &str) -> Result<Vec<ImpliedRole>, AuthError> {
        let _ = prior_role_id;
        Ok(Vec::new())
    }

    /// Every rule, by prior role name then implied role name: what token
    /// issue and validation expand roles with (rules are few; the server
    /// keeps them while the token revision stands).
    async fn list_role_inferences(&self) -> Result<Vec<ImpliedRole>, AuthError> {
        Ok(Vec::new())
    }
}

/// The refusal to delete a project that has children, in Keystone's
/// words (a 403).
pub fn not_a_leaf(project_id: &str) -> AuthError {
    AuthError::Forbidden(format!(
        "Cannot delete the project {project_id} since it is not a leaf in the hierarchy. \
         Use the cascade option if you want to delete a whole subtree."
    ))
}

/// The 404 of a missing rule, in Keystone's words
/// (`ImpliedRoleNotFound`).
pub fn no_such_rule(prior_role_id: &str, implied_role_id: &str) -> AuthError {
    AuthError::NotFound {
        what: format!("implied role: {prior_role_id} does not imply {implied_role_id}"),
    }
}

/// Credentials (encrypted at rest), application credentials and the
/// single-use record of accepted one-time passcodes.
#[async_trait]
pub trait CredentialStore: Send + Sync + std::fmt::Debug {
    /// Every credential of `kind` owned by `user_id` (possibly none).
    async fn list_credentials(
        &self,
        user_id: &str,
        kind: &str,
    ) -> Result<Vec<Credential>, AuthError>;

    /// Adds a credential; the store encrypts the blob.
    async fn create_credential(&self, credential: &Credential) -> Result<(), AuthError> {
        let _ = credential;
        Err(read_only("create_credential"))
    }

    /// The credential with this id, decrypted.
    async fn get_credential(&self, credential_id: &str) -> Result<Credential, AuthError> {
        let _ = credential_id;
        Err(read_only("get_credential"))
    }

    /// Replaces a credential's owner, type, project and blob (`credential.id`
    /// names it); the store encrypts the blob again. [`AuthError::NotFound`]
    /// if there is no such credential, or no such owner.
    async fn update_credential(&self, credential: &Credential) -> Result<(), AuthError> {
        let _ = credential;
        Err(read_only("update_credential"))
    }

    /// Every credential, or a user's, decrypted.
    async fn list_all_credentials(
        &self,
        user_id: Option<&str>,
    ) -> Result<Vec<Credential>, AuthError> {
        let _ = user_id;
        Err(read_only("list_all_credentials"))
    }

    /// The access rules of `user_id`, shared by their application
    /// credentials (a credential's rules are created with it when new).
    async fn list_access_rules(&self, user_id: &str) -> Result<Vec<AccessRule>, AuthError> {
        let _ = user_id;
        Ok(Vec::new())
    }

    /// Deletes the access rule `id` of `user_id`: [`AuthError::NotFound`]
    /// if the user has none by that id, [`AuthError::Forbidden`] while an
    /// application credential still names it.
    async fn delete_access_rule(&self, user_id: &str, id: &str) -> Result<(), AuthError> {
        let _ = (user_id, id);
        Err(read_only("delete_access_rule"))
    }

    /// Deletes a credential.
    async fn delete_credential(&self, credential_id: &str) -> Result<(), AuthError> {
        let _ = credential_id;
        Err(read_only("delete_credential"))
    }

    /// Records that the passcode for time step `step` of `credential_id` was
    /// accepted. Returns `false` if it already was (a replay), atomically
    /// across nodes. Entries past `expires_at` may be pruned.
    async fn claim_passcode(
        &self,
        credential_id: &str,
        step: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, AuthError> {
        let _ = (credential_id, step, expires_at);
        Err(read_only("claim_passcode"))
    }

    /// Adds an application credential with its roles and access rules, in
    /// one transaction.
    async fn create_application_credential(
        &self,
        credential: &ApplicationCredential,
    ) -> Result<(), AuthError> {
        let _ = credential;
        Err(read_only("create_application_credential"))
    }

    /// The application credential with this id.
    async fn get_application_credential(
        &self,
        id: &str,
    ) -> Result<ApplicationCredential, AuthError> {
        let _ = id;
        Err(read_only("get_application_credential"))
    }

    /// The application credential with this name owned by `user_id`.
    async fn find_application_credential(
        &self,
        user_id: &str,
        name: &str,
    ) -> Result<ApplicationCredential, AuthError> {
        let _ = (user_id, name);
        Err(read_only("find_application_credential"))
    }

    /// A user's application credentials, by name.
    async fn list_application_credentials(
        &self,
        user_id: &str,
    ) -> Result<Vec<ApplicationCredential>, AuthError> {
        let _ = user_id;
        Err(read_only("list_application_credentials"))
    }

    /// Deletes an application credential.
    async fn delete_application_credential(&self, id: &str) -> Result<(), AuthError> {
        let _ = id;
        Err(read_only("delete_application_credential"))
    }
}

/// The service catalog.
#[async_trait]
pub trait CatalogStore: Send + Sync + std::fmt::Debug {
    /// Adds a service.
    async fn create_service(&self, service: &Service) -> Result<(), AuthError>;

    /// Every service.
    async fn list_services(&self) -> Result<Vec<Service>, AuthError>;

    /// Adds an endpoint.
    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), AuthError>;

    /// Every endpoint.
    async fn list_endpoints(&self) -> Result<Vec<Endpoint>, AuthError>;

    /// The service with this id.
    async fn get_service(&self, id: &str) -> Result<Service, AuthError>;

    /// Replaces a service's type, name, enabled flag and attributes.
    async fn update_service(&self, service: &Service) -> Result<(), AuthError>;

    /// Deletes a service and its endpoints.
    async fn delete_service(&self, id: &str) -> Result<(), AuthError>;

    /// The endpoint with this id.
    async fn get_endpoint(&self, id: &str) -> Result<Endpoint, AuthError>;

    /// Replaces an endpoint's fields. As at creation, its service and its
    /// region (when it names one) must exist: otherwise a `NotFound`
    /// naming `service` or `region`.
    async fn update_endpoint(&self, endpoint: &Endpoint) -> Result<(), AuthError>;

    /// Deletes an endpoint and its project associations.
    async fn delete_endpoint(&self, id: &str) -> Result<(), AuthError>;

    /// Adds a region: a taken id is a `Conflict`, a missing parent a
    /// `NotFound` naming the parent.
    async fn create_region(&self, region: &Region) -> Result<(), AuthError>;

    /// The region with this id.
    async fn get_region(&self, id: &str) -> Result<Region, AuthError>;

    /// Every region.
    async fn list_regions(&self) -> Result<Vec<Region>, AuthError>;

    /// Replaces a region's description, parent and attributes: a missing
    /// parent is a `NotFound`, a parent that would close a cycle a
    /// `BadRequest` (Keystone's circular region hierarchy error).
    async fn update_region(&self, region: &Region) -> Result<(), AuthError>;

    /// Deletes a region and the regions below it, as Keystone does; if any
    /// of them has endpoints, nothing is deleted and the answer is a
    /// `Forbidden`.
    async fn delete_region(&self, id: &str) -> Result<(), AuthError>;

    /// Associates an endpoint with a project (OS-EP-FILTER): a `Conflict`
    /// if it already is, a `NotFound` if either is missing.
    async fn add_project_endpoint(&self, link: &ProjectAssociation) -> Result<(), AuthError>;

    /// Removes an endpoint's association with a project (`NotFound` if
    /// there is none).
    async fn remove_project_endpoint(&self, link: &ProjectAssociation) -> Result<(), AuthError>;

    /// Every endpoint-project association (`id` is the endpoint's).
    async fn list_project_endpoints(&self) -> Result<Vec<ProjectAssociation>, AuthError>;

    /// Adds an endpoint group.
    async fn create_endpoint_group(&self, group: &EndpointGroup) -> Result<(), AuthError>;

    /// The endpoint group with this id.
    async fn get_endpoint_group(&self, id: &str) -> Result<EndpointGroup, AuthError>;

    /// Every endpoint group.
    async fn list_endpoint_groups(&self) -> Result<Vec<EndpointGroup>, AuthError>;

    /// Replaces an endpoint group's name, description and filters.
    async fn update_endpoint_group(&self, group: &EndpointGroup) -> Result<(), AuthError>;

    /// Deletes an endpoint group and its project associations.
    async fn delete_endpoint_group(&self, id: &str) -> Result<(), AuthError>;

    /// Associates an endpoint group with a project: a `Conflict` if it
    /// already is, a `NotFound` if either is missing.
    async fn add_project_endpoint_group(&self, link: &ProjectAssociation) -> Result<(), AuthError>;

    /// Removes an endpoint group's association with a project (`NotFound`
    /// if there is none).
    async fn remove_project_endpoint_group(
        &self,
        link: &ProjectAssociation,
    ) -> Result<(), AuthError>;

    /// Every endpoint-group-project association (`id` is the group's).
    async fn list_project_endpoint_groups(&self) -> Result<Vec<ProjectAssociation>, AuthError>;
}

/// Token revocation events.
#[async_trait]
pub trait RevocationStore: Send + Sync + std::fmt::Debug {
    /// Records an event.
    async fn add_revocation(&self, event: &RevocationEvent) -> Result<(), AuthError>;

    /// Events recorded at or after `since`, oldest first.
    async fn list_revocations(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<RevocationEvent>, AuthError>;

    /// Deletes events recorded before `before`; returns how many.
    async fn prune_revocations(&self, before: DateTime<Utc>) -> Result<u64, AuthError>;

    /// The token revision: a number that moves, in the same transaction,
    /// with every write that can change a token validation's outcome or
    /// body (revocation events; users, projects and domains changed or
    /// deleted; role grants; group membership; the catalog; imaging
    /// settings and share token deletions). A node may serve a cached
    /// validation only while this still equals the value read when the
    /// entry was computed.
    ///
    /// `None` means the store cannot tell, and validations are not cached.
    async fn token_revision(&self) -> Result<Option<i64>, AuthError> {
        Ok(None)
    }

    /// A reader of the same revision that answers in place, on the calling
    /// thread, when the backend can do that in microseconds: an embedded
    /// database file. `None` (the default): only
    /// [`token_revision`](Self::token_revision).
    ///
    /// Why it exists: a node reads the revision once per validation, and
    /// must read it *after* the request arrived, so no cache can stand in
    /// for the read. Awaited, that read is a hop to another thread (each
    /// of sqlx's SQLite connections runs on its own) or a network round
    /// trip, and under load it costs more than the cached validation it
    /// guards. Read in place from a local file it costs about as much as a
    /// hash lookup. A network database has no such reader.
    fn revision_reader(&self) -> Option<Arc<dyn RevisionReader>> {
        None
    }
}

/// Reads the token revision in place; see
/// [`RevocationStore::revision_reader`].
///
/// [`read`](Self::read) runs on an async runtime's worker thread, so it
/// must never wait: not on a lock another process holds, not on the
/// network, not on another thread. Where it would have to, it returns an
/// error instead, and the caller falls back to the awaited
/// [`token_revision`](RevocationStore::token_revision).
pub trait RevisionReader: Send + Sync + std::fmt::Debug {
    /// The revision as a read that starts now sees it: every write that
    /// committed before this call is counted.
    fn read(&self) -> Result<i64, AuthError>;
}

/// Shared key sets (receipt keys, token signing keys), so that nodes on one
/// database agree on them.
#[async_trait]
pub trait KeyStore: Send + Sync + std::fmt::Debug {
    /// The key set for `purpose`, if one was saved.
    async fn load_key_set(&self, purpose: &str) -> Result<Option<StoredKeySet>, AuthError>;

    /// Saves the key set for `purpose` if its stored version is still
    /// `expected_version` (`None`: none stored yet); otherwise
    /// [`AuthError::Conflict`]. Returns the new version.
    async fn save_key_set(
        &self,
        purpose: &str,
        material: &secrecy::SecretString,
        expected_version: Option<i64>,
    ) -> Result<i64, AuthError>;
}

/// The audit log.
#[async_trait]
pub trait AuditStore: Send + Sync + std::fmt::Debug {
    /// Appends rows (their ids are assigned by the store), in one
    /// transaction.
    async fn append_audit(&self, records: &[AuditRecord]) -> Result<(), AuthError>;

    /// Rows matching `query`, newest first.
    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AuthError>;

    /// Deletes rows older than `before`; returns how many.
    async fn prune_audit(&self, before: DateTime<Utc>) -> Result<u64, AuthError>;
}

/// Event-handler bindings.
#[async_trait]
pub trait HandlerStore: Send + Sync + std::fmt::Debug {
    /// Adds a binding.
    async fn create_binding(&self, binding: &HandlerBinding) -> Result<(), AuthError>;

    /// The binding with this id.
    async fn get_binding(&self, id: &str) -> Result<HandlerBinding, AuthError>;

    /// Every binding, by ordering then name.
    async fn list_bindings(&self) -> Result<Vec<HandlerBinding>, AuthError>;

    /// Replaces a binding.
    async fn update_binding(&self, binding: &HandlerBinding) -> Result<(), AuthError>;

    /// Deletes a binding.
    async fn delete_binding(&self, id: &str) -> Result<(), AuthError>;
}

/// Named counters shared by every node: what the `Counter` event handler
/// increases, decreases and resets.
///
/// Every change is one atomic statement, so N concurrent adjustments on
/// any number of nodes add exactly N deltas.
#[async_trait]
pub trait CounterStore: Send + Sync + std::fmt::Debug {
    /// Adds `delta` (negative to decrease) to the counter `name`, creating
    /// it at 0 first if needed, and returns the new value. With a `floor`,
    /// the value never goes below it (a decrease past it stops at it), in
    /// the same atomic step.
    async fn adjust_counter(
        &self,
        name: &str,
        delta: i64,
        floor: Option<i64>,
    ) -> Result<i64, AuthError>;

    /// Sets the counter `name` to 0 (creating it if needed).
    async fn reset_counter(&self, name: &str) -> Result<(), AuthError>;

    /// Every counter, by name.
    async fn list_counters(&self) -> Result<Vec<Counter>, AuthError>;
}

/// Imaging settings (the Orthanc role map) and share tokens: what the
/// Orthanc authorization door keeps, so that every node on one database
/// answers the plugin alike.
///
/// The defaults are those of a store with no imaging data: reads find
/// nothing and writes are refused, so an embedder's own
/// [`Storage`](super::Storage) needs only an empty
/// `impl ImagingStore for … {}`.
#[async_trait]
pub trait ImagingStore: Send + Sync + std::fmt::Debug {
    /// The JSON value saved under `key` (e.g. the role map), if any.
    async fn get_setting(&self, key: &str) -> Result<Option<serde_json::Value>, AuthError> {
        let _ = key;
        Ok(None)
    }

    /// Replaces the value, moving the token revision in the same
    /// transaction: the role map decides what tokens may do, so a node
    /// must not keep answering from what it read before.
    async fn put_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let _ = (key, value, at);
        Err(read_only("put_setting"))
    }

    /// Adds a share token; [`AuthError::Conflict`] on a taken id or digest.
    async fn create_share_token(&self, token: &ShareToken) -> Result<(), AuthError> {
        let _ = token;
        Err(read_only("create_share_token"))
    }

    /// The share token whose token string has this SHA-256 digest;
    /// [`AuthError::NotFound`] when absent. Expired tokens are found too
    /// (until pruned): the caller checks `expires_at`.
    async fn find_share_token(&self, digest: &[u8; 32]) -> Result<ShareToken, AuthError> {
        let _ = digest;
        Err(AuthError::NotFound {
            what: "share token".to_owned(),
        })
    }

    /// The share token with this id; [`AuthError::NotFound`] when absent.
    async fn get_share_token(&self, id: &str) -> Result<ShareToken, AuthError> {
        Err(AuthError::NotFound {
            what: format!("share token: {id}"),
        })
    }

    /// Every share token, oldest first (by creation time, then id).
    async fn list_share_tokens(&self) -> Result<Vec<ShareToken>, AuthError> {
        Ok(Vec::new())
    }

    /// Deletes a share token; [`AuthError::NotFound`] when absent. Moves
    /// the token revision in the same transaction, so no node keeps
    /// honouring it from a cache.
    async fn delete_share_token(&self, id: &str) -> Result<(), AuthError> {
        let _ = id;
        Err(read_only("delete_share_token"))
    }

    /// Deletes the tokens that expired before `before` (never those without
    /// an expiry); returns how many.
    async fn prune_share_tokens(&self, before: DateTime<Utc>) -> Result<u64, AuthError> {
        let _ = before;
        Ok(0)
    }
}

/// Trusts (Keystone's OS-TRUST) and their delegated roles. Deleting a
/// trust, or its trustor, trustee or project, deletes it and every trust
/// redelegated from it, and moves the token revision (its tokens stop
/// validating); creating one or using it up changes no token.
#[async_trait]
pub trait TrustStore: Send + Sync + std::fmt::Debug {
    /// Adds a trust with its roles, in one transaction:
    /// [`AuthError::Conflict`] for a duplicate (same trustor, trustee,
    /// project, impersonation and expiry), [`AuthError::NotFound`] if a
    /// user, the project or the trust it redelegates is missing.
    async fn create_trust(&self, trust: &Trust) -> Result<(), AuthError> {
        let _ = trust;
        Err(read_only("create_trust"))
    }

    /// The trust with this id, whether expired or used up or not (the
    /// caller, which knows the time, decides).
    async fn get_trust(&self, id: &str) -> Result<Trust, AuthError> {
        Err(AuthError::NotFound {
            what: format!("trust: {id}"),
        })
    }

    /// Every trust, or those of one trustor and/or one trustee, by id.
    async fn list_trusts(
        &self,
        trustor_user_id: Option<&str>,
        trustee_user_id: Option<&str>,
    ) -> Result<Vec<Trust>, AuthError> {
        let _ = (trustor_user_id, trustee_user_id);
        Ok(Vec::new())
    }

    /// Deletes the trust and every trust redelegated from it, moving the
    /// token revision; [`AuthError::NotFound`] if there is none.
    async fn delete_trust(&self, id: &str) -> Result<(), AuthError> {
        let _ = id;
        Err(read_only("delete_trust"))
    }

    /// Takes one use of the trust, atomically across nodes: nothing for a
    /// trust without a limit, [`AuthError::NotFound`] if it is missing or
    /// has no use left.
    async fn consume_trust_use(&self, id: &str) -> Result<(), AuthError> {
        let _ = id;
        Err(read_only("consume_trust_use"))
    }
}

/// OAuth1 (`OS-OAUTH1`) request and access tokens, and the nonces their
/// signed requests used. Secrets are sealed at rest with the credential
/// key set and come back in clear (they key HMAC-SHA1 signatures). Every
/// write that can end tokens (deleting an access token, a consumer's
/// tokens) moves the token revision.
#[async_trait]
pub trait OAuth1Store: Send + Sync + std::fmt::Debug {
    /// Adds a request token; [`AuthError::NotFound`] if its project is gone.
    async fn create_oauth1_request_token(
        &self,
        token: &OAuth1RequestToken,
    ) -> Result<(), AuthError> {
        let _ = token;
        Err(read_only("create_oauth1_request_token"))
    }

    /// The request token with this id.
    async fn get_oauth1_request_token(&self, id: &str) -> Result<OAuth1RequestToken, AuthError> {
        Err(AuthError::NotFound {
            what: format!("request token: {id}"),
        })
    }

    /// Records that `user_id` authorized the request token, delegating
    /// `role_ids`, with the verifier's SHA-256 `verifier_hash`.
    /// [`AuthError::NotFound`] if it is gone, [`AuthError::Conflict`] if
    /// it was already authorized (a verifier is issued once).
    async fn authorize_oauth1_request_token(
        &self,
        id: &str,
        user_id: &str,
        role_ids: &[String],
        verifier_hash: &str,
    ) -> Result<(), AuthError> {
        let _ = (id, user_id, role_ids, verifier_hash);
        Err(read_only("authorize_oauth1_request_token"))
    }

    /// Deletes the request token `request_token_id` and adds `access`, in
    /// one transaction: [`AuthError::NotFound`] if the request token is
    /// already gone, so a request token is exchanged at most once.
    async fn exchange_oauth1_request_token(
        &self,
        request_token_id: &str,
        access: &OAuth1AccessToken,
    ) -> Result<(), AuthError> {
        let _ = (request_token_id, access);
        Err(read_only("exchange_oauth1_request_token"))
    }

    /// The access token with this id.
    async fn get_oauth1_access_token(&self, id: &str) -> Result<OAuth1AccessToken, AuthError> {
        Err(AuthError::NotFound {
            what: format!("access token: {id}"),
        })
    }

    /// The access tokens `user_id` authorized, by id.
    async fn list_oauth1_access_tokens(
        &self,
        user_id: &str,
    ) -> Result<Vec<OAuth1AccessToken>, AuthError> {
        let _ = user_id;
        Ok(Vec::new())
    }

    /// Deletes an access token, moving the token revision.
    async fn delete_oauth1_access_token(&self, id: &str) -> Result<(), AuthError> {
        let _ = id;
        Err(read_only("delete_oauth1_access_token"))
    }

    /// Deletes every request and access token of a consumer (being
    /// deleted), moving the token revision.
    async fn delete_oauth1_consumer_tokens(&self, consumer_id: &str) -> Result<(), AuthError> {
        let _ = consumer_id;
        Err(read_only("delete_oauth1_consumer_tokens"))
    }

    /// Records that `consumer_id` used `nonce` in a signed request
    /// accepted at `now`, kept until `expires_at` (the end of the
    /// timestamp window). Returns `false` if it already did (a replay),
    /// atomically across nodes. Entries expired at `now` are pruned.
    async fn claim_oauth1_nonce(
        &self,
        consumer_id: &str,
        nonce: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, AuthError> {
        let _ = (consumer_id, nonce, expires_at, now);
        Err(read_only("claim_oauth1_nonce"))
    }

    /// A consumer's secret in clear, opened from its document (collection
    /// [`OAUTH1_CONSUMERS`], sealed under
    /// [`OAUTH1_CONSUMER_SECRET_PURPOSE`]). [`AuthError::NotFound`] if
    /// there is no such consumer.
    async fn oauth1_consumer_secret(&self, consumer_id: &str) -> Result<SecretString, AuthError> {
        Err(AuthError::NotFound {
            what: format!("consumer: {consumer_id}"),
        })
    }
}

/// The error of a write the store does not support (a read-only
/// directory an embedder wrote).
fn read_only(operation: &str) -> AuthError {
    AuthError::Forbidden(format!("this store does not support {operation}"))
}

/// JSON documents the server keeps for an API but does not interpret
/// (Keystone's stored policy blobs, domain-specific configuration), by
/// collection and id. Writes do not move the token revision: no document
/// changes a token.
#[async_trait]
pub trait DocumentStore: Send + Sync + std::fmt::Debug {
    /// Creates or replaces the document; whether it was created.
    async fn put_document(
        &self,
        collection: &str,
        id: &str,
        body: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<bool, AuthError> {
        let _ = (collection, id, body, at);
        Err(read_only("put_document"))
    }

    /// The document, if there is one.
    async fn get_document(
        &self,
        collection: &str,
        id: &str,
    ) -> Result<Option<serde_json::Value>, AuthError> {
        let _ = (collection, id);
        Ok(None)
    }

    /// Every document of the collection, by id.
    async fn list_documents(
        &self,
        collection: &str,
    ) -> Result<Vec<(String, serde_json::Value)>, AuthError> {
        let _ = collection;
        Ok(Vec::new())
    }

    /// Deletes the document; whether there was one.
    async fn delete_document(&self, collection: &str, id: &str) -> Result<bool, AuthError> {
        let _ = (collection, id);
        Err(read_only("delete_document"))
    }
}
