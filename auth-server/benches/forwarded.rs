//! What `[server] trusted_proxies` costs every request: the
//! `ClientOrigin` the middleware computes, beside what every request
//! already pays for its request id (a v4 UUID formatted as a string), in
//! the same run.
//!
//! ```text
//! cargo bench -p auth-server --bench forwarded -- --warm-up-time 1 --measurement-time 3
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::net::IpAddr;

use auth_server::forwarded::{ClientOrigin, TrustedProxies};
use axum::http::{HeaderMap, HeaderValue, header};
use criterion::{Criterion, criterion_group, criterion_main};

fn origin(c: &mut Criterion) {
    let peer: IpAddr = "127.0.0.1".parse().unwrap();
    let none = TrustedProxies::default();
    let trusted = TrustedProxies::parse(["127.0.0.1", "10.0.0.0/8"]).unwrap();
    let mut plain = HeaderMap::new();
    plain.insert(
        header::HOST,
        HeaderValue::from_static("keystone.example:5000"),
    );
    let mut forwarded = plain.clone();
    forwarded.insert(
        "x-forwarded-for",
        HeaderValue::from_static("198.51.100.7, 10.0.0.1"),
    );
    forwarded.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    forwarded.insert(
        "x-forwarded-host",
        HeaderValue::from_static("keystone.example"),
    );

    let mut group = c.benchmark_group("forwarded");
    group.bench_function("request id (reference)", |b| {
        b.iter(|| black_box(format!("req-{}", uuid::Uuid::new_v4())));
    });
    group.bench_function("origin, no proxy trusted (the default)", |b| {
        b.iter(|| black_box(ClientOrigin::resolve(Some(peer), black_box(&plain), &none)));
    });
    group.bench_function("origin, through two trusted proxies", |b| {
        b.iter(|| {
            black_box(ClientOrigin::resolve(
                Some(peer),
                black_box(&forwarded),
                &trusted,
            ))
        });
    });
    group.finish();
}

criterion_group!(benches, origin);
criterion_main!(benches);
