//! The Orthanc authorization web service over HTTP, as the plugin calls
//! it: basic auth as a service user, chunked JSON bodies, the plugin's
//! field names; decisions from user tokens, share tokens and the role map.

use auth_core::Clock;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, password_body, subject};

const SERVICE_PASSWORD: &str = "orthanc-service-secret";
const STUDY: (&str, &str) = (
    "6e2c0ec2-5d99c8ca-c1c21cee-79a09605-68391d12",
    "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322",
);
const OTHER_STUDY: (&str, &str) = (
    "27f7126f-4f66fb14-03f4081b-f9341db2-53925988",
    "1.2.826.0.1.3680043.8.1055.1.20111103111148288.98361414.79379639",
);

/// A server with a service user holding `service`, and users
/// `viewer` (reader), `uploader` (member) on the admin project.
struct Deployment {
    s: TestServer,
    admin: String,
    service_auth: String,
}

impl Deployment {
    async fn start(extra: &str) -> Self {
        Self::on(TestServer::start_with(extra).await).await
    }

    async fn on(s: TestServer) -> Self {
        let admin = s.admin_token().await;
        let d = Self {
            s,
            admin,
            service_auth: format!(
                "Basic {}",
                STANDARD.encode(format!("orthanc:{SERVICE_PASSWORD}"))
            ),
        };
        // Bootstrap creates `service`, as keystone-manage does.
        let service = d.role_id("service").await;
        d.create_user("orthanc", SERVICE_PASSWORD, Some(&service))
            .await;
        let reader = d.role_id("reader").await;
        let member = d.role_id("member").await;
        d.create_user("viewer", "viewer-password", Some(&reader))
            .await;
        d.create_user("uploader", "uploader-password", Some(&member))
            .await;
        d.create_user("nobody", "nobody-password", None).await;
        d
    }

    async fn role_id(&self, name: &str) -> String {
        self.s.role_id(&self.admin, name).await.unwrap()
    }

    async fn create_user(&self, name: &str, password: &str, role: Option<&str>) -> String {
        self.s
            .create_user_with_role(&self.admin, name, password, role)
            .await
    }

    /// A token of `user` scoped to the admin project.
    async fn token(&self, user: &str) -> String {
        let scope = json!({"project": {"name": "admin", "domain": {"id": "default"}}});
        let response = self
            .s
            .issue(
                &password_body(user, &format!("{user}-password"), Some(scope)),
                None,
            )
            .await;
        assert_eq!(response.status(), 201);
        subject(&response)
    }

