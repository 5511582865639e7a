//! `/v3/domains`, domain-scoped grants and tokens, and what disabling a
//! domain or removing a grant does to tokens.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, subject};

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

#[tokio::test]
async fn domains_are_managed_and_scope_tokens() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let call = |method: Method, path: &str| s.call(method, path, &admin);

    // Create, with Keystone's input checks.
    let created = call(Method::POST, "/v3/domains")
        .json(&json!({"domain": {"name": "acme", "description": "Acme Corp"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let domain = json_of(created).await["domain"].clone();
    let id = domain["id"].as_str().unwrap().to_owned();
    assert_eq!(domain["enabled"], true);
    assert!(domain["links"]["self"].as_str().unwrap().ends_with(&id));
    for (body, status) in [
        (json!({"domain": {}}), 400),
        (json!({"domain": {"name": ""}}), 400),
        (json!({"domain": {"name": 7}}), 400),
        (json!({"domain": {"name": "acme"}}), 409),
    ] {
        let refused = call(Method::POST, "/v3/domains")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), status, "{body}");
        assert!(json_of(refused).await["error"]["message"].is_string());
    }
    let listed = json_of(call(Method::GET, "/v3/domains").send().await.unwrap()).await;
    let names: Vec<&str> = listed["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Default", "acme"]);
    let path = format!("/v3/domains/{id}");
    let patched = call(Method::PATCH, &path)
        .json(&json!({"domain": {"description": "Acme"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(patched).await["domain"]["description"], "Acme");
    assert_eq!(
        call(Method::GET, "/v3/domains/nope")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // A user of the domain with a domain grant gets a domain-scoped token.
    let user = json_of(
        call(Method::POST, "/v3/users")
            .json(&json!({"user": {"name": "wile", "domain_id": id, "password": "coyote-pass"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let user_id = user["user"]["id"].as_str().unwrap().to_owned();
    let member = s.storage().find_role_by_name("member").await.unwrap();
    let grant = format!("/v3/domains/{id}/users/{user_id}/roles/{}", member.id);
    assert_eq!(
        call(Method::HEAD, &grant).send().await.unwrap().status(),
        404
    );
    assert_eq!(
        call(Method::PUT, &grant).send().await.unwrap().status(),
        204
    );
    for method in [Method::HEAD, Method::GET] {
        assert_eq!(
            call(method, &grant).send().await.unwrap().status(),
            204,
            "GET checks a grant as HEAD does"
        );
    }
    let login = |scope: Value| {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "wile", "domain": {"name": "acme"}, "password": "coyote-pass"}}},
            "scope": scope}});
        s.issue_owned(body)
    };
    let issued = login(json!({"domain": {"name": "acme"}})).await;
    assert_eq!(issued.status(), 201);
    let token = subject(&issued);
    let body = json_of(issued).await;
    assert_eq!(body["token"]["domain"]["id"], id.as_str());
    assert_eq!(body["token"]["roles"][0]["name"], "member");
    let validate = |token: String| {
        s.call(Method::GET, "/v3/auth/tokens", &admin)
            .header("X-Subject-Token", token)
            .send()
    };
    assert_eq!(validate(token.clone()).await.unwrap().status(), 200);

    // Removing the grant revokes the user's tokens on the domain.
    assert_eq!(
        call(Method::DELETE, &grant).send().await.unwrap().status(),
        204
    );
    assert_eq!(validate(token).await.unwrap().status(), 404);
    assert_eq!(
        login(json!({"domain": {"name": "acme"}})).await.status(),
        401,
        "no role on the domain any more"
    );

    // Disabling the domain revokes what is scoped to it.
    assert_eq!(
        call(Method::PUT, &grant).send().await.unwrap().status(),
        204
    );
    s.clock.advance(chrono::Duration::seconds(1));
    let again = subject(&login(json!({"domain": {"id": id}})).await);
    assert_eq!(validate(again.clone()).await.unwrap().status(), 200);
    // An enabled domain cannot be deleted.
    assert_eq!(
        call(Method::DELETE, &path).send().await.unwrap().status(),
        403
    );
    let disabled = call(Method::PATCH, &path)
        .json(&json!({"domain": {"enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    assert_eq!(validate(again).await.unwrap().status(), 404);

    // A disabled domain goes with what it holds, as in Keystone.
    assert_eq!(
        call(Method::DELETE, &path).send().await.unwrap().status(),
        204
    );
    assert_eq!(call(Method::GET, &path).send().await.unwrap().status(), 404);
    let user_path = format!("/v3/users/{user_id}");
    assert_eq!(
        call(Method::GET, &user_path).send().await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn only_admins_manage_domains() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let created = s
        .call(Method::POST, "/v3/users", &admin)
        .json(&json!({"user": {"name": "plain", "password": "plain-pass"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let plain = subject(
        &s.issue_owned(
            json!({"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": "plain", "domain": {"id": "default"}, "password": "plain-pass"}}}}}),
        )
        .await,
    );
    for (method, path) in [
        (Method::GET, "/v3/domains"),
        (Method::POST, "/v3/domains"),
        (Method::GET, "/v3/domains/default"),
        (Method::PATCH, "/v3/domains/default"),
        (Method::DELETE, "/v3/domains/default"),
    ] {
        let response = s
            .call(method.clone(), path, &plain)
            .json(&json!({"domain": {"name": "x"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{method} {path}");
    }
    assert_eq!(
        s.client
            .get(s.url("/v3/domains"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}
