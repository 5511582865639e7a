//! Application credentials: a user delegating a secret to a program,
//! bound to one project and a subset of the user's roles there.
//!
//! Deleting one moves the token revision (the store's delete does, in the
//! same transaction), so no node serves a cached validation of its tokens
//! computed before the delete.

use auth_core::AuthError;
use auth_core::store::{AccessRule, ApplicationCredential, Role, RoleRef, new_id};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::SecretString;

use super::{Context, note_project};

/// A role asked for by id or by name.
#[derive(Debug, Clone, Default)]
pub struct RoleChoice {
    /// The role's id.
    pub id: Option<String>,
    /// The role's name.
    pub name: Option<String>,
}

/// What the owner asks for.
#[derive(Debug)]
pub struct NewApplicationCredential {
    /// The name, unique per owner (1 to 255 characters).
    pub name: String,
    /// Free text.
    pub description: String,
    /// The secret; generated (48 random bytes, URL-safe base64) when `None`.
    pub secret: Option<SecretString>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// The roles to delegate, each one the owner holds; `None`: all of them.
    pub roles: Option<Vec<RoleChoice>>,
    /// Whether it may create other application credentials.
    pub unrestricted: bool,
    /// What tokens from it may call.
    pub access_rules: Vec<AskedRule>,
}

/// Creates an application credential for `user_id` on `project_id` (none:
/// made with an unscoped token, as Keystone allows; its tokens are
/// unscoped), where the owner holds `held` (the roles of the token
/// asking). Returns it with its secret, which is shown once and stored only
/// as a hash.
pub async fn create(
    cx: &Context<'_>,
    user_id: &str,
    project_id: Option<&str>,
    held: &[Role],
    new: NewApplicationCredential,
) -> Result<(ApplicationCredential, SecretString), AuthError> {
    if new.name.is_empty() || new.name.len() > 255 {
        return Err(AuthError::bad_request(
            "'application_credential.name' must be 1 to 255 characters",
        ));
    }
    let role_ref = |r: &Role| RoleRef::new(r.id.clone(), r.name.clone());
    let roles: Vec<RoleRef> = match &new.roles {
        None => held.iter().map(role_ref).collect(),
        Some(asked) => {
            let mut roles = Vec::new();
            for role in asked {
                let found = held.iter().find(|r| {
                    role.id.as_deref() == Some(r.id.as_str())
                        || role.name.as_deref() == Some(r.name.as_str())
                });
                let found = found.ok_or_else(|| {
                    AuthError::Forbidden(
                        "an application credential can only carry roles its owner holds".into(),
                    )
                })?;
                roles.push(role_ref(found));
            }
            roles
        }
    };
    let access_rules = shared_rules(cx, user_id, new.access_rules).await?;
    let secret = new.secret.unwrap_or_else(|| {
        let mut bytes = [0u8; 48];
        OsRng.fill_bytes(&mut bytes);
        SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
    });
    let mut credential = ApplicationCredential::new(
        new_id(),
        new.name,
        user_id,
        project_id.unwrap_or_default(),
        cx.hasher().hash_async(secret.clone()).await?,
        cx.now(),
    )
    .with_description(new.description)
    .with_roles(roles)
    .with_unrestricted(new.unrestricted)
    .with_access_rules(access_rules);
    credential.expires_at = new.expires_at;
    if project_id.is_none() {
        credential = credential.without_project();
    }
    cx.storage()
        .create_application_credential(&credential)
        .await?;
    note(&credential);
    Ok((credential, secret))
}

/// The rules a new credential of `user_id` names, as the user's rules:
/// one the user already has (by id, or the same service, path and method)
/// is that rule; another is new. An id the user has no rule by is a 404.
async fn shared_rules(
    cx: &Context<'_>,
    user_id: &str,
    asked: Vec<AskedRule>,
) -> Result<Vec<AccessRule>, AuthError> {
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    let existing = cx.storage().list_access_rules(user_id).await?;
    let mut rules: Vec<AccessRule> = Vec::new();
    for rule in asked {
        let found = match rule {
            AskedRule::Id(id) => {
                existing
                    .iter()
                    .find(|r| r.id == id)
                    .cloned()
                    .ok_or(AuthError::NotFound {
                        what: format!("access rule: {id}"),
                    })?
            }
            AskedRule::New {
                service,
                path,
                method,
            } => existing
                .iter()
                .chain(&rules)
                .find(|r| r.service == service && r.path == path && r.method == method)
                .cloned()
                .unwrap_or_else(|| AccessRule::new(new_id(), service, path, method)),
        };
        if !rules.iter().any(|r| r.id == found.id) {
            rules.push(found);
        }
    }
    Ok(rules)
}

/// Deletes the access rule `rule_id` of `user_id` (403 while an
/// application credential names it). Only an unused rule goes, so no token
/// changes.
pub async fn delete_access_rule(
    cx: &Context<'_>,
    user_id: &str,
    rule_id: &str,
) -> Result<(), AuthError> {
    cx.storage().delete_access_rule(user_id, rule_id).await?;
    crate::events::note(|facts| facts.user_id = Some(user_id.to_owned()));
    Ok(())
}

/// An access rule as a creation names it.
#[derive(Debug, Clone)]
pub enum AskedRule {
    /// One of the user's rules, by id.
    Id(String),
    /// A rule by what it allows (the user's, if they have it already).
    New {
        /// The service type.
        service: String,
        /// The path pattern.
        path: String,
        /// The HTTP method.
        method: String,
    },
}

/// Deletes `credential`; its tokens are recomputed at their next
/// validation on every node (the token revision moves).
pub async fn delete(cx: &Context<'_>, credential: &ApplicationCredential) -> Result<(), AuthError> {
    cx.storage()
        .delete_application_credential(&credential.id)
        .await?;
    note(credential);
    Ok(())
}

/// Deletes every application credential `user_id` has on `project_id`:
/// what losing a role there costs (Keystone's
/// `_delete_app_creds_on_assignment_removal`).
pub(super) async fn delete_for_user_on_project(
    cx: &Context<'_>,
    user_id: &str,
    project_id: &str,
) -> Result<(), AuthError> {
    let storage = cx.storage();
    for credential in storage.list_application_credentials(user_id).await? {
        if credential.project_id.as_deref() != Some(project_id) {
            continue;
        }
        match storage.delete_application_credential(&credential.id).await {
            // Deleted meanwhile by another call: the goal is met.
            Ok(()) | Err(AuthError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn note(credential: &ApplicationCredential) {
    crate::events::note(|facts| facts.user_id = Some(credential.user_id.clone()));
    if let Some(project_id) = &credential.project_id {
        note_project(project_id);
    }
}
