//! Which permissions an access needs, and the decision for a user token.
//!
//! At a resource level the answer depends on the method alone. At the system
//! level it depends on the URI, through a first-match table that mirrors the
//! plugin's default `Permissions` list (`Plugin/DefaultConfiguration.json` of
//! orthanc-authorization 0.11.4, with `DICOM_WEB_ROOT` = `dicom-web` and its
//! `SINGLE_RESOURCE_PATTERNS` macro expanded): the plugin usually decides
//! those URIs itself from the user's profile, and asks `tokens/validate`
//! only when it cannot; answering with the same table keeps both answers the
//! same. A URI the table does not list needs `all` (default deny).
//!
//! Patterns are matched segment by segment on the borrowed URI, without a
//! regex and without allocating: a query string is ignored, one trailing `/`
//! is tolerated, and the id shapes the plugin's regexes require (Orthanc ids
//! `[a-f0-9-]+`, DICOM UIDs `[.0-9]+`) are checked.
//!
//! Two deliberate differences from the plugin's list:
//! - its three rules that need no permission (`POST /auth/tokens/decode`,
//!   `POST /tools/lookup`, `GET /tools/generate-uid…`) need `view` here: this
//!   question is only asked about a token, and a token of someone with no
//!   imaging permission at all should get nothing;
//! - `all` suffices everywhere, also where the plugin lists only
//!   `admin-permissions` (the role settings, modalities and jobs), because
//!   `all` is what this server's `admin` role is given.

use super::access::{Access, Level, Method};
use super::permission::{Permission, Permissions};

// Short names for the table below.
use Method::{Delete as DELETE, Get as GET, Post as POST, Put as PUT};
use Permission::{
    AdminPermissions as ADMIN, Anonymize as ANONYMIZE, AuditLogs as AUDIT, Delete as DELETE_P,
    Download as DOWNLOAD, EditLabels as LABELS, Modify as MODIFY, QRRemoteModalities as QR,
    Send as SEND, Settings as SETTINGS, Share as SHARE, Upload as UPLOAD, View as VIEW,
    Worklists as WORKLISTS,
};
use Seg::{Id, Lit, Num, OneOf, Rest0, Rest1, StartsWith, Uid};

/// The permissions any one of which lets `method` on `level` (and, at the
/// system level, `uri`) through; [`Permission::All`] always suffices and is
/// not listed. Empty when only `all` suffices: a system access without a
/// URI, or with a URI the table does not list.
pub fn required(method: Method, level: Level, uri: Option<&str>) -> Permissions {
    match level {
        Level::System => {
            uri.and_then(path_of)
                .and_then(|path| {
                    let (head, next) = split(path);
                    RULES.iter().find(|rule| {
                        rule.method == method
                            && rule.path.split_first().is_some_and(|(first, rest)| {
                                first.accepts(head) && matches(rest, next)
                            })
                    })
                })
                .map_or(Permissions::EMPTY, |rule| rule.any_of)
        }
        Level::Patient | Level::Study | Level::Series | Level::Instance => match method {
            Method::Get => Permissions::of(&[Permission::View]),
            Method::Delete => Permissions::of(&[Permission::Delete]),
            Method::Post | Method::Put => Permissions::of(&[Permission::Modify]),
        },
    }
}

/// The decision for a user token holding `held`: `all`, or any one of the
/// [`required`] permissions. Labels are not part of it: the plugin checks
/// them itself against the profile.
pub fn decide_for_user(access: &Access<'_>, held: Permissions) -> bool {
    held.contains(Permission::All)
        || held.intersects(required(access.method, access.level, access.uri))
}

/// The path of `uri` without its leading `/`, query string and one trailing
/// `/`; `None` when it does not start with `/` (the plugin always sends
/// absolute paths, so anything else is refused).
fn path_of(uri: &str) -> Option<&str> {
    let path = uri.split_once('?').map_or(uri, |(path, _)| path);
    let path = path.strip_prefix('/')?;
    Some(path.strip_suffix('/').unwrap_or(path))
}

/// One element of a pattern.
#[derive(Debug, Clone, Copy)]
enum Seg {
    /// Exactly this segment.
    Lit(&'static str),
    /// Any one of these segments.
    OneOf(&'static [&'static str]),
    /// A segment starting with one of these, e.g. `anonymize…`; the rest of
    /// the URI is left to the next element (the regexes' trailing `(.*)`).
    StartsWith(&'static [&'static str]),
    /// An Orthanc id or job/query id: `[a-f0-9-]+`.
    Id,
    /// A DICOM UID: `[.0-9]+`.
    Uid,
    /// A number: `[0-9]+`.
    Num,
    /// The Orthanc web viewer's instance key: `[a-z0-9]+-[a-f0-9-]+_[0-9]+`.
    WebViewerInstance,
    /// Zero or more segments of anything (the regexes' `(|/.*)`).
    Rest0,
    /// One or more segments of anything, possibly empty (the regexes' `(.*)`
    /// between or after slashes, which may itself contain slashes).
    Rest1,
}

