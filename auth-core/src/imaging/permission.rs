//! The permission names of Orthanc's authorization service, and sets of them.
//!
//! The plugin compares permissions as strings; here they are an enum, so that
//! a misspelt name in a role map is refused where it is written instead of
//! silently granting nothing, and a set of them is a `u32` that a decision
//! can test without allocating.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::AuthError;

/// One auth-service permission, as the plugin's `Permissions` rules and the
/// `settings/roles` map name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Permission {
    /// Everything; it satisfies every rule.
    All,
    /// Browse and open resources.
    View,
    /// Download resources (archives, instant download links).
    Download,
    /// Delete resources.
    Delete,
    /// Send resources to peers, modalities and DICOMweb servers.
    Send,
    /// Modify (and merge) resources.
    Modify,
    /// Anonymize resources.
    Anonymize,
    /// Upload instances.
    Upload,
    /// Query and retrieve from remote modalities.
    QRRemoteModalities,
    /// Change Orthanc settings such as the log level.
    Settings,
    /// Use the REST API directly (a name the service hands out; no default
    /// rule requires it).
    ApiView,
    /// Add and remove labels.
    EditLabels,
    /// Edit the role map, modalities and jobs.
    AdminPermissions,
    /// Read the audit logs.
    AuditLogs,
    /// Create, edit and delete worklists.
    Worklists,
    /// Create share links (viewer publications).
    Share,
}

impl Permission {
    /// Every permission, in declaration order (the order of
    /// [`Permissions::iter`] and of serialized sets).
    pub const EVERY: [Permission; 16] = [
        Self::All,
        Self::View,
        Self::Download,
        Self::Delete,
        Self::Send,
        Self::Modify,
        Self::Anonymize,
        Self::Upload,
        Self::QRRemoteModalities,
        Self::Settings,
        Self::ApiView,
        Self::EditLabels,
        Self::AdminPermissions,
        Self::AuditLogs,
        Self::Worklists,
        Self::Share,
    ];

    /// The auth-service name, the one word used on the wire and in config.
    pub const fn name(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::View => "view",
            Self::Download => "download",
            Self::Delete => "delete",
            Self::Send => "send",
            Self::Modify => "modify",
            Self::Anonymize => "anonymize",
            Self::Upload => "upload",
            Self::QRRemoteModalities => "q-r-remote-modalities",
            Self::Settings => "settings",
            Self::ApiView => "api-view",
            Self::EditLabels => "edit-labels",
            Self::AdminPermissions => "admin-permissions",
            Self::AuditLogs => "audit-logs",
            Self::Worklists => "worklists",
            Self::Share => "share",
        }
    }

    const fn bit(self) -> u32 {
        1 << self as u8
    }

    /// The permission with this exact (case-sensitive) name, as the plugin
    /// compares them.
    fn by_name(name: &str) -> Option<Self> {
        Self::EVERY.into_iter().find(|p| p.name() == name)
    }
}

/// The message for a name that is not a permission: it names the culprit and
/// the accepted names, so that a typo in a role map is fixed at once.
fn unknown_message(name: &str) -> String {
    let known: Vec<&str> = Permission::EVERY.iter().map(|p| p.name()).collect();
    format!(
        "unknown imaging permission '{name}'; known permissions: {}",
        known.join(", ")
    )
}

impl FromStr for Permission {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::by_name(s).ok_or_else(|| AuthError::bad_request(unknown_message(s)))
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = Permission;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an imaging permission name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Permission, E> {
                Permission::by_name(v).ok_or_else(|| E::custom(unknown_message(v)))
            }
        }
        deserializer.deserialize_str(Name)
    }
}

/// A set of [`Permission`]s in one `u32`, so that holding, requiring and
/// comparing them costs a few instructions and no allocation.
///
/// Serialized as a JSON list of names in declaration order; deserializing
/// refuses an unknown name and ignores repeats.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u32);

impl Permissions {
    /// No permission.
    pub const EMPTY: Self = Self(0);

    /// A set from a list, usable in `const` tables.
    pub const fn of(list: &[Permission]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < list.len() {
            bits |= list[i].bit();
            i += 1;
        }
        Self(bits)
    }

    /// Whether `permission` is in the set.
    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Adds `permission`.
    pub fn insert(&mut self, permission: Permission) {
        self.0 |= permission.bit();
    }

