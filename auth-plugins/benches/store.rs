//! Storage hot paths on both drivers: a user lookup by name and domain (the
//! first thing every password login does) and the roles of a user on a
//! project (every token issue and validation). Then a password login's
//! lockout bookkeeping when lockout is on: the read it took before logins
//! claimed their attempt, and the claim and release it takes now.
//!
//! ```sh
//! cargo bench -p auth-plugins --bench store
//! AUTH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p auth-plugins --bench store
//! ```
//!
//! The data is a realistic directory: 3,000 users, 20 projects, 12 groups
//! of which each user is in two, roles granted directly and through groups.
//! After criterion's figures, each benchmark prints p50/p90/p99 of single
//! calls timed one by one.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: start-up may panic

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::store::*;
use auth_core::{KeyRing, KeySet, Registry};
use criterion::Criterion;
use sqlx::Connection;

const USERS: usize = 3_000;
const PROJECTS: usize = 20;
const GROUPS: usize = 12;
const ROLES: [&str; 5] = ["reader", "member", "operator", "auditor", "admin"];

/// What the benchmarks look up.
struct Directory {
    /// (domain, name) of every user.
    names: Vec<String>,
    /// (user id, project id) pairs on which the user holds roles.
    pairs: Vec<(String, String)>,
}

async fn seed(s: &dyn Storage) -> Directory {
    let projects: Vec<Project> = (0..PROJECTS)
        .map(|i| Project::new(new_id(), format!("project-{i}"), DEFAULT_DOMAIN_ID))
        .collect();
    for p in &projects {
        s.create_project(p).await.unwrap();
    }
    let roles: Vec<Role> = ROLES
        .iter()
        .map(|name| Role::new(new_id(), *name))
        .collect();
    for r in &roles {
        s.create_role(r).await.unwrap();
    }
    let groups: Vec<Group> = (0..GROUPS)
        .map(|i| Group::new(new_id(), format!("group-{i}"), DEFAULT_DOMAIN_ID))
        .collect();
    for (i, g) in groups.iter().enumerate() {
        s.create_group(g).await.unwrap();
        for k in 0..3 {
            s.grant(&Assignment::new(
                roles[(i + k) % roles.len()].id.clone(),
                Actor::Group(g.id.clone()),
                Target::Project(projects[(i * 3 + k) % PROJECTS].id.clone()),
            ))
            .await
            .unwrap();
        }
    }
    let mut directory = Directory {
        names: Vec::with_capacity(USERS),
        pairs: Vec::with_capacity(USERS),
    };
    for i in 0..USERS {
        let user = User::new(new_id(), format!("user-{i:05}"), DEFAULT_DOMAIN_ID)
            .with_default_project(projects[i % PROJECTS].id.clone());
        s.create_user(&user, None).await.unwrap();
        for g in [i % GROUPS, (i * 7 + 3) % GROUPS] {
            s.add_user_to_group(&user.id, &groups[g].id).await.unwrap();
        }
        let project = &projects[i % PROJECTS];
        s.grant(&Assignment::new(
            roles[i % roles.len()].id.clone(),
            Actor::User(user.id.clone()),
            Target::Project(project.id.clone()),
        ))
        .await
        .unwrap();
        directory.names.push(user.name);
        directory.pairs.push((user.id, project.id.clone()));
    }
    directory
}

async fn open(url: &str) -> Arc<dyn Storage> {
    auth_plugins::link();
    let drivers = Registry::<StorageRegistration>::from_inventory().unwrap();
    let keys = Arc::new(KeyRing::new(KeySet::generate()));
    connect(&drivers, StorageConfig::new(url, keys))
        .await
        .unwrap()
}

