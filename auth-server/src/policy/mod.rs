//! The policy: may this caller do that?
//!
//! Every door asks here, and only here. A door turns its protocol into
//! [`Credentials`] (who is calling: the user, the token's scope, the roles
//! it carries with the roles they imply) and a [`Target`] (what the call
//! acts on, flattened the way Keystone flattens it for oslo.policy:
//! `target.user.domain_id`, `user_id` from the path, …), and asks
//! [`Policy::enforce`] about one action such as `identity:get_user`.
//!
//! This module is the seam the rest of the server is written against.
//! The decision inside [`Policy::enforce`] is, for now, the server's old
//! rule (an `admin` role on any scope allows everything; a few actions also
//! allow the user acting on its own things); it is being replaced by an
//! oslo.policy engine with Keystone 30's default rules, behind the same
//! types.

mod credentials;
mod target;

pub use credentials::{CallerScope, Credentials};
pub use target::Target;

use auth_core::AuthError;

/// The decision for one action: allowed, or refused with Keystone's 403.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    _private: (),
}

impl Policy {
    /// Keystone's default rules.
    pub fn keystone_defaults() -> Self {
        Self::default()
    }

    /// Whether `credentials` may perform `action` (`identity:get_user`) on
    /// `target`.
    pub fn allows(&self, action: &str, credentials: &Credentials, target: &Target) -> bool {
        if credentials.has_role("admin") {
            return true;
        }
        // What any token may read about itself (Keystone's rule for these
        // is the empty one).
        let anyone_actions = [
            "identity:get_auth_projects",
            "identity:get_auth_domains",
            "identity:get_auth_system",
            "identity:get_auth_catalog",
        ];
        if anyone_actions.contains(&action) {
            return true;
        }
        let owner_actions = [
            "identity:get_user",
            "identity:validate_token",
            "identity:check_token",
            "identity:revoke_token",
            "identity:list_credentials",
            "identity:create_credential",
            "identity:get_credential",
            "identity:delete_credential",
            "identity:list_groups_for_user",
            "identity:list_application_credentials",
            "identity:get_application_credential",
            "identity:create_application_credential",
            "identity:delete_application_credential",
        ];
        if !owner_actions.contains(&action) {
            return false;
        }
        let user_id = credentials.user_id.as_str();
        [
            "user_id",
            "target.credential.user_id",
            "target.token.user_id",
        ]
        .iter()
        .any(|key| target.get_str(key) == Some(user_id))
    }

    /// [`Policy::allows`], or Keystone's 403 naming the action.
    pub fn enforce(
        &self,
        action: &str,
        credentials: &Credentials,
        target: &Target,
    ) -> Result<(), AuthError> {
        if self.allows(action, credentials, target) {
            Ok(())
        } else {
            Err(forbidden(action))
        }
    }
}

/// Keystone's 403 for a refused action.
pub fn forbidden(action: &str) -> AuthError {
    AuthError::Forbidden(format!(
        "You are not authorized to perform the requested action: {action}."
    ))
}