    /// Every permission in either set.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether the sets share a permission: "any one of them suffices".
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::EVERY
            .into_iter()
            .filter(move |p| self.contains(*p))
    }
}

impl From<Permission> for Permissions {
    fn from(permission: Permission) -> Self {
        Self(permission.bit())
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = Self::EMPTY;
        for p in iter {
            set.insert(p);
        }
        set
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Permission::name))
            .finish()
    }
}

impl Serialize for Permissions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.count_ones() as usize))?;
        for p in self.iter() {
            seq.serialize_element(&p)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct List;
        impl<'de> Visitor<'de> for List {
            type Value = Permissions;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of imaging permission names")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Permissions, A::Error> {
                let mut set = Permissions::EMPTY;
                while let Some(p) = seq.next_element::<Permission>()? {
                    set.insert(p);
                }
                Ok(set)
            }
        }
        deserializer.deserialize_seq(List)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let mut names: Vec<&str> = Permission::EVERY.iter().map(|p| p.name()).collect();
        for p in Permission::EVERY {
            assert_eq!(p.name().parse::<Permission>().unwrap(), p);
            assert_eq!(p.to_string(), p.name());
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.name()));
            assert_eq!(serde_json::from_str::<Permission>(&json).unwrap(), p);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 16);
    }

    #[test]
    fn the_service_names_are_the_plugins() {
        let listed = "all, view, download, delete, send, modify, anonymize, upload, \
                      q-r-remote-modalities, settings, api-view, edit-labels, \
                      admin-permissions, audit-logs, worklists, share";
        let ours: Vec<&str> = Permission::EVERY.iter().map(|p| p.name()).collect();
        assert_eq!(ours.join(", "), listed);
    }

    #[test]
    fn an_unknown_name_is_refused_naming_it() {
        let e = "veiw".parse::<Permission>().unwrap_err();
        assert_eq!(e.http_status(), 400);
        let message = e.to_string();
        assert!(message.contains("'veiw'"), "{message}");
        assert!(message.contains("view"), "lists the known names: {message}");
        assert!("View".parse::<Permission>().is_err(), "case-sensitive");

        let e = serde_json::from_str::<Permissions>(r#"["view", "delete-all"]"#).unwrap_err();
        assert!(e.to_string().contains("'delete-all'"), "{e}");
        let e = serde_json::from_str::<Permission>("\"\"").unwrap_err();
        assert!(
            e.to_string().contains("unknown imaging permission ''"),
            "{e}"
        );
    }

    #[test]
    fn sets_behave_as_sets() {
        let mut set = Permissions::EMPTY;
        assert!(set.is_empty());
        set.insert(Permission::View);
        set.insert(Permission::View);
        assert!(set.contains(Permission::View));
        assert!(!set.contains(Permission::All));
        let other = Permissions::of(&[Permission::Delete, Permission::Share]);
        assert!(!set.intersects(other));
        let both = set.union(other);
        assert!(both.intersects(other) && both.intersects(set));
        assert_eq!(
            both.iter().collect::<Vec<_>>(),
            [Permission::View, Permission::Delete, Permission::Share]
        );
        assert_eq!(
            [Permission::Share, Permission::View, Permission::Delete]
                .into_iter()
                .collect::<Permissions>(),
            both
        );
        assert_eq!(
            Permissions::from(Permission::Share),
            Permissions::of(&[Permission::Share])
        );
        assert_eq!(format!("{both:?}"), r#"{"view", "delete", "share"}"#);
        let every: Permissions = Permission::EVERY.into_iter().collect();
        assert_eq!(every.iter().count(), 16);
    }

    #[test]
    fn sets_serialize_as_lists_of_names_in_declaration_order() {
        let set = Permissions::of(&[
            Permission::Share,
            Permission::All,
            Permission::QRRemoteModalities,
        ]);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["all","q-r-remote-modalities","share"]"#);
        assert_eq!(serde_json::from_str::<Permissions>(&json).unwrap(), set);
        let repeated: Permissions = serde_json::from_str(r#"["view","view"]"#).unwrap();
        assert_eq!(repeated, Permissions::from(Permission::View));
        assert_eq!(serde_json::to_string(&Permissions::EMPTY).unwrap(), "[]");
        assert!(serde_json::from_str::<Permissions>(r#""view""#).is_err());
    }
}
