//! May this bearer make this request? The imaging decision
//! ([`Bearer::may`]) asked the way Orthanc's plugin asks it, with what the
//! gateway adds for a door that sees the whole request.
//!
//! - A **listing** (REST `GET /studies`, QIDO `GET /dicom-web/studies`) is
//!   decided as `GET /studies` at the system level: `view` (or `all`). A
//!   share token may not list at all: a listing would show more than its
//!   resources, and the gateway refuses rather than filters.
//! - A URL **naming no resource** is decided by the URI table at the
//!   system level, as the plugin decides it; a share token gets none.
//! - A URL **naming resources** needs, for a user, the URI table's answer
//!   for the path (not for WADO-URI, whose path names nothing) and every
//!   named level; for a share token, one of the named levels must be a
//!   resource it opens (the chain is the upstream's hierarchy, so what is
//!   under a shared study is in it). A share bound to a study opens it by
//!   StudyInstanceUID or by its Orthanc id; REST URLs of a series or an
//!   instance by Orthanc id cannot be tied to their study without asking
//!   the upstream, and are refused.
//! - **Bulk retrieval** (see [`Target::Resources`]) needs `download` (or
//!   `all`) as well; a share token opens no bulk retrieval.
//! - A user whose roles restrict the labels they may see is refused
//!   everything: labels live in the upstream, and the gateway cannot check
//!   them without asking it (fail closed). That includes listings and
//!   searches (`GET /dicom-web/studies`, `POST /tools/find`), which would
//!   show every study whatever its labels: refused, not filtered.

use auth_core::imaging::{Access, Level, Method, Permission};

use super::resource::{Id, Target};
use crate::imaging::{Bearer, BearerKind};