fn bench_driver(c: &mut Criterion, runtime: &tokio::runtime::Runtime, name: &str, url: &str) {
    let started = Instant::now();
    let (storage, directory) = runtime.block_on(async {
        let storage = open(url).await;
        let directory = seed(storage.as_ref()).await;
        (storage, directory)
    });
    eprintln!("{name}: seeded in {:.1} s", started.elapsed().as_secs_f64());
    let mut group = c.benchmark_group(format!("store/{name}"));

    let mut i = 0;
    group.bench_function("find_user_by_name", |b| {
        b.to_async(runtime).iter(|| {
            i = (i + 1) % USERS;
            let (s, user) = (&storage, &directory.names[i]);
            async move { s.find_user_by_name(DEFAULT_DOMAIN_ID, user).await.unwrap() }
        })
    });
    let mut j = 0;
    group.bench_function("effective_roles", |b| {
        b.to_async(runtime).iter(|| {
            j = (j + 1) % USERS;
            let (s, (user, project)) = (&storage, &directory.pairs[j]);
            async move {
                let roles = s
                    .effective_roles(user, &Target::Project(project.clone()))
                    .await
                    .unwrap();
                assert!(!roles.is_empty());
                roles
            }
        })
    });
    // A password login's lockout bookkeeping with lockout on, when there
    // is nothing to clear: before the claim, one read (`auth_state`); with
    // it, the claim before the hash and its release after a success.
    let mut k = 0;
    group.bench_function("login_bookkeeping/read", |b| {
        b.to_async(runtime).iter(|| {
            k = (k + 1) % USERS;
            let (s, (user, _)) = (&storage, &directory.pairs[k]);
            async move { s.auth_state(user).await.unwrap() }
        })
    });
    let mut m = 0;
    group.bench_function("login_bookkeeping/claim-and-release", |b| {
        b.to_async(runtime).iter(|| {
            m = (m + 1) % USERS;
            let (s, (user, _)) = (&storage, &directory.pairs[m]);
            async move { claim_and_release(s.as_ref(), user).await }
        })
    });
    group.finish();

    runtime.block_on(async {
        let bookkeeping = percentiles(|k| {
            let s = &storage;
            let (user, _) = &directory.pairs[k % USERS];
            async move { claim_and_release(s.as_ref(), user).await }
        })
        .await;
        println!("store/{name}/login_bookkeeping/claim-and-release single calls: {bookkeeping}");
        let lookups = percentiles(|k| {
            let s = &storage;
            let user = &directory.names[k % USERS];
            async move {
                s.find_user_by_name(DEFAULT_DOMAIN_ID, user).await.unwrap();
            }
        })
        .await;
        println!("store/{name}/find_user_by_name single calls: {lookups}");
        let roles = percentiles(|k| {
            let s = &storage;
            let (user, project) = &directory.pairs[k % USERS];
            async move {
                s.effective_roles(user, &Target::Project(project.clone()))
                    .await
                    .unwrap();
            }
        })
        .await;
        println!("store/{name}/effective_roles single calls: {roles}");
    });
}

/// What a successful login with lockout on writes: the claim before the
/// hash, the release (with the activity mark) after it.
async fn claim_and_release(s: &dyn Storage, user_id: &str) {
    let now = chrono::Utc::now();
    let claimed = s.claim_auth_attempt(user_id, 5, None, now).await.unwrap();
    assert!(claimed.is_some());
    s.record_auth_success(user_id, now).await.unwrap();
}

/// p50/p90/p99 of 20,000 calls timed one by one (after 2,000 warm-up
/// calls).
async fn percentiles<F, Fut>(mut call: F) -> String
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for k in 0..2_000 {
        call(k).await;
    }
    let mut times: Vec<Duration> = Vec::with_capacity(20_000);
    for k in 0..20_000 {
        let start = Instant::now();
        call(k).await;
        times.push(start.elapsed());
    }
    times.sort();
    let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    format!("p50 {:?}, p90 {:?}, p99 {:?}", p(0.50), p(0.90), p(0.99))
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}/bench.db", dir.path().display());
    bench_driver(&mut c, &runtime, "sqlite", &sqlite_url);

    match std::env::var("AUTH_TEST_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let schema = format!("auth_bench_{}", new_id());
            let run = |sql: String| {
                runtime.block_on(async {
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
                    sqlx::query(&sql).execute(&mut admin).await.unwrap();
                })
            };
            run(format!("CREATE SCHEMA {schema}"));
            let separator = if admin_url.contains('?') { '&' } else { '?' };
            let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
            bench_driver(&mut c, &runtime, "postgres", &url);
            run(format!("DROP SCHEMA {schema} CASCADE"));
        }
        _ => eprintln!("skipping the PostgreSQL benchmarks: AUTH_TEST_POSTGRES_URL is not set"),
    }
    c.final_summary();
}
