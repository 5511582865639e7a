//! OS-OAUTH1 delegation, end to end: a consumer gets a request token, a
//! user authorizes it with some of their roles, the consumer exchanges it
//! for an access token and logs in with it (`oauth1` method) to a token
//! carrying only the delegated roles, which ends with the access token,
//! its consumer, or the user's role.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use auth_core::{Clock, RequestLine};
use auth_plugins::methods::oauth1::signature;
use chrono::Duration;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::harness::{TestServer, role_names, status_of, subject};

async fn server() -> TestServer {
    TestServer::start_custom(
        None,
        "",
        |config| config.auth.methods.push("oauth1".into()),
        None,
    )
    .await
}

struct Consumer {
    id: String,
    secret: String,
}

async fn consumer(s: &TestServer, admin: &str) -> Consumer {
    let created: Value = s
        .call(Method::POST, "/v3/OS-OAUTH1/consumers", admin)
        .json(&json!({"consumer": {"description": "reports"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Consumer {
        id: created["consumer"]["id"].as_str().unwrap().to_owned(),
        secret: created["consumer"]["secret"].as_str().unwrap().to_owned(),
    }
}

/// Signs a request to `path` as `consumer` (with a token and its secret,
/// and more `oauth_*` parameters), with a fresh nonce at the server's time.
fn sign(
    s: &TestServer,
    path: &str,
    consumer: &Consumer,
    token: Option<(&str, &str)>,
    extra: &[(&str, &str)],
) -> String {
    static NONCES: AtomicU64 = AtomicU64::new(0);
    let nonce = format!("nonce{}", NONCES.fetch_add(1, Ordering::Relaxed));
    sign_at(
        s,
        path,
        consumer,
        token,
        extra,
        &nonce,
        s.clock.now().timestamp(),
    )
}

fn sign_at(
    s: &TestServer,
    path: &str,
    consumer: &Consumer,
    token: Option<(&str, &str)>,
    extra: &[(&str, &str)],
    nonce: &str,
    timestamp: i64,
) -> String {
    let timestamp = timestamp.to_string();
    let mut params = vec![
        ("oauth_consumer_key", consumer.id.as_str()),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", timestamp.as_str()),
        ("oauth_nonce", nonce),
        ("oauth_version", "1.0"),
    ];
    if let Some((id, _)) = token {
        params.push(("oauth_token", id));
    }
    params.extend_from_slice(extra);
    signature::authorization(
        &RequestLine::new("POST", s.url(path)),
        &params,
        &SecretString::from(consumer.secret.clone()),
        &SecretString::from(token.map_or("", |(_, secret)| secret).to_owned()),
    )
    .unwrap()
}

fn form(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// `(oauth_token, oauth_token_secret)` of a 201 form answer.
async fn token_of(response: reqwest::Response) -> (String, String) {
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["content-type"],
        "application/x-www-form-urlencoded"
    );
    let fields = form(&response.text().await.unwrap());
    assert!(fields.contains_key("oauth_expires_at"));
    (
        fields["oauth_token"].clone(),
        fields["oauth_token_secret"].clone(),
    )
}

async fn request_token(s: &TestServer, consumer: &Consumer) -> (String, String) {
    let path = "/v3/OS-OAUTH1/request_token";
    let response = s
        .client
        .post(s.url(path))
        .header(
            "Authorization",
            sign(s, path, consumer, None, &[("oauth_callback", "oob")]),
        )
        .header("Requested-Project-Id", &s.admin.project.id)
        .send()
        .await
        .unwrap();
    token_of(response).await
}

async fn authorize(
    s: &TestServer,
    admin: &str,
    request_id: &str,
    roles: Value,
) -> reqwest::Response {
    s.call(
        Method::PUT,
        &format!("/v3/OS-OAUTH1/authorize/{request_id}"),
        admin,
    )
    .json(&json!({"roles": roles}))
    .send()
    .await
    .unwrap()
}

async fn exchange(
    s: &TestServer,
    consumer: &Consumer,
    request: &(String, String),
    verifier: &str,
) -> reqwest::Response {
    let path = "/v3/OS-OAUTH1/access_token";
    s.client
        .post(s.url(path))
        .header(
            "Authorization",
            sign(
                s,
                path,
                consumer,
                Some((&request.0, &request.1)),
                &[("oauth_verifier", verifier)],
            ),
        )
        .send()
        .await
        .unwrap()
}

fn login_body() -> Value {
    json!({"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}})
}

async fn login(s: &TestServer, header: String) -> reqwest::Response {
    s.client
        .post(s.url("/v3/auth/tokens"))
        .header("Authorization", header)
        .json(&login_body())
        .send()
        .await
        .unwrap()
}

/// Everything a delegation leaves: the consumer, the access token.
struct Delegation {
    consumer: Consumer,
    access: (String, String),
}

impl Delegation {
    fn login_header(&self, s: &TestServer) -> String {
        sign(
            s,
            "/v3/auth/tokens",
            &self.consumer,
            Some((&self.access.0, &self.access.1)),
            &[],
        )
    }
}

/// The admin delegates `member` on the admin project.
async fn delegation(s: &TestServer, admin: &str) -> Delegation {
    let consumer = consumer(s, admin).await;
    let request = request_token(s, &consumer).await;
    let authorized = authorize(s, admin, &request.0, json!([{"name": "member"}])).await;
    assert_eq!(authorized.status(), 200);
    let body: Value = authorized.json().await.unwrap();
    let verifier = body["token"]["oauth_verifier"].as_str().unwrap().to_owned();
    assert_eq!(verifier.len(), 8);
    let access = token_of(exchange(s, &consumer, &request, &verifier).await).await;
    Delegation { consumer, access }
}

#[tokio::test]
async fn the_whole_flow_gives_a_project_token_with_only_the_delegated_roles() {
    let s = server().await;
    let admin = s.admin_token().await;
    let d = delegation(&s, &admin).await;

    let issued = login(&s, d.login_header(&s)).await;
    assert_eq!(issued.status(), 201);
    let token = subject(&issued);
    let body: Value = issued.json().await.unwrap();
    let t = &body["token"];
    assert_eq!(t["methods"], json!(["oauth1"]));
    assert_eq!(t["user"]["id"], json!(s.admin.user.id));
    assert_eq!(t["project"]["id"], json!(s.admin.project.id));
    // member, and the reader it implies; not admin or manager.
    assert_eq!(role_names(&body), ["member", "reader"]);
    assert_eq!(
        t["OS-OAUTH1"],
        json!({"access_token_id": d.access.0, "consumer_id": d.consumer.id})
    );

    // Validation recomputes the same roles.
    let validated: Value = s.validate(&admin, &token).await.json().await.unwrap();
    assert_eq!(role_names(&validated), ["member", "reader"]);
    assert_eq!(
        validated["token"]["OS-OAUTH1"]["consumer_id"],
        json!(d.consumer.id)
    );

    // A delegated token can neither be rescoped nor manage access tokens.
    let rescoped = s
        .issue(
            &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}),
            None,
        )
        .await;
    assert_eq!(rescoped.status(), 403);
    let user = &s.admin.user.id;
    let list = format!("/v3/users/{user}/OS-OAUTH1/access_tokens");
    assert_eq!(status_of(s.call(Method::GET, &list, &token)).await, 403);
    // Nor make an application credential, which would outlive it.
    let app_creds = format!("/v3/users/{user}/application_credentials");
    let made = s
        .call(Method::POST, &app_creds, &token)
        .json(&json!({"application_credential": {"name": "backdoor"}}));
    assert_eq!(status_of(made).await, 403);
    assert_eq!(
        status_of(s.call(Method::GET, &app_creds, &token)).await,
        403
    );
    let rules = format!("/v3/users/{user}/access_rules");
    assert_eq!(status_of(s.call(Method::GET, &rules, &token)).await, 403);

    // The access token, listed and shown without its secret, and its roles.
    let listed: Value = s
        .call(Method::GET, &list, &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shown = &listed["access_tokens"][0];
    assert_eq!(shown["id"], json!(d.access.0));
    assert_eq!(shown["consumer_id"], json!(d.consumer.id));
    assert_eq!(shown["project_id"], json!(s.admin.project.id));
    assert_eq!(shown["authorizing_user_id"], json!(user));
    assert!(!shown.to_string().contains(&d.access.1));
    let one = format!("{list}/{}", d.access.0);
    assert_eq!(status_of(s.call(Method::GET, &one, &admin)).await, 200);
    let roles: Value = s
        .call(Method::GET, &format!("{one}/roles"), &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let member = s.role_id(&admin, "member").await.unwrap();
    assert_eq!(roles["roles"][0]["id"], json!(member));
    assert_eq!(roles["roles"].as_array().unwrap().len(), 1);
    assert_eq!(
        status_of(s.call(Method::GET, &format!("{one}/roles/{member}"), &admin)).await,
        200
    );
    let reader = s.role_id(&admin, "reader").await.unwrap();
    assert_eq!(
        status_of(s.call(Method::GET, &format!("{one}/roles/{reader}"), &admin)).await,
        404
    );
}

#[tokio::test]
async fn a_bad_signature_is_a_401() {
    let s = server().await;
    let admin = s.admin_token().await;
    let d = delegation(&s, &admin).await;
    let forged = Consumer {
        id: d.consumer.id.clone(),
        secret: "not-the-secret".into(),
    };
    let path = "/v3/OS-OAUTH1/request_token";
    let response = s
        .client
        .post(s.url(path))
        .header("Authorization", sign(&s, path, &forged, None, &[]))
        .header("Requested-Project-Id", &s.admin.project.id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let wrong_access = sign(
        &s,
        "/v3/auth/tokens",
        &d.consumer,
        Some((&d.access.0, "not-the-secret")),
        &[],
    );
    assert_eq!(login(&s, wrong_access).await.status(), 401);
    // Signed for another URL.
    let elsewhere = sign(
        &s,
        "/v3/auth/other",
        &d.consumer,
        Some((&d.access.0, &d.access.1)),
        &[],
    );
    assert_eq!(login(&s, elsewhere).await.status(), 401);
    // Without the header: Keystone's 400.
    let bare = s
        .client
        .post(s.url("/v3/auth/tokens"))
        .json(&login_body())
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 400);
}

#[tokio::test]
async fn an_expired_request_token_is_refused() {
    let s = server().await;
    let admin = s.admin_token().await;
    let consumer = consumer(&s, &admin).await;
    let request = request_token(&s, &consumer).await;
    let authorized = authorize(&s, &admin, &request.0, json!([{"name": "member"}])).await;
    let body: Value = authorized.json().await.unwrap();
    let verifier = body["token"]["oauth_verifier"].as_str().unwrap().to_owned();
    // Keystone's default: 8 hours to authorize and exchange.
    s.clock.advance(Duration::seconds(28_801));
    assert_eq!(
        exchange(&s, &consumer, &request, &verifier).await.status(),
        401
    );
    let late = request_token(&s, &consumer).await;
    s.clock.advance(Duration::seconds(28_801));
    let admin = s.admin_token().await;
    let refused = authorize(&s, &admin, &late.0, json!([{"name": "member"}])).await;
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn a_replayed_nonce_or_a_stale_timestamp_is_refused() {
    let s = server().await;
    let admin = s.admin_token().await;
    let d = delegation(&s, &admin).await;
    let header = d.login_header(&s);
    assert_eq!(login(&s, header.clone()).await.status(), 201);
    assert_eq!(login(&s, header).await.status(), 401);
    let stale = sign_at(
        &s,
        "/v3/auth/tokens",
        &d.consumer,
        Some((&d.access.0, &d.access.1)),
        &[],
        "stale-nonce",
        (s.clock.now() - Duration::minutes(11)).timestamp(),
    );
    assert_eq!(login(&s, stale).await.status(), 401);
}

#[tokio::test]
async fn a_wrong_verifier_is_refused_and_the_request_token_used_once() {
    let s = server().await;
    let admin = s.admin_token().await;
    let consumer = consumer(&s, &admin).await;
    let request = request_token(&s, &consumer).await;
    // Not authorized yet.
    assert_eq!(
        exchange(&s, &consumer, &request, "abcdefgh").await.status(),
        401
    );
    let authorized = authorize(&s, &admin, &request.0, json!([{"name": "member"}])).await;
    let body: Value = authorized.json().await.unwrap();
    let verifier = body["token"]["oauth_verifier"].as_str().unwrap().to_owned();
    let wrong = if verifier == "abcdefgh" {
        "hgfedcba"
    } else {
        "abcdefgh"
    };
    assert_eq!(exchange(&s, &consumer, &request, wrong).await.status(), 401);
    token_of(exchange(&s, &consumer, &request, &verifier).await).await;
    // Exchanged: the request token is gone.
    assert_eq!(
        exchange(&s, &consumer, &request, &verifier).await.status(),
        404
    );
}

#[tokio::test]
async fn only_roles_the_user_holds_can_be_delegated() {
    let s = server().await;
    let admin = s.admin_token().await;
    let consumer = consumer(&s, &admin).await;
    let request = request_token(&s, &consumer).await;
    let role = s
        .created_id(&admin, "/v3/roles", json!({"role": {"name": "auditor"}}))
        .await;
    let refused = authorize(&s, &admin, &request.0, json!([{"id": role}])).await;
    assert_eq!(refused.status(), 401);
    let unknown = authorize(&s, &admin, &request.0, json!([{"name": "nope"}])).await;
    assert_eq!(unknown.status(), 404);
    let malformed = authorize(&s, &admin, &request.0, json!([{"id": 7}])).await;
    assert_eq!(malformed.status(), 400);
}

#[tokio::test]
async fn deleting_the_access_token_the_consumer_or_the_role_ends_its_tokens() {
    let s = server().await;
    let admin = s.admin_token().await;
    let validate = |token: String| {
        s.call(Method::GET, "/v3/auth/tokens", &admin)
            .header("X-Subject-Token", token)
    };
    let user = s.admin.user.id.clone();

    // The access token.
    let d = delegation(&s, &admin).await;
    let token = subject(&login(&s, d.login_header(&s)).await);
    assert_eq!(status_of(validate(token.clone())).await, 200);
    let path = format!("/v3/users/{user}/OS-OAUTH1/access_tokens/{}", d.access.0);
    assert_eq!(status_of(s.call(Method::DELETE, &path, &admin)).await, 204);
    assert_eq!(status_of(validate(token)).await, 404);
    assert_eq!(login(&s, d.login_header(&s)).await.status(), 401);
    assert_eq!(status_of(s.call(Method::GET, &path, &admin)).await, 404);

    // The consumer.
    let d = delegation(&s, &admin).await;
    let token = subject(&login(&s, d.login_header(&s)).await);
    assert_eq!(status_of(validate(token.clone())).await, 200);
    let consumer = format!("/v3/OS-OAUTH1/consumers/{}", d.consumer.id);
    assert_eq!(
        status_of(s.call(Method::DELETE, &consumer, &admin)).await,
        204
    );
    assert_eq!(status_of(validate(token)).await, 404);

    // The user losing the delegated role (a user of their own, so the
    // admin keeps theirs).
    let member = s.role_id(&admin, "member").await.unwrap();
    let bob = s
        .create_user_with_role(&admin, "bob", "bob-password", Some(&member))
        .await;
    let consumer_b = self::consumer(&s, &admin).await;
    let request = request_token(&s, &consumer_b).await;
    // Keystone's policy lets only an admin authorize: bob is one for the
    // authorization, then is not.
    let admin_role = s.role_id(&admin, "admin").await.unwrap();
    let project = s.admin.project.id.clone();
    let grant = format!("/v3/projects/{project}/users/{bob}/roles/{admin_role}");
    assert_eq!(status_of(s.call(Method::PUT, &grant, &admin)).await, 204);
    let bob_admin = s.project_token("bob", "bob-password").await;
    let authorized = authorize(&s, &bob_admin, &request.0, json!([{"id": member}])).await;
    assert_eq!(authorized.status(), 200);
    let body: Value = authorized.json().await.unwrap();
    let verifier = body["token"]["oauth_verifier"].as_str().unwrap().to_owned();
    let access = token_of(exchange(&s, &consumer_b, &request, &verifier).await).await;
    assert_eq!(status_of(s.call(Method::DELETE, &grant, &admin)).await, 204);
    let bobs = Delegation {
        consumer: consumer_b,
        access,
    };
    let issued = login(&s, bobs.login_header(&s)).await;
    assert_eq!(issued.status(), 201);
    let token = subject(&issued);
    let body: Value = issued.json().await.unwrap();
    assert_eq!(body["token"]["user"]["id"], json!(bob));
    assert_eq!(role_names(&body), ["member", "reader"]);
    let revoke = format!("/v3/projects/{project}/users/{bob}/roles/{member}");
    assert_eq!(
        status_of(s.call(Method::DELETE, &revoke, &admin)).await,
        204
    );
    assert_eq!(status_of(validate(token)).await, 404);
}

#[tokio::test]
async fn an_oauth1_token_makes_no_ec2_credential() {
    let s = server().await;
    let admin = s.admin_token().await;
    let delegation = delegation(&s, &admin).await;
    let response = login(&s, delegation.login_header(&s)).await;
    assert_eq!(response.status(), 201);
    let token = subject(&response);
    let path = format!("/v3/users/{}/credentials/OS-EC2", s.admin.user.id);
    let create = s
        .call(Method::POST, &path, &token)
        .json(&json!({"tenant_id": s.admin.project.id}));
    assert_eq!(status_of(create).await, 403);
}
