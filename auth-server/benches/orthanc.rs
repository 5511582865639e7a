//! The Orthanc door's hot call, `POST /orthanc/tokens/validate` with a
//! cached user token (as the authorization plugin sends it: basic auth of
//! the service user, a study-level GET), through the whole router
//! in-process (no TCP), next to the server's static `GET /v3` and
//! Keystone's own cached validation, `GET /v3/auth/tokens`, measured in
//! the same run. What the door adds to a request is the difference.
//!
//! ```text
//! cargo bench -p auth-server --bench orthanc -- --warm-up-time 2 --measurement-time 5
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use auth_core::SystemClock;
use auth_server::bootstrap::{self, Bootstrap};
use auth_server::{AppState, Config};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(app: &Router, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let subject = response
        .headers()
        .get("x-subject-token")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        subject,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn json_request(method: &str, path: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("x-auth-token", token);
    }
    request.body(Body::from(body.to_string())).unwrap()
}

async fn login(app: &Router, user: &str, password: &str) -> String {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
    let (status, subject, _) =
        call(app, json_request("POST", "/v3/auth/tokens", None, &body)).await;
    assert_eq!(status, StatusCode::CREATED);
    subject.unwrap()
}

/// A user with `role` on the admin project.
async fn user(app: &Router, admin: &str, project: &str, name: &str, role: &str) {
    let body = json!({"user": {"name": name, "password": format!("{name}-password"), "domain_id": "default"}});
    let (status, _, created) =
        call(app, json_request("POST", "/v3/users", Some(admin), &body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let user_id = created["user"]["id"].as_str().unwrap();
    let (_, _, roles) = call(
        app,
        Request::get(format!("/v3/roles?name={role}"))
            .header("x-auth-token", admin)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let role_id = roles["roles"][0]["id"].as_str().unwrap();
    let grant = format!("/v3/projects/{project}/users/{user_id}/roles/{role_id}");
    let (status, _, _) = call(app, json_request("PUT", &grant, Some(admin), &Value::Null)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

fn validate(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (app, viewer) = runtime.block_on(async {
        let mut config = Config::from_toml(
            "[auth.method.password.hashing]\nmemory_kib = 64\niterations = 1\nparallelism = 1",
        )
        .unwrap();
        config.database.url = format!("sqlite://{}/auth.db", dir.path().display());
        config.keys.dir = dir.path().join("keys");
        let state = AppState::build_with_clock(config, Arc::new(SystemClock))
            .await
            .unwrap();
        let plan = Bootstrap {
            admin_user: "admin".into(),
            admin_password: SecretString::from("bench-password".to_owned()),
            admin_project: "admin".into(),
            public_url: "http://127.0.0.1:5000".into(),
            region: "RegionOne".into(),
        };
        let done = bootstrap::run(&state.services(), &plan).await.unwrap();
        let app = auth_server::router(state);
        let admin = login(&app, "admin", "bench-password").await;
        user(&app, &admin, &done.project.id, "orthanc", "service").await;
        user(&app, &admin, &done.project.id, "viewer", "reader").await;
        let viewer = login(&app, "viewer", "viewer-password").await;
        (app, viewer)
    });
    let service = format!("Basic {}", STANDARD.encode("orthanc:orthanc-password"));
    let body = json!({"level": "study", "method": "get",
        "orthanc-id": "6e2c0ec2-5d99c8ca-c1c21cee-79a09605-68391d12",
        "dicom-uid": "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322",
        "server-id": "bench", "token-key": "token", "token-value": viewer})
    .to_string();

    let mut group = c.benchmark_group("orthanc");
    group.bench_function("static_get_v3", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = Request::get("/v3").body(Body::empty()).unwrap();
            let (status, _, _) = call(&app, request).await;
            assert_eq!(status, StatusCode::OK);
        });
    });
    group.bench_function("keystone_validate_cached", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = Request::get("/v3/auth/tokens")
                .header("x-auth-token", &viewer)
                .header("x-subject-token", &viewer)
                .body(Body::empty())
                .unwrap();
            let (status, _, _) = call(&app, request).await;
            assert_eq!(status, StatusCode::OK);
        });
    });
    group.bench_function("orthanc_validate_cached", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = Request::post("/orthanc/tokens/validate")
                .header("authorization", &service)
                .header("content-type", "application/json")
                .body(Body::from(body.clone()))
                .unwrap();
            let (status, _, answer) = call(&app, request).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(answer["granted"], true);
        });
    });
    group.finish();
}

criterion_group!(benches, validate);
criterion_main!(benches);
