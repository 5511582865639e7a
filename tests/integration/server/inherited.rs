//! OS-INHERIT end to end: inherited grants on domains and projects (grant,
//! check, list, revoke, their 404s), what they give (project tokens' roles,
//! `/v3/auth/projects`, the policy's role checks), `role_assignments`
//! (raw, `effective`, `include_subtree`), a revocation taking effect at the
//! next validation on every node, and a domain manager's reach.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, role_names, status_of, subject};

/// The status and JSON body (`null` when empty) of a call.
async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A domain, a project `top` in it and `child` below `top`, `leaf` below
/// `child`, `beside` at the top of the domain; and a user and a group (the
/// user a member) of that domain. Their ids.
struct Tree {
    domain: String,
    top: String,
    child: String,
    leaf: String,
    beside: String,
    user: String,
    group: String,
}

const PASSWORD: &str = "inherit-pass-1";

async fn tree(s: &TestServer, admin: &str, name: &str) -> Tree {
    let domain = s
        .created_id(admin, "/v3/domains", json!({"domain": {"name": name}}))
        .await;
    let project = |name: &str, parent: Option<&str>| {
        let mut body = json!({"name": name, "domain_id": domain});
        if let Some(parent) = parent {
            body["parent_id"] = json!(parent);
        }
        json!({ "project": body })
    };
    let top = s
        .created_id(admin, "/v3/projects", project("top", None))
        .await;
    let child = s
        .created_id(admin, "/v3/projects", project("child", Some(&top)))
        .await;
    let leaf = s
        .created_id(admin, "/v3/projects", project("leaf", Some(&child)))
        .await;
    let beside = s
        .created_id(admin, "/v3/projects", project("beside", None))
        .await;
    let user = s
        .created_id(
            admin,
            "/v3/users",
            json!({"user": {"name": format!("{name}-user"), "password": PASSWORD,
                            "domain_id": domain}}),
        )
        .await;
    let group = s
        .created_id(
            admin,
            "/v3/groups",
            json!({"group": {"name": format!("{name}-group"), "domain_id": domain}}),
        )
        .await;
    let added = status_of(s.call(
        Method::PUT,
        &format!("/v3/groups/{group}/users/{user}"),
        admin,
    ))
    .await;
    assert_eq!(added, 204);
    Tree {
        domain,
        top,
        child,
        leaf,
        beside,
        user,
        group,
    }
}

/// A role named `name`; its id.
async fn new_role(s: &TestServer, admin: &str, name: &str) -> String {
    s.created_id(admin, "/v3/roles", json!({"role": {"name": name}}))
        .await
}

/// A password login of the tree's user (its domain) with `scope`.
async fn login(s: &TestServer, t: &Tree, scope: Value) -> reqwest::Response {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": t.user, "password": PASSWORD}}}, "scope": scope}});
    s.issue(&body, None).await
}

/// The role names of a token response's body, sorted.
async fn token_roles(response: reqwest::Response) -> Vec<String> {
    role_names(&response.json().await.unwrap())
}

/// The roles of a project token of the tree's user on `project`, or the
/// status when none is issued.
async fn roles_on(s: &TestServer, t: &Tree, project: &str) -> Result<Vec<String>, u16> {
    let response = login(s, t, json!({"project": {"id": project}})).await;
    match response.status().as_u16() {
        201 => Ok(token_roles(response).await),
        status => Err(status),
    }
}

fn inherit_path(target: &str, actor: &str, role: &str) -> String {
    format!("/v3/OS-INHERIT/{target}/{actor}/roles/{role}/inherited_to_projects")
}

