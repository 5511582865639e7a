//! Who is calling, as the policy sees it: oslo.context's policy values.

/// The scope of the caller's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerScope {
    /// An unscoped token: no roles.
    Unscoped,
    /// The whole deployment (`system_scope:all`).
    System,
    /// A domain.
    Domain {
        /// The domain's id.
        id: String,
    },
    /// A project.
    Project {
        /// The project's id.
        id: String,
        /// Its domain's id.
        domain_id: String,
    },
}

/// What a policy rule may check about the caller (oslo.policy's
/// "credentials"). Built by a door from a validated token, a session, a
/// share token or a DICOM identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user.
    pub user_id: String,
    /// The user's domain.
    pub user_domain_id: String,
    /// The token's scope.
    pub scope: CallerScope,
    /// Role names on that scope, implied roles included, lowercased (oslo
    /// compares role names without case).
    pub roles: Vec<String>,
    /// The application credential the token came from, if any.
    pub application_credential_id: Option<String>,
}

impl Credentials {
    /// Credentials with `roles` lowercased.
    pub fn new(
        user_id: impl Into<String>,
        user_domain_id: impl Into<String>,
        scope: CallerScope,
        roles: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Self {
        Self {
            user_id: user_id.into(),
            user_domain_id: user_domain_id.into(),
            scope,
            roles: roles
                .into_iter()
                .map(|r| r.as_ref().to_lowercase())
                .collect(),
            application_credential_id: None,
        }
    }

    /// Whether the caller holds `role` (any case).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }

    /// An attribute by oslo.context's name (`user_id`, `user_domain_id`,
    /// `domain_id`, `project_id`, `project_domain_id`, `system_scope`),
    /// as the left side of a rule such as `domain_id:%(target.domain_id)s`
    /// reads it.
    pub fn get(&self, key: &str) -> Option<&str> {
        match (key, &self.scope) {
            ("user_id", _) => Some(&self.user_id),
            ("user_domain_id", _) => Some(&self.user_domain_id),
            ("system_scope", CallerScope::System) => Some("all"),
            ("domain_id", CallerScope::Domain { id }) => Some(id),
            ("project_id", CallerScope::Project { id, .. }) => Some(id),
            ("project_domain_id", CallerScope::Project { domain_id, .. }) => Some(domain_id),
            ("application_credential_id", _) => self.application_credential_id.as_deref(),
            _ => None,
        }
    }
}
