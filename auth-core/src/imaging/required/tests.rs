//! The URI table against the plugin's default rules, default deny, and the
//! properties of the user decision.

use proptest::prelude::*;

use super::*;

const ID: &str = "0946fcb6-cf12ab43-bad958c1-bf057ad5-0fc6f54c";
const JOB: &str = "6f9c6a0e-4b8e-4a5e-9b1d-2c7f3c0b9d11";

fn method(word: &str) -> Method {
    serde_json::from_value(serde_json::Value::from(word)).unwrap()
}

/// The permissions a plugin rule lists (`"all|view"`), as [`required`]
/// answers them: without `all`, which always suffices, and `view` for the
/// plugin's rules that need no permission (see the module doc).
fn from_plugin(listed: &str) -> Permissions {
    let set: Permissions = listed
        .split('|')
        .filter(|name| !name.is_empty() && *name != "all")
        .map(|name| name.parse::<Permission>().unwrap())
        .collect();
    if listed.is_empty() {
        Permissions::of(&[Permission::View])
    } else {
        set
    }
}

fn system(method: Method, uri: &str) -> Permissions {
    required(method, Level::System, Some(uri))
}

/// One case (or more) per rule of the plugin's default `Permissions` list in
/// `Plugin/DefaultConfiguration.json` (orthanc-authorization 0.11.4), in its
/// order, with the permissions that rule lists.
fn plugin_cases() -> Vec<(&'static str, String, &'static str)> {
    let id = ID;
    let job = JOB;
    let dw_instance = "/dicom-web/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5";
    vec![
        ("post", "/auth/tokens/decode".into(), ""),
        ("post", "/tools/lookup".into(), ""),
        ("get", "/tools/generate-uid".into(), ""),
        ("get", "/tools/generate-uid?level=study".into(), ""),
        ("post", "/tools/find".into(), "all|view"),
        ("post", "/tools/count-resources".into(), "all|view"),
        ("get", "/patients".into(), "all|view"),
        ("get", "/studies/".into(), "all|view"),
        ("get", "/series?expand".into(), "all|view"),
        ("get", "/instances".into(), "all|view"),
        ("get", "/statistics".into(), "all|view"),
        ("get", "/tools/metrics-prometheus".into(), "all|view"),
        ("get", "/changes?since=0&limit=100".into(), "all|view"),
        ("get", "/system".into(), "all|view"),
        ("get", "/plugins".into(), "all|view"),
        ("get", "/plugins/dicom-web".into(), "all|view"),
        ("get", "/plugins/explorer.js".into(), "all|view"),
        ("get", "/worklists".into(), "all|view|worklists"),
        ("get", "/worklists/abc".into(), "all|view|worklists"),
        // SINGLE_RESOURCE_PATTERNS
        ("get", format!("/patients/{id}"), "all|view"),
        ("get", format!("/studies/{id}/series"), "all|view"),
        (
            "get",
            format!("/instances/{id}/frames/0/preview"),
            "all|view",
        ),
        ("get", format!("/series/{id}/labels/hospital-1"), "all|view"),
        ("get", format!("/web-viewer/series/{id}"), "all|view"),
        (
            "get",
            format!("/web-viewer/is-stable-series/{id}"),
            "all|view",
        ),
        ("get", format!("/wsi/pyramids/{id}"), "all|view"),
        ("get", format!("/wsi/tiles/{id}/0/0/0"), "all|view"),
        (
            "get",
            format!("/web-viewer/instances/jpeg95-{id}_0"),
            "all|view",
        ),
        ("get", format!("/osimis-viewer/series/{id}"), "all|view"),
        (
            "get",
            format!("/osimis-viewer/images/{id}/0/high-quality"),
            "all|view",
        ),
        (
            "get",
            format!("/osimis-viewer/custom-command/{id}"),
            "all|view",
        ),
        ("get", format!("/osimis-viewer/studies/{id}"), "all|view"),
        ("get", "/dicom-web/studies/1.2.3".into(), "all|view"),
        (
            "get",
            "/dicom-web/studies/1.2.3/metadata".into(),
            "all|view",
        ),
        ("get", "/dicom-web/studies/1.2.3/series/".into(), "all|view"),
        (
            "get",
            "/dicom-web/studies/1.2.3/series/1.2.3.4".into(),
            "all|view",
        ),
        (
            "get",
            "/dicom-web/studies/1.2.3/series/1.2.3.4/rendered".into(),
            "all|view",
        ),
        ("get", dw_instance.into(), "all|view"),
        ("get", format!("{dw_instance}/thumbnail"), "all|view"),
        ("get", format!("{dw_instance}/frames/1"), "all|view"),
        ("get", format!("{dw_instance}/bulk/00420011"), "all|view"),
        // instant links
        ("put", "/auth/tokens/viewer-instant-link".into(), "all|view"),
        (
            "put",
            "/auth/tokens/meddream-instant-link".into(),
            "all|view",
        ),
        (
            "put",
            "/auth/tokens/download-instant-link".into(),
            "all|download",
        ),
        // sharing
        (
            "put",
            "/auth/tokens/stone-viewer-publication".into(),
            "all|share",
        ),
        (
            "put",
            "/auth/tokens/meddream-viewer-publication".into(),
            "all|share",
        ),
        (
            "put",
            "/auth/tokens/osimis-viewer-publication".into(),
            "all|share",
        ),
        (
            "put",
            "/auth/tokens/ohif-viewer-publication".into(),
            "all|share",
        ),
        (
            "put",
            "/auth/tokens/volview-viewer-publication".into(),
            "all|share",
        ),
        ("get", "/ui/api/emails/templates/share".into(), "all|share"),
        ("post", "/ui/api/emails/send".into(), "all|share"),
        // uploads
        ("post", "/instances".into(), "all|upload"),
        ("post", "/dicom-web/studies".into(), "all|upload"),
        (
            "post",
            "/dicom-web/studies/1.2.840.10008".into(),
            "all|upload",
        ),
        ("post", "/tools/create-dicom".into(), "all|upload"),
        ("post", "/stl/encode-rtstruct".into(), "all|upload"),
        ("post", "/stl/encode-nifti".into(), "all|upload"),
        // one job
        (
            "get",
            format!("/jobs/{job}"),
            "all|send|modify|anonymize|q-r-remote-modalities|admin-permissions",
        ),
        // peers, modalities, DICOMweb servers
        ("post", "/peers/remote/store".into(), "all|send"),
        ("post", "/modalities/pacs/store-straight".into(), "all|send"),
        ("get", "/peers".into(), "all|send|q-r-remote-modalities"),
        (
            "get",
            "/modalities".into(),
            "all|send|q-r-remote-modalities",
        ),
        (
            "get",
            "/modalities/pacs/configuration".into(),
            "all|send|q-r-remote-modalities",
        ),
        (
            "post",
            "/modalities/pacs/echo".into(),
            "all|send|q-r-remote-modalities",
        ),
        (
            "post",
            "/modalities/pacs/query".into(),
            "all|q-r-remote-modalities",
        ),
        (
            "get",
            format!("/queries/{job}/answers"),
            "all|q-r-remote-modalities",
        ),
        (
            "get",
            format!("/queries/{job}/answers/0/content"),
            "all|q-r-remote-modalities",
        ),
        (
            "post",
            format!("/queries/{job}/answers/12/retrieve"),
            "all|q-r-remote-modalities",
        ),
        (
            "post",
            "/modalities/pacs/move".into(),
            "all|q-r-remote-modalities",
        ),
        (
            "get",
            "/dicom-web/servers".into(),
            "all|send|q-r-remote-modalities",
        ),
        (
            "post",
            "/dicom-web/servers/remote/qido".into(),
            "all|q-r-remote-modalities",
        ),
        (
            "post",
            "/dicom-web/servers/remote/retrieve".into(),
            "all|q-r-remote-modalities",
        ),
        ("post", "/dicom-web/servers/remote/stow".into(), "all|send"),
        // QIDO-RS
        ("get", "/dicom-web/studies".into(), "all|view"),
        ("get", "/dicom-web/series/".into(), "all|view"),
        ("get", "/dicom-web/instances?PatientID=1".into(), "all|view"),
        // modification, anonymization
        ("post", format!("/studies/{id}/modify"), "all|modify"),
        ("post", format!("/patients/{id}/merge"), "all|modify"),
        ("post", format!("/series/{id}/anonymize"), "all|anonymize"),
        ("post", "/tools/bulk-modify".into(), "all|modify"),
        ("post", "/tools/bulk-anonymize".into(), "all|anonymize"),
        // labels
        ("get", "/tools/labels".into(), "all|view|edit-labels"),
        (
            "put",
            format!("/studies/{id}/labels/hospital-1"),
            "all|edit-labels",
        ),
        (
            "delete",
            format!("/instances/{id}/labels/hospital-1"),
            "all|edit-labels",
        ),
        // deletes
        ("delete", format!("/studies/{id}"), "all|delete"),
        ("post", "/tools/bulk-delete".into(), "all|delete"),
        // settings
        ("put", "/tools/log-level".into(), "all|settings"),
        ("get", "/tools/log-level".into(), "all|settings"),
        // permission settings
        ("put", "/auth/settings/roles".into(), "admin-permissions"),
        ("get", "/auth/settings/roles".into(), "admin-permissions"),
        (
            "get",
            "/auth/settings/permissions".into(),
            "admin-permissions",
        ),
        // audit logs
        (
            "get",
            "/auth/audit-logs".into(),
            "admin-permissions|audit-logs",
        ),
        // modalities through the REST API
        ("put", "/modalities/new-pacs".into(), "admin-permissions"),
        ("delete", "/modalities/old-pacs".into(), "admin-permissions"),
        // worklists
        ("post", "/worklists/create".into(), "all|worklists"),
        ("put", "/worklists/abc".into(), "all|worklists"),
        ("delete", "/worklists/abc".into(), "all|worklists"),
        // jobs page
        ("get", "/jobs".into(), "admin-permissions"),
        ("post", format!("/jobs/{job}/pause"), "admin-permissions"),
        ("post", format!("/jobs/{job}/resume"), "admin-permissions"),
        ("post", format!("/jobs/{job}/resubmit"), "admin-permissions"),
        ("post", format!("/jobs/{job}/cancel"), "admin-permissions"),
        ("delete", format!("/jobs/{job}"), "admin-permissions"),
    ]
}

