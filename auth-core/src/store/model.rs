//! The records stores keep, Keystone-shaped.
//!
//! Ids are opaque strings chosen by the caller (see [`new_id`]); times are
//! UTC.
//!
//! Every record is built with its constructor (`new`, with the fields it
//! cannot do without) and `with_*` methods for the rest, or from
//! `Default` where every field is optional (filters, [`UserOptions`],
//! [`UserAuthState`]): they are `#[non_exhaustive]`, so that a field added
//! later (Keystone keeps adding them: a project's parent, a role's
//! description, an assignment's inheritance) breaks no plugin and no
//! storage driver. Their fields stay public to read (and to set after
//! construction). Secret material (password hashes, credential blobs, application
//! credential secret hashes) is held in `SecretString`, so it never
//! appears in `Debug` output.

use chrono::{DateTime, Utc};
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A fresh random id: 32 lowercase hex digits, as Keystone's ids.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The id of the domain every deployment has.
pub const DEFAULT_DOMAIN_ID: &str = "default";

/// A domain: the namespace users, groups and projects live in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Domain {
    /// Stable identifier (`default` for the default domain).
    pub id: String,
    /// Unique, human-readable name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// A disabled domain disables everything in it.
    pub enabled: bool,
}

impl Domain {
    /// An enabled domain with no description.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            enabled: true,
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Enables or disables it.
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }
}

/// A project: what most tokens are scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Project {
    /// Stable identifier.
    pub id: String,
    /// Name, unique within the domain.
    pub name: String,
    /// The owning domain.
    pub domain_id: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Whether tokens may be scoped to it.
    pub enabled: bool,
    /// The parent project, in the same domain; `None` for a project at the
    /// top of its domain (whose parent, as Keystone renders it, is the
    /// domain).
    #[serde(default)]
    pub parent_id: Option<String>,
    /// Keystone's project tags, in the order they were set.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Project {
    /// An enabled project of `domain_id` with no description.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        domain_id: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            domain_id: domain_id.into(),
            description: String::new(),
            enabled: true,
            parent_id: None,
            tags: Vec::new(),
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Enables or disables it.
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Makes it a child of `parent_id` (a project of the same domain).
    pub fn with_parent(mut self, parent_id: impl Into<String>) -> Self {
        self.parent_id = Some(parent_id.into());
        self
    }

    /// Sets the tags.
    pub fn with_tags(mut self, tags: Vec<String>) -> Self {
        self.tags = tags;
        self
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// Free-form attributes (Keystone keeps `email` and `description`
    /// here): what notifications address and what event-handler conditions
    /// compare (`user_attribute` on `extra.department`). Stored as one
    /// JSON document; never holds a secret.
    #[serde(default)]
    pub extra: Map<String, Value>,
}

impl User {
    /// An enabled user of `domain_id`, with no default project, default
    /// options and no extra attributes.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        domain_id: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            domain_id: domain_id.into(),
            enabled: true,
            default_project_id: None,
            options: UserOptions::default(),
            extra: Map::new(),
        }
    }

    /// Enables or disables it.
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Sets the default project.
    pub fn with_default_project(mut self, project_id: impl Into<String>) -> Self {
        self.default_project_id = Some(project_id.into());
        self
    }

    /// Sets the options.
    pub fn with_options(mut self, options: UserOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets the extra attributes.
    pub fn with_extra(mut self, extra: Map<String, Value>) -> Self {
        self.extra = extra;
        self
    }
}

/// Keystone's per-user options, with Keystone's names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
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

impl UserOptions {
    /// Sets the MFA rules (lists of method names; a login must use every
    /// method of one of them).
    pub fn with_multi_factor_auth_rules(mut self, rules: Vec<Vec<String>>) -> Self {
        self.multi_factor_auth_rules = rules;
        self
    }
}

/// Which users to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserFilter {
    /// Only users of this domain.
    pub domain_id: Option<String>,
    /// Only users with exactly this name.
    pub name: Option<String>,
}

impl UserFilter {
    /// Only users of `domain_id`.
    pub fn with_domain(mut self, domain_id: impl Into<String>) -> Self {
        self.domain_id = Some(domain_id.into());
        self
    }

    /// Only users named exactly `name`.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// One password of a user: the current one, or one from the history.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PasswordRecord {
    /// A PHC string (`$argon2id$…`, or an imported `$2b$…` bcrypt hash).
    pub hash: SecretString,
    /// When it was set.
    pub created_at: DateTime<Utc>,
    /// When it stops being accepted (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether the user set it themselves (minimum-age rules apply only to
    /// those).
    pub self_service: bool,
}

