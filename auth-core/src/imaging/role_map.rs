//! The role map: which imaging permissions and labels each of this server's
//! roles gives, in the shape of Orthanc's `settings/roles` route, so that
//! Orthanc Explorer 2's role editor reads and writes it unchanged.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::permission::{Permission, Permissions};

/// The label that stands for every label.
pub const ALL_LABELS: &str = "*";

/// What one role gives: permissions, and the labels of the resources they
/// apply to (`*` for all). Also the profile of a user, the union of the
/// grants of the roles they hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RoleGrant {
    /// The permissions given.
    #[serde(default)]
    pub permissions: Permissions,
    /// The labels whose resources the permissions cover; `*` means all.
    /// `authorized_labels` is accepted too, the spelling of TOML config keys.
    #[serde(default, alias = "authorized_labels")]
    pub authorized_labels: Vec<String>,
}

impl RoleGrant {
    /// A grant of `permissions` on every label, the usual role.
    pub fn on_all_labels(permissions: Permissions) -> Self {
        Self {
            permissions,
            authorized_labels: vec![ALL_LABELS.to_owned()],
        }
    }
}

/// Role name to [`RoleGrant`], plus the labels the editor offers.
///
/// Serialized as Orthanc's `settings/roles` body:
/// `{"roles": {"<role>": {"permissions": [...], "authorized-labels": [...]}},
/// "available-labels": [...]}`; `available-labels` may be left out, an
/// unknown permission name is refused. Roles are kept sorted by name so
/// that the body is the same on every node.
///
/// [`RoleMap::default`] is empty (nobody gets anything); the server's
/// default configuration is [`RoleMap::recommended`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RoleMap {
    /// The grant of each role, by role name.
    pub roles: BTreeMap<String, RoleGrant>,
    /// The labels the role editor offers; informational only.
    #[serde(default)]
    pub available_labels: Vec<String>,
}

impl RoleMap {
    /// The server's default: Keystone's bootstrap roles, each on every label.
    ///
    /// - `admin`: `all`;
    /// - `manager`: view, download, delete, send, modify, anonymize, upload,
    ///   share, edit-labels;
    /// - `member`: view, download, upload, share;
    /// - `reader`: view, download.
    pub fn recommended() -> Self {
        use Permission::*;
        let roles = [
            ("admin", Permissions::of(&[All])),
            (
                "manager",
                Permissions::of(&[
                    View, Download, Delete, Send, Modify, Anonymize, Upload, Share, EditLabels,
                ]),
            ),
            ("member", Permissions::of(&[View, Download, Upload, Share])),
            ("reader", Permissions::of(&[View, Download])),
        ]
        .into_iter()
        .map(|(name, permissions)| (name.to_owned(), RoleGrant::on_all_labels(permissions)))
        .collect();
        Self {
            roles,
            available_labels: Vec::new(),
        }
    }

    /// The profile of someone holding `role_names`: the union of their
    /// roles' permissions and labels. Labels come out sorted and without
    /// repeats, and as just `["*"]` when any role covers every label. Names
    /// the map does not know give nothing.
    pub fn profile<I>(&self, role_names: I) -> RoleGrant
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut permissions = Permissions::EMPTY;
        let mut labels = BTreeSet::new();
        for name in role_names {
            if let Some(grant) = self.roles.get(name.as_ref()) {
                permissions = permissions.union(grant.permissions);
                labels.extend(grant.authorized_labels.iter().map(String::as_str));
            }
        }
        let authorized_labels = if labels.contains(ALL_LABELS) {
            vec![ALL_LABELS.to_owned()]
        } else {
            labels.into_iter().map(str::to_owned).collect()
        };
        RoleGrant {
            permissions,
            authorized_labels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;
    use serde_json::json;

    /// A body in the shape Orthanc Explorer 2's role editor reads and sends.
    const ORTHANC_BODY: &str = r#"{
        "roles": {
            "admin-role": {"permissions": ["all"], "authorized-labels": ["*"]},
            "doctor-role": {
                "permissions": ["view", "download", "share", "send"],
                "authorized-labels": ["hospital-1", "hospital-2"]
            },
            "external-role": {"permissions": ["view", "download"], "authorized-labels": ["external"]}
        },
        "available-labels": ["hospital-1", "hospital-2", "external"]
    }"#;

