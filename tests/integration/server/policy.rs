//! The Keystone door asks the policy about Keystone's action for each call,
//! with Keystone's target, in Keystone's order, and reproduces what
//! Keystone's handlers do around it (lists confined to a domain-scoped
//! token's domain, credentials filtered one by one).

use auth_core::store::AuditQuery;
use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{ADMIN_PASSWORD, TestServer, password_body, subject};

/// POSTs `body` to `path` as `token` and returns the created object's id
/// (the response's `<kind>.id`).
async fn create(s: &TestServer, token: &str, path: &str, kind: &str, body: Value) -> String {
    let response = s
        .call(Method::POST, path, token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "POST {path}");
    let created: Value = response.json().await.unwrap();
    created[kind]["id"].as_str().unwrap().to_owned()
}

/// A user with password `pass-word` in `domain`.
async fn user(s: &TestServer, admin: &str, name: &str, domain: &str) -> String {
    create(
        s,
        admin,
        "/v3/users",
        "user",
        json!({"user": {"name": name, "password": "pass-word", "domain_id": domain}}),
    )
    .await
}

async fn put(s: &TestServer, token: &str, path: &str) {
    let response = s.call(Method::PUT, path, token).send().await.unwrap();
    assert_eq!(response.status(), 204, "PUT {path}");
}

/// The token of `name` (password `pass-word`, or the admin's, default
/// domain) for `scope`.
async fn login(s: &TestServer, name: &str, scope: Value) -> String {
    let password = if name == "admin" {
        ADMIN_PASSWORD
    } else {
        "pass-word"
    };
    let response = s
        .issue(&password_body(name, password, Some(scope)), None)
        .await;
    assert_eq!(response.status(), 201, "login of {name}");
    subject(&response)
}

/// The `policy` of the newest audit row: the action the last call was
/// checked against.
async fn last_policy(s: &TestServer) -> Value {
    s.state.dispatcher().audit().flush().await;
    let rows = s.storage().query_audit(&AuditQuery::new(1)).await.unwrap();
    rows[0].detail["policy"].clone()
}

