//! Engine overhead: a full `authenticate` call (parse, validate, run the
//! methods, reconcile, user lookup, MFA check) with 1, 2 and 3 methods that
//! do no work, so what is measured is the engine itself.
//!
//! `cargo bench -p auth-core --bench engine`

#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::expect_used)] // a benchmark: set-up failures should stop it loudly

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use auth_core::store::{Domain, User, UserStore};
use auth_core::{
    AuthAttempt, AuthError, AuthEvent, AuthHandlerResponse, AuthMethodHandler, Engine, EventSink,
    MethodContext, Payload, ResponseData, Stores,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::Value;

/// A method that accepts everyone as `u1`.
#[derive(Debug)]
struct Trivial;

#[async_trait]
impl AuthMethodHandler for Trivial {
    async fn authenticate(
        &self,
        _: &Payload,
        _: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        Ok(AuthHandlerResponse::success(ResponseData::for_user("u1")))
    }
}

/// The cheapest possible user store: one map lookup.
#[derive(Debug)]
struct OneUser(HashMap<String, User>);

#[async_trait]
impl UserStore for OneUser {
    async fn get_user(&self, id: &str) -> Result<User, AuthError> {
        self.0.get(id).cloned().ok_or(AuthError::NoUserResolved)
    }
    async fn find_user_by_name(&self, _: &str, _: &str) -> Result<User, AuthError> {
        Err(AuthError::NoUserResolved)
    }
    async fn get_domain(&self, _: &str) -> Result<Domain, AuthError> {
        Err(AuthError::NoUserResolved)
    }
    async fn find_domain_by_name(&self, _: &str) -> Result<Domain, AuthError> {
        Err(AuthError::NoUserResolved)
    }
}

/// Counts events: the cost of building them, without any I/O.
#[derive(Debug, Default)]
struct Counting(AtomicU64);

impl EventSink for Counting {
    fn emit(&self, _: AuthEvent) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn engine(methods: usize, events: Option<Arc<dyn EventSink>>) -> Engine {
    let user = User::new("u1", "alice", "default");
    let store = Arc::new(OneUser(HashMap::from([("u1".to_owned(), user)])));
    let mut builder = Engine::builder().stores(Stores::new().with_users(store));
    for i in 0..methods {
        builder = builder.method(format!("m{i}"), Arc::new(Trivial));
    }
    if let Some(sink) = events {
        builder = builder.events(sink);
    }
    builder.build().expect("bench engine")
}

fn body(methods: usize) -> Vec<u8> {
    let names: Vec<String> = (0..methods).map(|i| format!("m{i}")).collect();
    let mut identity = serde_json::Map::new();
    for name in &names {
        identity.insert(
            name.clone(),
            serde_json::json!({"user": {"name": "alice", "domain": {"id": "default"}, "password": "x"}}),
        );
    }
    identity.insert("methods".into(), serde_json::json!(names));
    serde_json::to_vec(&serde_json::json!({"auth": {"identity": identity,
        "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}}))
    .expect("bench body")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut parse = c.benchmark_group("engine/parse");
    for methods in [1, 3] {
        let body = body(methods);
        let limits = auth_core::RequestLimits::default();
        parse.bench_with_input(BenchmarkId::new("request", methods), &body, |b, body| {
            b.iter(|| auth_core::AuthRequest::from_slice(body, &limits).expect("ok"));
        });
        parse.bench_with_input(
            BenchmarkId::new("serde_json-value", methods),
            &body,
            |b, body| {
                b.iter(|| serde_json::from_slice::<Value>(body).expect("ok"));
            },
        );
    }
    parse.finish();
    let mut group = c.benchmark_group("engine/authenticate");
    for methods in [1, 2, 3] {
        let body = body(methods);
        let quiet = engine(methods, None);
        group.bench_with_input(BenchmarkId::new("no-events", methods), &body, |b, body| {
            b.to_async(&rt).iter(|| async {
                quiet
                    .authenticate(AuthAttempt::new(body))
                    .await
                    .expect("ok")
            });
        });
        let counted = engine(methods, Some(Arc::new(Counting::default())));
        group.bench_with_input(
            BenchmarkId::new("with-events", methods),
            &body,
            |b, body| {
                b.to_async(&rt).iter(|| async {
                    counted
                        .authenticate(AuthAttempt::new(body))
                        .await
                        .expect("ok")
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
