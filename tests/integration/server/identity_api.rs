//! The rest of Keystone's identity calls that clients and tempest use:
//! users' extra attributes, domain-specific roles, `PATCH
//! /v3/credentials/{id}` and `ec2` credentials' project, application
//! credentials found by name, and Keystone's JSON error for a route or a
//! method that does not exist.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, password_body, subject};

/// The status and body of a call.
async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn users_keep_their_extra_attributes_as_keystone() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let call = |method: Method, path: &str| s.call(method, path, &admin);

    let (status, created) = answer(call(Method::POST, "/v3/users").json(&json!({"user": {
        "name": "extra", "email": "extra@example.org", "description": "has extras",
        "department": {"floor": 3}, "password": "extra-pass"}})))
    .await;
    assert_eq!(status, 201, "{created}");
    let user = &created["user"];
    assert_eq!(user["email"], "extra@example.org");
    assert_eq!(user["description"], "has extras");
    assert_eq!(user["department"], json!({"floor": 3}));
    assert!(user.get("password").is_none());
    let id = user["id"].as_str().unwrap().to_owned();
    let path = format!("/v3/users/{id}");

    // An update merges: what it names changes, the rest stays.
    let (status, updated) = answer(
        call(Method::PATCH, &path)
            .json(&json!({"user": {"email": "new@example.org", "id": id, "links": {}}})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["user"]["email"], "new@example.org");
    assert_eq!(updated["user"]["description"], "has extras");
    let (_, read) = answer(call(Method::GET, &path)).await;
    assert_eq!(read["user"]["email"], "new@example.org");
    assert_eq!(read["user"]["department"], json!({"floor": 3}));
    assert!(
        read["user"]["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&path)
    );
    let (_, listed) = answer(call(Method::GET, "/v3/users?name=extra")).await;
    assert_eq!(listed["users"][0]["description"], "has extras");
    let (status, _) =
        answer(call(Method::PATCH, &path).json(&json!({"user": {"id": "another"}}))).await;
    assert_eq!(status, 400, "an id is never changed");
    // The user's own members win over an extra of the same name.
    let (_, renamed) = answer(
        call(Method::PATCH, &path).json(&json!({"user": {"name": "extra2", "enabled": true}})),
    )
    .await;
    assert_eq!(renamed["user"]["name"], "extra2");
}

#[tokio::test]
async fn domain_specific_roles_are_created_and_listed_by_domain() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let call = |method: Method, path: &str| s.call(method, path, &admin);

    let (_, domain) =
        answer(call(Method::POST, "/v3/domains").json(&json!({"domain": {"name": "roles-here"}})))
            .await;
    let domain = domain["domain"]["id"].as_str().unwrap().to_owned();
    let (status, role) = answer(
        call(Method::POST, "/v3/roles")
            .json(&json!({"role": {"name": "member", "domain_id": domain}})),
    )
    .await;
    assert_eq!(
        status, 201,
        "a domain's role may share a global role's name"
    );
    assert_eq!(role["role"]["domain_id"], domain.as_str());
    let role_id = role["role"]["id"].as_str().unwrap().to_owned();
    let (status, _) = answer(
        call(Method::POST, "/v3/roles")
            .json(&json!({"role": {"name": "member", "domain_id": domain}})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = answer(
        call(Method::POST, "/v3/roles")
            .json(&json!({"role": {"name": "x", "domain_id": "no-such-domain"}})),
    )
    .await;
    assert_eq!(status, 404);

    let (_, by_domain) = answer(call(Method::GET, &format!("/v3/roles?domain_id={domain}"))).await;
    let listed: Vec<&str> = by_domain["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [role_id.as_str()]);
    let (_, global) = answer(call(Method::GET, "/v3/roles")).await;
    assert!(
        global["roles"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["domain_id"].is_null())
    );
    let (status, read) = answer(call(Method::GET, &format!("/v3/roles/{role_id}"))).await;
    assert_eq!(
        (status, read["role"]["domain_id"].clone()),
        (200, json!(domain))
    );

    // Granted on its domain's projects only (DomainSpecificRoleMismatch).
    let me = s.admin.user.id.clone();
    let elsewhere = format!(
        "/v3/projects/{}/users/{me}/roles/{role_id}",
        s.admin.project.id
    );
    let (status, body) = answer(call(Method::PUT, &elsewhere)).await;
    assert_eq!(status, 403, "{body}");
    let (_, inside) = answer(
        call(Method::POST, "/v3/projects")
            .json(&json!({"project": {"name": "inside", "domain_id": domain}})),
    )
    .await;
    let inside = inside["project"]["id"].as_str().unwrap().to_owned();
    let here = format!("/v3/projects/{inside}/users/{me}/roles/{role_id}");
    assert_eq!(call(Method::PUT, &here).send().await.unwrap().status(), 204);

    // A member may not create one (Keystone's create_domain_role: admin).
    let member = s.role_id(&admin, "member").await.unwrap();
    s.create_user_with_role(&admin, "plain", "plain-pass", Some(&member))
        .await;
    let scope = json!({"project": {"id": s.admin.project.id}});
    let token = subject(
        &s.issue(&password_body("plain", "plain-pass", Some(scope)), None)
            .await,
    );
    let (status, _) = answer(
        s.call(Method::POST, "/v3/roles", &token)
            .json(&json!({"role": {"name": "mine", "domain_id": domain}})),
    )
    .await;
    assert_eq!(status, 403);
    let audit = s.audit_of("role.create").await;
    assert!(
        audit
            .iter()
            .any(|row| row.detail["policy"] == "identity:create_domain_role"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn credentials_are_updated_and_an_ec2_credential_names_its_project() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let call = |method: Method, path: &str| s.call(method, path, &admin);
    let me = s.admin.user.id.clone();
    let project = s.admin.project.id.clone();

    let ec2_blob = json!({"access": "AK", "secret": "SK"}).to_string();
    for body in [
        json!({"user_id": me, "type": "ec2", "blob": ec2_blob}),
        json!({"user_id": me, "type": "ec2", "blob": ec2_blob, "project_id": null}),
    ] {
        let (status, answered) =
            answer(call(Method::POST, "/v3/credentials").json(&json!({ "credential": body })))
                .await;
        assert_eq!(status, 400, "{body}: {answered}");
    }
    let (status, created) = answer(call(Method::POST, "/v3/credentials").json(&json!({
        "credential": {"user_id": me, "type": "cert", "blob": "first"}})))
    .await;
    assert_eq!(status, 201);
    let id = created["credential"]["id"].as_str().unwrap().to_owned();
    let path = format!("/v3/credentials/{id}");

    let (status, updated) =
        answer(call(Method::PATCH, &path).json(&json!({"credential": {"blob": "second"}}))).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["credential"]["blob"], "second");
    assert_eq!(updated["credential"]["type"], "cert");
    let (_, read) = answer(call(Method::GET, &path)).await;
    assert_eq!(read["credential"]["blob"], "second", "stored, sealed again");
    // To ec2: only with a project.
    let (status, _) =
        answer(call(Method::PATCH, &path).json(&json!({"credential": {"type": "ec2"}}))).await;
    assert_eq!(status, 400);
    let (status, updated) = answer(call(Method::PATCH, &path).json(&json!({"credential": {
        "type": "ec2", "project_id": project, "blob": ec2_blob}})))
    .await;
    assert_eq!(status, 200);
    assert_eq!(updated["credential"]["project_id"], project.as_str());
    let (status, _) =
        answer(call(Method::PATCH, &path).json(&json!({"credential": {"project_id": null}}))).await;
    assert_eq!(status, 400, "an ec2 credential keeps its project");
    for (body, status) in [
        (json!({"credential": {"id": "other"}}), 400),
        (json!({"credential": {"user_id": "no-such-user"}}), 404),
    ] {
        let (got, answered) = answer(call(Method::PATCH, &path).json(&body)).await;
        assert_eq!(got, status, "{body}: {answered}");
    }
    let (status, _) = answer(
        call(Method::PATCH, "/v3/credentials/no-such").json(&json!({"credential": {"blob": "x"}})),
    )
    .await;
    assert_eq!(status, 404);

    // A user may change their own credential, and not hand it to another.
    let member = s.role_id(&admin, "member").await.unwrap();
    let owner = s
        .create_user_with_role(&admin, "owner", "owner-pass", Some(&member))
        .await;
    let scope = json!({"project": {"id": project}});
    let token = subject(
        &s.issue(&password_body("owner", "owner-pass", Some(scope)), None)
            .await,
    );
    let (_, own) = answer(
        s.call(Method::POST, "/v3/credentials", &token)
            .json(&json!({
        "credential": {"user_id": owner, "type": "cert", "blob": "mine"}})),
    )
    .await;
    let own_path = format!(
        "/v3/credentials/{}",
        own["credential"]["id"].as_str().unwrap()
    );
    let (status, _) = answer(
        s.call(Method::PATCH, &own_path, &token)
            .json(&json!({"credential": {"blob": "still mine"}})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = answer(
        s.call(Method::PATCH, &own_path, &token)
            .json(&json!({"credential": {"user_id": me}})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = answer(
        s.call(Method::PATCH, &path, &token)
            .json(&json!({"credential": {"blob": "not mine"}})),
    )
    .await;
    assert_eq!(status, 403, "the admin's credential");
    assert!(!s.audit_of("credential.update").await.is_empty());
}

#[tokio::test]
async fn application_credentials_are_listed_by_name() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let me = s.admin.user.id.clone();
    let path = format!("/v3/users/{me}/application_credentials");
    for name in ["alpha", "beta"] {
        let (status, _) = answer(
            s.call(Method::POST, &path, &admin)
                .json(&json!({"application_credential": {"name": name}})),
        )
        .await;
        assert_eq!(status, 201);
    }
    let names = |body: Value| -> Vec<String> {
        body["application_credentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = answer(s.call(Method::GET, &path, &admin)).await;
    assert_eq!(names(all), ["alpha", "beta"]);
    let (_, one) = answer(s.call(Method::GET, &format!("{path}?name=beta"), &admin)).await;
    assert_eq!(names(one), ["beta"]);
    let (_, none) = answer(s.call(Method::GET, &format!("{path}?name=gamma"), &admin)).await;
    assert!(names(none).is_empty());
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_keystones_json_error() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    for (method, path, status, title) in [
        (Method::GET, "/v3/nowhere", 404, "Not Found"),
        (Method::GET, "/nowhere/at/all", 404, "Not Found"),
        (
            Method::POST,
            "/v3/projects/p/users/u/roles/r/extra",
            404,
            "Not Found",
        ),
        (
            Method::DELETE,
            "/v3/auth/catalog",
            405,
            "Method Not Allowed",
        ),
        (Method::POST, "/v3/users/someone", 405, "Method Not Allowed"),
    ] {
        let response = s.call(method.clone(), path, &admin).send().await.unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert!(response.headers().contains_key("x-openstack-request-id"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], status, "{method} {path}");
        assert_eq!(body["error"]["title"], title);
        assert!(body["error"]["message"].as_str().unwrap().len() > 10);
    }
}

#[tokio::test]
async fn grants_are_listed_on_domains_and_the_system_too() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let call = |method: Method, path: &str| s.call(method, path, &admin);
    let me = s.admin.user.id.clone();
    let member = s.role_id(&admin, "member").await.unwrap();
    let reader = s.role_id(&admin, "reader").await.unwrap();
    let (_, group) =
        answer(call(Method::POST, "/v3/groups").json(&json!({"group": {"name": "listers"}}))).await;
    let group = group["group"]["id"].as_str().unwrap().to_owned();
    for grant in [
        format!("/v3/domains/default/users/{me}/roles/{member}"),
        format!("/v3/domains/default/groups/{group}/roles/{reader}"),
        format!("/v3/system/groups/{group}/roles/{member}"),
    ] {
        assert_eq!(
            call(Method::PUT, &grant).send().await.unwrap().status(),
            204
        );
    }
    let names = |body: &Value| -> Vec<String> {
        let mut names: Vec<String> = body["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    for (path, expected) in [
        (
            format!("/v3/domains/default/users/{me}/roles"),
            vec!["member"],
        ),
        (
            format!("/v3/domains/default/groups/{group}/roles"),
            vec!["reader"],
        ),
        (format!("/v3/system/users/{me}/roles"), vec!["admin"]),
        (format!("/v3/system/groups/{group}/roles"), vec!["member"]),
    ] {
        let (status, body) = answer(call(Method::GET, &path)).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(names(&body), expected, "{path}");
        assert!(body["links"]["self"].as_str().unwrap().ends_with(&path));
    }
    let (status, _) = answer(call(
        Method::GET,
        &format!("/v3/domains/ghost/users/{me}/roles"),
    ))
    .await;
    assert_eq!(status, 404);
}
