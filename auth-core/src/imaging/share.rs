//! Share tokens: what one grants, and the decision for it.

use serde::{Deserialize, Serialize};

use super::access::{Access, Level, Method};
use crate::AuthError;

/// One resource a share token is bound to, as the plugin sends it in
/// `PUT tokens/{type}` (`resources: [{level, orthanc-id?, dicom-uid?, url?}]`)
/// and reads it back from `tokens/decode`.
///
/// Deserializing checks what the decision relies on: a resource level (not
/// `system`) and at least one id; an empty id counts as none, as it does in
/// the plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", try_from = "RawSharedResource")]
pub struct SharedResource {
    /// The level the resource is at: patient, study, series or instance.
    pub level: Level,
    /// Orthanc's id of the resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orthanc_id: Option<String>,
    /// The resource's DICOM UID (StudyInstanceUID for a study).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dicom_uid: Option<String>,
    /// The viewer URL the plugin passed along, kept for `tokens/decode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The wire form, before [`SharedResource`]'s checks.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawSharedResource {
    level: Level,
    #[serde(default)]
    orthanc_id: Option<String>,
    #[serde(default)]
    dicom_uid: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

impl TryFrom<RawSharedResource> for SharedResource {
    type Error = AuthError;

    fn try_from(raw: RawSharedResource) -> Result<Self, AuthError> {
        if raw.level == Level::System {
            return Err(AuthError::bad_request(
                "a shared resource's level must be patient, study, series or instance, not system",
            ));
        }
        let non_empty = |id: Option<String>| id.filter(|id| !id.is_empty());
        let orthanc_id = non_empty(raw.orthanc_id);
        let dicom_uid = non_empty(raw.dicom_uid);
        if orthanc_id.is_none() && dicom_uid.is_none() {
            return Err(AuthError::bad_request(
                "a shared resource needs an orthanc-id or a dicom-uid",
            ));
        }
        Ok(Self {
            level: raw.level,
            orthanc_id,
            dicom_uid,
            url: raw.url,
        })
    }
}

impl SharedResource {
    /// Whether `access` names this resource: same level, and an id both
    /// sides carry is equal. Empty ids never match.
    fn names(&self, access: &Access<'_>) -> bool {
        let same = |ours: &Option<String>, theirs: Option<&str>| match (ours.as_deref(), theirs) {
            (Some(ours), Some(theirs)) => !ours.is_empty() && ours == theirs,
            _ => false,
        };
        self.level == access.level
            && (same(&self.orthanc_id, access.orthanc_id)
                || same(&self.dicom_uid, access.dicom_uid))
    }
}

/// The decision for a share token bound to `resources`: a `GET` of exactly
/// one of them, at its own level. Never the system level, never a level
/// above or below a bound resource (see the [module doc](super) for why,
/// and for Orthanc's `"CheckedLevel": "studies"` that this relies on).
pub fn decide_for_share(access: &Access<'_>, resources: &[SharedResource]) -> bool {
    access.method == Method::Get
        && access.level != Level::System
        && resources.iter().any(|resource| resource.names(access))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STUDY_ID: &str = "27f7126f-4f66f5b6-1c3e4b2d-8a8e5b0e-2a4f7c11";
    const STUDY_UID: &str = "1.2.840.113619.2.55.3.604688119";
    const SERIES_ID: &str = "6e2c0ec2-5d99c8ca-c1c21cee-79a09605-68391d12";

    fn study() -> SharedResource {
        serde_json::from_value(json!({
            "level": "study", "orthanc-id": STUDY_ID, "dicom-uid": STUDY_UID,
            "url": "http://viewer/?study=1"
        }))
        .unwrap()
    }

    fn get(
        level: Level,
        orthanc_id: Option<&'static str>,
        dicom_uid: Option<&'static str>,
    ) -> Access<'static> {
        Access {
            level,
            method: Method::Get,
            uri: None,
            orthanc_id,
            dicom_uid,
        }
    }

    #[test]
    fn the_wire_shape_round_trips() {
        let resource = study();
        assert_eq!(resource.level, Level::Study);
        let value = serde_json::to_value(&resource).unwrap();
        assert_eq!(
            value,
            json!({"level": "study", "orthanc-id": STUDY_ID, "dicom-uid": STUDY_UID,
                   "url": "http://viewer/?study=1"})
        );
        assert_eq!(
            serde_json::from_value::<SharedResource>(value).unwrap(),
            resource
        );
        let bare: SharedResource =
            serde_json::from_value(json!({"level": "series", "dicom-uid": "1.2"})).unwrap();
        assert_eq!(
            serde_json::to_value(&bare).unwrap(),
            json!({"level": "series", "dicom-uid": "1.2"}),
            "absent fields are left out"
        );
    }

