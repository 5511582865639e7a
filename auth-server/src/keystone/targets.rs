//! The objects a Keystone call's policy target holds, shaped as Keystone's
//! API code puts them there (`keystone/api/*.py`: `target['user'] =
//! PROVIDERS.identity_api.get_user(...)` and the like), so that a rule's
//! `%(target.user.domain_id)s` or `%(target.role.name)s` finds what it finds
//! in Keystone.
//!
//! [`Target`] flattens them under `target.<kind>`; path arguments sit at the
//! top under Keystone's names (`user_id`, not our route's `{id}`), and a
//! list call's query filters under `filter_attr.<name>`, as Keystone's
//! `RBACEnforcer.enforce_call` merges them.
//!
//! What Keystone also puts there and we leave out, on purpose: the request
//! body under `request_body` (it holds passwords and credential blobs, and a
//! [`Target`] is `Debug`), a user's password in `target.user` of a create,
//! and a credential's `blob`. No default rule reads any of them.

use auth_core::store::{Credential, Domain, Group, Project, Role, User};
use serde_json::{Map, Value, json};

use crate::policy::Target;
use crate::validation::Validated;

/// `target.user`: what Keystone's `get_user` returns (its extra attributes,
/// then the user's own, which win).
pub fn user(user: &User) -> Value {
    let mut object: Map<String, Value> = user.extra.clone();
    for (key, value) in [
        ("id", json!(user.id)),
        ("name", json!(user.name)),
        ("domain_id", json!(user.domain_id)),
        ("enabled", json!(user.enabled)),
        ("default_project_id", json!(user.default_project_id)),
        ("options", json!(user.options)),
    ] {
        object.insert(key.to_owned(), value);
    }
    Value::Object(object)
}

/// `target.group`.
pub fn group(group: &Group) -> Value {
    json!({"id": group.id, "name": group.name, "domain_id": group.domain_id,
           "description": group.description})
}

/// `target.project`: a project at the top of its domain is the domain's
/// child, as Keystone's `parent_id` says.
pub fn project(project: &Project) -> Value {
    json!({"id": project.id, "name": project.name, "domain_id": project.domain_id,
           "description": project.description, "enabled": project.enabled,
           "is_domain": false,
           "parent_id": project.parent_id.as_deref().unwrap_or(&project.domain_id),
           "tags": project.tags})
}

/// `target.domain`.
pub fn domain(domain: &Domain) -> Value {
    json!({"id": domain.id, "name": domain.name, "description": domain.description,
           "enabled": domain.enabled})
}

/// `target.role` (`domain_id` null for a global role).
pub fn role(role: &Role) -> Value {
    json!({"id": role.id, "name": role.name, "domain_id": role.domain_id})
}

/// `target.credential`, without its blob.
pub fn credential(credential: &Credential) -> Value {
    json!({"id": credential.id, "user_id": credential.user_id, "type": credential.kind,
           "project_id": credential.project_id})
}

/// The target of a validation, check or revocation: `target.token`, the
/// subject token (Keystone's `_extract_subject_token_target_data`), its
/// user and the user's domain. Built key by key: it is on the validation
/// path, the busiest there is.
pub fn token(subject: &Validated) -> Target {
    Target::new()
        .with("target.token.user_id", subject.user.id.as_str())
        .with(
            "target.token.user.domain.id",
            subject.user.domain_id.as_str(),
        )
}

/// Adds `filter_attr.<name>` for each query filter the request carries
/// (Keystone namespaces them so a query parameter can never stand in for a
/// path argument or a target attribute).
pub fn with_filters<'a>(
    mut target: Target,
    filters: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Target {
    for (name, value) in filters {
        if let Some(value) = value {
            target = target.with(format!("filter_attr.{name}"), value);
        }
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_target_holds_what_keystone_rules_read_and_its_own_fields_win() {
        let mut extra = Map::new();
        extra.insert("email".into(), json!("u@example.com"));
        extra.insert("domain_id".into(), json!("forged"));
        let alice = User::new("u1", "alice", "d1").with_extra(extra);
        let target = Target::new()
            .with("user_id", "u1")
            .with_object("target.user", &user(&alice));
        assert_eq!(target.get_str("user_id"), Some("u1"));
        assert_eq!(target.get_str("target.user.domain_id"), Some("d1"));
        assert_eq!(target.get_str("target.user.email"), Some("u@example.com"));
        assert_eq!(target.get("target.user.enabled"), Some(&json!(true)));
    }

    #[test]
    fn grant_targets_name_the_role_and_the_projects_domain() {
        let member = Role::new("r1", "member");
        let dev = Project::new("p1", "dev", "d1");
        let target = Target::new()
            .with_object("target.role", &role(&member))
            .with_object("target.project", &project(&dev));
        assert_eq!(target.get_str("target.role.name"), Some("member"));
        assert_eq!(target.get("target.role.domain_id"), Some(&Value::Null));
        assert_eq!(target.get_str("target.project.domain_id"), Some("d1"));
    }

    #[test]
    fn a_credential_target_never_holds_the_blob() {
        let totp = Credential::new(
            "c1",
            "u1",
            "totp",
            secrecy::SecretString::from("GEZDGNBVGY3TQOJQ"),
        );
        let target = Target::new().with_object("target.credential", &credential(&totp));
        assert_eq!(target.get_str("target.credential.user_id"), Some("u1"));
        assert!(target.iter().all(|(key, _)| !key.contains("blob")));
        assert!(!format!("{target:?}").contains("GEZDGNBVGY3TQOJQ"));
    }

    #[test]
    fn filters_go_under_filter_attr_and_absent_ones_are_left_out() {
        let target = with_filters(
            Target::new().with("user_id", "u1"),
            [
                ("user_id", Some("u2")),
                ("name", None),
                ("user.id", Some("u3")),
            ],
        );
        assert_eq!(target.get_str("user_id"), Some("u1"));
        assert_eq!(target.get_str("filter_attr.user_id"), Some("u2"));
        assert_eq!(target.get_str("filter_attr.user.id"), Some("u3"));
        assert_eq!(target.get("filter_attr.name"), None);
    }
}