impl PasswordRecord {
    /// A password set at `created_at` by an administrator, that never
    /// expires.
    pub fn new(hash: SecretString, created_at: DateTime<Utc>) -> Self {
        Self {
            hash,
            created_at,
            expires_at: None,
            self_service: false,
        }
    }

    /// Sets when it stops being accepted.
    pub fn with_expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Marks it as set by the user (or not).
    pub fn with_self_service(mut self, self_service: bool) -> Self {
        self.self_service = self_service;
        self
    }
}

/// A user's authentication bookkeeping, for lockout and inactivity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserAuthState {
    /// Consecutive failed attempts since the last success or reset.
    pub failed_auth_count: u32,
    /// When the last failure happened.
    pub failed_auth_at: Option<DateTime<Utc>>,
    /// When the user last authenticated successfully.
    pub last_active_at: Option<DateTime<Utc>>,
}

impl UserAuthState {
    /// The bookkeeping as a store holds it: consecutive failures, the last
    /// failure and the last success.
    pub fn new(
        failed_auth_count: u32,
        failed_auth_at: Option<DateTime<Utc>>,
        last_active_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            failed_auth_count,
            failed_auth_at,
            last_active_at,
        }
    }

    /// Sets `count` consecutive failures, the last at `at`.
    pub fn with_failures(mut self, count: u32, at: DateTime<Utc>) -> Self {
        self.failed_auth_count = count;
        self.failed_auth_at = Some(at);
        self
    }

    /// Sets the last successful authentication.
    pub fn with_last_active_at(mut self, at: DateTime<Utc>) -> Self {
        self.last_active_at = Some(at);
        self
    }
}

/// A group of users, for role assignments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Group {
    /// Stable identifier.
    pub id: String,
    /// Name, unique within the domain.
    pub name: String,
    /// The owning domain.
    pub domain_id: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
}

impl Group {
    /// A group of `domain_id` with no description.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        domain_id: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            domain_id: domain_id.into(),
            description: String::new(),
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }
}

/// Which groups to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupFilter {
    /// Only groups of this domain.
    pub domain_id: Option<String>,
    /// Only groups with exactly this name.
    pub name: Option<String>,
}

impl GroupFilter {
    /// Only groups of `domain_id`.
    pub fn with_domain(mut self, domain_id: impl Into<String>) -> Self {
        self.domain_id = Some(domain_id.into());
        self
    }

    /// Only groups named exactly `name`.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// A role, global (`domain_id: None`) or domain-specific.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Role {
    /// Stable identifier.
    pub id: String,
    /// Name, unique among global roles or within the domain.
    pub name: String,
    /// The owning domain, for domain-specific roles.
    pub domain_id: Option<String>,
}

impl Role {
    /// A global role.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            domain_id: None,
        }
    }

    /// Makes it specific to `domain_id`.
    pub fn with_domain(mut self, domain_id: impl Into<String>) -> Self {
        self.domain_id = Some(domain_id.into());
        self
    }
}

/// A role inference rule, Keystone's `implied_role` row: whoever holds
/// `prior` on a scope also holds `implied` there. Both roles come whole
/// (name and domain too), because everything that reads a rule needs them:
/// tokens list implied roles by name, and the API renders both names.
///
/// `#[non_exhaustive]`, so a field can be added without breaking a store
/// written outside this crate; build one with [`ImpliedRole::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImpliedRole {
    /// The role that implies.
    pub prior: Role,
    /// The role implied.
    pub implied: Role,
}

impl ImpliedRole {
    /// The rule "`prior` implies `implied`".
    pub fn new(prior: Role, implied: Role) -> Self {
        Self { prior, implied }
    }
}

/// Who holds a role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Actor {
    /// A user.
    User(String),
    /// Every member of a group.
    Group(String),
}

/// Where a role is held.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Target {
    /// On a project.
    Project(String),
    /// On a domain.
    Domain(String),
    /// On the whole deployment (`system: all`).
    System,
}

/// A role assignment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Assignment {
    /// The role.
    pub role_id: String,
    /// Who holds it.
    pub actor: Actor,
    /// Where.
    pub target: Target,
    /// Keystone's OS-INHERIT: the role is held not on `target` but on every
    /// project below it (every project of a domain, every project of a
    /// project's subtree). A direct and an inherited grant of the same role
    /// on the same target are two assignments. Never on the system.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inherited: bool,
}

impl Assignment {
    /// `actor` holds `role_id` on `target`.
    pub fn new(role_id: impl Into<String>, actor: Actor, target: Target) -> Self {
        Self {
            role_id: role_id.into(),
            actor,
            target,
            inherited: false,
        }
    }

    /// `actor` holds `role_id` on every project below `target`
    /// (OS-INHERIT's `inherited_to_projects`).
    pub fn inherited(role_id: impl Into<String>, actor: Actor, target: Target) -> Self {
        Self {
            inherited: true,
            ..Self::new(role_id, actor, target)
        }
    }
}