    /// A call to the service as Orthanc makes it: basic auth, and a JSON
    /// body sent chunked, without Content-Length.
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send_as(&self.service_auth, method, path, body).await
    }

    async fn send_as(
        &self,
        authorization: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .s
            .client
            .request(method, self.s.url(&format!("/orthanc{path}")))
            .header("Authorization", authorization);
        if let Some(body) = body {
            let bytes = serde_json::to_vec(&body).unwrap();
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                bytes.chunks(7).map(|c| Ok(c.to_vec())).collect();
            request = request.header("Content-Type", "application/json").body(
                reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)),
            );
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn validate(&self, token: &str, level: &str, method: &str, ids: (&str, &str)) -> Value {
        let (status, body) = self
            .send(
                Method::POST,
                "/tokens/validate",
                Some(
                    json!({"level": level, "method": method, "orthanc-id": ids.0,
                    "dicom-uid": ids.1, "server-id": "orthanc-test",
                    "token-key": "token", "token-value": token}),
                ),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn validate_uri(&self, token: &str, method: &str, uri: &str) -> Value {
        let (status, body) = self
            .send(
                Method::POST,
                "/tokens/validate",
                Some(json!({"level": "system", "method": method, "uri": uri,
                    "server-id": null, "token-key": "token", "token-value": token})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn profile(&self, token: &str) -> Value {
        let (status, body) = self
            .send(
                Method::POST,
                "/user/get-profile",
                Some(json!({"token-key": "token", "token-value": token, "server-id": "x"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn share(&self, study: (&str, &str), extra: Value) -> String {
        let mut body = json!({"resources": [{"level": "study", "orthanc-id": study.0,
            "dicom-uid": study.1}], "type": "stone-viewer-publication", "server-id": "x"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, answer) = self
            .send(Method::PUT, "/tokens/stone-viewer-publication", Some(body))
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["token"].as_str().unwrap().to_owned()
    }
}

/// `GET /v3/imaging/share-tokens` as the admin.
async fn listed_share_tokens(d: &Deployment) -> Value {
    d.s.call(Method::GET, "/v3/imaging/share-tokens", &d.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `DELETE /v3/imaging/share-tokens/{id}` on `node` as `caller`.
async fn revoke_share(node: &TestServer, id: &str, caller: &str) -> u16 {
    node.call(
        Method::DELETE,
        &format!("/v3/imaging/share-tokens/{id}"),
        caller,
    )
    .send()
    .await
    .unwrap()
    .status()
    .as_u16()
}

fn granted(answer: &Value) -> bool {
    answer["granted"].as_bool().unwrap()
}

#[tokio::test]
async fn only_a_service_user_with_its_password_may_call() {
    let d = Deployment::start("").await;
    let body = json!({"token-key": "", "token-value": ""});
    let (status, answer) = d
        .send_as("", Method::POST, "/user/get-profile", Some(body.clone()))
        .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"]["code"], 401);
    let wrong = format!("Basic {}", STANDARD.encode("orthanc:wrong"));
    let (status, _) = d
        .send_as(
            &wrong,
            Method::POST,
            "/user/get-profile",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 401);
    // A user of the store, with the right password, without the role.
    let nobody = format!("Basic {}", STANDARD.encode("nobody:nobody-password"));
    let (status, answer) = d
        .send_as(
            &nobody,
            Method::POST,
            "/user/get-profile",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = d
        .send(Method::POST, "/user/get-profile", Some(body.clone()))
        .await;
    assert_eq!(status, 200, "{answer}");
    // No challenge realm of Keystone's on this door: a basic one.
    let response =
        d.s.client
            .post(d.s.url("/orthanc/user/get-profile"))
            .json(&body)
            .send()
            .await
            .unwrap();
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"orthanc\""
    );
}

#[tokio::test]
async fn a_verified_service_credential_is_forgotten_when_the_user_changes() {
    let d = Deployment::start("").await;
    let body = json!({"token-key": "", "token-value": ""});
    let call = || d.send(Method::POST, "/user/get-profile", Some(body.clone()));
    let passwords_checked = || async {
        let text = d.s.metrics().await;
        text.lines()
            .find_map(|line| {
                line.strip_prefix(
                    "auth_method_results_total{method=\"password\",result=\"success\"} ",
                )
            })
            .map_or(0, |n| n.parse::<u32>().unwrap())
    };
    let before = passwords_checked().await;
    for _ in 0..5 {
        assert_eq!(call().await.0, 200);
    }
    assert_eq!(
        passwords_checked().await,
        before + 1,
        "one password check for five calls"
    );
    let users: Value =
        d.s.call(Method::GET, "/v3/users?name=orthanc", &d.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let id = users["users"][0]["id"].as_str().unwrap();
    let status =
        d.s.call(Method::PATCH, &format!("/v3/users/{id}"), &d.admin)
            .json(&json!({"user": {"enabled": false}}))
            .send()
            .await
            .unwrap()
            .status();
    assert_eq!(status, 200);
    assert_eq!(
        call().await.0,
        401,
        "a disabled service user is refused at once"
    );
}

#[tokio::test]
async fn failed_service_logins_count_towards_the_lockout() {
    let d = Deployment::start(
        "[security_compliance]\nlockout_failure_attempts = 2\nlockout_duration = 600",
    )
    .await;
    let body = json!({"token-key": "", "token-value": ""});
    let wrong = format!("Basic {}", STANDARD.encode("orthanc:wrong"));
    for _ in 0..2 {
        let (status, _) = d
            .send_as(
                &wrong,
                Method::POST,
                "/user/get-profile",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 401);
    }
    let (status, _) = d
        .send(Method::POST, "/user/get-profile", Some(body.clone()))
        .await;
    assert_eq!(status, 401, "locked: even the right password is refused");
    d.s.clock.advance(Duration::seconds(601));
    let (status, _) = d.send(Method::POST, "/user/get-profile", Some(body)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn permissions_come_from_the_tokens_roles_through_the_role_map() {
    let d = Deployment::start("").await;
    let viewer = d.token("viewer").await;
    let uploader = d.token("uploader").await;

    let answer = d.validate(&viewer, "study", "get", STUDY).await;
    assert!(granted(&answer));
    let validity = answer["validity"].as_u64().unwrap();
    assert!((1..=60).contains(&validity), "{answer}");
    assert!(!granted(
        &d.validate(&viewer, "study", "delete", STUDY).await
    ));
    assert_eq!(
        d.validate(&viewer, "study", "delete", STUDY).await["validity"],
        0
    );
    assert!(granted(&d.validate_uri(&viewer, "get", "/patients").await));
    assert!(!granted(
        &d.validate_uri(&viewer, "post", "/instances").await
    ));
    assert!(granted(
        &d.validate_uri(&uploader, "post", "/instances").await
    ));
    assert!(!granted(
        &d.validate_uri(&uploader, "post", "/tools/execute-script")
            .await
    ));
    assert!(granted(
        &d.validate(&d.admin, "study", "delete", STUDY).await
    ));
    assert!(granted(
        &d.validate_uri(&d.admin, "post", "/tools/execute-script")
            .await
    ));
    // As the plugin forwards an Authorization header.
    assert!(granted(
        &d.validate(&format!("Bearer {viewer}"), "instance", "get", STUDY)
            .await
    ));
    // Anonymous, and tokens that are not tokens.
    assert!(!granted(&d.validate("", "study", "get", STUDY).await));
    assert!(!granted(
        &d.validate("garbage", "study", "get", STUDY).await
    ));

    let profile = d.profile(&viewer).await;
    assert_eq!(profile["name"], "viewer");
    assert_eq!(profile["permissions"], json!(["view", "download"]));
    assert_eq!(profile["authorized-labels"], json!(["*"]));
    assert!(profile["user-id"].is_string());
    let anonymous = d.profile("").await;
    assert_eq!(anonymous["name"], "anonymous");
    assert_eq!(anonymous["permissions"], json!([]));
    assert!(anonymous["validity"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn validity_never_outlives_the_token_and_a_profile_is_never_valid_for_0() {
    let d = Deployment::start("[token]\nexpiration = 3600").await;
    let viewer = d.token("viewer").await;
    d.s.clock.advance(Duration::seconds(3600 - 20));
    let answer = d.validate(&viewer, "study", "get", STUDY).await;
    assert!(granted(&answer));
    let validity = answer["validity"].as_u64().unwrap();
    assert!(validity <= 20, "{answer}");
    // Less than a second left: a decision is not kept, a profile for 1 s.
    let body: Value = d.s.validate(&d.admin, &viewer).await.json().await.unwrap();
    let expires_at: chrono::DateTime<chrono::Utc> = body["token"]["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = d.s.clock.now();
    d.s.clock
        .advance(expires_at - Duration::milliseconds(300) - now);
    let answer = d.validate(&viewer, "study", "get", STUDY).await;
    assert!(granted(&answer), "{answer}");
    assert_eq!(answer["validity"], 0);
    assert_eq!(d.profile(&viewer).await["validity"], 1);
    d.s.clock.advance(Duration::seconds(1));
    assert!(!granted(&d.validate(&viewer, "study", "get", STUDY).await));
    assert_eq!(d.profile(&viewer).await["permissions"], json!([]));
}

#[tokio::test]
async fn a_revoked_user_token_is_refused_at_the_next_call() {
    let d = Deployment::start("").await;
    let viewer = d.token("viewer").await;
    assert!(granted(&d.validate(&viewer, "study", "get", STUDY).await));
    let status =
        d.s.call(Method::DELETE, "/v3/auth/tokens", &d.admin)
            .header("X-Subject-Token", &viewer)
            .send()
            .await
            .unwrap()
            .status();
    assert_eq!(status, 204);
    assert!(!granted(&d.validate(&viewer, "study", "get", STUDY).await));
    assert_eq!(d.profile(&viewer).await["permissions"], json!([]));
}

#[tokio::test]
async fn the_anonymous_role_gives_anonymous_requests_its_permissions() {
    let d = Deployment::start("[orthanc]\nanonymous_role = \"reader\"").await;
    assert!(granted(&d.validate("", "study", "get", STUDY).await));
    assert!(!granted(&d.validate("", "study", "delete", STUDY).await));
    assert_eq!(
        d.profile("").await["permissions"],
        json!(["view", "download"])
    );
}

#[tokio::test]
async fn what_the_service_cannot_read_is_a_400_with_a_json_body() {
    let d = Deployment::start("").await;
    for body in [
        json!({"level": "galaxy", "method": "get", "uri": "/"}),
        json!({"level": "study", "method": "patch", "orthanc-id": "x"}),
        json!({"level": "study", "method": "get"}),
        json!({"level": "system", "method": "get"}),
        json!({"method": "get"}),
        json!([1, 2]),
    ] {
        let (status, answer) = d
            .send(Method::POST, "/tokens/validate", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], 400, "{body}");
    }
    let response =
        d.s.client
            .post(d.s.url("/orthanc/tokens/validate"))
            .header("Authorization", &d.service_auth)
            .header("Content-Type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], 400);
    let (status, answer) = d
        .send(
            Method::PUT,
            "/settings/roles",
            Some(json!({"roles": {"doctor": {"permissions": ["teleport"], "authorized-labels": []}}})),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("teleport")
    );
    let (status, _) = d
        .send(
            Method::PUT,
            "/tokens/stone-viewer-publication",
            Some(json!({"resources": [], "validity-duration": 60})),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_share_token_opens_its_study_only_until_revoked() {
    let d = Deployment::start("").await;
    let share = d.share(STUDY, json!({"validity-duration": 3600})).await;
    assert!(share.starts_with("shr_"));
    assert!(granted(&d.validate(&share, "study", "get", STUDY).await));
    let validity = d.validate(&share, "study", "get", STUDY).await["validity"]
        .as_u64()
        .unwrap();
    assert!((1..=60).contains(&validity));
    // By either id alone.
    assert!(granted(
        &d.validate(&share, "study", "get", (STUDY.0, "")).await
    ));
    assert!(granted(
        &d.validate(&share, "study", "get", ("", STUDY.1)).await
    ));
    assert!(!granted(
        &d.validate(&share, "study", "get", OTHER_STUDY).await
    ));
    assert!(!granted(
        &d.validate(&share, "study", "delete", STUDY).await
    ));
    assert!(!granted(&d.validate(&share, "patient", "get", STUDY).await));
    assert!(!granted(&d.validate_uri(&share, "get", "/studies").await));
    let profile = d.profile(&share).await;
    assert_eq!(profile["permissions"], json!([]));

    let (status, decoded) = d
        .send(
            Method::POST,
            "/tokens/decode",
            Some(json!({"token-key": "token", "token-value": share})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(decoded["token-type"], "stone-viewer-publication");
    assert_eq!(decoded["resources"][0]["orthanc-id"], STUDY.0);
    assert!(decoded.get("error-code").is_none(), "{decoded}");

    // A second node sees the revocation at its next call.
    let other = d.s.second_node().await;
    let listed = listed_share_tokens(&d).await;
    let tokens = listed["share_tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1);
    assert!(
        !listed.to_string().contains(&share),
        "the token itself is never listed"
    );
    let id = tokens[0]["id"].as_str().unwrap();
    let viewer = d.token("viewer").await;
    assert_eq!(
        revoke_share(&d.s, id, &viewer).await,
        403,
        "only an admin revokes"
    );
    let status = revoke_share(&other, id, &d.admin).await;
    assert_eq!(status, 204);
    assert!(!granted(&d.validate(&share, "study", "get", STUDY).await));
    let (_, decoded) = d
        .send(
            Method::POST,
            "/tokens/decode",
            Some(json!({"token-key": "token", "token-value": share})),
        )
        .await;
    assert_eq!(decoded["error-code"], "unknown");
    let (_, decoded) = d
        .send(
            Method::POST,
            "/tokens/decode",
            Some(json!({"token-key": "token", "token-value": "not-a-share-token"})),
        )
        .await;
    assert_eq!(decoded["error-code"], "invalid");
}

#[tokio::test]
async fn a_share_token_expires() {
    let d = Deployment::start("").await;
    let dated = (d.s.clock.now() + Duration::hours(2))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let share = d.share(STUDY, json!({"expiration-date": dated})).await;
    let short = d.share(STUDY, json!({"validity-duration": 30})).await;
    let answer = d.validate(&short, "study", "get", STUDY).await;
    assert!(granted(&answer));
    assert!(answer["validity"].as_u64().unwrap() <= 30);
    d.s.clock.advance(Duration::seconds(31));
    assert!(!granted(&d.validate(&short, "study", "get", STUDY).await));
    let (_, decoded) = d
        .send(
            Method::POST,
            "/tokens/decode",
            Some(json!({"token-key": "token", "token-value": short})),
        )
        .await;
    assert_eq!(decoded["error-code"], "expired");
    assert!(granted(&d.validate(&share, "study", "get", STUDY).await));
    d.s.clock.advance(Duration::hours(2));
    assert!(!granted(&d.validate(&share, "study", "get", STUDY).await));
    let past = (d.s.clock.now() - Duration::hours(1)).to_rfc3339();
    let (status, _) = d
        .send(
            Method::PUT,
            "/tokens/viewer-instant-link",
            Some(
                json!({"resources": [{"level": "study", "dicom-uid": STUDY.1}],
                "expiration-date": past}),
            ),
        )
        .await;
    assert_eq!(status, 400, "already expired");
}

#[tokio::test]
async fn the_stored_role_map_wins_on_every_node() {
    let d = Deployment::start("").await;
    let (status, roles) = d.send(Method::GET, "/settings/roles", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        roles["roles"]["reader"]["permissions"],
        json!(["view", "download"])
    );
    let other = d.s.second_node().await;
    let viewer = d.token("viewer").await;
    // Warm the other node's kept map.
    assert_eq!(
        d.profile(&viewer).await["permissions"],
        json!(["view", "download"])
    );
    let map = json!({"roles": {"reader": {"permissions": ["view", "delete"],
        "authorized-labels": ["*"]}}, "available-labels": [], "server-id": "x"});
    let (status, answer) = d.send(Method::PUT, "/settings/roles", Some(map)).await;
    assert_eq!(status, 200, "{answer}");
    let on_other = Deployment {
        s: other,
        admin: d.admin.clone(),
        service_auth: d.service_auth.clone(),
    };
    assert_eq!(
        on_other.profile(&viewer).await["permissions"],
        json!(["view", "delete"])
    );
    assert!(granted(
        &on_other.validate(&viewer, "study", "delete", STUDY).await
    ));
    // `member`, which the stored map does not name, gives nothing; the
    // uploader holds `reader` too, which `member` implies.
    let uploader = d.token("uploader").await;
    assert_eq!(
        d.profile(&uploader).await["permissions"],
        json!(["view", "delete"])
    );
}

#[tokio::test]
async fn the_configured_role_map_and_prefix_are_used() {
    let d = Deployment::start(
        "[orthanc.roles.reader]\npermissions = [\"view\"]\nauthorized_labels = [\"public\"]",
    )
    .await;
    let viewer = d.token("viewer").await;
    let profile = d.profile(&viewer).await;
    assert_eq!(profile["permissions"], json!(["view"]));
    assert_eq!(profile["authorized-labels"], json!(["public"]));
    // Only what `reader` gives (which `member` implies): `member` is not in
    // the configured map.
    let uploader = d.token("uploader").await;
    assert_eq!(d.profile(&uploader).await["permissions"], json!(["view"]));

    let bad = auth_server::Config::from_toml("[orthanc.roles.reader]\npermissions = [\"fly\"]");
    let config = bad.unwrap();
    let error = auth_server::imaging::Imaging::from_config(&config.orthanc).unwrap_err();
    assert!(error.to_string().contains("fly"), "{error}");
    let moved = TestServer::start_with("[orthanc]\nprefix = \"/authz/\"").await;
    let response = moved
        .client
        .post(moved.url("/authz/user/get-profile"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "served under the new prefix");
    let response = moved
        .client
        .post(moved.url("/orthanc/user/get-profile"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn refusals_are_audited_and_grants_are_not_by_default() {
    let d = Deployment::start("").await;
    let viewer = d.token("viewer").await;
    assert!(granted(&d.validate(&viewer, "study", "get", STUDY).await));
    assert!(!granted(
        &d.validate(&viewer, "study", "delete", STUDY).await
    ));
    let rows = d.s.audit_of("orthanc.validate").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert!(!row.success);
    assert_eq!(row.detail["request"]["method"], "delete");
    assert_eq!(row.detail["request"]["granted"], false);
    assert_eq!(row.detail["request"]["bearer"], "user");
    assert!(
        !format!("{rows:?}").contains(&viewer),
        "no token in the audit log"
    );
}

#[tokio::test]
async fn share_tokens_revoke_across_nodes_on_postgresql() {
    let Some(s) = TestServer::start_postgres("").await else {
        return;
    };
    let d = Deployment::on(s).await;
    let share = d.share(STUDY, json!({"validity-duration": 3600})).await;
    assert!(granted(&d.validate(&share, "study", "get", STUDY).await));
    let listed = listed_share_tokens(&d).await;
    let id = listed["share_tokens"][0]["id"].as_str().unwrap();
    let other = d.s.second_node().await;
    let status = revoke_share(&other, id, &d.admin).await;
    assert_eq!(status, 204);
    assert!(!granted(&d.validate(&share, "study", "get", STUDY).await));
}

#[tokio::test]
async fn with_server_ids_set_only_those_orthancs_may_call() {
    let d = Deployment::start("[orthanc]\nserver_ids = [\"pacs-1\"]").await;
    let ask = |server_id: Value| {
        d.send(
            Method::POST,
            "/user/get-profile",
            Some(json!({"token-key": "", "token-value": "", "server-id": server_id})),
        )
    };
    assert_eq!(ask(json!("pacs-1")).await.0, 200);
    let (status, answer) = ask(json!("pacs-2")).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(ask(Value::Null).await.0, 403, "an Orthanc without an id");
}