#[tokio::test]
async fn every_call_is_checked_under_keystones_action_for_it() {
    // Every call audited, successful validations too.
    let s = TestServer::start_with("[audit]\nskip_successful = []").await;
    let admin = s.admin_token().await;
    let admin_id = s.admin.user.id.clone();
    let uid = user(&s, &admin, "uma", "default").await;
    let gid = create(
        &s,
        &admin,
        "/v3/groups",
        "group",
        json!({"group": {"name": "g"}}),
    )
    .await;
    let did = create(
        &s,
        &admin,
        "/v3/domains",
        "domain",
        json!({"domain": {"name": "d"}}),
    )
    .await;
    let pid = create(
        &s,
        &admin,
        "/v3/projects",
        "project",
        json!({"project": {"name": "p"}}),
    )
    .await;
    let rid = create(
        &s,
        &admin,
        "/v3/roles",
        "role",
        json!({"role": {"name": "r"}}),
    )
    .await;
    let cid = create(
        &s,
        &admin,
        "/v3/credentials",
        "credential",
        json!({"credential": {"user_id": uid, "type": "totp", "blob": "GEZDGNBVGY3TQOJQ"}}),
    )
    .await;
    let aid = create(
        &s,
        &admin,
        &format!("/v3/users/{admin_id}/application_credentials"),
        "application_credential",
        json!({"application_credential": {"name": "ci"}}),
    )
    .await;
    let hid = create(
        &s,
        &admin,
        "/v3/event-handlers",
        "event_handler",
        json!({"event_handler": {"name": "h", "events": ["user.create"], "module": "Logging",
               "action": "log", "options": {"message": "m"}}}),
    )
    .await;
    let other = subject(&s.admin_unscoped().await);
    let grant = |target: &str, actor: &str| format!("/v3/{target}/{actor}/roles/{rid}");
    let user_on_project = grant(&format!("projects/{pid}"), &format!("users/{uid}"));
    let group_on_domain = grant(&format!("domains/{did}"), &format!("groups/{gid}"));
    let user_on_system = grant("system", &format!("users/{uid}"));
    let group_on_system = grant("system", &format!("groups/{gid}"));
    let app_creds = format!("/v3/users/{admin_id}/application_credentials");
    // method, path, Keystone's action (or ours), and a PATCH's body.
    let calls = format!(
        "GET /v3/auth/projects get_auth_projects
         GET /v3/auth/domains get_auth_domains
         GET /v3/auth/system get_auth_system
         GET /v3/auth/catalog get_auth_catalog
         GET /v3/users list_users
         GET /v3/users/{uid} get_user
         PATCH /v3/users/{uid} update_user {{\"user\":{{}}}}
         GET /v3/users/{uid}/groups list_groups_for_user
         GET /v3/groups list_groups
         GET /v3/groups/{gid} get_group
         PATCH /v3/groups/{gid} update_group {{\"group\":{{}}}}
         GET /v3/groups/{gid}/users list_users_in_group
         PUT /v3/groups/{gid}/users/{uid} add_user_to_group
         GET /v3/groups/{gid}/users/{uid} check_user_in_group
         HEAD /v3/groups/{gid}/users/{uid} check_user_in_group
         DELETE /v3/groups/{gid}/users/{uid} remove_user_from_group
         GET /v3/projects list_projects
         GET /v3/projects/{pid} get_project
         PATCH /v3/projects/{pid} update_project {{\"project\":{{}}}}
         GET /v3/domains list_domains
         GET /v3/domains/{did} get_domain
         PATCH /v3/domains/{did} update_domain {{\"domain\":{{}}}}
         GET /v3/roles list_roles
         GET /v3/roles?domain_id={did} list_domain_roles
         GET /v3/roles/{rid} get_role
         PATCH /v3/roles/{rid} update_role {{\"role\":{{}}}}
         PUT {user_on_project} create_grant
         GET /v3/projects/{pid}/users/{uid}/roles list_grants
         GET /v3/users/{uid}/projects list_user_projects
         GET {user_on_project} check_grant
         HEAD {user_on_project} check_grant
         DELETE {user_on_project} revoke_grant
         PUT {group_on_domain} create_grant
         DELETE {group_on_domain} revoke_grant
         GET /v3/domains/{did}/groups/{gid}/roles list_grants
         GET /v3/system/users/{uid}/roles list_system_grants_for_user
         GET /v3/system/groups/{gid}/roles list_system_grants_for_group
         PUT {user_on_system} create_system_grant_for_user
         GET {user_on_system} check_system_grant_for_user
         DELETE {user_on_system} revoke_system_grant_for_user
         PUT {group_on_system} create_system_grant_for_group
         HEAD {group_on_system} check_system_grant_for_group
         DELETE {group_on_system} revoke_system_grant_for_group
         GET /v3/role_assignments list_role_assignments
         GET /v3/credentials list_credentials
         GET /v3/credentials/{cid} get_credential
         DELETE /v3/credentials/{cid} delete_credential
         GET {app_creds} list_application_credentials
         GET {app_creds}/{aid} get_application_credential
         DELETE {app_creds}/{aid} delete_application_credential
         GET /v3/event-handlers list_event_handlers
         GET /v3/event-handlers/schema get_event_handler_schema
         GET /v3/event-handlers/{hid} get_event_handler
         PATCH /v3/event-handlers/{hid} update_event_handler {{\"event_handler\":{{}}}}
         POST /v3/event-handlers/{hid}/disable disable_event_handler
         POST /v3/event-handlers/{hid}/enable enable_event_handler
         DELETE /v3/event-handlers/{hid} delete_event_handler
         GET /v3/audit?limit=1 list_audit
         GET /v3/audit/export?limit=1 export_audit
         DELETE /v3/users/{uid} delete_user
         DELETE /v3/groups/{gid} delete_group
         DELETE /v3/projects/{pid} delete_project
         DELETE /v3/roles/{rid} delete_role
         PATCH /v3/domains/{did} update_domain {{\"domain\":{{\"enabled\":false}}}}
         DELETE /v3/domains/{did} delete_domain"
    );
    for line in calls.lines() {
        let mut fields = line.split_whitespace();
        let (Some(method), Some(path), Some(action)) =
            (fields.next(), fields.next(), fields.next())
        else {
            panic!("a bad line: {line}");
        };
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = s.call(method.clone(), path, &admin);
        if let Some(body) = fields.next() {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let status = request.send().await.unwrap().status();
        assert!(status.is_success(), "{method} {path}: {status}");
        assert_eq!(
            last_policy(&s).await,
            json!(format!("identity:{action}")),
            "{method} {path}"
        );
    }
    // Tokens: validate (GET), check (HEAD) and revoke another token.
    for (method, action) in [
        (Method::GET, "validate_token"),
        (Method::HEAD, "check_token"),
        (Method::DELETE, "revoke_token"),
    ] {
        let response = s
            .call(method.clone(), "/v3/auth/tokens", &admin)
            .header("X-Subject-Token", &other)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{method}");
        assert_eq!(last_policy(&s).await, json!(format!("identity:{action}")));
    }
}

#[tokio::test]
async fn a_domain_scoped_token_lists_its_own_domain_only() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let admin_id = s.admin.user.id.clone();
    let other = create(
        &s,
        &admin,
        "/v3/domains",
        "domain",
        json!({"domain": {"name": "other"}}),
    )
    .await;
    let stranger = user(&s, &admin, "stranger", &other).await;
    create(
        &s,
        &admin,
        "/v3/groups",
        "group",
        json!({"group": {"name": "theirs", "domain_id": other}}),
    )
    .await;
    create(
        &s,
        &admin,
        "/v3/groups",
        "group",
        json!({"group": {"name": "ours"}}),
    )
    .await;
    let theirs = create(
        &s,
        &admin,
        "/v3/projects",
        "project",
        json!({"project": {"name": "theirs", "domain_id": other}}),
    )
    .await;
    let member = s.storage().find_role_by_name("member").await.unwrap().id;
    put(
        &s,
        &admin,
        &format!("/v3/projects/{theirs}/users/{stranger}/roles/{member}"),
    )
    .await;
    let admin_role = s.admin.admin_role.id.clone();
    put(
        &s,
        &admin,
        &format!("/v3/domains/default/users/{admin_id}/roles/{admin_role}"),
    )
    .await;
    let domain_admin = login(&s, "admin", json!({"domain": {"id": "default"}})).await;
    let get = |path: &str| {
        let request = s.call(Method::GET, path, &domain_admin).send();
        async move {
            let response = request.await.unwrap();
            assert_eq!(response.status(), 200, "{}", response.url());
            response.json::<Value>().await.unwrap()
        }
    };
    let ids = |listing: &Value, key: &str, field: &str| -> Vec<String> {
        listing[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o[field].as_str().unwrap().to_owned())
            .collect()
    };

    let users = get("/v3/users").await;
    assert!(
        ids(&users, "users", "domain_id")
            .iter()
            .all(|d| d == "default")
    );
    assert!(ids(&users, "users", "id").contains(&admin_id));
    let asked_for_other = get(&format!("/v3/users?domain_id={other}")).await;
    assert_eq!(asked_for_other["users"], json!([]));
    let groups = get("/v3/groups").await;
    assert_eq!(ids(&groups, "groups", "name"), ["ours"]);
    let projects = get("/v3/projects").await;
    assert!(!ids(&projects, "projects", "id").contains(&theirs));
    assert!(
        ids(&projects, "projects", "domain_id")
            .iter()
            .all(|d| d == "default")
    );
    let domains = get("/v3/domains").await;
    assert_eq!(ids(&domains, "domains", "id"), ["default"]);
    let assignments = get("/v3/role_assignments").await;
    for entry in assignments["role_assignments"].as_array().unwrap() {
        let scope = &entry["scope"];
        assert!(scope.get("system").is_none(), "{entry}");
        assert_ne!(scope["project"]["id"], json!(theirs), "{entry}");
    }
    assert!(
        !assignments["role_assignments"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The same token, unconfined: a project-scoped admin sees both domains.
    let users = s
        .call(Method::GET, "/v3/users", &admin)
        .send()
        .await
        .unwrap();
    let users: Value = users.json().await.unwrap();
    assert!(ids(&users, "users", "id").contains(&stranger));
    // The catalog is a project's: a domain-scoped token gets none.
    let catalog = s
        .call(Method::GET, "/v3/auth/catalog", &domain_admin)
        .send()
        .await
        .unwrap();
    assert_eq!(catalog.status(), 403);
}

#[tokio::test]
async fn missing_objects_are_404s_after_the_policy_as_in_keystone() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    user(&s, &admin, "nina", "default").await;
    let nina = login(&s, "nina", json!("unscoped")).await;
    let status = |token: &str, method: Method, path: &str| {
        let request = s.call(method, path, token).send();
        async move { request.await.unwrap().status().as_u16() }
    };
    // Loaded for the target, checked, then found missing: the admin learns
    // it is missing, nina only that she may not look.
    for path in [
        "/v3/users/ghost",
        "/v3/groups/ghost",
        "/v3/projects/ghost",
        "/v3/domains/ghost",
    ] {
        assert_eq!(status(&admin, Method::GET, path).await, 404, "{path}");
        assert_eq!(status(&nina, Method::GET, path).await, 403, "{path}");
    }
    // Loaded before the check (Keystone's resource member or its grant
    // target): a 404 whoever asks.
    for (method, path) in [
        (Method::DELETE, "/v3/groups/ghost"),
        (Method::PATCH, "/v3/domains/ghost"),
        (Method::GET, "/v3/roles/ghost"),
        (Method::PUT, "/v3/projects/ghost/users/ghost/roles/ghost"),
    ] {
        let mut request = s.call(method.clone(), path, &nina);
        if method == Method::PATCH {
            request = request.json(&json!({"domain": {}}));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
    }
}

#[tokio::test]
async fn an_application_credentials_owner_is_its_owner_whatever_the_path_says() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let admin_id = s.admin.user.id.clone();
    let admins = create(
        &s,
        &admin,
        &format!("/v3/users/{admin_id}/application_credentials"),
        "application_credential",
        json!({"application_credential": {"name": "admins"}}),
    )
    .await;
    let mallory = user(&s, &admin, "mallory", "default").await;
    let token = login(&s, "mallory", json!("unscoped")).await;
    // Naming herself in the path does not make her the owner: refused,
    // where a check on the path's user would have let her through to a 404.
    let path = format!("/v3/users/{mallory}/application_credentials/{admins}");
    for method in [Method::GET, Method::DELETE] {
        let response = s.call(method.clone(), &path, &token).send().await.unwrap();
        assert_eq!(response.status(), 403, "{method}");
    }
    let still_there = s
        .call(
            Method::GET,
            &format!("/v3/users/{admin_id}/application_credentials/{admins}"),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(still_there.status(), 200);
}

#[tokio::test]
async fn credentials_are_listed_one_by_one_and_out_of_an_application_credentials_reach() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let owen = user(&s, &admin, "owen", "default").await;
    let other = user(&s, &admin, "other", "default").await;
    let project = s.admin.project.id.clone();
    let member = s.storage().find_role_by_name("member").await.unwrap().id;
    put(
        &s,
        &admin,
        &format!("/v3/projects/{project}/users/{owen}/roles/{member}"),
    )
    .await;
    let credential = |user: &str, project: Option<&str>| {
        json!({"credential": {"user_id": user, "type": "totp", "blob": "GEZDGNBVGY3TQOJQ",
               "project_id": project}})
    };
    let totp = create(
        &s,
        &admin,
        "/v3/credentials",
        "credential",
        credential(&owen, None),
    )
    .await;
    let on_project = create(
        &s,
        &admin,
        "/v3/credentials",
        "credential",
        credential(&owen, Some(&project)),
    )
    .await;
    create(
        &s,
        &admin,
        "/v3/credentials",
        "credential",
        credential(&other, None),
    )
    .await;

    let listed_ids = |token: String| {
        let request = s.call(Method::GET, "/v3/credentials", token).send();
        async move {
            let listing: Value = request.await.unwrap().json().await.unwrap();
            let mut ids: Vec<String> = listing["credentials"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    let owens = login(&s, "owen", json!({"project": {"id": project}})).await;
    let mut both = vec![totp.clone(), on_project.clone()];
    both.sort();
    assert_eq!(
        listed_ids(owens.clone()).await,
        both,
        "owen sees his own only"
    );

    // A token from owen's application credential reaches only credentials
    // of its project: not his TOTP seed.
    let created: Value = s
        .call(
            Method::POST,
            &format!("/v3/users/{owen}/application_credentials"),
            &owens,
        )
        .json(&json!({"application_credential": {"name": "ci"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let login = s
        .issue(
            &json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"id": created["application_credential"]["id"],
                                           "secret": created["application_credential"]["secret"]}}}}),
            None,
        )
        .await;
    assert_eq!(login.status(), 201);
    let delegated = subject(&login);
    assert_eq!(
        listed_ids(delegated.clone()).await,
        std::slice::from_ref(&on_project)
    );
    for (id, expected) in [(&totp, 403), (&on_project, 200)] {
        let response = s
            .call(Method::GET, &format!("/v3/credentials/{id}"), &delegated)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected);
    }
}

#[tokio::test]
async fn auth_system_says_whether_the_caller_may_scope_to_the_system() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    user(&s, &admin, "sam", "default").await;
    let sam = login(&s, "sam", json!("unscoped")).await;
    for (token, expected) in [(&admin, json!([{"all": true}])), (&sam, json!([]))] {
        let response = s
            .call(Method::GET, "/v3/auth/system", token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["system"], expected);
        assert!(
            body["links"]["self"]
                .as_str()
                .unwrap()
                .ends_with("/v3/auth/system")
        );
    }
}

#[tokio::test]
async fn an_actors_roles_on_a_target_and_a_users_projects_are_listed() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let vic = user(&s, &admin, "vic", "default").await;
    let dev = create(
        &s,
        &admin,
        "/v3/projects",
        "project",
        json!({"project": {"name": "dev"}}),
    )
    .await;
    let ops = create(
        &s,
        &admin,
        "/v3/projects",
        "project",
        json!({"project": {"name": "ops"}}),
    )
    .await;
    let team = create(
        &s,
        &admin,
        "/v3/groups",
        "group",
        json!({"group": {"name": "team"}}),
    )
    .await;
    let member = s.storage().find_role_by_name("member").await.unwrap().id;
    let reader = s.storage().find_role_by_name("reader").await.unwrap().id;
    put(
        &s,
        &admin,
        &format!("/v3/projects/{dev}/users/{vic}/roles/{member}"),
    )
    .await;
    put(
        &s,
        &admin,
        &format!("/v3/projects/{dev}/users/{vic}/roles/{reader}"),
    )
    .await;
    put(&s, &admin, &format!("/v3/groups/{team}/users/{vic}")).await;
    put(
        &s,
        &admin,
        &format!("/v3/projects/{ops}/groups/{team}/roles/{reader}"),
    )
    .await;
    put(
        &s,
        &admin,
        &format!("/v3/system/groups/{team}/roles/{reader}"),
    )
    .await;
    let get = |path: String, token: String| {
        let request = s.call(Method::GET, &path, token).send();
        async move {
            let response = request.await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let names = |body: &Value, key: &str| -> Vec<String> {
        let mut names: Vec<String> = body[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let (status, roles) = get(
        format!("/v3/projects/{dev}/users/{vic}/roles"),
        admin.clone(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(names(&roles, "roles"), ["member", "reader"]);
    assert!(
        roles["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v3/projects/{dev}/users/{vic}/roles"))
    );
    let (_, direct_on_ops) = get(
        format!("/v3/projects/{ops}/users/{vic}/roles"),
        admin.clone(),
    )
    .await;
    assert_eq!(direct_on_ops["roles"], json!([]), "only direct grants");
    let (_, of_group) = get(
        format!("/v3/projects/{ops}/groups/{team}/roles"),
        admin.clone(),
    )
    .await;
    assert_eq!(names(&of_group, "roles"), ["reader"]);
    let (_, on_system) = get(format!("/v3/system/groups/{team}/roles"), admin.clone()).await;
    assert_eq!(names(&on_system, "roles"), ["reader"]);
    let (status, _) = get(
        format!("/v3/projects/ghost/users/{vic}/roles"),
        admin.clone(),
    )
    .await;
    assert_eq!(status, 404);

    // vic's projects, direct and through the group.
    let (status, projects) = get(format!("/v3/users/{vic}/projects"), admin.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(names(&projects, "projects"), ["dev", "ops"]);
    let (_, named) = get(format!("/v3/users/{vic}/projects?name=ops"), admin).await;
    assert_eq!(names(&named, "projects"), ["ops"]);
}