/// Which assignments to list (every given field must match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssignmentFilter {
    /// Only this role.
    pub role_id: Option<String>,
    /// Only this actor.
    pub actor: Option<Actor>,
    /// Only this target.
    pub target: Option<Target>,
    /// Only inherited assignments (`Some(true)`), only direct ones
    /// (`Some(false)`), or both (`None`, Keystone's default).
    pub inherited: Option<bool>,
}

impl AssignmentFilter {
    /// Only assignments of `role_id`.
    pub fn with_role(mut self, role_id: impl Into<String>) -> Self {
        self.role_id = Some(role_id.into());
        self
    }

    /// Only assignments held by `actor`.
    pub fn with_actor(mut self, actor: Actor) -> Self {
        self.actor = Some(actor);
        self
    }

    /// Only assignments on `target`.
    pub fn with_target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    /// Only inherited assignments (`true`) or only direct ones (`false`).
    pub fn with_inherited(mut self, inherited: bool) -> Self {
        self.inherited = Some(inherited);
        self
    }
}

/// A stored credential: a TOTP seed, a public key, …
///
/// The blob is encrypted at rest by the store and decrypted on read; it is a
/// [`SecretString`] so it never appears in `Debug` output.
#[derive(Debug, Clone)]
#[non_exhaustive]
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

impl Credential {
    /// A credential of type `kind` owned by `user_id`, tied to no project.
    pub fn new(
        id: impl Into<String>,
        user_id: impl Into<String>,
        kind: impl Into<String>,
        blob: SecretString,
    ) -> Self {
        Self {
            id: id.into(),
            user_id: user_id.into(),
            kind: kind.into(),
            project_id: None,
            blob,
        }
    }

    /// Ties it to a project.
    pub fn with_project(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }
}

/// A trust (Keystone's OS-TRUST): a trustor delegating some of their
/// roles on a project to a trustee, who gets trust-scoped tokens carrying
/// those roles (while the trustor still holds them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Trust {
    /// Stable identifier.
    pub id: String,
    /// Who delegates.
    pub trustor_user_id: String,
    /// Who may use it.
    pub trustee_user_id: String,
    /// The project the roles are delegated on (`None`: none, and so no
    /// role, as Keystone allows).
    pub project_id: Option<String>,
    /// Whether its tokens show the trustor as their user.
    pub impersonation: bool,
    /// When it stops working (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// How many more tokens it may give (`None`: no limit).
    pub remaining_uses: Option<i64>,
    /// The trust this one was redelegated from.
    pub redelegated_trust_id: Option<String>,
    /// How many more times it may be redelegated (0: never).
    pub redelegation_count: i64,
    /// The delegated roles' ids, in the order given.
    pub role_ids: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl Trust {
    /// A trust `id` from `trustor_user_id` to `trustee_user_id`, created at
    /// `created_at`, on no project, without impersonation, expiry, limit of
    /// uses, redelegation or role yet.
    pub fn new(
        id: impl Into<String>,
        trustor_user_id: impl Into<String>,
        trustee_user_id: impl Into<String>,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: id.into(),
            trustor_user_id: trustor_user_id.into(),
            trustee_user_id: trustee_user_id.into(),
            project_id: None,
            impersonation: false,
            expires_at: None,
            remaining_uses: None,
            redelegated_trust_id: None,
            redelegation_count: 0,
            role_ids: Vec::new(),
            created_at,
        }
    }

    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|end| now >= end)
    }

    /// Whether it may give no more token.
    pub fn is_exhausted(&self) -> bool {
        self.remaining_uses.is_some_and(|uses| uses <= 0)
    }
}

/// A role as an application credential carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleRef {
    /// The role id.
    pub id: String,
    /// The role name.
    pub name: String,
}

impl RoleRef {
    /// The role `id`, named `name`.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
        }
    }
}

/// An access rule of a restricted application credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessRule {
    /// Stable identifier.
    pub id: String,
    /// The service type, e.g. `compute`.
    pub service: String,
    /// A path pattern, e.g. `/v2.1/servers`.
    pub path: String,
    /// An HTTP method, e.g. `GET`.
    pub method: String,
}

impl AccessRule {
    /// Allows `method` on `path` of the `service` type.
    pub fn new(
        id: impl Into<String>,
        service: impl Into<String>,
        path: impl Into<String>,
        method: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            service: service.into(),
            path: path.into(),
            method: method.into(),
        }
    }
}

