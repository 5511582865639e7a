//! `/v3/domains/{d}/config`: domain-specific configuration as Keystone
//! keeps it and tempest's `test_domain_configuration` uses it.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::TestServer;

async fn disabled_domain(s: &TestServer, admin: &str) -> String {
    let created: Value = s
        .call(Method::POST, "/v3/domains", admin)
        .json(&json!({"domain": {"name": "ldap-users"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["domain"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_domains_configuration_is_created_read_merged_and_deleted_by_group_and_option() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let domain = disabled_domain(&s, &admin).await;
    let path = format!("/v3/domains/{domain}/config");
    let config = json!({"identity": {"driver": "ldap"},
        "ldap": {"url": "ldap://ldap.example.com", "user_tree_dn": "ou=Users,dc=example", "password": "s3cret"}});
    let send = |method: Method, path: String, body: Option<Value>| {
        let request = s.call(method, &path, &admin);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    assert_eq!(send(Method::GET, path.clone(), None).await.0, 404);
    let (status, created) = send(Method::PUT, path.clone(), Some(json!({"config": config}))).await;
    assert_eq!(status, 201);
    // The password is kept, never shown.
    let mut visible = config.clone();
    visible["ldap"].as_object_mut().unwrap().remove("password");
    assert_eq!(created["config"], visible);
    assert_eq!(
        send(Method::PUT, path.clone(), Some(json!({"config": config})))
            .await
            .0,
        200
    );
    assert_eq!(
        send(Method::GET, path.clone(), None).await.1["config"],
        visible
    );
    assert_eq!(
        send(Method::GET, format!("{path}/ldap/url"), None).await.1["config"],
        json!({"url": "ldap://ldap.example.com"})
    );
    assert_eq!(
        send(Method::GET, format!("{path}/ldap/password"), None)
            .await
            .0,
        404
    );

    let (status, merged) = send(
        Method::PATCH,
        format!("{path}/identity"),
        Some(json!({"config": {"identity": {"list_limit": 7}}})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        merged["config"]["identity"],
        json!({"driver": "ldap", "list_limit": 7})
    );
    let (status, merged) = send(
        Method::PATCH,
        format!("{path}/identity/driver"),
        Some(json!({"config": {"driver": "sql"}})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(merged["config"]["identity"]["driver"], "sql");
    // Options Keystone does not allow: its 403.
    for bad in [
        json!({"config": {"nova": {"x": 1}}}),
        json!({"config": {"ldap": {"nope": 1}}}),
    ] {
        assert_eq!(send(Method::PATCH, path.clone(), Some(bad)).await.0, 403);
    }
    assert_eq!(
        send(Method::DELETE, format!("{path}/identity/driver"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        send(Method::GET, format!("{path}/identity/driver"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        send(Method::DELETE, format!("{path}/identity"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        send(Method::GET, format!("{path}/identity"), None).await.0,
        404
    );

    let defaults = send(Method::GET, "/v3/domains/config/default".into(), None)
        .await
        .1;
    assert_eq!(defaults["config"]["identity"]["driver"], "sql");
    assert_eq!(
        send(
            Method::GET,
            "/v3/domains/config/ldap/url/default".into(),
            None
        )
        .await
        .1["config"],
        json!({"url": "ldap://localhost"})
    );

    // Deleting the domain deletes its configuration.
    assert_eq!(
        send(
            Method::PATCH,
            format!("/v3/domains/{domain}"),
            Some(json!({"domain": {"enabled": false}}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        send(Method::DELETE, format!("/v3/domains/{domain}"), None)
            .await
            .0,
        204
    );
    assert!(
        s.storage()
            .get_document("domain_config", &domain)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        send(Method::GET, "/v3/domains/nope/config".into(), None)
            .await
            .0,
        404
    );
}
