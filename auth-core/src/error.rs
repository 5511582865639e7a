//! The one error type of the framework.
//!
//! Every variant stands for exactly one HTTP status, written in its doc comment
//! and returned by [`AuthError::http_status`], so the server maps errors to
//! responses without guessing (the way axum gives every rejection one status).
//!
//! Messages are written for the client. They never contain a secret: no
//! password, passcode, token, receipt, key or seed is ever formatted into one,
//! and credential failures are deliberately vague so that a caller cannot tell
//! an unknown user from a wrong secret.

/// What can go wrong while configuring or running authentication.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// **400 Bad Request.** The request is not valid JSON or does not have the
    /// shape the API requires (wrong types, missing members, too deep).
    #[error("invalid request: {0}")]
    BadRequest(String),

    /// **400 Bad Request.** `identity.methods` names a method for which the
    /// request carries no `identity.<method>` object (Keystone's wording).
    #[error(
        "Expecting to find {method} in identity. The server could not comply with the request since it is either malformed or otherwise incorrect."
    )]
    MissingMethodPayload {
        /// The method whose payload is missing.
        method: String,
    },

    /// **413 Payload Too Large.** The request body is larger than the limit.
    #[error("request body of {size} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The size of the body that was refused.
        size: usize,
        /// The configured limit.
        limit: usize,
    },

    /// **401 Unauthorized.** The request asks for a method this deployment has
    /// not enabled. The enabled ones are listed, as Keystone does.
    #[error("Attempted to authenticate with an unsupported method '{method}'. Supported methods: {}", .enabled.join(", "))]
    MethodNotEnabled {
        /// The method that was asked for.
        method: String,
        /// The enabled methods, sorted.
        enabled: Vec<String>,
    },

    /// **401 Unauthorized.** A credential did not verify: unknown user, wrong
    /// secret, bad signature. One variant for all of these on purpose.
    #[error("{}", AUTHENTICATION_REQUIRED)]
    InvalidCredentials,

    /// **401 Unauthorized.** Too many failed attempts; the account is locked
    /// for a while. Only when `disclosed` does the message say so
    /// (Keystone's, naming the user); otherwise it is
    /// [`AuthError::InvalidCredentials`]'s, so that the answer cannot tell a
    /// locked account from a wrong secret, while [`AuthError::kind`] still
    /// says `account_locked` to events and the audit log.
    #[error("{}", locked_message(.user_id, *.disclosed))]
    AccountLocked {
        /// The locked user.
        user_id: String,
        /// Whether the message says that the account is locked.
        disclosed: bool,
    },

    /// **401 Unauthorized.** The password has expired and must be changed
    /// through the password-change API.
    #[error("The password is expired and needs to be changed.")]
    PasswordExpired,

    /// **401 Unauthorized.** The user, or its domain, is disabled.
    #[error("The account is disabled.")]
    UserDisabled,

    /// **401 Unauthorized.** The request was refused for a stated reason
    /// that reveals nothing secret, e.g. "application credentials cannot
    /// request a scope".
    #[error("The request you have made requires authentication: {0}")]
    Unauthorized(String),

    /// **401 Unauthorized.** Two methods resolved different values for one
    /// identity attribute (user, project or domain).
    #[error(
        "Unable to reconcile identity attribute {attribute}: the authentication methods disagree."
    )]
    IdentityConflict {
        /// `user_id`, `project_id` or `domain_id`.
        attribute: &'static str,
    },

    /// **401 Unauthorized.** Every method ran and none named a user.
    #[error("User not found by auth plugin; authentication failed.")]
    NoUserResolved,

    /// **401 Unauthorized.** The auth receipt is malformed, altered, expired,
    /// sealed with an unknown key, or belongs to another user (Keystone's
    /// `ReceiptNotFound`).
    #[error("The auth receipt is invalid or has expired.")]
    ReceiptInvalid,

    /// **401 Unauthorized.** The user's MFA rules require methods that are not
    /// enabled, so no login can satisfy them. Fails closed; see
    /// [`crate::mfa`].
    #[error("The user's multi-factor rules cannot be satisfied with the enabled methods.")]
    MfaRulesUnsatisfiable,

    /// **403 Forbidden.** The caller is known but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),

    /// **404 Not Found.** The thing named does not exist. `what` names it
    /// without secrets (never a token string).
    #[error("Could not find {what}.")]
    NotFound {
        /// What was looked for, e.g. `user: 5f1c…` or `token`.
        what: String,
    },

    /// **409 Conflict.** A unique constraint would be broken.
    #[error("Conflict occurred attempting to store {what}.")]
    Conflict {
        /// What could not be stored, e.g. `user 'alice' in domain default`.
        what: String,
    },

    /// **500 Internal Server Error.** Two plugins of one kind were registered
    /// under one name. Found at start-up.
    #[error("two {kind} plugins are registered under the name '{name}'")]
    DuplicateRegistration {
        /// The plugin kind (`auth method`, `storage driver`, …).
        kind: &'static str,
        /// The name used twice.
        name: String,
    },

    /// **500 Internal Server Error.** The configuration names a plugin nobody
    /// registered. Found at start-up; the registered names are listed.
    #[error("no {kind} plugin is registered under the name '{name}'; registered: {}", .registered.join(", "))]
    UnknownPlugin {
        /// The plugin kind.
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// Every registered name, sorted.
        registered: Vec<String>,
    },

    /// **500 Internal Server Error.** A plugin's configuration section is
    /// invalid.
    #[error("invalid configuration for {plugin}: {message}")]
    InvalidConfig {
        /// The plugin whose section is invalid.
        plugin: String,
        /// What is wrong with it.
        message: String,
    },

    /// **500 Internal Server Error.** A plugin broke its contract, e.g. it
    /// reported success without naming a user.
    #[error("auth method '{method}' broke its contract: {message}")]
    PluginContract {
        /// The misbehaving method.
        method: String,
        /// What it did wrong.
        message: String,
    },

    /// **502 Bad Gateway.** An event-handler action could not do its work:
    /// something it calls (a webhook target, a mail server, a script, the
    /// database) failed, refused or did not answer in time. Handler modules
    /// return it for such failures; it reaches a client only through a
    /// binding with `abort_on_error`, and then the request was not
    /// completed, as a gateway whose upstream failed. `cause` is a fixed
    /// word (`timeout`, `unreachable`, `rejected`, an [`AuthError::kind`]),
    /// never text that could carry a secret.
    #[error("A required event handler failed ({cause}); the request was not completed.")]
    HandlerFailed {
        /// What went wrong, in one fixed word.
        cause: &'static str,
    },

    /// **503 Service Unavailable.** A store could not be reached or failed.
    /// The message names the operation, never the data.
    #[error("storage unavailable: {0}")]
    StoreUnavailable(String),

    /// **500 Internal Server Error.** Anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AuthError {
    /// The HTTP status this error stands for. The server uses this and
    /// nothing else to choose a response status.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::BadRequest(_) | Self::MissingMethodPayload { .. } => 400,
            Self::PayloadTooLarge { .. } => 413,
            Self::MethodNotEnabled { .. }
            | Self::InvalidCredentials
            | Self::AccountLocked { .. }
            | Self::PasswordExpired
            | Self::UserDisabled
            | Self::Unauthorized(_)
            | Self::IdentityConflict { .. }
            | Self::NoUserResolved
            | Self::ReceiptInvalid
            | Self::MfaRulesUnsatisfiable => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound { .. } => 404,
            Self::Conflict { .. } => 409,
            Self::HandlerFailed { .. } => 502,
            Self::StoreUnavailable(_) => 503,
            Self::DuplicateRegistration { .. }
            | Self::UnknownPlugin { .. }
            | Self::InvalidConfig { .. }
            | Self::PluginContract { .. }
            | Self::Internal(_) => 500,
        }
    }

    /// A stable, machine-readable name for the variant, for events, audit
    /// rows and metrics labels (which must not carry free text).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::MissingMethodPayload { .. } => "missing_method_payload",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::MethodNotEnabled { .. } => "method_not_enabled",
            Self::InvalidCredentials => "invalid_credentials",
            Self::AccountLocked { .. } => "account_locked",
            Self::PasswordExpired => "password_expired",
            Self::UserDisabled => "user_disabled",
            Self::Unauthorized(_) => "unauthorized",
            Self::IdentityConflict { .. } => "identity_conflict",
            Self::NoUserResolved => "no_user_resolved",
            Self::ReceiptInvalid => "receipt_invalid",
            Self::MfaRulesUnsatisfiable => "mfa_rules_unsatisfiable",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::Conflict { .. } => "conflict",
            Self::DuplicateRegistration { .. } => "duplicate_registration",
            Self::UnknownPlugin { .. } => "unknown_plugin",
            Self::InvalidConfig { .. } => "invalid_config",
            Self::PluginContract { .. } => "plugin_contract",
            Self::HandlerFailed { .. } => "handler_failed",
            Self::StoreUnavailable(_) => "store_unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// Shorthand for [`AuthError::BadRequest`].
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// Shorthand for [`AuthError::HandlerFailed`].
    pub fn handler_failed(cause: &'static str) -> Self {
        Self::HandlerFailed { cause }
    }

    /// Shorthand for [`AuthError::InvalidConfig`].
    pub fn invalid_config(plugin: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidConfig {
            plugin: plugin.into(),
            message: message.into(),
        }
    }
}

