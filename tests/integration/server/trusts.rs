//! OS-TRUST: trusts created, listed, shown and deleted as Keystone does,
//! and the trust-scoped tokens a trustee gets from them: the trust's roles
//! only, the trustor as their user when impersonating, uses counted, and
//! ended by the trust's expiry or deletion, or the trustor losing a role.

use auth_core::Clock;
use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, password_body, role_names, status_of, subject};

const TRUSTOR_PW: &str = "trustor-secret";
const TRUSTEE_PW: &str = "trustee-secret";

/// A server with a trustor holding `member` (so `reader` too) on the admin
/// project, and a trustee holding nothing.
struct World {
    server: TestServer,
    admin: String,
    member: String,
    trustor: String,
    trustee: String,
    /// The trustor's token on the admin project.
    trustor_token: String,
}

async fn world() -> World {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    let member = server.role_id(&admin, "member").await.unwrap();
    let trustor = server
        .create_user_with_role(&admin, "trustor", TRUSTOR_PW, Some(&member))
        .await;
    let trustee = server
        .create_user_with_role(&admin, "trustee", TRUSTEE_PW, None)
        .await;
    let trustor_token = server.project_token("trustor", TRUSTOR_PW).await;
    World {
        server,
        admin,
        member,
        trustor,
        trustee,
        trustor_token,
    }
}

impl World {
    /// A trust from the trustor to the trustee on the admin project,
    /// delegating `member` by name, with `extra` members added.
    fn trust_body(&self, extra: Value) -> Value {
        let mut trust = json!({
            "trustor_user_id": self.trustor,
            "trustee_user_id": self.trustee,
            "project_id": self.server.admin.project.id,
            "roles": [{"name": "member"}],
            "impersonation": true,
        });
        for (key, value) in extra.as_object().unwrap() {
            trust[key] = value.clone();
        }
        json!({"trust": trust})
    }