#[test]
fn the_system_table_answers_every_default_rule_of_the_plugin() {
    let cases = plugin_cases();
    let mut wrong = Vec::new();
    for (verb, uri, listed) in &cases {
        let got = system(method(verb), uri);
        let want = from_plugin(listed);
        if got != want {
            wrong.push(format!(
                "{verb} {uri}: got {got:?}, the plugin lists {listed:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Every rule of the table is reached by some case.
    for (i, rule) in RULES.iter().enumerate() {
        let reached = cases.iter().any(|(verb, uri, _)| {
            method(verb) == rule.method
                && path_of(uri).is_some_and(|path| matches(rule.path, Some(path)))
        });
        assert!(reached, "no case reaches rule {i}: {rule:?}");
    }
}

#[test]
fn every_rule_starts_with_one_segment() {
    for rule in RULES {
        assert!(
            matches!(rule.path.first(), Some(first) if !matches!(first, Seg::Rest0 | Seg::Rest1)),
            "{rule:?}"
        );
    }
}

#[test]
fn unlisted_uris_need_all() {
    let id = ID;
    for (verb, uri) in [
        ("get", "/".to_owned()),
        ("get", String::new()),
        ("get", "patients".into()),
        ("get", "/patientsX".into()),
        ("get", "/patients/NOT-HEX".into()),
        ("get", "/patients/".to_owned() + "/"),
        ("put", format!("/patients/{id}")),
        ("post", format!("/studies/{id}")),
        ("delete", "/patients".into()),
        ("delete", format!("/studies/{id}/archive")),
        ("post", "/tools/reset".into()),
        ("post", "/tools/shutdown".into()),
        ("post", "/tools/execute-script".into()),
        ("get", "/tools/reset".into()),
        ("post", "/tools/find/more".into()),
        ("post", "/modalities/pacs/unknown".into()),
        ("get", "/auth/tokens/viewer-instant-link".into()),
        ("put", "/auth/tokens/anything-else".into()),
        ("get", "/jobs/XYZ".into()),
        ("post", "/jobs/abc/delete".into()),
        ("get", "/app/explorer.html".into()),
        ("get", "/dicom-web/studies/not-a-uid".into()),
        ("post", "/dicom-web/studies/1.2.3/series".into()),
        ("get", format!("/web-viewer/instances/JPEG-{id}_0")),
        ("get", "/web-viewer/instances/jpeg95abcdef_0".into()),
        ("get", format!("/web-viewer/instances/jpeg95-{id}_")),
        ("put", "/modalities".into()),
        ("get", "/system/extra".into()),
    ] {
        let got = system(method(verb), &uri);
        assert!(got.is_empty(), "{verb} {uri:?} needs {got:?}, not only all");
    }
    assert!(required(Method::Get, Level::System, None).is_empty());
}

#[test]
fn queries_and_one_trailing_slash_are_ignored() {
    let view = Permissions::of(&[Permission::View]);
    assert_eq!(system(Method::Get, "/statistics/"), view);
    assert_eq!(system(Method::Get, "/statistics?x=/y"), view);
    assert_eq!(system(Method::Get, "/statistics/?x"), view);
    assert_eq!(system(Method::Get, "/statistics//"), Permissions::EMPTY);
}

#[test]
fn resource_levels_depend_on_the_method_alone() {
    use Permission::*;
    for level in [Level::Patient, Level::Study, Level::Series, Level::Instance] {
        for uri in [None, Some("/tools/reset")] {
            assert_eq!(required(Method::Get, level, uri), Permissions::of(&[View]));
            assert_eq!(
                required(Method::Delete, level, uri),
                Permissions::of(&[Delete])
            );
            assert_eq!(
                required(Method::Post, level, uri),
                Permissions::of(&[Modify])
            );
            assert_eq!(
                required(Method::Put, level, uri),
                Permissions::of(&[Modify])
            );
        }
    }
}

fn access(method: Method, level: Level, uri: Option<&str>) -> Access<'_> {
    Access {
        level,
        method,
        uri,
        orthanc_id: None,
        dicom_uid: None,
    }
}

#[test]
fn a_user_needs_all_or_one_required_permission() {
    use Permission::*;
    let reader = Permissions::of(&[View, Download]);
    let admin = Permissions::of(&[All]);
    let roles_editor = Permissions::of(&[AdminPermissions]);

    let browse = access(Method::Get, Level::Study, None);
    assert!(decide_for_user(&browse, reader));
    assert!(decide_for_user(&browse, admin));
    assert!(!decide_for_user(&browse, roles_editor));
    assert!(!decide_for_user(&browse, Permissions::EMPTY));

    let delete = access(Method::Delete, Level::Instance, None);
    assert!(!decide_for_user(&delete, reader));
    assert!(decide_for_user(&delete, Permissions::of(&[Delete])));

    let roles = access(Method::Put, Level::System, Some("/auth/settings/roles"));
    assert!(decide_for_user(&roles, roles_editor));
    assert!(
        decide_for_user(&roles, admin),
        "all suffices where the plugin lists only admin-permissions"
    );
    assert!(!decide_for_user(&roles, reader));

    let reset = access(Method::Post, Level::System, Some("/tools/reset"));
    let everything_but_all: Permissions = Permission::EVERY
        .into_iter()
        .filter(|p| *p != All)
        .collect();
    assert!(!decide_for_user(&reset, everything_but_all), "default deny");
    assert!(decide_for_user(&reset, admin));
}

fn any_level() -> impl Strategy<Value = Level> {
    prop_oneof![
        Just(Level::System),
        Just(Level::Patient),
        Just(Level::Study),
        Just(Level::Series),
        Just(Level::Instance),
    ]
}

fn any_method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Get),
        Just(Method::Post),
        Just(Method::Put),
        Just(Method::Delete)
    ]
}

