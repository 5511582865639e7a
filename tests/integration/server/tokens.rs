//! Issue, validate, check and revoke, as Keystone and its clients expect.

use auth_core::store::{Credential, PasswordRecord, User, UserOptions, new_id};
use auth_plugins::hashing::{HashingConfig, PasswordHasher};
use auth_plugins::methods::totp;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::harness::{ADMIN_PASSWORD, TestServer, password_body, subject};

#[tokio::test]
async fn discovery_answers_like_keystone() {
    let s = TestServer::start().await;
    let root = s.client.get(s.url("/")).send().await.unwrap();
    assert_eq!(root.status(), 300);
    assert!(
        root.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("/v3/")
    );
    let body: Value = root.json().await.unwrap();
    assert_eq!(body["versions"]["values"][0]["id"], "v3.14");
    let v3: Value = s
        .client
        .get(s.url("/v3"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v3["version"]["media-types"][0]["type"],
        "application/vnd.openstack.identity-v3+json"
    );
    assert_eq!(v3["version"]["links"][0]["href"], format!("{}/v3/", s.base));
}

#[tokio::test]
async fn a_password_login_issues_an_unscoped_or_default_project_token() {
    let s = TestServer::start().await;
    let response = s.admin_unscoped().await;
    assert_eq!(response.status(), 201);
    assert!(
        response.headers()["x-openstack-request-id"]
            .to_str()
            .unwrap()
            .starts_with("req-")
    );
    assert_eq!(response.headers()["vary"], "X-Auth-Token");
    assert!(!subject(&response).is_empty());
    let body: Value = response.json().await.unwrap();
    let token = &body["token"];
    assert_eq!(token["methods"], json!(["password"]));
    assert_eq!(token["user"]["name"], "admin");
    assert_eq!(
        token["user"]["domain"],
        json!({"id": "default", "name": "Default"})
    );
    assert!(token.get("roles").is_none() && token.get("catalog").is_none());
    assert_eq!(token["audit_ids"][0].as_str().unwrap().len(), 22);
    assert!(token["expires_at"].as_str().unwrap().ends_with(".000000Z"));
    // No scope asked: the user's default project.
    let body: Value = s
        .issue(&password_body("admin", ADMIN_PASSWORD, None), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["token"]["project"]["name"], "admin");
}

#[tokio::test]
async fn a_project_scoped_token_has_roles_and_the_catalog() {
    let s = TestServer::start().await;
    let scope = json!({"project": {"name": "admin", "domain": {"name": "Default"}}});
    let body: Value = s
        .issue(
            &password_body("admin", ADMIN_PASSWORD, Some(scope.clone())),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let token = &body["token"];
    assert_eq!(token["project"]["id"], s.admin.project.id);
    assert_eq!(token["is_domain"], false);
    // Admin and, through bootstrap's implied roles, all it implies.
    assert_eq!(
        token["roles"][0],
        json!({"id": s.admin.admin_role.id, "name": "admin"})
    );
    let names: Vec<&str> = token["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "manager", "member", "reader"]);
    assert_eq!(token["catalog"][0]["type"], "identity");
    assert_eq!(token["catalog"][0]["endpoints"][0]["url"], s.base);
    let response = s
        .client
        .post(s.url("/v3/auth/tokens?nocatalog"))
        .json(&password_body("admin", ADMIN_PASSWORD, Some(scope)))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body["token"].get("catalog").is_none());
    let system: Value = s
        .issue(
            &password_body(
                "admin",
                ADMIN_PASSWORD,
                Some(json!({"system": {"all": true}})),
            ),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(system["token"]["system"], json!({"all": true}));
}

#[tokio::test]
async fn a_scope_without_a_role_or_a_wrong_password_is_a_keystone_401() {
    let s = TestServer::start().await;
    for body in [
        password_body("admin", "wrong", None),
        password_body("nobody", ADMIN_PASSWORD, None),
        password_body(
            "admin",
            ADMIN_PASSWORD,
            Some(json!({"project": {"id": "no-such-project"}})),
        ),
    ] {
        let response = s.issue(&body, None).await;
        assert_eq!(response.status(), 401);
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(challenge, format!("Keystone uri=\"{}/v3\"", s.base));
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], 401);
        assert_eq!(error["error"]["title"], "Unauthorized");
    }
    let malformed = s
        .issue(
            &json!({"auth": {"identity": {"methods": ["password"]}}}),
            None,
        )
        .await;
    assert_eq!(malformed.status(), 400);
    let error: Value = malformed.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Expecting to find password in identity")
    );
}

#[tokio::test]
async fn validate_check_and_revoke() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let issued = s.admin_unscoped().await;
    let token = subject(&issued);
    let issued_body: Value = issued.json().await.unwrap();
    let get = |subject: &str, auth: Option<&str>| {
        let mut request = s
            .client
            .get(s.url("/v3/auth/tokens"))
            .header("X-Subject-Token", subject);
        if let Some(auth) = auth {
            request = request.header("X-Auth-Token", auth);
        }
        request.send()
    };
    let validated = get(&token, Some(&admin)).await.unwrap();
    assert_eq!(validated.status(), 200);
    assert_eq!(validated.headers()["x-subject-token"], token.as_str());
    let validated_body: Value = validated.json().await.unwrap();
    assert_eq!(validated_body, issued_body, "GET gives the body POST gave");
    // Self-validation is allowed; no caller token is not.
    assert_eq!(get(&token, Some(&token)).await.unwrap().status(), 200);
    assert_eq!(get(&token, None).await.unwrap().status(), 401);
    assert_eq!(get("garbage", Some(&admin)).await.unwrap().status(), 404);
    let head = s
        .call(Method::HEAD, "/v3/auth/tokens", &admin)
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    let revoked = s
        .call(Method::DELETE, "/v3/auth/tokens", &admin)
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let after = get(&token, Some(&admin)).await.unwrap();
    assert_eq!(after.status(), 404);
    let error: Value = after.json().await.unwrap();
    assert_eq!(error["error"]["title"], "Not Found");
}