/// An application credential: a secret a user delegates to a program,
/// bound to one project and a subset of the user's roles there.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApplicationCredential {
    /// Stable identifier.
    pub id: String,
    /// Name, unique per owner.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The owner.
    pub user_id: String,
    /// The project every token from it is scoped to; `None` for one made
    /// with an unscoped token (Keystone allows it), whose tokens are
    /// unscoped.
    pub project_id: Option<String>,
    /// The secret's PHC hash.
    pub secret_hash: SecretString,
    /// When it stops working (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// The roles delegated (a subset of the owner's on the project).
    pub roles: Vec<RoleRef>,
    /// Whether it may create other application credentials and trusts.
    pub unrestricted: bool,
    /// Optional rules restricting what tokens from it may call.
    pub access_rules: Vec<AccessRule>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl ApplicationCredential {
    /// A restricted credential of `user_id` on `project_id`, created at
    /// `created_at`, that never expires and delegates no role and no access
    /// rule yet.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        user_id: impl Into<String>,
        project_id: impl Into<String>,
        secret_hash: SecretString,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            user_id: user_id.into(),
            project_id: Some(project_id.into()),
            secret_hash,
            expires_at: None,
            roles: Vec::new(),
            unrestricted: false,
            access_rules: Vec::new(),
            created_at,
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Binds it to no project: its tokens are unscoped.
    pub fn without_project(mut self) -> Self {
        self.project_id = None;
        self
    }

    /// Sets when it stops working.
    pub fn with_expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Sets the delegated roles.
    pub fn with_roles(mut self, roles: Vec<RoleRef>) -> Self {
        self.roles = roles;
        self
    }

    /// Lets it (or not) create other application credentials and trusts.
    pub fn with_unrestricted(mut self, unrestricted: bool) -> Self {
        self.unrestricted = unrestricted;
        self
    }

    /// Sets the access rules.
    pub fn with_access_rules(mut self, rules: Vec<AccessRule>) -> Self {
        self.access_rules = rules;
        self
    }
}

/// A service in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Service {
    /// Stable identifier.
    pub id: String,
    /// The service type, e.g. `identity`.
    pub kind: String,
    /// The service name, e.g. `keystone`.
    pub name: String,
    /// Whether it is listed in catalogs.
    pub enabled: bool,
    /// Keystone's free-form attributes (`description`, anything a client
    /// sent), shown with the service.
    #[serde(default)]
    pub extra: Map<String, Value>,
}

impl Service {
    /// An enabled service of type `kind`.
    pub fn new(id: impl Into<String>, kind: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind: kind.into(),
            name: name.into(),
            enabled: true,
            extra: Map::new(),
        }
    }

    /// Sets the free-form attributes.
    pub fn with_extra(mut self, extra: Map<String, Value>) -> Self {
        self.extra = extra;
        self
    }

    /// Enables or disables it.
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }
}

/// An endpoint of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Endpoint {
    /// Stable identifier.
    pub id: String,
    /// The service it belongs to.
    pub service_id: String,
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// The region, e.g. `RegionOne`.
    pub region: Option<String>,
    /// The URL.
    pub url: String,
    /// Whether it is listed in catalogs.
    pub enabled: bool,
    /// Keystone's free-form attributes, shown with the endpoint.
    #[serde(default)]
    pub extra: Map<String, Value>,
}

impl Endpoint {
    /// An enabled endpoint of `service_id` in no region.
    pub fn new(
        id: impl Into<String>,
        service_id: impl Into<String>,
        interface: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            service_id: service_id.into(),
            interface: interface.into(),
            region: None,
            url: url.into(),
            enabled: true,
            extra: Map::new(),
        }
    }

    /// Sets the free-form attributes.
    pub fn with_extra(mut self, extra: Map<String, Value>) -> Self {
        self.extra = extra;
        self
    }

    /// Sets the region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Enables or disables it.
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }
}

/// A catalog region, possibly inside a parent region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Region {
    /// Chosen by the caller, or generated.
    pub id: String,
    /// Free text (empty when not given, as Keystone stores it).
    pub description: String,
    /// The region it is in.
    pub parent_region_id: Option<String>,
    /// Keystone's free-form attributes.
    #[serde(default)]
    pub extra: Map<String, Value>,
}

impl Region {
    /// A top-level region without a description.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            description: String::new(),
            parent_region_id: None,
            extra: Map::new(),
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the parent region.
    pub fn with_parent(mut self, parent_region_id: Option<String>) -> Self {
        self.parent_region_id = parent_region_id;
        self
    }

    /// Sets the free-form attributes.
    pub fn with_extra(mut self, extra: Map<String, Value>) -> Self {
        self.extra = extra;
        self
    }
}

