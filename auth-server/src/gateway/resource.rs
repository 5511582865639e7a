//! What a request URL asks for, in the terms of the imaging decision.
//!
//! Three URL families of an imaging web service are understood:
//!
//! - Orthanc's REST API: `/patients|studies|series|instances` (a listing)
//!   and `/<level>/{orthanc-id}…` (one resource and what is under it);
//! - DICOMweb under `/dicom-web/`: QIDO-RS listings (`/dicom-web/studies`,
//!   `/series`, `/instances`) and `/dicom-web/studies/{uid}[/series/{uid}
//!   [/instances/{uid}]]…`, whose path ties each UID to the one before it
//!   (the upstream answers only inside that hierarchy);
//! - WADO-URI: any path whose query has `requestType=WADO`, naming its
//!   resources by `studyUID`, `seriesUID` and `objectUID`.
//!
//! Anything else names no resource and is decided by the URI table at the
//! system level. A path the upstream might read differently from this
//! parser (dot segments, encoded slashes or dots, backslashes, empty
//! segments) is refused as malformed before anything is decided.

use auth_core::imaging::Level;

/// How a resource is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id<'a> {
    /// By Orthanc's id (REST URLs).
    Orthanc(&'a str),
    /// By DICOM UID (DICOMweb and WADO-URI).
    Dicom(&'a str),
}

/// One resource a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named<'a> {
    /// Its level.
    pub level: Level,
    /// Its id.
    pub id: Id<'a>,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target<'a> {
    /// A listing of every resource of a level (REST `GET /studies`, QIDO
    /// `GET /dicom-web/studies`): `uri` is the REST listing it is decided
    /// as, so both kinds need what `GET /studies` needs.
    Listing {
        /// `/patients`, `/studies`, `/series` or `/instances`.
        uri: &'static str,
    },
    /// A URL naming no single resource: the URI table decides.
    System,
    /// A URL naming resources, outermost first; the upstream answers only
    /// within that chain.
    Resources {
        /// The resources named.
        chain: Vec<Named<'a>>,
        /// Whether it retrieves whole objects (WADO-RS of a study, series
        /// or instance, REST archives and files, WADO-URI): those need
        /// `download` as well.
        bulk: bool,
        /// Whether the resources came from the query (WADO-URI), so that
        /// the path itself is not looked up in the URI table.
        by_query: bool,
    },
}

/// A path this parser will not decide on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

const LISTINGS: [(&str, &str); 4] = [
    ("patients", "/patients"),
    ("studies", "/studies"),
    ("series", "/series"),
    ("instances", "/instances"),
];

/// What `path` (with `query`, without the `?`) asks for; `read` for a
/// `GET` or `HEAD` (a bare level is a listing only then: `POST
/// /instances` uploads).
pub fn parse<'a>(
    path: &'a str,
    query: Option<&'a str>,
    read: bool,
) -> Result<Target<'a>, Malformed> {
    check_path(path)?;
    if let Some(target) = query.and_then(wado_uri) {
        return Ok(target);
    }
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    let segments: Vec<&str> = trimmed.split('/').collect();
    match segments.as_slice() {
        [level] if read => Ok(listing(level).map_or(Target::System, |uri| Target::Listing { uri })),
        ["dicom-web", level] if read => {
            Ok(listing(level).map_or(Target::System, |uri| Target::Listing { uri }))
        }
        ["dicom-web", "studies", rest @ ..] if !rest.is_empty() => Ok(dicom_web(rest)),
        [level, id, rest @ ..] => Ok(rest_api(level, id, rest)),
        _ => Ok(Target::System),
    }
}

fn listing(segment: &str) -> Option<&'static str> {
    LISTINGS
        .iter()
        .find(|(name, _)| *name == segment)
        .map(|(_, uri)| *uri)
}

/// Refuses what a server might resolve to another path than the one
/// parsed here.
fn check_path(path: &str) -> Result<(), Malformed> {
    if !path.starts_with('/') || path.contains('\\') {
        return Err(Malformed);
    }
    let lower = path.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c", "%00"]
        .iter()
        .any(|e| lower.contains(e))
    {
        return Err(Malformed);
    }
    let inner = path[1..].strip_suffix('/').unwrap_or(&path[1..]);
    if path.len() > 1
        && inner
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(Malformed);
    }
    Ok(())
}