#[tokio::test]
async fn another_users_token_needs_admin_to_validate() {
    let s = TestServer::start().await;
    let hasher = PasswordHasher::new(HashingConfig {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    })
    .unwrap();
    add_user(&s, &hasher, "bob", "bob-pass", UserOptions::default()).await;
    let bob = subject(&s.issue(&password_body("bob", "bob-pass", None), None).await);
    let admin = s.admin_token().await;
    let forbidden = s.validate(&bob, &admin).await;
    assert_eq!(forbidden.status(), 403);
}

#[tokio::test]
async fn mfa_rules_answer_with_a_receipt_that_totp_completes() {
    let s = TestServer::start().await;
    let hasher = PasswordHasher::new(HashingConfig {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    })
    .unwrap();
    let options = UserOptions::default()
        .with_multi_factor_auth_rules(vec![vec!["password".into(), "totp".into()]]);
    let user = add_user(&s, &hasher, "mfauser", "mfapass", options).await;
    let blob = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    s.storage()
        .create_credential(&Credential::new(
            new_id(),
            user.id.clone(),
            "totp",
            SecretString::from(blob.to_owned()),
        ))
        .await
        .unwrap();
    let first = s
        .issue(&password_body("mfauser", "mfapass", None), None)
        .await;
    assert_eq!(first.status(), 401);
    assert!(first.headers().get("www-authenticate").is_none());
    let receipt = first.headers()["openstack-auth-receipt"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["receipt"]["methods"], json!(["password"]));
    assert_eq!(body["receipt"]["user"]["id"], user.id);
    assert_eq!(body["receipt"]["user"]["domain"]["name"], "Default");
    assert_eq!(body["required_auth_methods"], json!([["password", "totp"]]));
    let secret = totp::decode_secret(blob).unwrap();
    let passcode = totp::passcode_at(&secret, chrono::Utc::now());
    let second = json!({"auth": {"identity": {"methods": ["totp"],
        "totp": {"user": {"id": user.id, "passcode": passcode}}}}});
    let done = s.issue(&second, Some(&receipt)).await;
    assert_eq!(done.status(), 201);
    let body: Value = done.json().await.unwrap();
    let mut methods: Vec<String> =
        serde_json::from_value(body["token"]["methods"].clone()).unwrap();
    methods.sort();
    assert_eq!(methods, ["password", "totp"]);
}

#[tokio::test]
async fn rescoping_with_the_token_method_keeps_the_chain() {
    let s = TestServer::start().await;
    let issued = s.admin_unscoped().await;
    let token = subject(&issued);
    let original: Value = issued.json().await.unwrap();
    let rescope = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
    let response = s.issue(&rescope, None).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token"]["methods"], json!(["token", "password"]));
    assert_eq!(
        body["token"]["audit_ids"][1],
        original["token"]["audit_ids"][0]
    );
    assert_eq!(body["token"]["expires_at"], original["token"]["expires_at"]);
    assert_eq!(body["token"]["project"]["name"], "admin");
}

async fn add_user(
    s: &TestServer,
    hasher: &PasswordHasher,
    name: &str,
    password: &str,
    options: UserOptions,
) -> User {
    let user = User::new(new_id(), name, "default").with_options(options);
    let record = PasswordRecord::new(
        hasher
            .hash(&SecretString::from(password.to_owned()))
            .unwrap(),
        chrono::Utc::now(),
    );
    s.storage().create_user(&user, Some(&record)).await.unwrap();
    user
}

#[tokio::test]
async fn every_401_carries_the_challenge_with_the_configured_public_url() {
    let s = TestServer::start_with("[server]\npublic_url = \"https://keystone.example.com:5000/\"")
        .await;
    let expected = "Keystone uri=\"https://keystone.example.com:5000/v3\"";
    let admin = s.admin_token().await;
    let created: Value = s
        .call(Method::POST, "/v3/users", &admin)
        .json(&json!({"user": {"name": "ivy", "password": "ivy-pass"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ivy = created["user"]["id"].as_str().unwrap().to_owned();
    let answers = [
        // No token, and a token that does not validate (the extractor).
        s.client.get(s.url("/v3/users")).send().await.unwrap(),
        s.call(Method::GET, "/v3/users", "not-a-token")
            .send()
            .await
            .unwrap(),
        s.validate("not-a-token", &admin).await,
        // A failed login (the engine) and a wrong original password.
        s.issue(&password_body("admin", "wrong", None), None).await,
        s.client
            .post(s.url(&format!("/v3/users/{ivy}/password")))
            .json(&json!({"user": {"original_password": "wrong", "password": "new-pass"}}))
            .send()
            .await
            .unwrap(),
    ];
    for response in answers {
        assert_eq!(response.status(), 401, "{}", response.url());
        assert_eq!(
            response.headers()["www-authenticate"],
            expected,
            "{}",
            response.url()
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], 401);
    }
    // Other errors carry no challenge.
    let forbidden = s
        .call(
            Method::GET,
            "/v3/users",
            subject(&s.issue(&password_body("ivy", "ivy-pass", None), None).await),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    assert!(forbidden.headers().get("www-authenticate").is_none());
}
