//! What the plugin asks about: one access to one level of one URI.

use serde::{Deserialize, Serialize};

/// The level of Orthanc's resource hierarchy an access is checked at.
///
/// The plugin splits one URI into one check per level (an instance URL is
/// checked at its patient, study, series and instance); `system` is a URI
/// that names no single resource, sent with the `uri` instead of ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A URI that names no single resource (lists, tools, jobs, …).
    System,
    /// A patient; `patients` is accepted as the plugin's parser accepts it.
    #[serde(alias = "patients")]
    Patient,
    /// A study; `studies` is accepted as the plugin's parser accepts it.
    #[serde(alias = "studies")]
    Study,
    /// A series.
    Series,
    /// An instance; `instances` is accepted as the plugin's parser accepts it.
    #[serde(alias = "instances")]
    Instance,
}

/// The HTTP method of the access; the plugin sends exactly these four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// `get`
    Get,
    /// `post`
    Post,
    /// `put`
    Put,
    /// `delete`
    Delete,
}

/// One access, borrowed from a `tokens/validate` request, so that deciding
/// it copies nothing.
///
/// At a resource level the plugin sends the resource's ids; at
/// [`Level::System`] it sends the `uri` (path only; any query string is
/// ignored by the decision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access<'a> {
    /// The level checked.
    pub level: Level,
    /// The HTTP method of the request Orthanc is filtering.
    pub method: Method,
    /// The request URI, sent at the system level.
    pub uri: Option<&'a str>,
    /// Orthanc's id of the resource, sent at resource levels.
    pub orthanc_id: Option<&'a str>,
    /// The resource's DICOM UID (or PatientID), sent at resource levels.
    pub dicom_uid: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_methods_are_lowercase_words() {
        for (level, word) in [
            (Level::System, "system"),
            (Level::Patient, "patient"),
            (Level::Study, "study"),
            (Level::Series, "series"),
            (Level::Instance, "instance"),
        ] {
            let json = format!("\"{word}\"");
            assert_eq!(serde_json::to_string(&level).unwrap(), json);
            assert_eq!(serde_json::from_str::<Level>(&json).unwrap(), level);
        }
        assert_eq!(
            serde_json::from_str::<Level>("\"studies\"").unwrap(),
            Level::Study
        );
        assert!(serde_json::from_str::<Level>("\"Study\"").is_err());
        for (method, word) in [
            (Method::Get, "get"),
            (Method::Post, "post"),
            (Method::Put, "put"),
            (Method::Delete, "delete"),
        ] {
            let json = format!("\"{word}\"");
            assert_eq!(serde_json::to_string(&method).unwrap(), json);
            assert_eq!(serde_json::from_str::<Method>(&json).unwrap(), method);
        }
        assert!(serde_json::from_str::<Method>("\"patch\"").is_err());
    }
}