/// `/<level>/{id}…` of Orthanc's REST API.
fn rest_api<'a>(level: &str, id: &'a str, rest: &[&str]) -> Target<'a> {
    let level = match level {
        "patients" => Level::Patient,
        "studies" => Level::Study,
        "series" => Level::Series,
        "instances" => Level::Instance,
        _ => return Target::System,
    };
    if !is_orthanc_id(id) {
        return Target::System;
    }
    let bulk = matches!(rest.last(), Some(&("archive" | "media" | "file")))
        || rest.first() == Some(&"attachments");
    Target::Resources {
        chain: vec![Named {
            level,
            id: Id::Orthanc(id),
        }],
        bulk,
        by_query: false,
    }
}

/// `/dicom-web/studies/{uid}…`: `rest` starts at the study's UID.
fn dicom_web<'a>(rest: &[&'a str]) -> Target<'a> {
    let mut chain = Vec::with_capacity(3);
    let mut rest = rest;
    for (level, name) in [
        (Level::Study, None),
        (Level::Series, Some("series")),
        (Level::Instance, Some("instances")),
    ] {
        let uid = match (name, rest) {
            (None, [uid, tail @ ..]) => {
                rest = tail;
                uid
            }
            (Some(name), [segment, uid, tail @ ..]) if *segment == name => {
                rest = tail;
                uid
            }
            _ => break,
        };
        if !is_uid(uid) {
            return Target::System;
        }
        chain.push(Named {
            level,
            id: Id::Dicom(uid),
        });
    }
    let bulk = rest.is_empty() || rest.first() == Some(&"bulk");
    Target::Resources {
        chain,
        bulk,
        by_query: false,
    }
}

/// A WADO-URI query (`requestType=WADO`), or `None`.
fn wado_uri(query: &str) -> Option<Target<'_>> {
    let mut is_wado = false;
    let (mut study, mut series, mut object) = (None, None, None);
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "requestType" => is_wado = value.eq_ignore_ascii_case("WADO"),
            "studyUID" => study = Some(value),
            "seriesUID" => series = Some(value),
            "objectUID" => object = Some(value),
            _ => {}
        }
    }
    if !is_wado {
        return None;
    }
    let mut chain = Vec::with_capacity(3);
    for (level, uid) in [
        (Level::Study, study),
        (Level::Series, series),
        (Level::Instance, object),
    ] {
        let Some(uid) = uid else { continue };
        if !is_uid(uid) {
            // Not a UID this decision can name: nothing is opened by it.
            return Some(Target::System);
        }
        chain.push(Named {
            level,
            id: Id::Dicom(uid),
        });
    }
    if chain.is_empty() {
        return Some(Target::System);
    }
    Some(Target::Resources {
        chain,
        bulk: true,
        by_query: true,
    })
}

/// Orthanc's ids: SHA-1 digests in five dash-separated groups.
fn is_orthanc_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| matches!(b, b'a'..=b'f' | b'0'..=b'9' | b'-'))
}