impl Seg {
    /// Whether this one-segment element accepts `segment`.
    fn accepts(self, segment: &str) -> bool {
        match self {
            Self::Lit(lit) => segment == lit,
            Self::OneOf(list) => list.contains(&segment),
            Self::StartsWith(list) => list.iter().any(|prefix| segment.starts_with(prefix)),
            Self::Id => is_word(segment, |b| matches!(b, b'a'..=b'f' | b'0'..=b'9' | b'-')),
            Self::Uid => is_word(segment, |b| matches!(b, b'.' | b'0'..=b'9')),
            Self::Num => is_word(segment, |b| b.is_ascii_digit()),
            Self::WebViewerInstance => is_web_viewer_instance(segment),
            Self::Rest0 | Self::Rest1 => true,
        }
    }
}

/// Non-empty and every byte accepted.
fn is_word(segment: &str, byte: impl Fn(u8) -> bool) -> bool {
    !segment.is_empty() && segment.bytes().all(byte)
}

/// `[a-z0-9]+-[a-f0-9-]+_[0-9]+`: the prefix cannot contain `-`, so the
/// first `-` ends it; the number follows the last `_`.
fn is_web_viewer_instance(segment: &str) -> bool {
    let Some((key, number)) = segment.rsplit_once('_') else {
        return false;
    };
    let Some((prefix, id)) = key.split_once('-') else {
        return false;
    };
    is_word(prefix, |b| matches!(b, b'a'..=b'z' | b'0'..=b'9'))
        && Seg::Id.accepts(id)
        && Seg::Num.accepts(number)
}

/// The first segment of `rest` and what follows it (`None`: nothing).
fn split(rest: &str) -> (&str, Option<&str>) {
    match rest.split_once('/') {
        Some((head, tail)) => (head, Some(tail)),
        None => (rest, None),
    }
}

/// Whether the segments in `rest` (`None`: no segment left) match `pattern`
/// to their end. Recursion is bounded by the pattern's length; the `Rest`
/// elements loop over the URI instead.
fn matches(pattern: &[Seg], rest: Option<&str>) -> bool {
    let Some((&first, tail)) = pattern.split_first() else {
        return rest.is_none();
    };
    match first {
        Seg::Rest0 | Seg::Rest1 => {
            let mut rest = rest;
            if matches!(first, Seg::Rest1) {
                match rest {
                    Some(r) => rest = split(r).1,
                    None => return false,
                }
            }
            if tail.is_empty() {
                return true;
            }
            loop {
                if matches(tail, rest) {
                    return true;
                }
                match rest {
                    Some(r) => rest = split(r).1,
                    None => return false,
                }
            }
        }
        one => match rest {
            Some(r) => {
                let (head, next) = split(r);
                one.accepts(head) && matches(tail, next)
            }
            None => false,
        },
    }
}

/// One rule of the table.
#[derive(Debug)]
struct Rule {
    method: Method,
    path: &'static [Seg],
    any_of: Permissions,
}

const fn rule(method: Method, path: &'static [Seg], any_of: &[Permission]) -> Rule {
    Rule {
        method,
        path,
        any_of: Permissions::of(any_of),
    }
}

const RESOURCES: Seg = OneOf(&["patients", "studies", "series", "instances"]);
const DICOM_WEB: Seg = Lit("dicom-web");
const AUTH: Seg = Lit("auth");
const TOOLS: Seg = Lit("tools");
const PEERS_OR_MODALITIES: Seg = OneOf(&["peers", "modalities"]);

