//! `GET /v3/role_assignments?include_names`: every id in a listing joined by
//! its name, as Keystone shows them (`openstack role assignment list
//! --names`). Users, groups and projects carry their domain too.

use std::collections::HashMap;

use auth_core::store::Storage;
use serde_json::{Value, json};

/// Looks names up, each id once per listing (a listing names the same
/// role, project and domain over and over).
#[derive(Debug)]
pub struct Names<'s> {
    storage: &'s dyn Storage,
    seen: HashMap<(Kind, String), Value>,
}

impl<'s> Names<'s> {
    /// A resolver over `storage`.
    pub fn new(storage: &'s dyn Storage) -> Self {
        Self {
            storage,
            seen: HashMap::new(),
        }
    }

    /// Replaces the `{"id": …}` objects of one `role_assignments` entry with
    /// their named forms. An entity deleted meanwhile keeps just its id.
    pub async fn name(&mut self, entry: &mut Value) {
        for (path, kind) in [
            (&["role"][..], Kind::Role),
            (&["user"][..], Kind::User),
            (&["group"][..], Kind::Group),
            (&["scope", "project"][..], Kind::Project),
            (&["scope", "domain"][..], Kind::Domain),
        ] {
            let Some(slot) = path.iter().try_fold(&mut *entry, |v, key| v.get_mut(*key)) else {
                continue;
            };
            if let Some(id) = slot["id"].as_str().map(str::to_owned) {
                *slot = self.named(kind, id).await;
            }
        }
    }

    async fn named(&mut self, kind: Kind, id: String) -> Value {
        let key = (kind, id);
        if let Some(known) = self.seen.get(&key) {
            return known.clone();
        }
        let id = &key.1;
        let storage = self.storage;
        let (name, domain_id) = match kind {
            Kind::Role => match storage.get_role(id).await {
                Ok(role) => (Some(role.name), role.domain_id),
                Err(_) => (None, None),
            },
            Kind::User => match storage.get_user(id).await {
                Ok(user) => (Some(user.name), Some(user.domain_id)),
                Err(_) => (None, None),
            },
            Kind::Group => match storage.get_group(id).await {
                Ok(group) => (Some(group.name), Some(group.domain_id)),
                Err(_) => (None, None),
            },
            Kind::Project => match storage.get_project(id).await {
                Ok(project) => (Some(project.name), Some(project.domain_id)),
                Err(_) => (None, None),
            },
            Kind::Domain => match storage.get_domain(id).await {
                Ok(domain) => (Some(domain.name), None),
                Err(_) => (None, None),
            },
        };
        let mut named = json!({"id": id});
        if let Some(name) = name {
            named["name"] = json!(name);
        }
        if let Some(domain_id) = domain_id {
            named["domain"] = Box::pin(self.named(Kind::Domain, domain_id)).await;
        }
        self.seen.insert(key.clone(), named.clone());
        named
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Role,
    User,
    Group,
    Project,
    Domain,
}
