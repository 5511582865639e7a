//! `/v3/users/{user}/access_rules`: access rules belong to their user and
//! are shared by the user's application credentials, as in Keystone (and
//! tempest's `test_access_rules`), on SQLite and on PostgreSQL.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::TestServer;

async fn member_token(s: &TestServer, admin: &str, name: &str) -> (String, String) {
    let member = s.role_id(admin, "member").await.unwrap();
    let id = s
        .create_user_with_role(admin, name, "a-long-password", Some(&member))
        .await;
    (id, s.project_token(name, "a-long-password").await)
}

async fn rules_are_shared_outlive_credentials_and_go_only_unused(s: TestServer) {
    let admin = s.admin_token().await;
    let (alice, token) = member_token(&s, &admin, "alice").await;
    let (_, bobs) = member_token(&s, &admin, "bob").await;
    let rule = json!({"service": "compute", "path": "/v2.1/servers/*/ips", "method": "GET"});
    let creds = format!("/v3/users/{alice}/application_credentials");
    let create = |name: &str, rules: Value| {
        let request = s
            .call(Method::POST, &creds, &token)
            .json(&json!({"application_credential": {"name": name, "access_rules": rules}}));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 201);
            response.json::<Value>().await.unwrap()["application_credential"].clone()
        }
    };
    let first = create("first", json!([rule])).await;
    let rule_id = first["access_rules"][0]["id"].as_str().unwrap().to_owned();
    // Asked again, by what it allows or by id: the same rule.
    let second = create("second", json!([rule])).await;
    assert_eq!(second["access_rules"][0]["id"], rule_id.as_str());
    let third = create("third", json!([{"id": rule_id}])).await;
    assert_eq!(third["access_rules"][0]["service"], "compute");

    let rules = format!("/v3/users/{alice}/access_rules");
    let listed: Value = s
        .call(Method::GET, &rules, &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["access_rules"].as_array().unwrap().len(), 1);
    assert_eq!(listed["access_rules"][0]["id"], rule_id.as_str());
    let shown = s
        .call(Method::GET, &format!("{rules}/{rule_id}"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    assert_eq!(
        shown.json::<Value>().await.unwrap()["access_rule"]["path"],
        "/v2.1/servers/*/ips"
    );
    assert_eq!(
        s.call(Method::GET, &rules, &bobs)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(
            s.call(Method::DELETE, &format!("{rules}/{rule_id}"), &token)
                .send()
                .await
                .unwrap()
        ),
        403
    );
    for credential in [&first, &second, &third] {
        let path = format!("{creds}/{}", credential["id"].as_str().unwrap());
        assert_eq!(
            status(s.call(Method::DELETE, &path, &token).send().await.unwrap()),
            204
        );
    }
    let listed: Value = s
        .call(Method::GET, &rules, &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["access_rules"][0]["id"],
        rule_id.as_str(),
        "the rule outlives its credentials"
    );
    assert_eq!(
        status(
            s.call(Method::DELETE, &format!("{rules}/{rule_id}"), &token)
                .send()
                .await
                .unwrap()
        ),
        204
    );
    assert_eq!(
        status(
            s.call(Method::GET, &format!("{rules}/{rule_id}"), &token)
                .send()
                .await
                .unwrap()
        ),
        404
    );
    let unknown = s
        .call(Method::POST, &creds, &token)
        .json(&json!({"application_credential": {"name": "x", "access_rules": [{"id": rule_id}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(status(unknown), 404);
}

#[tokio::test]
async fn access_rules_on_sqlite() {
    rules_are_shared_outlive_credentials_and_go_only_unused(TestServer::start().await).await;
}

#[tokio::test]
async fn access_rules_on_postgres() {
    if let Some(server) = TestServer::start_postgres("").await {
        rules_are_shared_outlive_credentials_and_go_only_unused(server).await;
    }
}