/// Checks that `region_id` may have `parent` as its parent among
/// `regions`: the parent exists (a `NotFound` naming it otherwise) and is
/// not the region itself or below it (Keystone's circular region
/// hierarchy error, a `BadRequest`).
pub fn check_region_parent(
    regions: &[Region],
    region_id: &str,
    parent: &str,
) -> Result<(), crate::AuthError> {
    let circular = || {
        crate::AuthError::bad_request(format!(
            "The specified parent region {parent} would create a circular region hierarchy."
        ))
    };
    let mut next = Some(parent.to_owned());
    let mut steps = 0;
    while let Some(id) = next {
        if id == region_id || steps > regions.len() {
            return Err(circular());
        }
        let Some(found) = regions.iter().find(|r| r.id == id) else {
            return Err(crate::AuthError::NotFound {
                what: format!("region: {id}"),
            });
        };
        next = found.parent_region_id.clone();
        steps += 1;
    }
    Ok(())
}

/// `region_id` and every region below it among `regions`, parents first.
pub fn region_subtree(regions: &[Region], region_id: &str) -> Vec<String> {
    let mut subtree = vec![region_id.to_owned()];
    let mut at = 0;
    while let Some(id) = subtree.get(at).cloned() {
        for child in regions
            .iter()
            .filter(|r| r.parent_region_id.as_deref() == Some(id.as_str()))
        {
            if !subtree.contains(&child.id) {
                subtree.push(child.id.clone());
            }
        }
        at += 1;
    }
    subtree
}

/// An OS-EP-FILTER endpoint group: the endpoints whose attributes equal
/// every one of its filters (`service_id`, `region_id`, `interface`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EndpointGroup {
    /// Stable identifier.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Attribute name to the value an endpoint must have.
    pub filters: Map<String, Value>,
}

impl EndpointGroup {
    /// A group without a description.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        filters: Map<String, Value>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            description: None,
            filters,
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: Option<String>) -> Self {
        self.description = description;
        self
    }

    /// Whether `endpoint` is in the group (Keystone compares each filter
    /// with the endpoint's attribute of that name).
    pub fn matches(&self, endpoint: &Endpoint) -> bool {
        self.filters.iter().all(|(key, value)| {
            let actual = match key.as_str() {
                "service_id" => Value::from(endpoint.service_id.as_str()),
                "interface" => Value::from(endpoint.interface.as_str()),
                "region_id" => endpoint.region.as_deref().map_or(Value::Null, Value::from),
                "enabled" => Value::from(endpoint.enabled),
                _ => return false,
            };
            &actual == value
        })
    }
}

/// What OS-EP-FILTER associates with a project: an endpoint, or an
/// endpoint group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProjectAssociation {
    /// The endpoint's or the group's id.
    pub id: String,
    /// The project.
    pub project_id: String,
}

impl ProjectAssociation {
    /// `id` (an endpoint or an endpoint group) with `project_id`.
    pub fn new(id: impl Into<String>, project_id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            project_id: project_id.into(),
        }
    }
}

/// A revocation event: tokens matching every given field and issued
/// before `issued_before` are invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RevocationEvent {
    /// Tokens with this audit id (one token).
    pub audit_id: Option<String>,
    /// Tokens in this audit chain (a token and its rescopes).
    pub audit_chain_id: Option<String>,
    /// Tokens of this user.
    pub user_id: Option<String>,
    /// Tokens scoped to this project.
    pub project_id: Option<String>,
    /// Tokens scoped to this domain.
    pub domain_id: Option<String>,
    /// Tokens carrying this role.
    pub role_id: Option<String>,
    /// Tokens issued before this instant.
    pub issued_before: DateTime<Utc>,
    /// When the event was recorded (events are pruned after the longest
    /// token lifetime).
    pub revoked_at: DateTime<Utc>,
}

impl RevocationEvent {
    /// An event recorded at `now` revoking every token issued before it
    /// that matches the fields the caller then sets, e.g.
    /// `RevocationEvent::at(now).with_user(id)`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            audit_id: None,
            audit_chain_id: None,
            user_id: None,
            project_id: None,
            domain_id: None,
            role_id: None,
            issued_before: now,
            revoked_at: now,
        }
    }

    /// Only the token with this audit id.
    pub fn with_audit_id(mut self, audit_id: impl Into<String>) -> Self {
        self.audit_id = Some(audit_id.into());
        self
    }

    /// Only tokens of this audit chain (a token and its rescopes).
    pub fn with_audit_chain_id(mut self, audit_chain_id: impl Into<String>) -> Self {
        self.audit_chain_id = Some(audit_chain_id.into());
        self
    }

    /// Only tokens of this user.
    pub fn with_user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Only tokens scoped to this project.
    pub fn with_project(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }

    /// Only tokens scoped to this domain.
    pub fn with_domain(mut self, domain_id: impl Into<String>) -> Self {
        self.domain_id = Some(domain_id.into());
        self
    }

    /// Only tokens carrying this role.
    pub fn with_role(mut self, role_id: impl Into<String>) -> Self {
        self.role_id = Some(role_id.into());
        self
    }

    /// Revokes tokens issued before `at` instead of before the event.
    pub fn with_issued_before(mut self, at: DateTime<Utc>) -> Self {
        self.issued_before = at;
        self
    }
}