/// The message of [`AuthError::InvalidCredentials`], which an undisclosed
/// [`AuthError::AccountLocked`] shares.
const AUTHENTICATION_REQUIRED: &str = "The request you have made requires authentication.";

/// [`AuthError::AccountLocked`]'s message: Keystone's when `disclosed`, else
/// a wrong secret's.
fn locked_message(user_id: &str, disclosed: bool) -> String {
    if disclosed {
        format!("The account is locked for user: {user_id}.")
    } else {
        AUTHENTICATION_REQUIRED.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_account_reads_as_a_wrong_secret_unless_disclosed() {
        let hidden = AuthError::AccountLocked {
            user_id: "u1".into(),
            disclosed: false,
        };
        let wrong = AuthError::InvalidCredentials;
        assert_eq!(
            (hidden.http_status(), hidden.to_string()),
            (wrong.http_status(), wrong.to_string())
        );
        assert_eq!(hidden.kind(), "account_locked", "events keep the truth");
        let told = AuthError::AccountLocked {
            user_id: "u1".into(),
            disclosed: true,
        };
        assert_eq!(told.http_status(), 401);
        assert_eq!(told.to_string(), "The account is locked for user: u1.");
    }

    #[test]
    fn every_credential_failure_is_a_401_with_a_vague_message() {
        let e = AuthError::InvalidCredentials;
        assert_eq!(e.http_status(), 401);
        assert!(!e.to_string().to_lowercase().contains("password"));
    }

    #[test]
    fn method_not_enabled_lists_the_enabled_methods() {
        let e = AuthError::MethodNotEnabled {
            method: "totp".into(),
            enabled: vec!["password".into(), "token".into()],
        };
        assert_eq!(e.http_status(), 401);
        assert!(e.to_string().contains("password, token"));
    }

    #[test]
    fn a_failed_handler_is_a_502_naming_only_its_cause() {
        let e = AuthError::handler_failed("timeout");
        assert_eq!(e.http_status(), 502);
        assert_eq!(e.kind(), "handler_failed");
        assert_eq!(
            e.to_string(),
            "A required event handler failed (timeout); the request was not completed."
        );
    }

    #[test]
    fn kinds_are_distinct() {
        let all = [
            AuthError::bad_request("x"),
            AuthError::InvalidCredentials,
            AuthError::ReceiptInvalid,
            AuthError::NoUserResolved,
            AuthError::Internal("x".into()),
            AuthError::handler_failed("timeout"),
        ];
        let mut kinds: Vec<_> = all.iter().map(AuthError::kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), all.len());
    }
}
