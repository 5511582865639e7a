//! The imaging decision alone, as `tokens/validate` makes it once the token
//! is known: a user's access at a resource level, the worst-case system URI
//! (the table's last rule, and an unlisted URI that walks the whole table),
//! a share token's access, and a profile from three roles. Target: < 5 µs.
//!
//! `cargo bench -p auth-core --bench imaging`

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use auth_core::imaging::{
    Access, Level, Method, Permission, Permissions, RoleMap, SharedResource, decide_for_share,
    decide_for_user,
};
use criterion::{Criterion, criterion_group, criterion_main};

const STUDY_ID: &str = "27f7126f-4f66f5b6-1c3e4b2d-8a8e5b0e-2a4f7c11";
const STUDY_UID: &str = "1.2.840.113619.2.55.3.604688119.971.1405350519.581";

fn access(level: Level, method: Method, uri: Option<&str>) -> Access<'_> {
    Access {
        level,
        method,
        uri,
        orthanc_id: Some(STUDY_ID),
        dicom_uid: Some(STUDY_UID),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("imaging");
    let member = Permissions::of(&[
        Permission::View,
        Permission::Download,
        Permission::Upload,
        Permission::Share,
    ]);

    let study = access(Level::Study, Method::Get, None);
    group.bench_function("user-resource-level", |b| {
        b.iter(|| decide_for_user(black_box(&study), black_box(member)))
    });

    // The last rule of the table (DELETE /jobs/{id}): every rule before it is
    // tried first.
    let last = access(
        Level::System,
        Method::Delete,
        Some("/jobs/6f9c6a0e-4b8e-4a5e-9b1d-2c7f3c0b9d11"),
    );
    group.bench_function("user-system-last-rule", |b| {
        b.iter(|| decide_for_user(black_box(&last), black_box(member)))
    });

    // An unlisted GET with many segments: every GET rule is tried and fails,
    // the ones with open-ended segments after walking the whole URI.
    let unlisted = access(
        Level::System,
        Method::Get,
        Some("/peers/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/unknown?since=0&limit=100"),
    );
    group.bench_function("user-system-unlisted", |b| {
        b.iter(|| decide_for_user(black_box(&unlisted), black_box(member)))
    });

    let shared: Vec<SharedResource> = serde_json::from_value(serde_json::json!([
        {"level": "study", "orthanc-id": "6e2c0ec2-5d99c8ca-c1c21cee-79a09605-68391d12"},
        {"level": "study", "orthanc-id": STUDY_ID, "dicom-uid": STUDY_UID},
    ]))
    .unwrap_or_default();
    assert_eq!(shared.len(), 2);
    group.bench_function("share-study", |b| {
        b.iter(|| decide_for_share(black_box(&study), black_box(&shared)))
    });

    let roles = RoleMap::recommended();
    group.bench_function("profile-three-roles", |b| {
        b.iter(|| black_box(&roles).profile(black_box(["reader", "member", "manager"])))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