/// The plugin's default rules, in its order (first match wins; only rules
/// of the same method can shadow each other). No rule starts with a `Rest`
/// element: [`required`] tests the first segment on its own.
static RULES: &[Rule] = &[
    // Need no permission in the plugin; `view` here (see the module doc).
    rule(POST, &[AUTH, Lit("tokens"), Lit("decode")], &[VIEW]),
    rule(POST, &[TOOLS, Lit("lookup")], &[VIEW]),
    rule(GET, &[TOOLS, StartsWith(&["generate-uid"]), Rest0], &[VIEW]),
    // Browsing.
    rule(POST, &[TOOLS, Lit("find")], &[VIEW]),
    rule(POST, &[TOOLS, Lit("count-resources")], &[VIEW]),
    rule(GET, &[RESOURCES], &[VIEW]),
    rule(GET, &[Lit("statistics")], &[VIEW]),
    rule(GET, &[TOOLS, Lit("metrics-prometheus")], &[VIEW]),
    rule(GET, &[Lit("changes")], &[VIEW]),
    rule(GET, &[Lit("system")], &[VIEW]),
    rule(GET, &[Lit("plugins")], &[VIEW]),
    rule(GET, &[Lit("plugins"), Rest1], &[VIEW]),
    rule(GET, &[Lit("worklists")], &[VIEW, WORKLISTS]),
    rule(GET, &[Lit("worklists"), Rest1], &[VIEW, WORKLISTS]),
    // SINGLE_RESOURCE_PATTERNS, expanded.
    rule(GET, &[RESOURCES, Id, Rest0], &[VIEW]),
    rule(
        GET,
        &[
            Lit("web-viewer"),
            OneOf(&["series", "is-stable-series"]),
            Id,
            Rest0,
        ],
        &[VIEW],
    ),
    rule(
        GET,
        &[Lit("wsi"), OneOf(&["pyramids", "tiles"]), Id, Rest0],
        &[VIEW],
    ),
    rule(
        GET,
        &[Lit("web-viewer"), Lit("instances"), Seg::WebViewerInstance],
        &[VIEW],
    ),
    rule(
        GET,
        &[Lit("osimis-viewer"), Lit("series"), Id, Rest0],
        &[VIEW],
    ),
    rule(
        GET,
        &[
            Lit("osimis-viewer"),
            OneOf(&["images", "custom-command"]),
            Id,
            Rest0,
        ],
        &[VIEW],
    ),
    rule(
        GET,
        &[Lit("osimis-viewer"), Lit("studies"), Id, Rest0],
        &[VIEW],
    ),
    rule(GET, &[DICOM_WEB, Lit("studies"), Uid], &[VIEW]),
    rule(
        GET,
        &[
            DICOM_WEB,
            Lit("studies"),
            Uid,
            OneOf(&["series", "metadata", "instances", "rendered", "thumbnail"]),
        ],
        &[VIEW],
    ),
    rule(
        GET,
        &[DICOM_WEB, Lit("studies"), Uid, Lit("series"), Uid],
        &[VIEW],
    ),
    rule(
        GET,
        &[
            DICOM_WEB,
            Lit("studies"),
            Uid,
            Lit("series"),
            Uid,
            OneOf(&["instances", "rendered", "thumbnail", "metadata"]),
        ],
        &[VIEW],
    ),
    rule(
        GET,
        &[
            DICOM_WEB,
            Lit("studies"),
            Uid,
            Lit("series"),
            Uid,
            Lit("instances"),
            Uid,
        ],
        &[VIEW],
    ),
    rule(
        GET,
        &[
            DICOM_WEB,
            Lit("studies"),
            Uid,
            Lit("series"),
            Uid,
            Lit("instances"),
            Uid,
            OneOf(&["rendered", "thumbnail", "metadata"]),
        ],
        &[VIEW],
    ),
    rule(
        GET,
        &[
            DICOM_WEB,
            Lit("studies"),
            Uid,
            Lit("series"),
            Uid,
            Lit("instances"),
            Uid,
            OneOf(&["frames", "bulk"]),
            Rest0,
        ],
        &[VIEW],
    ),
    // Links to open a viewer or download.
    rule(
        PUT,
        &[
            AUTH,
            Lit("tokens"),
            OneOf(&["viewer-instant-link", "meddream-instant-link"]),
        ],
        &[VIEW],
    ),
    rule(
        PUT,
        &[AUTH, Lit("tokens"), Lit("download-instant-link")],
        &[DOWNLOAD],
    ),
    // Sharing.
    rule(
        PUT,
        &[
            AUTH,
            Lit("tokens"),
            OneOf(&[
                "stone-viewer-publication",
                "meddream-viewer-publication",
                "osimis-viewer-publication",
                "ohif-viewer-publication",
                "volview-viewer-publication",
            ]),
        ],
        &[SHARE],
    ),
    rule(
        GET,
        &[
            Lit("ui"),
            Lit("api"),
            Lit("emails"),
            Lit("templates"),
            Rest1,
        ],
        &[SHARE],
    ),
    rule(
        POST,
        &[Lit("ui"), Lit("api"), Lit("emails"), Lit("send")],
        &[SHARE],
    ),
    // Uploads.
    rule(POST, &[Lit("instances")], &[UPLOAD]),
    rule(POST, &[DICOM_WEB, Lit("studies")], &[UPLOAD]),
    rule(POST, &[DICOM_WEB, Lit("studies"), Uid], &[UPLOAD]),
    rule(POST, &[TOOLS, Lit("create-dicom")], &[UPLOAD]),
    rule(POST, &[Lit("stl"), Lit("encode-rtstruct")], &[UPLOAD]),
    rule(POST, &[Lit("stl"), Lit("encode-nifti")], &[UPLOAD]),
    // One job, by id.
    rule(
        GET,
        &[Lit("jobs"), Id],
        &[SEND, MODIFY, ANONYMIZE, QR, ADMIN],
    ),
    // Peers, modalities, DICOMweb servers.
    rule(
        POST,
        &[
            PEERS_OR_MODALITIES,
            Rest1,
            OneOf(&["store", "store-straight"]),
        ],
        &[SEND],
    ),
    rule(GET, &[PEERS_OR_MODALITIES], &[SEND, QR]),
    rule(
        GET,
        &[PEERS_OR_MODALITIES, Rest1, Lit("configuration")],
        &[SEND, QR],
    ),
    rule(POST, &[Lit("modalities"), Rest1, Lit("echo")], &[SEND, QR]),
    rule(POST, &[Lit("modalities"), Rest1, Lit("query")], &[QR]),
    rule(GET, &[Lit("queries"), Id, Lit("answers")], &[QR]),
    rule(
        GET,
        &[Lit("queries"), Id, Lit("answers"), Num, Lit("content")],
        &[QR],
    ),
    rule(
        POST,
        &[Lit("queries"), Id, Lit("answers"), Num, Lit("retrieve")],
        &[QR],
    ),
    rule(POST, &[Lit("modalities"), Rest1, Lit("move")], &[QR]),
    rule(GET, &[DICOM_WEB, Lit("servers")], &[SEND, QR]),
    rule(
        POST,
        &[DICOM_WEB, Lit("servers"), Rest1, Lit("qido")],
        &[QR],
    ),
    rule(
        POST,
        &[DICOM_WEB, Lit("servers"), Rest1, Lit("retrieve")],
        &[QR],
    ),
    rule(
        POST,
        &[DICOM_WEB, Lit("servers"), Rest1, Lit("stow")],
        &[SEND],
    ),
    // DICOMweb QIDO-RS.
    rule(
        GET,
        &[DICOM_WEB, OneOf(&["studies", "series", "instances"])],
        &[VIEW],
    ),
    // Modification and anonymization.
    rule(
        POST,
        &[RESOURCES, Id, StartsWith(&["modify", "merge"]), Rest0],
        &[MODIFY],
    ),
    rule(
        POST,
        &[RESOURCES, Id, StartsWith(&["anonymize"]), Rest0],
        &[ANONYMIZE],
    ),
    rule(POST, &[TOOLS, Lit("bulk-modify")], &[MODIFY]),
    rule(POST, &[TOOLS, Lit("bulk-anonymize")], &[ANONYMIZE]),
    // Labels.
    rule(GET, &[TOOLS, Lit("labels")], &[VIEW, LABELS]),
    rule(PUT, &[RESOURCES, Id, Lit("labels"), Rest1], &[LABELS]),
    rule(DELETE, &[RESOURCES, Id, Lit("labels"), Rest1], &[LABELS]),
    // Deletion.
    rule(DELETE, &[RESOURCES, Id], &[DELETE_P]),
    rule(POST, &[TOOLS, Lit("bulk-delete")], &[DELETE_P]),
    // Settings.
    rule(PUT, &[TOOLS, Lit("log-level")], &[SETTINGS]),
    rule(GET, &[TOOLS, Lit("log-level")], &[SETTINGS]),
    // Permission settings.
    rule(PUT, &[AUTH, Lit("settings"), Lit("roles")], &[ADMIN]),
    rule(GET, &[AUTH, Lit("settings"), Lit("roles")], &[ADMIN]),
    rule(GET, &[AUTH, Lit("settings"), Lit("permissions")], &[ADMIN]),
    // Audit logs.
    rule(GET, &[AUTH, Lit("audit-logs")], &[ADMIN, AUDIT]),
    // Adding and removing modalities.
    rule(PUT, &[Lit("modalities"), Rest1], &[ADMIN]),
    rule(DELETE, &[Lit("modalities"), Rest1], &[ADMIN]),
    // Worklists.
    rule(POST, &[Lit("worklists"), Lit("create")], &[WORKLISTS]),
    rule(PUT, &[Lit("worklists"), Rest1], &[WORKLISTS]),
    rule(DELETE, &[Lit("worklists"), Rest1], &[WORKLISTS]),
    // All jobs.
    rule(GET, &[Lit("jobs")], &[ADMIN]),
    rule(
        POST,
        &[
            Lit("jobs"),
            Id,
            OneOf(&["pause", "resume", "resubmit", "cancel"]),
        ],
        &[ADMIN],
    ),
    rule(DELETE, &[Lit("jobs"), Id], &[ADMIN]),
];

#[cfg(test)]
mod tests;