fn any_permissions() -> impl Strategy<Value = Permissions> {
    proptest::collection::vec(proptest::sample::select(Permission::EVERY.to_vec()), 0..6)
        .prop_map(|list| list.into_iter().collect())
}

/// URIs near the table's (its words, ids, slashes, queries) and anything.
fn any_uri() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        proptest::sample::select(vec![
            "patients",
            "studies",
            "series",
            "instances",
            "tools",
            "find",
            "jobs",
            "auth",
            "tokens",
            "settings",
            "roles",
            "dicom-web",
            "modalities",
            "peers",
            "store",
            "query",
            "labels",
            "worklists",
            "plugins",
            "web-viewer",
            "wsi",
            "osimis-viewer",
            "queries",
            "answers",
            "1.2.3",
            "0",
            "",
            ID,
            JOB,
            "anonymize",
            "modify-x",
            "generate-uid",
        ])
        .prop_map(str::to_owned),
        "[a-z0-9._-]{0,10}",
    ];
    prop_oneof![
        (
            proptest::collection::vec(word, 0..10),
            "(/)?(\\?[a-z=&/]{0,8})?"
        )
            .prop_map(|(words, tail)| format!("/{}{tail}", words.join("/"))),
        ".{0,64}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Without `all`, a user is granted exactly when holding a required
    /// permission: nothing outside [`required`] ever counts.
    #[test]
    fn only_a_required_permission_or_all_grants(
        level in any_level(),
        method in any_method(),
        uri in proptest::option::of(any_uri()),
        held in any_permissions(),
    ) {
        let access = access(method, level, uri.as_deref());
        let needed = required(method, level, uri.as_deref());
        prop_assert!(!needed.contains(Permission::All), "all is never listed");
        let granted = decide_for_user(&access, held);
        if held.contains(Permission::All) {
            prop_assert!(granted);
        } else {
            prop_assert_eq!(granted, held.intersects(needed));
            let outside: Permissions = held.iter().filter(|p| !needed.contains(*p)).collect();
            prop_assert!(!decide_for_user(&access, outside));
        }
    }

    /// Arbitrary URIs never panic, whatever the method.
    #[test]
    fn arbitrary_uris_never_panic(uri in ".*", method in any_method()) {
        let _ = required(method, Level::System, Some(&uri));
    }
}
