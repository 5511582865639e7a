//! `/v3/ec2tokens` and `/v3/s3tokens`: a service turns a request signed
//! with an EC2 credential into the credential owner's token, as Swift's
//! `s3token` middleware and EC2 APIs ask Keystone.

use std::collections::BTreeMap;

use auth_core::Clock;
use auth_plugins::methods::ec2credential::signature::{SignedRequest, ec2_signature, s3_signature};
use base64::Engine as _;
use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, status_of, subject};

/// A server, a user `alice` (member of the admin project) with an EC2
/// credential there, and a user `swift` holding the `service` role.
struct Setup {
    s: TestServer,
    admin: String,
    alice: String,
    access: String,
    secret: String,
    service: String,
}

async fn setup() -> Setup {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let member = s.role_id(&admin, "member").await.unwrap();
    let alice = s
        .create_user_with_role(&admin, "alice", "a-long-password", Some(&member))
        .await;
    let service_role = match s.role_id(&admin, "service").await {
        Some(id) => id,
        None => {
            s.created_id(&admin, "/v3/roles", json!({"role": {"name": "service"}}))
                .await
        }
    };
    s.create_user_with_role(&admin, "swift", "a-long-password", Some(&service_role))
        .await;
    let service = s.project_token("swift", "a-long-password").await;
    let alice_token = s.project_token("alice", "a-long-password").await;
    let created: Value = s
        .call(
            Method::POST,
            &format!("/v3/users/{alice}/credentials/OS-EC2"),
            &alice_token,
        )
        .json(&json!({"tenant_id": s.admin.project.id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = created["credential"]["access"].as_str().unwrap().to_owned();
    let secret = created["credential"]["secret"].as_str().unwrap().to_owned();
    Setup {
        s,
        admin,
        alice,
        access,
        secret,
        service,
    }
}

impl Setup {
    /// An EC2 API request (signature version 2) signed now with `secret`.
    fn signed(&self, secret: &str) -> Value {
        let timestamp = self.s.clock.now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let params: BTreeMap<String, String> = [
            ("SignatureVersion", "2"),
            ("SignatureMethod", "HmacSHA256"),
            ("Action", "DescribeImages"),
            ("AWSAccessKeyId", &self.access),
            ("Timestamp", &timestamp),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let request = SignedRequest {
            verb: "GET".into(),
            host: "ec2.example.org".into(),
            path: "/".into(),
            params: params.clone(),
            ..SignedRequest::default()
        };
        let signature = ec2_signature(secret.as_bytes(), &request).unwrap();
        json!({"credentials": {"access": self.access, "signature": signature,
               "host": "ec2.example.org", "verb": "GET", "path": "/", "params": params}})
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.s
            .call(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_service_turns_a_signed_request_into_the_owners_project_token() {
    let t = setup().await;
    let response = t
        .post("/v3/ec2tokens", &t.service, &t.signed(&t.secret))
        .await;
    assert_eq!(response.status(), 200);
    let token = subject(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token"]["user"]["id"], t.alice.as_str());
    assert_eq!(
        body["token"]["project"]["id"],
        t.s.admin.project.id.as_str()
    );
    assert_eq!(body["token"]["methods"], json!(["ec2credential"]));
    assert_eq!(body["token"]["roles"][0]["name"], "member");
    assert!(body["token"]["catalog"].is_array());
    // The token is a real one.
    let validated = t.s.validate(&t.admin, &token).await;
    assert_eq!(validated.status(), 200);
}

#[tokio::test]
async fn only_a_service_or_an_administrator_may_ask() {
    let t = setup().await;
    let alice = t.s.project_token("alice", "a-long-password").await;
    let body = t.signed(&t.secret);
    assert_eq!(t.post("/v3/ec2tokens", &alice, &body).await.status(), 403);
    assert_eq!(t.post("/v3/s3tokens", &alice, &body).await.status(), 403);
    let anonymous = t.s.client.post(t.s.url("/v3/ec2tokens")).json(&body);
    assert_eq!(status_of(anonymous).await, 401);
    assert_eq!(t.post("/v3/ec2tokens", &t.admin, &body).await.status(), 200);
}

#[tokio::test]
async fn a_wrong_signature_an_unknown_key_or_a_stale_request_is_a_401() {
    let t = setup().await;
    let wrong = t.signed("not-the-secret");
    let response = t.post("/v3/ec2tokens", &t.service, &wrong).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], 401);

    let mut unknown = t.signed(&t.secret);
    unknown["credentials"]["access"] = json!("0123456789abcdef0123456789abcdef");
    assert_eq!(
        t.post("/v3/ec2tokens", &t.service, &unknown).await.status(),
        401
    );

    let signed = t.signed(&t.secret);
    t.s.clock.advance(Duration::minutes(16));
    let service = t.s.project_token("swift", "a-long-password").await;
    let response = t.post("/v3/ec2tokens", &service, &signed).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn malformed_requests_get_keystones_answers() {
    let t = setup().await;
    assert_eq!(
        t.post("/v3/ec2tokens", &t.service, &json!({}))
            .await
            .status(),
        400
    );
    let no_access = json!({"credentials": {"signature": "x"}});
    assert_eq!(
        t.post("/v3/ec2tokens", &t.service, &no_access)
            .await
            .status(),
        401
    );
    // The older names of the credentials object still work.
    let mut ec2_credentials = t.signed(&t.secret);
    ec2_credentials = json!({"ec2Credentials": ec2_credentials["credentials"].clone()});
    assert_eq!(
        t.post("/v3/ec2tokens", &t.service, &ec2_credentials)
            .await
            .status(),
        200
    );
    let get = t.s.call(Method::GET, "/v3/ec2tokens", &t.service);
    assert_eq!(status_of(get).await, 405);
}

#[tokio::test]
async fn the_signature_is_no_login_of_its_own() {
    let t = setup().await;
    let signed = t.signed(&t.secret);
    let body = json!({"auth": {"identity": {"methods": ["ec2credential"],
                                            "ec2credential": signed["credentials"]}}});
    assert_eq!(t.s.issue(&body, None).await.status(), 401);
}

#[tokio::test]
async fn s3tokens_verifies_the_string_swift_signed_and_hands_no_token() {
    let t = setup().await;
    let string_to_sign = b"GET\n\n\nMon, 30 Nov 2026 12:00:00 +0000\n/bucket/object";
    let signature = s3_signature(t.secret.as_bytes(), string_to_sign).unwrap();
    let body = json!({"credentials": {
        "access": t.access,
        "token": base64::engine::general_purpose::URL_SAFE.encode(string_to_sign),
        "signature": signature,
    }});
    let response = t.post("/v3/s3tokens", &t.service, &body).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("X-Subject-Token").is_none());
    let rendered: Value = response.json().await.unwrap();
    assert_eq!(rendered["token"]["user"]["id"], t.alice.as_str());
    assert_eq!(
        rendered["token"]["project"]["id"],
        t.s.admin.project.id.as_str()
    );

    let mut wrong = body.clone();
    wrong["credentials"]["signature"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_eq!(
        t.post("/v3/s3tokens", &t.service, &wrong).await.status(),
        401
    );
}

#[tokio::test]
async fn a_deleted_credential_or_a_disabled_owner_signs_nothing() {
    let t = setup().await;
    let update =
        t.s.call(Method::PATCH, &format!("/v3/users/{}", t.alice), &t.admin)
            .json(&json!({"user": {"enabled": false}}));
    assert_eq!(status_of(update).await, 200);
    assert_eq!(
        t.post("/v3/ec2tokens", &t.service, &t.signed(&t.secret))
            .await
            .status(),
        401
    );
    let enable =
        t.s.call(Method::PATCH, &format!("/v3/users/{}", t.alice), &t.admin)
            .json(&json!({"user": {"enabled": true}}));
    assert_eq!(status_of(enable).await, 200);
    assert_eq!(
        t.post("/v3/ec2tokens", &t.service, &t.signed(&t.secret))
            .await
            .status(),
        200
    );
    let delete = t.s.call(
        Method::DELETE,
        &format!("/v3/users/{}/credentials/OS-EC2/{}", t.alice, t.access),
        &t.admin,
    );
    assert_eq!(status_of(delete).await, 204);
    assert_eq!(
        t.post("/v3/ec2tokens", &t.service, &t.signed(&t.secret))
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn a_failed_signature_is_audited_without_the_secret() {
    let t = setup().await;
    let wrong = t.signed("not-the-secret");
    assert_eq!(
        t.post("/v3/ec2tokens", &t.service, &wrong).await.status(),
        401
    );
    let rows = t.s.audit_of("ec2token.issue").await;
    assert_eq!(rows.len(), 1);
    let row = format!("{:?}", rows[0]);
    assert!(!row.contains(&t.secret));
}