/// DICOM UIDs: digits and dots, at most 64 characters.
fn is_uid(uid: &str) -> bool {
    !uid.is_empty() && uid.len() <= 64 && uid.bytes().all(|b| b == b'.' || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "27f7126f-4f66f5b6-1c3e4b2d-8a8e5b0e-2a4f7c11";

    fn study(id: Id<'_>) -> Named<'_> {
        Named {
            level: Level::Study,
            id,
        }
    }

    #[test]
    fn listings_of_rest_and_qido_are_listings_for_reads_only() {
        for (path, uri) in [
            ("/studies", "/studies"),
            ("/patients/", "/patients"),
            ("/dicom-web/studies", "/studies"),
            ("/dicom-web/series", "/series"),
            ("/dicom-web/instances/", "/instances"),
        ] {
            assert_eq!(
                parse(path, None, true),
                Ok(Target::Listing { uri }),
                "{path}"
            );
        }
        assert_eq!(parse("/instances", None, false), Ok(Target::System));
        assert_eq!(parse("/dicom-web/studies", None, false), Ok(Target::System));
        assert_eq!(parse("/system", None, true), Ok(Target::System));
        assert_eq!(parse("/", None, true), Ok(Target::System));
    }

    #[test]
    fn rest_urls_name_their_resource_and_archives_are_bulk() {
        let path = format!("/studies/{ID}");
        let target = parse(&path, None, true).unwrap();
        assert_eq!(
            target,
            Target::Resources {
                chain: vec![study(Id::Orthanc(ID))],
                bulk: false,
                by_query: false
            }
        );
        for (path, bulk) in [
            (format!("/studies/{ID}/archive"), true),
            (format!("/patients/{ID}/media"), true),
            (format!("/instances/{ID}/file"), true),
            (format!("/instances/{ID}/attachments/dicom/data"), true),
            (format!("/instances/{ID}/simplified-tags"), false),
            (format!("/series/{ID}/instances"), false),
        ] {
            let Ok(Target::Resources { bulk: found, .. }) = parse(&path, None, true) else {
                panic!("{path}");
            };
            assert_eq!(found, bulk, "{path}");
        }
        assert_eq!(parse("/studies/NOT-AN-ID", None, true), Ok(Target::System));
        assert_eq!(parse("/tools/find", None, false), Ok(Target::System));
    }

    #[test]
    fn dicomweb_urls_chain_their_uids_and_retrievals_are_bulk() {
        let Ok(Target::Resources { chain, bulk, .. }) = parse(
            "/dicom-web/studies/1.2/series/1.2.3/instances/1.2.3.4",
            None,
            true,
        ) else {
            panic!()
        };
        assert!(bulk);
        assert_eq!(
            chain.iter().map(|n| (n.level, n.id)).collect::<Vec<_>>(),
            [
                (Level::Study, Id::Dicom("1.2")),
                (Level::Series, Id::Dicom("1.2.3")),
                (Level::Instance, Id::Dicom("1.2.3.4"))
            ]
        );
        for (path, bulk, depth) in [
            ("/dicom-web/studies/1.2", true, 1),
            ("/dicom-web/studies/1.2/metadata", false, 1),
            ("/dicom-web/studies/1.2/series", false, 1),
            ("/dicom-web/studies/1.2/series/1.3", true, 2),
            ("/dicom-web/studies/1.2/series/1.3/metadata", false, 2),
            ("/dicom-web/studies/1.2/series/1.3/instances", false, 2),
            (
                "/dicom-web/studies/1.2/series/1.3/instances/1.4/frames/1",
                false,
                3,
            ),
            ("/dicom-web/studies/1.2/series/1.3/rendered", false, 2),
        ] {
            let Ok(Target::Resources {
                chain, bulk: found, ..
            }) = parse(path, None, true)
            else {
                panic!("{path}");
            };
            assert_eq!((found, chain.len()), (bulk, depth), "{path}");
        }
        assert_eq!(
            parse("/dicom-web/studies/abc", None, true),
            Ok(Target::System)
        );
    }

    #[test]
    fn wado_uri_names_its_resources_from_the_query() {
        let target = parse(
            "/wado",
            Some("requestType=WADO&studyUID=1.2&seriesUID=1.3&objectUID=1.4&contentType=application%2Fdicom"),
            true,
        )
        .unwrap();
        let Target::Resources {
            chain,
            bulk,
            by_query,
        } = target
        else {
            panic!()
        };
        assert!(bulk && by_query);
        assert_eq!(chain.len(), 3);
        assert_eq!(chain[0], study(Id::Dicom("1.2")));
        assert_eq!(
            parse("/wado", Some("requestType=WADO"), true),
            Ok(Target::System)
        );
        assert_eq!(
            parse("/wado", Some("requestType=WADO&studyUID=x"), true),
            Ok(Target::System)
        );
        assert!(matches!(
            parse("/anything", Some("requestType=wado&objectUID=1.4"), true),
            Ok(Target::Resources { .. })
        ));
    }

    #[test]
    fn paths_an_upstream_could_resolve_differently_are_malformed() {
        for path in [
            "/studies/../system",
            "/studies/./x",
            "//studies",
            "/studies//x",
            "/studies/%2e%2e/system",
            "/dicom-web%2Fstudies",
            "/a\\b",
            "studies",
        ] {
            assert_eq!(parse(path, None, true), Err(Malformed), "{path}");
        }
    }
}