    #[test]
    fn a_resource_needs_an_id_and_a_resource_level() {
        for (body, needle) in [
            (
                json!({"level": "study"}),
                "needs an orthanc-id or a dicom-uid",
            ),
            (
                json!({"level": "study", "orthanc-id": "", "dicom-uid": null}),
                "needs an orthanc-id",
            ),
            (
                json!({"level": "system", "orthanc-id": STUDY_ID}),
                "not system",
            ),
            (json!({"level": "galaxy", "orthanc-id": STUDY_ID}), "galaxy"),
        ] {
            let e = serde_json::from_value::<SharedResource>(body.clone()).unwrap_err();
            assert!(e.to_string().contains(needle), "{body}: {e}");
        }
        let one: SharedResource =
            serde_json::from_value(json!({"level": "study", "orthanc-id": "", "dicom-uid": "1.2"}))
                .unwrap();
        assert_eq!(one.orthanc_id, None, "an empty id is no id");
    }

    #[test]
    fn a_get_of_the_bound_resource_by_either_id_is_granted() {
        let shared = [study()];
        assert!(decide_for_share(
            &get(Level::Study, Some(STUDY_ID), None),
            &shared
        ));
        assert!(decide_for_share(
            &get(Level::Study, None, Some(STUDY_UID)),
            &shared
        ));
        assert!(decide_for_share(
            &get(Level::Study, Some(STUDY_ID), Some(STUDY_UID)),
            &shared
        ));
        assert!(
            decide_for_share(&get(Level::Study, Some("other"), Some(STUDY_UID)), &shared),
            "one id both sides have that matches suffices"
        );
    }

    #[test]
    fn other_ids_are_refused() {
        let shared = [study()];
        assert!(!decide_for_share(
            &get(Level::Study, Some(SERIES_ID), None),
            &shared
        ));
        assert!(!decide_for_share(
            &get(Level::Study, None, Some("1.2.3")),
            &shared
        ));
        assert!(!decide_for_share(&get(Level::Study, None, None), &shared));
        assert!(!decide_for_share(
            &get(Level::Study, Some(""), Some("")),
            &shared
        ));
        let no_uid = SharedResource {
            level: Level::Study,
            orthanc_id: Some(STUDY_ID.into()),
            dicom_uid: Some(String::new()),
            url: None,
        };
        assert!(
            !decide_for_share(&get(Level::Study, None, Some("")), &[no_uid]),
            "an empty id built by hand still matches nothing"
        );
        assert!(!decide_for_share(
            &get(Level::Study, Some(STUDY_ID), None),
            &[]
        ));
    }

    #[test]
    fn other_levels_are_refused_even_with_the_same_id() {
        let shared = [study()];
        for level in [
            Level::Patient,
            Level::Series,
            Level::Instance,
            Level::System,
        ] {
            assert!(
                !decide_for_share(&get(level, Some(STUDY_ID), Some(STUDY_UID)), &shared),
                "{level:?}"
            );
        }
        let mut system = get(Level::System, None, None);
        system.uri = Some("/studies");
        assert!(!decide_for_share(&system, &shared));
        let bound_to_system = SharedResource {
            level: Level::System,
            orthanc_id: Some(STUDY_ID.into()),
            dicom_uid: None,
            url: None,
        };
        assert!(
            !decide_for_share(
                &get(Level::System, Some(STUDY_ID), None),
                &[bound_to_system]
            ),
            "not even a resource built by hand at the system level"
        );
    }

    #[test]
    fn only_get_is_granted() {
        let shared = [study()];
        for method in [Method::Post, Method::Put, Method::Delete] {
            let mut access = get(Level::Study, Some(STUDY_ID), Some(STUDY_UID));
            access.method = method;
            assert!(!decide_for_share(&access, &shared), "{method:?}");
        }
    }

    #[test]
    fn any_of_several_bound_resources_grants_at_its_own_level() {
        let series: SharedResource =
            serde_json::from_value(json!({"level": "series", "orthanc-id": SERIES_ID})).unwrap();
        let shared = [study(), series];
        assert!(decide_for_share(
            &get(Level::Series, Some(SERIES_ID), None),
            &shared
        ));
        assert!(decide_for_share(
            &get(Level::Study, Some(STUDY_ID), None),
            &shared
        ));
        assert!(!decide_for_share(
            &get(Level::Series, Some(STUDY_ID), None),
            &shared
        ));
    }
}