/// A key set as stored: its exported form (JSON) and a version for
/// optimistic concurrency, so two nodes rotating at once cannot both win.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoredKeySet {
    /// The exported key set, JSON.
    pub material: SecretString,
    /// Incremented by every save.
    pub version: i64,
}

impl StoredKeySet {
    /// `material` as saved at `version`.
    pub fn new(material: SecretString, version: i64) -> Self {
        Self { material, version }
    }
}

/// A named counter shared by every node on one database, e.g. the
/// number of failed logins an event-handler binding counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Counter {
    /// Unique name.
    pub name: String,
    /// Current value.
    pub value: i64,
}

impl Counter {
    /// The counter `name` at `value`.
    pub fn new(name: impl Into<String>, value: i64) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }
}

/// Whether an audit row records an API call or a handler run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// One API call.
    Call,
    /// One event-handler action run because of a call.
    Handler,
}

/// One audit log row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditRecord {
    /// Assigned by the store, increasing.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Call or handler run.
    pub kind: AuditKind,
    /// The event name (`auth.tokens.create`), or for handler rows the
    /// event, binding and action (`POST-EVENT auth.tokens.create>>WebHook:post`).
    pub event: String,
    /// Whether it succeeded.
    pub success: bool,
    /// How long it took, in microseconds.
    pub duration_us: Option<i64>,
    /// The client address.
    pub client_addr: Option<String>,
    /// The user, if known.
    pub user_id: Option<String>,
    /// The project, if known.
    pub project_id: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// Redacted details (error kind, binding name, …).
    pub detail: Value,
}

impl AuditRecord {
    /// A row about `event` at `at`, with no duration, client, user,
    /// project or request id and an empty detail; the store assigns its
    /// id when it is appended.
    pub fn new(
        at: DateTime<Utc>,
        kind: AuditKind,
        event: impl Into<String>,
        success: bool,
    ) -> Self {
        Self {
            id: 0,
            at,
            kind,
            event: event.into(),
            success,
            duration_us: None,
            client_addr: None,
            user_id: None,
            project_id: None,
            request_id: None,
            detail: Value::Object(Map::new()),
        }
    }

    /// Sets the id (stores, reading rows back).
    pub fn with_id(mut self, id: i64) -> Self {
        self.id = id;
        self
    }

    /// Sets how long it took, in microseconds.
    pub fn with_duration_us(mut self, duration_us: i64) -> Self {
        self.duration_us = Some(duration_us);
        self
    }

    /// Sets the client address.
    pub fn with_client_addr(mut self, addr: impl Into<String>) -> Self {
        self.client_addr = Some(addr.into());
        self
    }

    /// Sets the user.
    pub fn with_user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets the project.
    pub fn with_project(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }

    /// Sets the request id.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Sets the (already redacted) detail.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

/// Which audit rows to read; rows come newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditQuery {
    /// Rows at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Rows before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only this user.
    pub user_id: Option<String>,
    /// Only this event name.
    pub event: Option<String>,
    /// Only successes (`true`) or failures (`false`).
    pub success: Option<bool>,
    /// Rows with an id below this (the previous page's last id).
    pub before_id: Option<i64>,
    /// At most this many rows.
    pub limit: u32,
}

impl AuditQuery {
    /// The newest `limit` rows, whatever they are.
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// Only rows at or after `at`.
    pub fn with_since(mut self, at: DateTime<Utc>) -> Self {
        self.since = Some(at);
        self
    }

    /// Only rows before `at`.
    pub fn with_until(mut self, at: DateTime<Utc>) -> Self {
        self.until = Some(at);
        self
    }

    /// Only rows of `user_id`.
    pub fn with_user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Only rows of the event named `event`.
    pub fn with_event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// Only successes (`true`) or failures (`false`).
    pub fn with_success(mut self, success: bool) -> Self {
        self.success = Some(success);
        self
    }

    /// Only rows with an id below `id` (the previous page's last).
    pub fn with_before_id(mut self, id: i64) -> Self {
        self.before_id = Some(id);
        self
    }
}

/// When a handler binding runs relative to the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandlerPosition {
    /// Before the call.
    Pre,
    /// After the call, with the response available.
    Post,
}

