//! From verified claims to a local user and group memberships.

use std::collections::BTreeMap;

use auth_core::AuthError;
use auth_core::store::{User, UserStore, new_id};
use serde::Deserialize;
use serde_json::{Map, Value};

/// How an issuer's claims map to local accounts.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    /// The claim whose value is the local user name.
    pub user_claim: String,
    /// The domain (by id) the users live in.
    pub domain: String,
    /// Create the user on first login; otherwise unknown users are refused.
    pub provision: bool,
    /// A claim holding a list of group names from the issuer.
    pub groups_claim: Option<String>,
    /// Issuer group name → local group id. Only these groups are managed:
    /// a user is added to the mapped groups their token lists and removed
    /// from mapped groups it no longer lists; other memberships are left
    /// alone.
    pub groups: BTreeMap<String, String>,
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            user_claim: "sub".to_owned(),
            domain: "default".to_owned(),
            provision: false,
            groups_claim: None,
            groups: BTreeMap::new(),
        }
    }
}

impl Mapping {
    /// The local user for `claims`, provisioned if allowed, with its mapped
    /// groups brought in line with the token. Returns the user and the ids
    /// of the mapped groups the token grants.
    pub(super) async fn apply(
        &self,
        claims: &Map<String, Value>,
        users: &dyn UserStore,
    ) -> Result<(User, Vec<String>), AuthError> {
        let name = claims
            .get(&self.user_claim)
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty() && n.len() <= 255)
            .ok_or(AuthError::InvalidCredentials)?;
        let user = match users.find_user_by_name(&self.domain, name).await {
            Ok(user) => user,
            Err(AuthError::NotFound { .. }) if self.provision => {
                self.provision(users, name).await?
            }
            Err(AuthError::NotFound { .. }) => return Err(AuthError::InvalidCredentials),
            Err(e) => return Err(e),
        };
        let granted = self.granted_groups(claims);
        self.sync_groups(users, &user, &granted).await?;
        Ok((user, granted))
    }

    async fn provision(&self, users: &dyn UserStore, name: &str) -> Result<User, AuthError> {
        let user = User::new(new_id(), name, self.domain.clone());
        match users.create_user(&user, None).await {
            Ok(()) => Ok(user),
            // Another node provisioned the same user a moment ago.
            Err(AuthError::Conflict { .. }) => users.find_user_by_name(&self.domain, name).await,
            Err(e) => Err(e),
        }
    }

    fn granted_groups(&self, claims: &Map<String, Value>) -> Vec<String> {
        let Some(claim) = &self.groups_claim else {
            return Vec::new();
        };
        let listed: Vec<&str> = match claims.get(claim) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(one)) => vec![one.as_str()],
            _ => Vec::new(),
        };
        let mut granted: Vec<String> = listed
            .into_iter()
            .filter_map(|name| self.groups.get(name).cloned())
            .collect();
        granted.sort();
        granted.dedup();
        granted
    }

    async fn sync_groups(
        &self,
        users: &dyn UserStore,
        user: &User,
        granted: &[String],
    ) -> Result<(), AuthError> {
        if self.groups.is_empty() {
            return Ok(());
        }
        let current: Vec<String> = users
            .list_user_groups(&user.id)
            .await?
            .into_iter()
            .map(|g| g.id)
            .collect();
        for group in granted.iter().filter(|g| !current.contains(g)) {
            users.add_user_to_group(&user.id, group).await?;
        }
        let managed = self.groups.values().collect::<Vec<_>>();
        for group in current
            .iter()
            .filter(|g| managed.contains(g) && !granted.contains(g))
        {
            users.remove_user_from_group(&user.id, group).await?;
        }
        Ok(())
    }
}
