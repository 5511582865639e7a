//! The cost of one policy check, as every API call pays it: the default
//! rules (Keystone 30's), parsed once, asked about one action.
//!
//! - a system reader listing users (`identity:list_users`: admin? no;
//!   system reader? yes);
//! - a domain manager granting `member` on a project of its domain
//!   (`identity:create_grant`, Keystone's longest default: the admin, the
//!   four domain-admin and the four domain-manager alternatives, then
//!   `rule:domain_managed_target_role`);
//! - a refused check (a project member listing users: every alternative
//!   evaluated, all false);
//! - a long rule chain (a policy file's `rule:r1` → … → `rule:r20` → a
//!   generic check with a substitution).
//!
//! ```text
//! cargo bench -p auth-server --bench policy -- --warm-up-time 2 --measurement-time 5
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use auth_server::policy::{CallerScope, Credentials, Policy, Target};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn checks(c: &mut Criterion) {
    let policy = Policy::keystone_defaults();
    let mut group = c.benchmark_group("policy");

    let system_reader = Credentials::new("u1", "default", CallerScope::System, ["reader"]);
    let empty = Target::new();
    assert!(policy.allows("identity:list_users", &system_reader, &empty));
    group.bench_function("system reader lists users", |b| {
        b.iter(|| {
            black_box(policy.allows(
                black_box("identity:list_users"),
                black_box(&system_reader),
                black_box(&empty),
            ))
        })
    });

    let domain_manager = Credentials::new(
        "u2",
        "dA",
        CallerScope::Domain { id: "dA".into() },
        ["manager", "member", "reader"],
    );
    let grant = Target::new()
        .with("project_id", "p1")
        .with("user_id", "u3")
        .with("role_id", "r1")
        .with_object(
            "target.role",
            &json!({"id": "r1", "name": "member", "domain_id": null}),
        )
        .with_object(
            "target.user",
            &json!({"id": "u3", "name": "bob", "domain_id": "dA", "enabled": true}),
        )
        .with_object(
            "target.project",
            &json!({"id": "p1", "name": "p", "domain_id": "dA", "parent_id": "dA",
                    "is_domain": false, "enabled": true}),
        );
    assert!(policy.allows("identity:create_grant", &domain_manager, &grant));
    group.bench_function("domain manager grants a role in its domain", |b| {
        b.iter(|| {
            black_box(policy.allows(
                black_box("identity:create_grant"),
                black_box(&domain_manager),
                black_box(&grant),
            ))
        })
    });

    let project_member = Credentials::new(
        "u4",
        "dA",
        CallerScope::Project {
            id: "p1".into(),
            domain_id: "dA".into(),
        },
        ["member", "reader"],
    );
    assert!(!policy.allows("identity:list_users", &project_member, &empty));
    group.bench_function("refused: project member lists users", |b| {
        b.iter(|| {
            black_box(policy.allows(
                black_box("identity:list_users"),
                black_box(&project_member),
                black_box(&empty),
            ))
        })
    });

    let mut file = String::new();
    for i in 1..20 {
        file.push_str(&format!("r{i}: \"rule:r{}\"\n", i + 1));
    }
    file.push_str("r20: \"role:admin or user_id:%(target.user.id)s\"\n");
    file.push_str("\"identity:get_user\": \"rule:r1\"\n");
    let chained = Policy::from_yaml(&file, "bench.yaml").unwrap();
    let own = Target::new()
        .with("user_id", "u4")
        .with_object("target.user", &json!({"id": "u4", "domain_id": "dA"}));
    assert!(chained.allows("identity:get_user", &project_member, &own));
    group.bench_function("a chain of 20 rule: references", |b| {
        b.iter(|| {
            black_box(chained.allows(
                black_box("identity:get_user"),
                black_box(&project_member),
                black_box(&own),
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, checks);
criterion_main!(benches);