/// An event-handler binding: run `module:action` with `options` on
/// `events` when every condition holds. Its `Debug` leaves the options out:
/// they may hold a webhook token or a password.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HandlerBinding {
    /// Stable identifier.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Event names, or `["*"]`.
    pub events: Vec<String>,
    /// The handler module.
    pub module: String,
    /// The module's action.
    pub action: String,
    /// The action's options.
    pub options: Value,
    /// The conditions, all of which must hold.
    pub conditions: Value,
    /// Pre or post.
    pub position: HandlerPosition,
    /// Ascending order of execution.
    pub ordering: i32,
    /// Whether it runs at all.
    pub active: bool,
    /// Whether its failure fails the call.
    pub abort_on_error: bool,
}

impl HandlerBinding {
    /// An active post binding of `module:action` to `events`, with no
    /// options and no conditions, at ordering 0, whose failure does not
    /// fail the call.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        events: Vec<String>,
        module: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            events,
            module: module.into(),
            action: action.into(),
            options: Value::Object(Map::new()),
            conditions: Value::Object(Map::new()),
            position: HandlerPosition::Post,
            ordering: 0,
            active: true,
            abort_on_error: false,
        }
    }

    /// Sets the action's options.
    pub fn with_options(mut self, options: Value) -> Self {
        self.options = options;
        self
    }

    /// Sets the conditions.
    pub fn with_conditions(mut self, conditions: Value) -> Self {
        self.conditions = conditions;
        self
    }

    /// Runs it before or after the call.
    pub fn with_position(mut self, position: HandlerPosition) -> Self {
        self.position = position;
        self
    }

    /// Sets its place in the order of execution.
    pub fn with_ordering(mut self, ordering: i32) -> Self {
        self.ordering = ordering;
        self
    }

    /// Activates or deactivates it.
    pub fn with_active(mut self, active: bool) -> Self {
        self.active = active;
        self
    }

    /// Makes its failure fail the call (or not).
    pub fn with_abort_on_error(mut self, abort_on_error: bool) -> Self {
        self.abort_on_error = abort_on_error;
        self
    }
}

impl std::fmt::Debug for HandlerBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerBinding")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("events", &self.events)
            .field("module", &self.module)
            .field("action", &self.action)
            .field("conditions", &self.conditions)
            .field("position", &self.position)
            .field("ordering", &self.ordering)
            .field("active", &self.active)
            .field("abort_on_error", &self.abort_on_error)
            .finish_non_exhaustive()
    }
}

/// A share token of the imaging door: a link that lets whoever holds it
/// view the resources it names, as Orthanc's authorization plugin asks.
///
/// The store keeps only the SHA-256 digest of the token string (which
/// starts `shr_`), so a database dump grants nothing; the string is shown
/// once, when the token is created. Its `Debug` shows the digest's first
/// 8 hex digits only: enough to tell tokens apart in a log, too little to
/// look one up.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShareToken {
    /// Stable identifier (what the admin routes name it by).
    pub id: String,
    /// The SHA-256 digest of the token string; unique.
    pub digest: [u8; 32],
    /// The kind the plugin asked for (`PUT tokens/{type}`), e.g.
    /// `ohif-viewer-publication`.
    pub token_type: String,
    /// The resources it grants, in the plugin's shape (a JSON list of
    /// `{level, orthanc-id, dicom-uid, url}`).
    pub resources: Value,
    /// The Orthanc server it was created for, if the plugin said.
    pub server_id: Option<String>,
    /// The user (or service) that created it.
    pub created_by: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
}

impl ShareToken {
    /// A token of `token_type` for `resources`, created at `created_at`,
    /// with no server, no creator and no expiry.
    pub fn new(
        id: impl Into<String>,
        digest: [u8; 32],
        token_type: impl Into<String>,
        resources: Value,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: id.into(),
            digest,
            token_type: token_type.into(),
            resources,
            server_id: None,
            created_by: None,
            created_at,
            expires_at: None,
        }
    }

    /// Sets the Orthanc server it was created for.
    pub fn with_server_id(mut self, server_id: impl Into<String>) -> Self {
        self.server_id = Some(server_id.into());
        self
    }

    /// Sets who created it.
    pub fn with_created_by(mut self, created_by: impl Into<String>) -> Self {
        self.created_by = Some(created_by.into());
        self
    }

    /// Sets when it stops working.
    pub fn with_expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }
}

