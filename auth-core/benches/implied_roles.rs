//! What implied roles add to a login or a validation: expanding the held
//! roles through the rules (every scoped token, at issue and at each
//! uncached validation), and building the rule graph (once per token
//! revision on each node).
//!
//! `cargo bench -p auth-core --bench implied_roles`

#![allow(missing_docs)] // criterion_group! generates undocumented items

use auth_core::implied_roles::RoleGraph;
use auth_core::store::{ImpliedRole, Role};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn role(name: &str) -> Role {
    Role::new(format!("{name:0>32}"), name)
}

/// Keystone 30's bootstrap rules, plus `extra` unrelated rules (a deployment
/// with custom roles: `custom-i` implies `custom-i+1`, in chains of four).
fn rules(extra: usize) -> Vec<ImpliedRole> {
    let [admin, manager, member, reader] = ["admin", "manager", "member", "reader"].map(role);
    let mut rules = vec![
        ImpliedRole::new(admin, manager.clone()),
        ImpliedRole::new(manager, member.clone()),
        ImpliedRole::new(member, reader),
    ];
    for i in 0..extra {
        if i % 4 != 3 {
            rules.push(ImpliedRole::new(
                role(&format!("custom-{i}")),
                role(&format!("custom-{}", i + 1)),
            ));
        }
    }
    rules
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("implied_roles");
    for extra in [0, 100] {
        let rules = rules(extra);
        let graph = RoleGraph::new(rules.clone());
        group.bench_with_input(
            BenchmarkId::new("build", rules.len()),
            &rules,
            |b, rules| {
                b.iter(|| RoleGraph::new(rules.clone()));
            },
        );
        for held in ["admin", "member", "observer"] {
            let id = format!("expand-{held}");
            group.bench_with_input(BenchmarkId::new(id, rules.len()), &graph, |b, graph| {
                b.iter(|| graph.expand(vec![role(held)]));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