#[tokio::test]
async fn inherited_grants_are_granted_checked_listed_and_revoked_apart_from_direct_ones() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let t = tree(&s, &admin, "grants").await;
    let role = new_role(&s, &admin, "inherited-one").await;
    let call = |method: Method, path: &str| s.call(method, path, &admin);

    for (target, actor) in [
        (format!("domains/{}", t.domain), format!("users/{}", t.user)),
        (
            format!("domains/{}", t.domain),
            format!("groups/{}", t.group),
        ),
        (format!("projects/{}", t.top), format!("users/{}", t.user)),
        (format!("projects/{}", t.top), format!("groups/{}", t.group)),
    ] {
        let inherited = inherit_path(&target, &actor, &role);
        let direct = format!("/v3/{target}/{actor}/roles/{role}");
        assert_eq!(status_of(call(Method::HEAD, &inherited)).await, 404);
        assert_eq!(status_of(call(Method::PUT, &inherited)).await, 204);
        assert_eq!(
            status_of(call(Method::PUT, &inherited)).await,
            204,
            "idempotent"
        );
        assert_eq!(status_of(call(Method::HEAD, &inherited)).await, 204);
        assert_eq!(status_of(call(Method::GET, &inherited)).await, 204);
        // The inherited grant is not a direct one, nor listed as one.
        assert_eq!(
            status_of(call(Method::HEAD, &direct)).await,
            404,
            "{direct}"
        );
        let (status, listed) =
            answer(call(Method::GET, &format!("/v3/{target}/{actor}/roles"))).await;
        assert_eq!(status, 200);
        assert_eq!(listed["roles"], json!([]), "{target}/{actor}");
        // A direct grant of the same role beside it is a second grant.
        assert_eq!(status_of(call(Method::PUT, &direct)).await, 204);
        if target.starts_with("domains/") {
            let list = format!("/v3/OS-INHERIT/{target}/{actor}/roles/inherited_to_projects");
            let (status, listed) = answer(call(Method::GET, &list)).await;
            assert_eq!(status, 200, "{list}");
            assert_eq!(listed["roles"].as_array().unwrap().len(), 1, "{listed}");
            assert_eq!(listed["roles"][0]["id"], role.as_str());
            assert_eq!(listed["roles"][0]["name"], "inherited-one");
            assert!(
                listed["links"]["self"].as_str().unwrap().ends_with(&list),
                "{listed}"
            );
            assert_eq!(status_of(call(Method::HEAD, &list)).await, 200);
        }
        assert_eq!(status_of(call(Method::DELETE, &inherited)).await, 204);
        assert_eq!(status_of(call(Method::DELETE, &inherited)).await, 404);
        assert_eq!(status_of(call(Method::HEAD, &inherited)).await, 404);
        // Revoking the inherited grant left the direct one.
        assert_eq!(status_of(call(Method::HEAD, &direct)).await, 204);
        assert_eq!(status_of(call(Method::DELETE, &direct)).await, 204);
    }

    // What is not there is a 404, in Keystone's JSON.
    let user = format!("users/{}", t.user);
    let domain = format!("domains/{}", t.domain);
    for path in [
        inherit_path(&domain, &user, "no-such-role"),
        inherit_path("domains/no-such-domain", &user, &role),
        inherit_path("projects/no-such-project", &user, &role),
        inherit_path(&domain, "users/no-such-user", &role),
        inherit_path(&domain, "groups/no-such-group", &role),
    ] {
        let (status, body) = answer(call(Method::PUT, &path)).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"]["code"], 404, "{body}");
    }
    for path in [
        format!("/v3/OS-INHERIT/domains/no-such-domain/{user}/roles/inherited_to_projects"),
        format!("/v3/OS-INHERIT/{domain}/users/no-such-user/roles/inherited_to_projects"),
    ] {
        assert_eq!(status_of(call(Method::GET, &path)).await, 404, "{path}");
    }
    // No listing on a project, as in Keystone; no token, no grant.
    let project_list = format!(
        "/v3/OS-INHERIT/projects/{}/{user}/roles/inherited_to_projects",
        t.top
    );
    assert_eq!(status_of(call(Method::GET, &project_list)).await, 404);
    let granting = inherit_path(&domain, &user, &role);
    assert_eq!(
        status_of(s.client.put(s.url(&granting))).await,
        401,
        "without a token"
    );
}