/// The decision for `method` on `path` (`target` parsed from it).
pub fn allows(bearer: &Bearer, method: Method, path: &str, target: &Target<'_>) -> bool {
    let is_user = matches!(bearer.kind, BearerKind::Anonymous | BearerKind::User { .. });
    if is_user && !bearer.sees_every_label() {
        return false;
    }
    let system = |uri: &str| {
        bearer.may(&Access {
            level: Level::System,
            method,
            uri: Some(uri),
            orthanc_id: None,
            dicom_uid: None,
        })
    };
    match target {
        Target::Listing { uri } => system(uri),
        Target::System => system(path),
        Target::Resources {
            chain,
            bulk,
            by_query,
        } => {
            let level = |named: &super::resource::Named<'_>| {
                let (orthanc_id, dicom_uid) = match named.id {
                    Id::Orthanc(id) => (Some(id), None),
                    Id::Dicom(uid) => (None, Some(uid)),
                };
                bearer.may(&Access {
                    level: named.level,
                    method,
                    uri: None,
                    orthanc_id,
                    dicom_uid,
                })
            };
            match bearer.kind {
                BearerKind::Share { .. } => !bulk && chain.iter().any(level),
                BearerKind::Invalid => false,
                BearerKind::Anonymous | BearerKind::User { .. } => {
                    let download_ok = !bulk || bearer.holds(Permission::Download);
                    download_ok && (*by_query || system(path)) && chain.iter().all(level)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use auth_core::imaging::{ALL_LABELS, Permissions, SharedResource};
    use serde_json::json;

    use super::*;
    use crate::gateway::resource::parse;

    const STUDY_ID: &str = "27f7126f-4f66f5b6-1c3e4b2d-8a8e5b0e-2a4f7c11";
    const SERIES_ID: &str = "6e2c0ec2-5d99c8ca-c1c21cee-79a09605-68391d12";

    fn user(permissions: &[Permission]) -> Bearer {
        Bearer {
            kind: BearerKind::User {
                user_id: "u".into(),
                name: "n".into(),
                domain_id: "default".into(),
                project_id: None,
            },
            permissions: Permissions::of(permissions),
            authorized_labels: vec![ALL_LABELS.to_owned()],
            shared: Arc::from(Vec::new()),
            expires_at: None,
        }
    }

    fn share() -> Bearer {
        let study: SharedResource = serde_json::from_value(json!({
            "level": "study", "orthanc-id": STUDY_ID, "dicom-uid": "1.2.3"
        }))
        .unwrap();
        Bearer {
            kind: BearerKind::Share {
                id: "s".into(),
                token_type: "stone-viewer-publication".into(),
            },
            permissions: Permissions::default(),
            authorized_labels: Vec::new(),
            shared: Arc::from(vec![study]),
            expires_at: None,
        }
    }

    fn get(bearer: &Bearer, path: &str) -> bool {
        let (path, query) = path
            .split_once('?')
            .map_or((path, None), |(p, q)| (p, Some(q)));
        let target = parse(path, query, true).unwrap();
        allows(bearer, Method::Get, path, &target)
    }

    #[test]
    fn viewers_list_and_view_but_only_downloaders_retrieve_whole_objects() {
        let viewer = user(&[Permission::View]);
        let reader = user(&[Permission::View, Permission::Download]);
        for path in [
            "/studies",
            "/dicom-web/studies",
            "/dicom-web/studies/1.2/metadata",
            "/dicom-web/studies/1.2/series",
            &format!("/studies/{STUDY_ID}"),
        ] {
            assert!(get(&viewer, path), "{path}");
        }
        for path in [
            "/dicom-web/studies/1.2",
            "/dicom-web/studies/1.2/series/1.3/instances/1.4",
            &format!("/studies/{STUDY_ID}/archive"),
            &format!("/instances/{SERIES_ID}/file"),
            "/wado?requestType=WADO&studyUID=1.2&seriesUID=1.3&objectUID=1.4",
        ] {
            assert!(!get(&viewer, path), "{path}");
            assert!(get(&reader, path), "{path}");
        }
        let nobody = user(&[]);
        assert!(!get(&nobody, "/dicom-web/studies"));
        assert!(!get(&nobody, "/dicom-web/studies/1.2/metadata"));
        let admin = user(&[Permission::All]);
        assert!(get(&admin, "/tools/log-level"));
        assert!(!get(&reader, "/tools/log-level"));
    }

    #[test]
    fn writes_need_their_permissions() {
        let reader = user(&[Permission::View, Permission::Download]);
        let uploader = user(&[Permission::Upload]);
        let upload = |bearer: &Bearer, path: &str| {
            let target = parse(path, None, false).unwrap();
            allows(bearer, Method::Post, path, &target)
        };
        assert!(!upload(&reader, "/instances"));
        assert!(upload(&uploader, "/instances"));
        assert!(upload(&uploader, "/dicom-web/studies"));
        let path = format!("/studies/{STUDY_ID}");
        let target = parse(&path, None, false).unwrap();
        assert!(!allows(&reader, Method::Delete, &path, &target));
    }

    #[test]
    fn restricted_labels_open_no_resource_and_no_listing() {
        let mut labelled = user(&[Permission::View]);
        labelled.authorized_labels = vec!["research".into()];
        assert!(!get(&labelled, &format!("/studies/{STUDY_ID}")));
        assert!(!get(&labelled, "/dicom-web/studies/1.2/metadata"));
        // A listing or a search would show studies of every label.
        for path in ["/dicom-web/studies", "/dicom-web/series", "/studies"] {
            assert!(!get(&labelled, path), "{path}");
        }
        let target = parse("/tools/find", None, false).unwrap();
        assert!(!allows(&labelled, Method::Post, "/tools/find", &target));
        let mut unrestricted = labelled.clone();
        unrestricted.authorized_labels = vec![ALL_LABELS.to_owned()];
        assert!(get(&unrestricted, "/dicom-web/studies"));
        assert!(allows(&unrestricted, Method::Post, "/tools/find", &target));
    }

    #[test]
    fn a_share_opens_its_study_and_what_is_under_it_never_a_listing() {
        let share = share();
        assert!(get(&share, "/dicom-web/studies/1.2.3/metadata"));
        assert!(get(
            &share,
            "/dicom-web/studies/1.2.3/series/1.9/instances/1.10/frames/1"
        ));
        assert!(get(&share, &format!("/studies/{STUDY_ID}")));
        assert!(get(&share, &format!("/studies/{STUDY_ID}/series")));
        assert!(!get(&share, "/dicom-web/studies/1.2.4/metadata"));
        assert!(!get(&share, &format!("/series/{SERIES_ID}")));
        assert!(!get(&share, "/dicom-web/studies"));
        assert!(!get(&share, "/studies"));
        assert!(!get(&share, "/system"));
        assert!(!get(&share, "/dicom-web/studies/1.2.3"), "no bulk");
        assert!(!get(&share, &format!("/studies/{STUDY_ID}/archive")));
        let target = parse("/dicom-web/studies/1.2.3/metadata", None, false).unwrap();
        assert!(!allows(
            &share,
            Method::Delete,
            "/dicom-web/studies/1.2.3",
            &target
        ));
    }
}