    async fn post_trust(&self, token: &str, body: &Value) -> reqwest::Response {
        self.server
            .call(Method::POST, "/v3/OS-TRUST/trusts", token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a trust (201); its body.
    async fn create(&self, extra: Value) -> Value {
        let response = self
            .post_trust(&self.trustor_token, &self.trust_body(extra))
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["trust"].clone()
    }

    /// The trustee's password login scoped to `trust_id`.
    async fn trust_login(&self, trust_id: &str) -> reqwest::Response {
        let scope = json!({"OS-TRUST:trust": {"id": trust_id}});
        self.server
            .issue(&password_body("trustee", TRUSTEE_PW, Some(scope)), None)
            .await
    }

    async fn trust_token(&self, trust_id: &str) -> String {
        let response = self.trust_login(trust_id).await;
        assert_eq!(response.status(), 201);
        subject(&response)
    }

    /// The status of validating `token` (by the admin).
    async fn validation(&self, token: &str) -> u16 {
        status_of(
            self.server
                .call(Method::GET, "/v3/auth/tokens", &self.admin)
                .header("X-Subject-Token", token),
        )
        .await
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .server
            .call(Method::GET, path, token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn a_trust_is_created_listed_shown_and_deleted_with_its_roles() {
    let w = world().await;
    let trust = w.create(json!({})).await;
    let id = trust["id"].as_str().unwrap().to_owned();
    assert_eq!(trust["trustor_user_id"], w.trustor);
    assert_eq!(trust["trustee_user_id"], w.trustee);
    assert_eq!(trust["project_id"], w.server.admin.project.id);
    assert_eq!(trust["impersonation"], true);
    assert_eq!(trust["expires_at"], Value::Null);
    assert_eq!(trust["roles"].as_array().unwrap().len(), 1);
    assert_eq!(trust["roles"][0]["name"], "member");
    assert!(
        trust["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v3/OS-TRUST/trusts/{id}"))
    );
    assert!(
        trust["roles_links"]["self"]
            .as_str()
            .unwrap()
            .ends_with("/roles")
    );

    // Listed by trustor and by trustee, without roles; every trust only
    // for an admin.
    let by_trustor = format!("/v3/OS-TRUST/trusts?trustor_user_id={}", w.trustor);
    let (status, listed) = w.get(&w.trustor_token, &by_trustor).await;
    assert_eq!(status, 200);
    assert_eq!(listed["trusts"].as_array().unwrap().len(), 1);
    assert!(listed["trusts"][0].get("roles").is_none());
    let unscoped = password_body("trustee", TRUSTEE_PW, Some(json!("unscoped")));
    let trustee_token = subject(&w.server.issue(&unscoped, None).await);
    let by_trustee = format!("/v3/OS-TRUST/trusts?trustee_user_id={}", w.trustee);
    assert_eq!(w.get(&trustee_token, &by_trustee).await.0, 200);
    assert_eq!(w.get(&w.trustor_token, &by_trustee).await.0, 403);
    assert_eq!(w.get(&w.trustor_token, "/v3/OS-TRUST/trusts").await.0, 403);
    let (status, all) = w.get(&w.admin, "/v3/OS-TRUST/trusts").await;
    assert_eq!(status, 200);
    assert!(
        all["trusts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id)
    );

    // Shown, with its roles, to the trustor; roles one by one.
    let (status, shown) = w
        .get(&w.trustor_token, &format!("/v3/OS-TRUST/trusts/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(shown["trust"]["roles"][0]["id"], w.member);
    let (status, roles) = w
        .get(&w.trustor_token, &format!("/v3/OS-TRUST/trusts/{id}/roles"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(roles["roles"].as_array().unwrap().len(), 1);
    let role_path = format!("/v3/OS-TRUST/trusts/{id}/roles/{}", w.member);
    assert_eq!(w.get(&w.trustor_token, &role_path).await.0, 200);
    assert_eq!(
        status_of(w.server.call(Method::HEAD, &role_path, &w.trustor_token)).await,
        200
    );
    let reader = w.server.role_id(&w.admin, "reader").await.unwrap();
    let undelegated = format!("/v3/OS-TRUST/trusts/{id}/roles/{reader}");
    assert_eq!(w.get(&w.trustor_token, &undelegated).await.0, 404);

    // A stranger sees nothing; only the trustor (or an admin) deletes.
    w.server
        .create_user_with_role(&w.admin, "stranger", "stranger-secret", Some(&w.member))
        .await;
    let stranger = w.server.project_token("stranger", "stranger-secret").await;
    let path = format!("/v3/OS-TRUST/trusts/{id}");
    assert_eq!(w.get(&stranger, &path).await.0, 403);
    assert_eq!(
        status_of(w.server.call(Method::DELETE, &path, &stranger)).await,
        403
    );
    assert_eq!(
        status_of(w.server.call(Method::DELETE, &path, &w.trustor_token)).await,
        204
    );
    let (status, body) = w.get(&w.trustor_token, &path).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], 404);
    assert_eq!(
        w.get(&w.trustor_token, "/v3/OS-TRUST/trusts/missing")
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn creating_a_trust_is_refused_as_keystone_refuses() {
    let w = world().await;
    let status = |body: Value| {
        let w = &w;
        async move {
            w.post_trust(&w.trustor_token, &body)
                .await
                .status()
                .as_u16()
        }
    };
    // Not the caller as trustor: 403.
    let mut other = w.trust_body(json!({}));
    other["trust"]["trustor_user_id"] = json!(w.trustee);
    assert_eq!(status(other).await, 403);
    // A role the trustor does not hold there: Keystone's RoleNotFound.
    assert_eq!(
        status(w.trust_body(json!({"roles": [{"name": "admin"}]}))).await,
        404
    );
    assert_eq!(
        status(w.trust_body(json!({"roles": [{"id": "nope"}]}))).await,
        404
    );
    // Bad or past expiry, bad members: 400.
    assert_eq!(
        status(w.trust_body(json!({"expires_at": "bad.123Z"}))).await,
        400
    );
    let past = (w.server.clock.now() - Duration::minutes(1)).to_rfc3339();
    assert_eq!(status(w.trust_body(json!({"expires_at": past}))).await, 400);
    assert_eq!(
        status(w.trust_body(json!({"remaining_uses": 0}))).await,
        400
    );
    assert_eq!(
        status(w.trust_body(json!({"roles": [{"id": "a", "name": "b"}]}))).await,
        400
    );
    let mut no_impersonation = w.trust_body(json!({}));
    no_impersonation["trust"]
        .as_object_mut()
        .unwrap()
        .remove("impersonation");
    assert_eq!(status(no_impersonation).await, 400);
    // An unknown trustee: 404; a project without roles: 403.
    assert_eq!(
        status(w.trust_body(json!({"trustee_user_id": "nobody"}))).await,
        404
    );
    assert_eq!(status(w.trust_body(json!({"roles": []}))).await, 403);
    // Roles without a project: the trustor holds none there (404).
    assert_eq!(status(w.trust_body(json!({"project_id": null}))).await, 404);
    // Nothing was created.
    let (_, all) = w.get(&w.admin, "/v3/OS-TRUST/trusts").await;
    assert!(all["trusts"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_trust_scoped_token_impersonates_the_trustor_or_shows_the_trustee() {
    let w = world().await;
    for impersonation in [true, false] {
        let trust = w.create(json!({"impersonation": impersonation})).await;
        let id = trust["id"].as_str().unwrap();
        let response = w.trust_login(id).await;
        assert_eq!(response.status(), 201);
        let token = subject(&response);
        let body: Value = response.json().await.unwrap();
        let expected_user = if impersonation {
            &w.trustor
        } else {
            &w.trustee
        };
        assert_eq!(&body["token"]["user"]["id"], expected_user);
        let section = &body["token"]["OS-TRUST:trust"];
        assert_eq!(section["id"], id);
        assert_eq!(section["impersonation"], impersonation);
        assert_eq!(section["trustor_user"]["id"], w.trustor);
        assert_eq!(section["trustee_user"]["id"], w.trustee);
        assert_eq!(body["token"]["project"]["id"], w.server.admin.project.id);
        // The trust's role and what it implies, nothing else.
        assert_eq!(role_names(&body), ["member", "reader"]);
        // Validation says the same.
        let validated: Value = w
            .server
            .validate(&w.admin, &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(&validated["token"]["user"]["id"], expected_user);
        assert_eq!(validated["token"]["OS-TRUST:trust"]["id"], id);
        assert_eq!(role_names(&validated), ["member", "reader"]);
        // The token works as the trustee's on this API.
        let path = format!("/v3/OS-TRUST/trusts/{id}");
        assert_eq!(w.get(&token, &path).await.0, 200);
    }
    // A trust on no project delegates no role: its token is unscoped.
    let bare = w
        .create(json!({"project_id": null, "roles": [], "impersonation": false}))
        .await;
    let response = w.trust_login(bare["id"].as_str().unwrap()).await;
    assert_eq!(response.status(), 201);
    let token = subject(&response);
    let body: Value = response.json().await.unwrap();
    assert!(body["token"].get("project").is_none());
    assert_eq!(body["token"]["OS-TRUST:trust"]["id"], bare["id"]);
    assert_eq!(w.validation(&token).await, 200);
    // Only the trustee uses a trust.
    let trust = w
        .create(json!({"impersonation": false, "remaining_uses": 5}))
        .await;
    let scope = json!({"OS-TRUST:trust": {"id": trust["id"]}});
    let by_trustor = w
        .server
        .issue(&password_body("trustor", TRUSTOR_PW, Some(scope)), None)
        .await;
    assert_eq!(by_trustor.status(), 403);
    let unknown = json!({"OS-TRUST:trust": {"id": "missing"}});
    let missing = w
        .server
        .issue(&password_body("trustee", TRUSTEE_PW, Some(unknown)), None)
        .await;
    assert_eq!(missing.status(), 401);
}

#[tokio::test]
async fn remaining_uses_are_counted_and_a_used_up_trust_gives_no_more() {
    let w = world().await;
    let trust = w.create(json!({"remaining_uses": 2})).await;
    let id = trust["id"].as_str().unwrap();
    assert_eq!(trust["remaining_uses"], 2);
    let first = w.trust_token(id).await;
    let (_, shown) = w
        .get(&w.trustor_token, &format!("/v3/OS-TRUST/trusts/{id}"))
        .await;
    assert_eq!(shown["trust"]["remaining_uses"], 1);
    // The second use through the token method, as Keystone's own tests
    // log in: the trustee's unscoped token, scoped to the trust.
    let unscoped = password_body("trustee", TRUSTEE_PW, Some(json!("unscoped")));
    let own = subject(&w.server.issue(&unscoped, None).await);
    let by_token = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": own}},
        "scope": {"OS-TRUST:trust": {"id": id}}}});
    let response = w.server.issue(&by_token, None).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token"]["OS-TRUST:trust"]["id"], id);
    assert_eq!(w.trust_login(id).await.status(), 401);
    // Used up, it is not found, as Keystone's; the tokens it gave stand
    // until it is deleted.
    let path = format!("/v3/OS-TRUST/trusts/{id}");
    assert_eq!(w.get(&w.trustor_token, &path).await.0, 404);
    assert_eq!(w.validation(&first).await, 200);
    assert_eq!(
        status_of(w.server.call(Method::DELETE, &path, &w.trustor_token)).await,
        204
    );
    assert_eq!(w.validation(&first).await, 404);
}

#[tokio::test]
async fn an_expired_trust_gives_no_token_and_its_tokens_end_with_it() {
    let w = world().await;
    let end = w.server.clock.now() + Duration::minutes(10);
    let trust = w.create(json!({"expires_at": end.to_rfc3339()})).await;
    let id = trust["id"].as_str().unwrap();
    assert!(trust["expires_at"].as_str().unwrap().ends_with('Z'));
    let response = w.trust_login(id).await;
    assert_eq!(response.status(), 201);
    let token = subject(&response);
    let body: Value = response.json().await.unwrap();
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(body["token"]["expires_at"].as_str().unwrap())
            .unwrap()
            .to_utc();
    assert!(expires_at <= end, "the token ends no later than its trust");
    assert_eq!(w.validation(&token).await, 200);
    w.server.clock.advance(Duration::minutes(11));
    assert_eq!(w.validation(&token).await, 404);
    assert_eq!(w.trust_login(id).await.status(), 401);
    let path = format!("/v3/OS-TRUST/trusts/{id}");
    assert_eq!(
        w.get(&w.trustor_token_after_advance().await, &path).await.0,
        404
    );
}

impl World {
    /// A fresh trustor token (the first one may have expired with the
    /// clock).
    async fn trustor_token_after_advance(&self) -> String {
        self.server.project_token("trustor", TRUSTOR_PW).await
    }
}

#[tokio::test]
async fn a_trust_token_is_not_rescoped_nor_makes_credentials_nor_redelegates_unless_allowed() {
    let w = world().await;
    let trust = w.create(json!({})).await;
    let token = w.trust_token(trust["id"].as_str().unwrap()).await;
    // Not rescoped with the token method.
    let rescope = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}},
        "scope": {"project": {"id": w.server.admin.project.id}}}});
    assert_eq!(w.server.issue(&rescope, None).await.status(), 403);
    // Nor does it manage application credentials (Keystone's
    // `_block_delegated_token_app_creds`).
    let app_creds = format!("/v3/users/{}/application_credentials", w.trustee);
    let create = w
        .server
        .call(Method::POST, &app_creds, &token)
        .json(&json!({"application_credential": {"name": "escape"}}));
    assert_eq!(status_of(create).await, 403);
    assert_eq!(
        status_of(w.server.call(Method::GET, &app_creds, &token)).await,
        403
    );
    // Not redelegated: the trust does not allow it.
    let third = w
        .server
        .create_user_with_role(&w.admin, "third", "third-secret", None)
        .await;
    let redelegate = json!({"trust": {
        "trustor_user_id": w.trustee, "trustee_user_id": third,
        "project_id": w.server.admin.project.id, "roles": [{"name": "member"}],
        "impersonation": false}});
    assert_eq!(w.post_trust(&token, &redelegate).await.status(), 403);

    // A trust allowing redelegation may be redelegated, one level less.
    let parent = w
        .create(
            json!({"allow_redelegation": true, "redelegation_count": 1, "impersonation": false}),
        )
        .await;
    assert_eq!(parent["redelegation_count"], 1);
    let token = w.trust_token(parent["id"].as_str().unwrap()).await;
    let response = w.post_trust(&token, &redelegate).await;
    assert_eq!(response.status(), 201);
    let child: Value = response.json().await.unwrap();
    assert_eq!(child["trust"]["redelegated_trust_id"], parent["id"]);
    assert_eq!(child["trust"]["redelegation_count"], 0);
    // The third user uses the redelegated trust: the original trustor's
    // role, while every agent of the chain stays enabled.
    let scope = json!({"OS-TRUST:trust": {"id": child["trust"]["id"]}});
    let response = w
        .server
        .issue(&password_body("third", "third-secret", Some(scope)), None)
        .await;
    assert_eq!(response.status(), 201);
    let third_token = subject(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(role_names(&body), ["member", "reader"]);
    // Impersonation cannot be gained by redelegating.
    let mut escalate = redelegate.clone();
    escalate["trust"]["impersonation"] = json!(true);
    escalate["trust"]["trustee_user_id"] = json!(w.trustor);
    assert_eq!(w.post_trust(&token, &escalate).await.status(), 403);
    // Disabling the middle agent (the first trustee) ends the chain's
    // tokens.
    assert_eq!(w.validation(&third_token).await, 200);
    let disable = w
        .server
        .call(Method::PATCH, &format!("/v3/users/{}", w.trustee), &w.admin)
        .json(&json!({"user": {"enabled": false}}));
    assert_eq!(status_of(disable).await, 200);
    assert_eq!(w.validation(&third_token).await, 404);
    // The redelegated trust goes with its parent.
    let child_path = format!(
        "/v3/OS-TRUST/trusts/{}",
        child["trust"]["id"].as_str().unwrap()
    );
    let parent_path = format!("/v3/OS-TRUST/trusts/{}", parent["id"].as_str().unwrap());
    assert_eq!(
        status_of(
            w.server
                .call(Method::DELETE, &parent_path, &w.trustor_token)
        )
        .await,
        204
    );
    assert_eq!(w.get(&w.admin, &child_path).await.0, 404);
}

#[tokio::test]
async fn a_restricted_application_credential_cannot_create_a_trust() {
    let w = world().await;
    let path = format!("/v3/users/{}/application_credentials", w.trustor);
    let response = w
        .server
        .call(Method::POST, &path, &w.trustor_token)
        .json(&json!({"application_credential": {"name": "ci"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let credential: Value = response.json().await.unwrap();
    let login = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {
            "id": credential["application_credential"]["id"],
            "secret": credential["application_credential"]["secret"]}}}});
    let response = w.server.issue(&login, None).await;
    assert_eq!(response.status(), 201);
    let app_token = subject(&response);
    let refused = w.post_trust(&app_token, &w.trust_body(json!({}))).await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("application_credential")
    );
    // The trustor's own token still may.
    w.create(json!({})).await;
}

#[tokio::test]
async fn deleting_the_trust_or_the_trustor_losing_the_role_ends_its_tokens_on_every_node() {
    let w = world().await;
    let node2 = w.server.second_node().await;
    let validate_on = |node: &TestServer, token: &str| {
        status_of(
            node.call(Method::GET, "/v3/auth/tokens", &w.admin)
                .header("X-Subject-Token", token),
        )
    };
    // Deleting the trust.
    let trust = w.create(json!({})).await;
    let id = trust["id"].as_str().unwrap();
    let token = w.trust_token(id).await;
    assert_eq!(validate_on(&node2, &token).await, 200, "kept by node 2");
    let path = format!("/v3/OS-TRUST/trusts/{id}");
    assert_eq!(
        status_of(w.server.call(Method::DELETE, &path, &w.trustor_token)).await,
        204
    );
    assert_eq!(validate_on(&node2, &token).await, 404);
    assert_eq!(w.validation(&token).await, 404);

    // The trustor losing the delegated role.
    let trust = w.create(json!({"impersonation": false})).await;
    let id = trust["id"].as_str().unwrap();
    let token = w.trust_token(id).await;
    assert_eq!(validate_on(&node2, &token).await, 200);
    let grant = format!(
        "/v3/projects/{}/users/{}/roles/{}",
        w.server.admin.project.id, w.trustor, w.member
    );
    assert_eq!(
        status_of(w.server.call(Method::DELETE, &grant, &w.admin)).await,
        204
    );
    assert_eq!(validate_on(&node2, &token).await, 404);
    assert_eq!(
        w.trust_login(id).await.status(),
        403,
        "Trustee has no delegated roles"
    );

    // The trustor disabled.
    assert_eq!(
        status_of(w.server.call(Method::PUT, &grant, &w.admin)).await,
        204
    );
    let token = w.trust_token(id).await;
    assert_eq!(validate_on(&node2, &token).await, 200);
    let disable = w
        .server
        .call(Method::PATCH, &format!("/v3/users/{}", w.trustor), &w.admin)
        .json(&json!({"user": {"enabled": false}}));
    assert_eq!(status_of(disable).await, 200);
    assert_eq!(validate_on(&node2, &token).await, 404);
}

#[tokio::test]
async fn a_trust_token_makes_no_ec2_credential() {
    let w = world().await;
    // Not impersonating: the token's user is the trustee, who owns the
    // credential asked for (the policy's `owner`).
    let trust = w.create(json!({"impersonation": false})).await;
    let token = w.trust_token(trust["id"].as_str().unwrap()).await;
    let ec2 = format!("/v3/users/{}/credentials/OS-EC2", w.trustee);
    let body = json!({"tenant_id": w.server.admin.project.id});
    let create = w.server.call(Method::POST, &ec2, &token).json(&body);
    let response = create.send().await.unwrap();
    assert_eq!(response.status(), 403);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("delegation")
    );
}