/// The token half, on a server of either driver.
async fn inherited_roles_reach_tokens_and_auth_projects(s: &TestServer) {
    let admin = s.admin_token().await;
    let t = tree(s, &admin, "tokens").await;
    let from_domain = new_role(s, &admin, "from-domain").await;
    let from_top = new_role(s, &admin, "from-top").await;
    let call = |method: Method, path: &str| s.call(method, path, &admin);
    let domain = format!("domains/{}", t.domain);
    let top = format!("projects/{}", t.top);

    // Nothing yet: no project token anywhere.
    assert_eq!(roles_on(s, &t, &t.top).await, Err(401));

    // On the domain, to the user: every project of the domain, not the
    // domain itself.
    let user = format!("users/{}", t.user);
    assert_eq!(
        status_of(call(
            Method::PUT,
            &inherit_path(&domain, &user, &from_domain)
        ))
        .await,
        204
    );
    for project in [&t.top, &t.child, &t.leaf, &t.beside] {
        assert_eq!(
            roles_on(s, &t, project).await,
            Ok(vec!["from-domain".to_owned()])
        );
    }
    let on_domain = login(s, &t, json!({"domain": {"id": t.domain}})).await;
    assert_eq!(
        on_domain.status(),
        401,
        "the domain itself inherits nothing"
    );

    // On a project, to a group of the user: the projects below it, not
    // the project itself.
    let group = format!("groups/{}", t.group);
    assert_eq!(
        status_of(call(Method::PUT, &inherit_path(&top, &group, &from_top))).await,
        204
    );
    assert_eq!(
        roles_on(s, &t, &t.top).await,
        Ok(vec!["from-domain".to_owned()])
    );
    for project in [&t.child, &t.leaf] {
        assert_eq!(
            roles_on(s, &t, project).await,
            Ok(vec!["from-domain".to_owned(), "from-top".to_owned()])
        );
    }
    assert_eq!(
        roles_on(s, &t, &t.beside).await,
        Ok(vec!["from-domain".to_owned()])
    );

    // The projects the user may scope to.
    let unscoped = subject(&login(s, &t, json!("unscoped")).await);
    let (status, body) = answer(s.call(Method::GET, "/v3/auth/projects", &unscoped)).await;
    assert_eq!(status, 200);
    let mut listed: Vec<&str> = body["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    listed.sort_unstable();
    let mut expected = vec![
        t.top.as_str(),
        t.child.as_str(),
        t.leaf.as_str(),
        t.beside.as_str(),
    ];
    expected.sort_unstable();
    assert_eq!(listed, expected);
    let (_, domains) = answer(s.call(Method::GET, "/v3/auth/domains", &unscoped)).await;
    assert_eq!(
        domains["domains"],
        json!([]),
        "no role on the domain itself"
    );

    // Without the domain's grant, only the subtree below top is left.
    assert_eq!(
        status_of(call(
            Method::DELETE,
            &inherit_path(&domain, &user, &from_domain)
        ))
        .await,
        204
    );
    assert_eq!(roles_on(s, &t, &t.top).await, Err(401));
    assert_eq!(roles_on(s, &t, &t.beside).await, Err(401));
    assert_eq!(
        roles_on(s, &t, &t.leaf).await,
        Ok(vec!["from-top".to_owned()])
    );
}

#[tokio::test]
async fn inherited_roles_reach_project_tokens_and_auth_projects() {
    inherited_roles_reach_tokens_and_auth_projects(&TestServer::start().await).await;
}

#[tokio::test]
async fn inherited_roles_reach_project_tokens_and_auth_projects_on_postgres() {
    if let Some(s) = TestServer::start_postgres("").await {
        inherited_roles_reach_tokens_and_auth_projects(&s).await;
    }
}

#[tokio::test]
async fn revoking_an_inherited_grant_takes_effect_at_the_next_validation_on_every_node() {
    let s = TestServer::start().await;
    let other = s.second_node().await;
    let admin = s.admin_token().await;
    let t = tree(&s, &admin, "revoked").await;
    let member = s.role_id(&admin, "member").await.unwrap();
    let admin_role = s.role_id(&admin, "admin").await.unwrap();
    let call = |method: Method, path: &str| s.call(method, path, &admin);
    // member directly on leaf; admin inherited from the domain.
    let direct = format!("/v3/projects/{}/users/{}/roles/{member}", t.leaf, t.user);
    assert_eq!(status_of(call(Method::PUT, &direct)).await, 204);
    let inherited = inherit_path(
        &format!("domains/{}", t.domain),
        &format!("users/{}", t.user),
        &admin_role,
    );
    assert_eq!(status_of(call(Method::PUT, &inherited)).await, 204);
    let on_leaf = subject(&login(&s, &t, json!({"project": {"id": t.leaf}})).await);
    let on_child = subject(&login(&s, &t, json!({"project": {"id": t.child}})).await);

    let validate = |node: &TestServer, token: &str| {
        node.call(Method::GET, "/v3/auth/tokens", &admin)
            .header("X-Subject-Token", token.to_owned())
    };
    // The policy's role checks see the inherited admin: listing users is
    // an admin's (or a system reader's) call.
    for node in [&s, &other] {
        let (status, body) = answer(validate(node, &on_leaf)).await;
        assert_eq!(status, 200);
        let names: Vec<&str> = body["token"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"admin") && names.contains(&"member"),
            "{names:?}"
        );
        assert_eq!(
            status_of(node.call(Method::GET, "/v3/users", &on_leaf)).await,
            200
        );
        assert_eq!(status_of(validate(node, &on_child)).await, 200);
    }

    assert_eq!(status_of(call(Method::DELETE, &inherited)).await, 204);
    for node in [&s, &other] {
        // member is still held on leaf: the token stays, without admin.
        let (status, body) = answer(validate(node, &on_leaf)).await;
        assert_eq!(status, 200);
        let names: Vec<&str> = body["token"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(!names.contains(&"admin"), "{names:?}");
        assert!(names.contains(&"member"), "{names:?}");
        assert_eq!(
            status_of(node.call(Method::GET, "/v3/users", &on_leaf)).await,
            403
        );
        // No role left on child: the token is gone.
        assert_eq!(status_of(validate(node, &on_child)).await, 404);
    }
}

/// `v`, sorted.
fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// The `role_assignments` entries of a query, as the admin sees them.
async fn assignments(s: &TestServer, admin: &str, query: &str) -> Vec<Value> {
    let (status, body) =
        answer(s.call(Method::GET, &format!("/v3/role_assignments?{query}"), admin)).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["role_assignments"].as_array().unwrap().clone()
}

/// (scope project or domain id, inherited marker, role id, link path after
/// the base URL) of each entry, sorted.
fn shapes(entries: &[Value], base: &str) -> Vec<(String, bool, String, String)> {
    let mut found: Vec<_> = entries
        .iter()
        .map(|e| {
            let scope = &e["scope"];
            let on = scope["project"]["id"]
                .as_str()
                .or(scope["domain"]["id"].as_str())
                .unwrap_or("?")
                .to_owned();
            let inherited = match &scope["OS-INHERIT:inherited_to"] {
                Value::Null => false,
                Value::String(to) if to == "projects" => true,
                other => panic!("inherited_to {other}"),
            };
            let link = e["links"]["assignment"].as_str().unwrap();
            let link = link
                .strip_prefix(base)
                .unwrap_or_else(|| panic!("{link} outside {base}"))
                .to_owned();
            (
                on,
                inherited,
                e["role"]["id"].as_str().unwrap().to_owned(),
                link,
            )
        })
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn role_assignments_show_inherited_grants_as_keystone() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let t = tree(&s, &admin, "listed").await;
    let on_domain = new_role(&s, &admin, "on-domain").await;
    let on_child = new_role(&s, &admin, "on-child").await;
    let call = |method: Method, path: &str| s.call(method, path, &admin);
    let (domain, user, group) = (
        format!("domains/{}", t.domain),
        format!("users/{}", t.user),
        format!("groups/{}", t.group),
    );
    let child = format!("projects/{}", t.child);
    let from_domain = inherit_path(&domain, &user, &on_domain);
    let from_child = inherit_path(&child, &group, &on_child);
    for path in [&from_domain, &from_child] {
        assert_eq!(status_of(call(Method::PUT, path)).await, 204);
    }
    let direct = format!("/v3/projects/{}/users/{}/roles/{on_domain}", t.top, t.user);
    assert_eq!(status_of(call(Method::PUT, &direct)).await, 204);
    let base = s.base.clone();
    let entry = |on: &str, inherited: bool, role: &str, link: &str| {
        (on.to_owned(), inherited, role.to_owned(), link.to_owned())
    };

    // Raw: each grant once, on its own target, inherited ones marked and
    // linked to their OS-INHERIT route.
    let raw = assignments(&s, &admin, &format!("user.id={}", t.user)).await;
    assert_eq!(
        shapes(&raw, &base),
        sorted(vec![
            entry(&t.domain, true, &on_domain, &from_domain),
            entry(&t.top, false, &on_domain, &direct),
        ])
    );
    let domain_entry = raw
        .iter()
        .find(|e| e["scope"]["domain"].is_object())
        .unwrap();
    assert_eq!(
        domain_entry["scope"],
        json!({"domain": {"id": t.domain}, "OS-INHERIT:inherited_to": "projects"})
    );
    assert_eq!(domain_entry["user"], json!({"id": t.user}));
    let raw = assignments(&s, &admin, &format!("group.id={}", t.group)).await;
    assert_eq!(raw.len(), 1);
    assert_eq!(
        raw[0]["scope"],
        json!({"project": {"id": t.child}, "OS-INHERIT:inherited_to": "projects"})
    );
    assert_eq!(raw[0]["group"], json!({"id": t.group}));
    // The inherited filter: only inherited ones, or (any other value) only
    // direct ones.
    let only = assignments(
        &s,
        &admin,
        &format!("user.id={}&scope.OS-INHERIT:inherited_to=projects", t.user),
    )
    .await;
    assert_eq!(
        shapes(&only, &base),
        sorted(vec![entry(&t.domain, true, &on_domain, &from_domain)])
    );
    let direct_only = assignments(
        &s,
        &admin,
        &format!("user.id={}&scope.OS-INHERIT:inherited_to=none", t.user),
    )
    .await;
    assert_eq!(
        shapes(&direct_only, &base),
        sorted(vec![entry(&t.top, false, &on_domain, &direct)])
    );

    // Effective, on one project: what the user holds there, each inherited
    // grant shown on that project, linked to the grant; the group's grant
    // as the member's, with its membership.
    let on_leaf = assignments(
        &s,
        &admin,
        &format!("effective&user.id={}&scope.project.id={}", t.user, t.leaf),
    )
    .await;
    assert_eq!(
        shapes(&on_leaf, &base),
        sorted(vec![
            entry(&t.leaf, true, &on_child, &from_child),
            entry(&t.leaf, true, &on_domain, &from_domain),
        ])
    );
    let through_group = on_leaf
        .iter()
        .find(|e| e["role"]["id"] == on_child.as_str())
        .unwrap();
    assert_eq!(through_group["user"], json!({"id": t.user}));
    assert_eq!(
        through_group["links"]["membership"],
        format!("{base}/v3/groups/{}/users/{}", t.group, t.user)
    );
    // The project an inherited grant is on does not hold it.
    let on_child_project = assignments(
        &s,
        &admin,
        &format!("effective&user.id={}&scope.project.id={}", t.user, t.child),
    )
    .await;
    assert_eq!(
        shapes(&on_child_project, &base),
        sorted(vec![entry(&t.child, true, &on_domain, &from_domain)])
    );
    let on_top = assignments(
        &s,
        &admin,
        &format!("effective&user.id={}&scope.project.id={}", t.user, t.top),
    )
    .await;
    assert_eq!(
        shapes(&on_top, &base),
        sorted(vec![
            entry(&t.top, false, &on_domain, &direct),
            entry(&t.top, true, &on_domain, &from_domain),
        ])
    );

    // Effective, everywhere: every project each grant reaches.
    let everywhere = assignments(&s, &admin, &format!("effective&user.id={}", t.user)).await;
    let mut expected = vec![entry(&t.top, false, &on_domain, &direct)];
    for project in [&t.top, &t.child, &t.leaf, &t.beside] {
        expected.push(entry(project, true, &on_domain, &from_domain));
    }
    expected.push(entry(&t.leaf, true, &on_child, &from_child));
    expected.sort();
    assert_eq!(shapes(&everywhere, &base), expected);
    // Effective, inherited only.
    let inherited_only = assignments(
        &s,
        &admin,
        &format!(
            "effective&user.id={}&scope.OS-INHERIT:inherited_to=projects",
            t.user
        ),
    )
    .await;
    assert_eq!(inherited_only.len(), 5);

    // A subtree: top and everything below it, each grant where it reaches.
    let subtree = assignments(
        &s,
        &admin,
        &format!("effective&include_subtree=True&scope.project.id={}", t.top),
    )
    .await;
    let mut expected = vec![entry(&t.top, false, &on_domain, &direct)];
    for project in [&t.top, &t.child, &t.leaf] {
        expected.push(entry(project, true, &on_domain, &from_domain));
    }
    expected.push(entry(&t.leaf, true, &on_child, &from_child));
    expected.sort();
    assert_eq!(shapes(&subtree, &base), expected);
    // Raw over a subtree: the grants on those projects as stored.
    let raw_subtree = assignments(
        &s,
        &admin,
        &format!("include_subtree=True&scope.project.id={}", t.top),
    )
    .await;
    assert_eq!(
        shapes(&raw_subtree, &base),
        sorted(vec![
            entry(&t.child, true, &on_child, &from_child),
            entry(&t.top, false, &on_domain, &direct),
        ])
    );
    // include_subtree needs a project; an unknown one is a 404.
    let (status, _) = answer(call(
        Method::GET,
        "/v3/role_assignments?include_subtree=True",
    ))
    .await;
    assert_eq!(status, 400);
    let (status, _) = answer(call(
        Method::GET,
        "/v3/role_assignments?include_subtree=True&scope.project.id=no-such-project",
    ))
    .await;
    assert_eq!(status, 404);
    let (status, _) = answer(call(
        Method::GET,
        &format!(
            "/v3/role_assignments?effective&scope.OS-INHERIT:inherited_to=projects&scope.domain.id={}",
            t.domain
        ),
    ))
    .await;
    assert_eq!(
        status, 400,
        "effective, domain and inherited is always empty"
    );

    // Revoked, gone from the effective listing (tempest's test).
    assert_eq!(status_of(call(Method::DELETE, &from_domain)).await, 204);
    let on_child_project = assignments(
        &s,
        &admin,
        &format!("effective&user.id={}&scope.project.id={}", t.user, t.child),
    )
    .await;
    assert!(on_child_project.is_empty(), "{on_child_project:?}");
}

#[tokio::test]
async fn a_domain_manager_grants_inherited_roles_in_its_own_domain_only() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let t = tree(&s, &admin, "managed").await;
    let other = tree(&s, &admin, "elsewhere").await;
    let manager = s.role_id(&admin, "manager").await.unwrap();
    let member = s.role_id(&admin, "member").await.unwrap();
    let admin_role = s.role_id(&admin, "admin").await.unwrap();
    // The tree's user manages its domain; the other tree's user is only a
    // member of a project.
    let manages = format!("/v3/domains/{}/users/{}/roles/{manager}", t.domain, t.user);
    assert_eq!(status_of(s.call(Method::PUT, &manages, &admin)).await, 204);
    let on_top = format!(
        "/v3/projects/{}/users/{}/roles/{member}",
        other.top, other.user
    );
    assert_eq!(status_of(s.call(Method::PUT, &on_top, &admin)).await, 204);
    let domain_token = subject(&login(&s, &t, json!({"domain": {"id": t.domain}})).await);
    let member_token = subject(&login(&s, &other, json!({"project": {"id": other.top}})).await);

    let user = format!("users/{}", t.user);
    let domain = format!("domains/{}", t.domain);
    let grant = inherit_path(&domain, &user, &member);
    assert_eq!(
        status_of(s.call(Method::PUT, &grant, &domain_token)).await,
        204
    );
    assert_eq!(
        status_of(s.call(Method::HEAD, &grant, &domain_token)).await,
        204
    );
    let list = format!("/v3/OS-INHERIT/{domain}/{user}/roles/inherited_to_projects");
    assert_eq!(
        status_of(s.call(Method::GET, &list, &domain_token)).await,
        200
    );
    // Not a role a manager may hand out, nor another domain's grant.
    let admin_grant = inherit_path(&domain, &user, &admin_role);
    assert_eq!(
        status_of(s.call(Method::PUT, &admin_grant, &domain_token)).await,
        403
    );
    let elsewhere = inherit_path(
        &format!("domains/{}", other.domain),
        &format!("users/{}", other.user),
        &member,
    );
    assert_eq!(
        status_of(s.call(Method::PUT, &elsewhere, &domain_token)).await,
        403
    );
    // A project member grants nothing, checks nothing, lists nothing.
    assert_eq!(
        status_of(s.call(Method::PUT, &grant, &member_token)).await,
        403
    );
    assert_eq!(
        status_of(s.call(Method::HEAD, &grant, &member_token)).await,
        403
    );
    assert_eq!(
        status_of(s.call(Method::DELETE, &grant, &member_token)).await,
        403
    );
    assert_eq!(
        status_of(s.call(Method::GET, &list, &member_token)).await,
        403
    );
    // The manager revokes what it granted.
    assert_eq!(
        status_of(s.call(Method::DELETE, &grant, &domain_token)).await,
        204
    );
    assert_eq!(status_of(s.call(Method::HEAD, &grant, &admin)).await, 404);
}
