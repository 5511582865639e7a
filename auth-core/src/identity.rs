//! The identity a request accumulates, and how methods' results reconcile.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::AuthError;
use crate::method::ResponseData;

/// What the methods of a request (and of the receipt it resumes) resolved.
///
/// Keystone's `AuthContext`: `user_id`, `project_id` and `domain_id` are
/// identity attributes that every method must agree on; `expires_at` keeps
/// the earliest value; `methods` lists every method counted as used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Identity {
    /// The authenticated user, once a method named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// A project a credential is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// A domain a credential is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// The earliest expiry any method imposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Every method counted as used, without repeats, in the order first
    /// used. (Keystone treats this as a set; so do the MFA rules.)
    #[serde(default)]
    pub methods: Vec<String>,
    /// Everything else methods reported, merged (later methods win).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extras: Map<String, Value>,
}

impl Identity {
    /// Folds one method's successful result in.
    ///
    /// Fails with [`AuthError::IdentityConflict`] if `data` names a different
    /// user, project or domain than an earlier method did.
    pub fn merge_success(&mut self, method: &str, data: ResponseData) -> Result<(), AuthError> {
        agree(&mut self.user_id, Some(&data.user_id), "user_id")?;
        agree(&mut self.project_id, data.project_id.as_ref(), "project_id")?;
        agree(&mut self.domain_id, data.domain_id.as_ref(), "domain_id")?;
        self.expires_at = match (self.expires_at, data.expires_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.record_method(method);
        for carried in data.method_names {
            self.record_method(&carried);
        }
        self.extras.extend(data.extras);
        Ok(())
    }

    /// Counts `method` as used.
    pub fn record_method(&mut self, method: &str) {
        if !self.methods.iter().any(|m| m == method) {
            self.methods.push(method.to_owned());
        }
    }
}

/// Sets `slot` from `incoming`, or checks they agree.
fn agree(
    slot: &mut Option<String>,
    incoming: Option<&String>,
    attribute: &'static str,
) -> Result<(), AuthError> {
    match (slot.as_deref(), incoming.map(String::as_str)) {
        (_, None) => Ok(()),
        (None, Some(value)) => {
            *slot = Some(value.to_owned());
            Ok(())
        }
        (Some(a), Some(b)) if a == b => Ok(()),
        (Some(_), Some(_)) => Err(AuthError::IdentityConflict { attribute }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use serde_json::json;

    #[test]
    fn two_methods_naming_different_users_conflict() {
        let mut id = Identity::default();
        id.merge_success("a", ResponseData::for_user("u1")).unwrap();
        let e = id
            .merge_success("b", ResponseData::for_user("u2"))
            .unwrap_err();
        assert!(matches!(
            e,
            AuthError::IdentityConflict {
                attribute: "user_id"
            }
        ));
    }

    #[test]
    fn projects_and_domains_must_agree_too() {
        let mut id = Identity::default();
        id.merge_success("a", ResponseData::for_user("u").with_project("p1"))
            .unwrap();
        let e = id
            .merge_success("b", ResponseData::for_user("u").with_project("p2"))
            .unwrap_err();
        assert!(matches!(
            e,
            AuthError::IdentityConflict {
                attribute: "project_id"
            }
        ));
        let mut id = Identity::default();
        id.merge_success("a", ResponseData::for_user("u").with_domain("d1"))
            .unwrap();
        assert!(
            id.merge_success("b", ResponseData::for_user("u").with_domain("d2"))
                .is_err()
        );
    }

    #[test]
    fn the_earliest_expiry_wins() {
        let now = Utc::now();
        let mut id = Identity::default();
        id.merge_success(
            "a",
            ResponseData::for_user("u").with_expires_at(now + Duration::hours(2)),
        )
        .unwrap();
        id.merge_success(
            "b",
            ResponseData::for_user("u").with_expires_at(now + Duration::hours(1)),
        )
        .unwrap();
        id.merge_success("c", ResponseData::for_user("u")).unwrap();
        assert_eq!(id.expires_at, Some(now + Duration::hours(1)));
    }

    #[test]
    fn carried_methods_and_extras_are_merged() {
        let mut id = Identity::default();
        let data = ResponseData::for_user("u")
            .with_extra("audit_id", json!("x"))
            .with_method_names(["password".to_owned(), "totp".to_owned()]);
        id.merge_success("token", data).unwrap();
        id.merge_success("password", ResponseData::for_user("u"))
            .unwrap();
        assert_eq!(id.methods, ["token", "password", "totp"]);
        assert_eq!(id.extras["audit_id"], "x");
    }
}