impl std::fmt::Debug for ShareToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prefix: String = self.digest[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        f.debug_struct("ShareToken")
            .field("id", &self.id)
            .field("digest", &format_args!("{prefix}…"))
            .field("token_type", &self.token_type)
            .field("resources", &self.resources)
            .field("server_id", &self.server_id)
            .field("created_by", &self.created_by)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bindings_debug_output_leaves_its_options_out() {
        let binding = HandlerBinding {
            id: "b1".into(),
            name: "hook".into(),
            events: vec!["*".into()],
            module: "WebHook".into(),
            action: "post".into(),
            options: serde_json::json!({"bearer_token": "hook-secret"}),
            conditions: serde_json::json!({"result": "failure"}),
            position: HandlerPosition::Post,
            ordering: 0,
            active: true,
            abort_on_error: false,
        };
        let shown = format!("{binding:?}");
        assert!(shown.contains("WebHook") && shown.contains("failure"));
        assert!(!shown.contains("hook-secret"));
    }

    #[test]
    fn a_share_tokens_debug_output_shows_only_a_digest_prefix() {
        let digest: [u8; 32] = std::array::from_fn(|i| 0xa0 + i as u8);
        let full: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let token = ShareToken::new(
            "t1",
            digest,
            "viewer",
            serde_json::json!([{"level": "study", "dicom-uid": "1.2.3"}]),
            DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        );
        let shown = format!("{token:?}");
        assert!(
            shown.contains("a0a1a2a3…") && shown.contains("1.2.3"),
            "{shown}"
        );
        assert!(!shown.contains(&full[..10]), "{shown}");
    }
}

/// The collection of the server's document store that holds OAuth1
/// consumers (`/v3/OS-OAUTH1/consumers`), by id.
pub const OAUTH1_CONSUMERS: &str = "oauth1_consumer";

/// What a consumer's secret is sealed for (with the credential key set, in
/// its document's `secret_sealed`): a sealed secret opens for this purpose
/// only. The server seals it; the store opens it
/// ([`OAuth1Store::oauth1_consumer_secret`](crate::store::OAuth1Store::oauth1_consumer_secret)).
pub const OAUTH1_CONSUMER_SECRET_PURPOSE: &[u8] = b"oauth1-consumer-secret";

/// An OAuth1 request token (RFC 5849 temporary credentials): a consumer
/// asked to act on a project, and, once a user authorized it, the roles
/// that user delegates and the verifier the consumer must show to exchange
/// it for an access token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OAuth1RequestToken {
    /// Stable identifier (the `oauth_token`).
    pub id: String,
    /// The token secret, in clear here; sealed at rest (it keys HMAC-SHA1
    /// signatures, so it cannot be hashed).
    pub secret: SecretString,
    /// The consumer that asked for it.
    pub consumer_id: String,
    /// The project the consumer asked for (`Requested-Project-Id`).
    pub project_id: String,
    /// When it stops working (`None`: never, `request_token_duration = 0`).
    pub expires_at: Option<DateTime<Utc>>,
    /// The user who authorized it, once one did.
    pub authorizing_user_id: Option<String>,
    /// The role ids that user delegated.
    pub role_ids: Vec<String>,
    /// The SHA-256 (hex) of the verifier, once authorized: the verifier
    /// itself is shown once, to the authorizing user.
    pub verifier_hash: Option<String>,
}

impl OAuth1RequestToken {
    /// A request token not yet authorized.
    pub fn new(
        id: impl Into<String>,
        secret: SecretString,
        consumer_id: impl Into<String>,
        project_id: impl Into<String>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            id: id.into(),
            secret,
            consumer_id: consumer_id.into(),
            project_id: project_id.into(),
            expires_at,
            authorizing_user_id: None,
            role_ids: Vec::new(),
            verifier_hash: None,
        }
    }
}

/// An OAuth1 access token (RFC 5849 token credentials): what a consumer
/// signs its logins with, delegating `role_ids` of the authorizing user on
/// one project.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OAuth1AccessToken {
    /// Stable identifier (the `oauth_token`).
    pub id: String,
    /// The token secret, in clear here; sealed at rest.
    pub secret: SecretString,
    /// The consumer it was issued to.
    pub consumer_id: String,
    /// The user who delegated.
    pub authorizing_user_id: String,
    /// The project every token from it is scoped to.
    pub project_id: String,
    /// The role ids delegated.
    pub role_ids: Vec<String>,
    /// When it stops working (`None`: never, `access_token_duration = 0`).
    pub expires_at: Option<DateTime<Utc>>,
}

impl OAuth1AccessToken {
    /// An access token from an authorized request token.
    pub fn new(
        id: impl Into<String>,
        secret: SecretString,
        consumer_id: impl Into<String>,
        authorizing_user_id: impl Into<String>,
        project_id: impl Into<String>,
        role_ids: Vec<String>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            id: id.into(),
            secret,
            consumer_id: consumer_id.into(),
            authorizing_user_id: authorizing_user_id.into(),
            project_id: project_id.into(),
            role_ids,
            expires_at,
        }
    }
}