    #[test]
    fn orthancs_settings_roles_body_round_trips() {
        let map: RoleMap = serde_json::from_str(ORTHANC_BODY).unwrap();
        assert_eq!(map.roles.len(), 3);
        let doctor = &map.roles["doctor-role"];
        assert_eq!(
            doctor.permissions,
            Permissions::of(&[View, Download, Share, Send])
        );
        assert_eq!(doctor.authorized_labels, ["hospital-1", "hospital-2"]);
        assert_eq!(
            map.available_labels,
            ["hospital-1", "hospital-2", "external"]
        );

        let value = serde_json::to_value(&map).unwrap();
        assert_eq!(
            value["roles"]["doctor-role"],
            json!({"permissions": ["view", "download", "send", "share"],
                   "authorized-labels": ["hospital-1", "hospital-2"]})
        );
        assert_eq!(
            value["available-labels"],
            json!(["hospital-1", "hospital-2", "external"])
        );
        assert_eq!(serde_json::from_value::<RoleMap>(value).unwrap(), map);
    }

    #[test]
    fn available_labels_may_be_left_out() {
        let map: RoleMap = serde_json::from_value(json!({
            "roles": {"r": {"permissions": ["view"], "authorized-labels": ["*"]}}
        }))
        .unwrap();
        assert!(map.available_labels.is_empty());
        assert_eq!(
            serde_json::to_value(&map).unwrap()["available-labels"],
            json!([]),
            "always written, as Orthanc's editor reads it"
        );
    }

    #[test]
    fn an_unknown_permission_in_a_role_is_refused_naming_it() {
        let e = serde_json::from_value::<RoleMap>(json!({
            "roles": {"r": {"permissions": ["view", "wiew"], "authorized-labels": []}}
        }))
        .unwrap_err();
        assert!(
            e.to_string().contains("unknown imaging permission 'wiew'"),
            "{e}"
        );
    }

    #[test]
    fn the_toml_spelling_of_labels_is_accepted() {
        let grant: RoleGrant = serde_json::from_value(json!({
            "permissions": ["view"], "authorized_labels": ["a"]
        }))
        .unwrap();
        assert_eq!(grant.authorized_labels, ["a"]);
    }

    #[test]
    fn default_is_empty_and_recommended_is_the_documented_config() {
        assert!(RoleMap::default().roles.is_empty());
        let map = RoleMap::recommended();
        let names: Vec<&str> = map.roles.keys().map(String::as_str).collect();
        assert_eq!(names, ["admin", "manager", "member", "reader"]);
        assert_eq!(map.roles["admin"].permissions, Permissions::of(&[All]));
        assert_eq!(
            map.roles["manager"].permissions,
            Permissions::of(&[
                View, Download, Delete, Send, Modify, Anonymize, Upload, Share, EditLabels
            ])
        );
        assert_eq!(
            map.roles["member"].permissions,
            Permissions::of(&[View, Download, Upload, Share])
        );
        assert_eq!(
            map.roles["reader"].permissions,
            Permissions::of(&[View, Download])
        );
        assert!(map.roles.values().all(|g| g.authorized_labels == ["*"]));
    }

    fn labelled(permissions: &[Permission], labels: &[&str]) -> RoleGrant {
        RoleGrant {
            permissions: Permissions::of(permissions),
            authorized_labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        }
    }

    #[test]
    fn a_profile_is_the_union_of_the_held_roles() {
        let mut map = RoleMap::default();
        map.roles.insert("a".into(), labelled(&[View], &["x", "b"]));
        map.roles
            .insert("b".into(), labelled(&[Download, View], &["b", "a"]));
        map.roles.insert("c".into(), labelled(&[Delete], &["z"]));

        let p = map.profile(["a", "b", "unknown"]);
        assert_eq!(p.permissions, Permissions::of(&[View, Download]));
        assert_eq!(p.authorized_labels, ["a", "b", "x"], "sorted, deduplicated");

        let owned = vec!["c".to_owned()];
        assert_eq!(map.profile(&owned), map.roles["c"]);
        assert_eq!(map.profile(["unknown"]), RoleGrant::default());
        assert_eq!(map.profile(Vec::<String>::new()), RoleGrant::default());
    }

    #[test]
    fn a_star_label_covers_the_others() {
        let mut map = RoleMap::default();
        map.roles
            .insert("some".into(), labelled(&[View], &["b", "a"]));
        map.roles
            .insert("every".into(), labelled(&[Upload], &["*"]));
        let p = map.profile(["some", "every"]);
        assert_eq!(p.authorized_labels, ["*"]);
        assert_eq!(p.permissions, Permissions::of(&[View, Upload]));
        let p = RoleMap::recommended().profile(["reader", "member"]);
        assert_eq!(
            p.permissions,
            Permissions::of(&[View, Download, Upload, Share])
        );
        assert_eq!(p.authorized_labels, ["*"]);
    }
}
