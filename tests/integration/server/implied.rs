//! Implied roles end to end: what bootstrap creates, what tokens carry at
//! issue and at validation, on every node, the API and the operations
//! behind it, and effective role assignments.

use std::sync::Arc;

use auth_core::AuthError;
use auth_core::implied_roles::RoleGraph;
use auth_core::store::{Actor, Assignment, DEFAULT_DOMAIN_ID, Role, Storage, Target, new_id};
use auth_server::bootstrap::{self, Bootstrap};
use auth_server::operations;
use auth_server::services::implied_roles;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::harness::{ADMIN_PASSWORD, TestServer, password_body, subject};

/// The role names of a token body.
fn role_names(body: &Value) -> Vec<String> {
    body["token"]["roles"]
        .as_array()
        .unwrap_or_else(|| panic!("no roles in {body}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Adds the rule through the service, as `PUT /v3/roles/{p}/implies/{i}`
/// does after its policy check.
async fn add_rule(
    state: &auth_server::AppState,
    prior: &str,
    implied: &str,
) -> Result<auth_core::store::ImpliedRole, auth_core::AuthError> {
    let prohibited = &state.config().assignment.prohibited_implied_role;
    implied_roles::create(&state.services(), prior, implied, prohibited).await
}

/// Creates user `name` (password `<name>-pass`) holding `roles` on the
/// admin project, through the store.
async fn user_with(s: &TestServer, name: &str, roles: &[&Role]) -> String {
    let storage = s.storage().as_ref();
    let user = operations::create_user(
        &s.state.services(),
        DEFAULT_DOMAIN_ID,
        name,
        SecretString::from(format!("{name}-pass")),
    )
    .await
    .unwrap();
    for role in roles {
        storage
            .grant(&Assignment::new(
                role.id.clone(),
                Actor::User(user.id.clone()),
                Target::Project(s.admin.project.id.clone()),
            ))
            .await
            .unwrap();
    }
    user.id
}

/// A password login of `name` scoped to the admin project.
async fn login(s: &TestServer, name: &str) -> reqwest::Response {
    let scope = json!({"project": {"id": s.admin.project.id}});
    s.issue(
        &password_body(name, &format!("{name}-pass"), Some(scope)),
        None,
    )
    .await
}

/// `GET /v3/auth/tokens` of `token` on `node`, as `caller`: status and body.
async fn validate(node: &TestServer, caller: &str, token: &str) -> (u16, Value) {
    let response = node.validate(caller, token).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn role(s: &TestServer, name: &str) -> Role {
    s.storage().find_role_by_name(name).await.unwrap()
}

async fn new_role(s: &TestServer, name: &str, domain_id: Option<&str>) -> Role {
    let mut role = Role::new(new_id(), name);
    role.domain_id = domain_id.map(Into::into);
    s.storage().create_role(&role).await.unwrap();
    role
}

#[tokio::test]
async fn an_admin_token_lists_admin_manager_member_and_reader() {
    let s = TestServer::start().await;
    let scope = json!({"project": {"name": "admin", "domain": {"id": "default"}}});
    let issued = s
        .issue(&password_body("admin", ADMIN_PASSWORD, Some(scope)), None)
        .await;
    assert_eq!(issued.status(), 201);
    let token = subject(&issued);
    let body: Value = issued.json().await.unwrap();
    let all = ["admin", "manager", "member", "reader"];
    assert_eq!(role_names(&body), all, "at issue");
    for pass in ["computed", "cached"] {
        let (status, body) = validate(&s, &token, &token).await;
        assert_eq!(status, 200);
        assert_eq!(role_names(&body), all, "at validation ({pass})");
    }
    let system = json!({"system": {"all": true}});
    let on_system = s
        .issue(&password_body("admin", ADMIN_PASSWORD, Some(system)), None)
        .await;
    let body: Value = on_system.json().await.unwrap();
    assert_eq!(role_names(&body), all, "system scope");

    // A member gets reader too; each role once, held twice or not.
    let (member, reader) = (role(&s, "member").await, role(&s, "reader").await);
    user_with(&s, "molly", &[&member, &reader]).await;
    let body: Value = login(&s, "molly").await.json().await.unwrap();
    assert_eq!(role_names(&body), ["member", "reader"]);
}

#[tokio::test]
async fn rule_changes_reach_every_nodes_next_validation() {
    let a = TestServer::start().await;
    let b = a.second_node().await;
    let admin = a.admin_token().await;
    let member = role(&a, "member").await;
    let auditor = new_role(&a, "auditor", None).await;
    user_with(&a, "carol", &[&member]).await;
    let carol = subject(&login(&a, "carol").await);
    for _ in 0..2 {
        let (status, body) = validate(&a, &admin, &carol).await;
        assert_eq!(status, 200);
        assert_eq!(role_names(&body), ["member", "reader"]);
    }

    add_rule(&b.state, &member.id, &auditor.id).await.unwrap();
    let (_, body) = validate(&a, &admin, &carol).await;
    assert_eq!(
        role_names(&body),
        ["auditor", "member", "reader"],
        "a rule made on B"
    );
    let fresh: Value = login(&a, "carol").await.json().await.unwrap();
    assert_eq!(
        role_names(&fresh),
        ["auditor", "member", "reader"],
        "at issue"
    );

    implied_roles::delete(&b.state.services(), &member.id, &auditor.id)
        .await
        .unwrap();
    let (_, body) = validate(&a, &admin, &carol).await;
    assert_eq!(role_names(&body), ["member", "reader"], "deleted on B");

    // Renaming an implied role shows in the next validation too.
    let mut renamed = role(&a, "reader").await;
    renamed.name = "viewer".into();
    b.storage().update_role(&renamed).await.unwrap();
    let (_, body) = validate(&a, &admin, &carol).await;
    assert_eq!(role_names(&body), ["member", "viewer"], "renamed on B");
}

#[tokio::test]
async fn the_rules_are_read_once_per_token_revision() {
    let s = TestServer::start().await;
    let cache = s.state.validations();
    let first = cache.role_graph(&s.state).await.unwrap();
    let again = cache.role_graph(&s.state).await.unwrap();
    assert!(Arc::ptr_eq(&first, &again), "read again without a change");
    assert_eq!(first.len(), 3, "bootstrap's three rules");

    let (member, auditor) = (
        role(&s, "member").await,
        new_role(&s, "auditor", None).await,
    );
    s.storage()
        .create_implied_role(&member.id, &auditor.id)
        .await
        .unwrap();
    let after = cache.role_graph(&s.state).await.unwrap();
    assert_eq!(after.len(), 4, "a change is read at once");
    assert!(Arc::ptr_eq(
        &after,
        &cache.role_graph(&s.state).await.unwrap()
    ));
}

#[tokio::test]
async fn a_domain_specific_role_grants_only_what_it_implies() {
    let s = TestServer::start().await;
    let operator = new_role(&s, "operator", None).await;
    let local = new_role(&s, "local-ops", Some(DEFAULT_DOMAIN_ID)).await;
    user_with(&s, "dora", &[&local]).await;
    // Holding only a domain-specific role that implies nothing is no role.
    assert_eq!(login(&s, "dora").await.status(), 401);

    add_rule(&s.state, &local.id, &operator.id).await.unwrap();
    let issued = login(&s, "dora").await;
    assert_eq!(issued.status(), 201);
    let token = subject(&issued);
    let body: Value = issued.json().await.unwrap();
    assert_eq!(role_names(&body), ["operator"], "never the domain role");
    let (status, body) = validate(&s, &token, &token).await;
    assert_eq!(status, 200);
    assert_eq!(role_names(&body), ["operator"]);
}

/// The status of a refusal.
fn code<T: std::fmt::Debug>(result: Result<T, AuthError>) -> u16 {
    result.unwrap_err().http_status()
}

#[tokio::test]
async fn the_operations_answer_as_keystone() {
    let s = TestServer::start_with("[assignment]\nprohibited_implied_role = [\"admin\", \"root\"]")
        .await;
    let st = &s.state;
    let [admin, manager, member, reader] = [
        role(&s, "admin").await,
        role(&s, "manager").await,
        role(&s, "member").await,
        role(&s, "reader").await,
    ];
    let root = new_role(&s, "root", None).await;
    let extra = new_role(&s, "extra", None).await;
    // Implies nothing and is implied by nothing: only the prohibited list
    // refuses `spare → admin`.
    let spare = new_role(&s, "spare", None).await;
    let local = new_role(&s, "local", Some(DEFAULT_DOMAIN_ID)).await;

    let made = add_rule(st, &reader.id, &extra.id).await.unwrap();
    assert_eq!(
        (made.prior.name.as_str(), made.implied.name.as_str()),
        ("reader", "extra")
    );
    let refused = [
        (add_rule(st, "ghost", &extra.id).await, 404),
        (add_rule(st, &reader.id, "ghost").await, 404),
        (add_rule(st, &spare.id, &admin.id).await, 403),
        (add_rule(st, &member.id, &root.id).await, 403),
        (add_rule(st, &member.id, &local.id).await, 403),
        (add_rule(st, &reader.id, &extra.id).await, 409),
        (add_rule(st, &extra.id, &manager.id).await, 403),
    ];
    for (i, (result, expected)) in refused.into_iter().enumerate() {
        assert_eq!(code(result), expected, "case {i}");
    }
    // A domain-specific role may imply a global one.
    add_rule(st, &local.id, &reader.id).await.unwrap();

    let got = implied_roles::get(&st.services(), &manager.id, &member.id)
        .await
        .unwrap();
    assert_eq!(got.implied, member);
    assert_eq!(
        code(implied_roles::get(&st.services(), &member.id, &manager.id).await),
        404
    );
    assert_eq!(
        code(implied_roles::get(&st.services(), "ghost", &manager.id).await),
        404
    );

    let (prior, rules) = implied_roles::list_for_prior(&st.services(), &reader.id)
        .await
        .unwrap();
    assert_eq!(prior, reader);
    assert_eq!(rules.len(), 1);
    assert_eq!(
        code(implied_roles::list_for_prior(&st.services(), "ghost").await),
        404
    );
    let all = implied_roles::list_all(&st.services()).await.unwrap();
    let pairs: Vec<(&str, &str)> = all
        .iter()
        .map(|r| (r.prior.name.as_str(), r.implied.name.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("admin", "manager"),
            ("local", "reader"),
            ("manager", "member"),
            ("member", "reader"),
            ("reader", "extra"),
        ]
    );
    let body = auth_server::keystone::implied_roles::role_inferences_body(&all, &s.base);
    assert_eq!(body["role_inferences"].as_array().unwrap().len(), 5);

    implied_roles::delete(&st.services(), &reader.id, &extra.id)
        .await
        .unwrap();
    assert_eq!(
        code(implied_roles::delete(&st.services(), &reader.id, &extra.id).await),
        404
    );
    assert_eq!(
        code(implied_roles::delete(&st.services(), &reader.id, "ghost").await),
        404
    );
}

/// What an older build's bootstrap left: admin, member and reader, no
/// `manager`, `service` or rules (and, as a pre-2023.2 Keystone would have,
/// an `admin → member` rule).
async fn as_an_older_build_left_it(storage: &dyn Storage) {
    for rule in storage.list_role_inferences().await.unwrap() {
        storage
            .delete_implied_role(&rule.prior.id, &rule.implied.id)
            .await
            .unwrap();
    }
    for name in ["manager", "service"] {
        let role = storage.find_role_by_name(name).await.unwrap();
        storage.delete_role(&role.id).await.unwrap();
    }
    let admin = storage.find_role_by_name("admin").await.unwrap();
    let member = storage.find_role_by_name("member").await.unwrap();
    storage
        .create_implied_role(&admin.id, &member.id)
        .await
        .unwrap();
}

#[tokio::test]
async fn bootstrap_upgrades_an_older_database_and_changes_nothing_when_run_again() {
    let s = TestServer::start().await;
    let storage = s.storage().as_ref();
    let plan = Bootstrap {
        admin_user: "admin".into(),
        admin_password: SecretString::from(ADMIN_PASSWORD.to_owned()),
        admin_project: "admin".into(),
        public_url: s.base.clone(),
        region: "RegionOne".into(),
    };
    let rules = || async {
        let rules = storage.list_role_inferences().await.unwrap();
        rules
            .into_iter()
            .map(|r| format!("{} > {}", r.prior.name, r.implied.name))
            .collect::<Vec<_>>()
    };
    let keystone = ["admin > manager", "manager > member", "member > reader"];
    assert_eq!(rules().await, keystone, "a fresh bootstrap");
    let names = || async {
        let roles = storage.list_roles().await.unwrap();
        roles.into_iter().map(|r| r.name).collect::<Vec<_>>()
    };
    let all = ["admin", "manager", "member", "reader", "service"];
    assert_eq!(names().await, all);

    as_an_older_build_left_it(storage).await;
    assert_eq!(rules().await, ["admin > member"]);
    let roles_before = storage.find_role_by_name("admin").await.unwrap();
    for run in ["upgrade", "again"] {
        let done = bootstrap::run(&s.state.services(), &plan).await.unwrap();
        assert_eq!(done.admin_role, roles_before, "{run}: the same admin role");
        assert_eq!(rules().await, keystone, "{run}");
        assert_eq!(names().await, all, "{run}");
    }
    let graph = RoleGraph::new(storage.list_role_inferences().await.unwrap());
    let carried = graph.expand(vec![roles_before]);
    assert_eq!(carried.len(), 4);
}

#[tokio::test]
async fn effective_assignments_list_implied_roles_as_keystone() {
    let s = TestServer::start().await;
    let storage = s.storage().as_ref();
    let [admin, manager, member, reader] = [
        role(&s, "admin").await,
        role(&s, "manager").await,
        role(&s, "member").await,
        role(&s, "reader").await,
    ];
    let local = new_role(&s, "local", Some(DEFAULT_DOMAIN_ID)).await;
    add_rule(&s.state, &local.id, &reader.id).await.unwrap();
    let user = user_with(&s, "erin", &[&manager, &local]).await;
    let listed: Vec<(Assignment, Option<String>)> = storage
        .list_assignments(
            &auth_core::store::AssignmentFilter::default().with_actor(Actor::User(user.clone())),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a, None))
        .collect();
    let rules = s.state.validations().role_graph(&s.state).await.unwrap();
    let entries = implied_roles::with_implied_roles(storage, &rules, listed.clone(), None)
        .await
        .unwrap();
    let shown: Vec<(&str, Option<&str>, &str)> = entries
        .iter()
        .map(|e| {
            let name = [&admin, &manager, &member, &reader]
                .into_iter()
                .find(|r| r.id == e.role_id())
                .map_or("?", |r| r.name.as_str());
            let prior = e.implied.as_ref().map(|i| i.prior_role_id.as_str());
            (name, prior, e.assignment.role_id.as_str())
        })
        .collect();
    // The domain-specific grant is stripped; what it implies stays.
    let mut expected = vec![
        ("manager", None, manager.id.as_str()),
        ("member", Some(manager.id.as_str()), manager.id.as_str()),
        ("reader", Some(member.id.as_str()), member.id.as_str()),
        ("reader", Some(local.id.as_str()), local.id.as_str()),
    ];
    let mut shown_sorted = shown.clone();
    shown_sorted.sort();
    expected.sort();
    assert_eq!(shown_sorted, expected);

    // A role filter finds implied roles, not only granted ones.
    let readers = implied_roles::with_implied_roles(storage, &rules, listed, Some(&reader.id))
        .await
        .unwrap();
    assert_eq!(readers.len(), 2);
    assert!(readers.iter().all(|e| e.role_id() == reader.id));
}

/// A call with `token`: its status and JSON body (`null` when empty).
async fn call(s: &TestServer, method: Method, path: &str, token: &str) -> (u16, Value) {
    let response = s.call(method, path, token).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn the_implied_role_api_answers_as_keystone() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let (member, reader) = (role(&s, "member").await, role(&s, "reader").await);
    let auditor = new_role(&s, "auditor", None).await;
    let rule = format!("/v3/roles/{}/implies/{}", member.id, auditor.id);

    let (status, made) = call(&s, Method::PUT, &rule, &admin).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["role_inference"]["prior_role"]["id"], member.id);
    assert_eq!(made["role_inference"]["implies"]["name"], "auditor");
    assert!(made["links"]["self"].as_str().unwrap().ends_with(&rule));
    assert_eq!(call(&s, Method::PUT, &rule, &admin).await.0, 409);
    assert_eq!(call(&s, Method::GET, &rule, &admin).await, (200, made));
    assert_eq!(call(&s, Method::HEAD, &rule, &admin).await.0, 204);

    let listed = call(
        &s,
        Method::GET,
        &format!("/v3/roles/{}/implies", member.id),
        &admin,
    )
    .await;
    let mut implies: Vec<&str> = listed.1["role_inference"]["implies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    implies.sort_unstable();
    assert_eq!((listed.0, implies), (200, vec!["auditor", "reader"]));
    let (status, all) = call(&s, Method::GET, "/v3/role_inferences", &admin).await;
    assert_eq!(status, 200);
    // Grouped by prior role: admin, manager and member (bootstrap's
    // three rules and the new one).
    assert_eq!(all["role_inferences"].as_array().unwrap().len(), 3, "{all}");

    // An effective listing shows each implied role after the grant that
    // implies it, with Keystone's prior_role link.
    let path = format!(
        "/v3/role_assignments?effective&user.id={}&scope.project.id={}",
        s.admin.user.id, s.admin.project.id
    );
    let (status, listing) = call(&s, Method::GET, &path, &admin).await;
    assert_eq!(status, 200);
    let shown: Vec<&str> = listing["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["role"]["id"].as_str().unwrap())
        .collect();
    assert!(shown.contains(&reader.id.as_str()), "{listing}");
    assert!(
        listing["role_assignments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["links"].get("prior_role").is_some()),
        "{listing}"
    );

    // A project member may do none of it; a missing role is a 404 first.
    user_with(&s, "mia", &[&member]).await;
    let mia = login(&s, "mia").await;
    assert_eq!(mia.status(), 201);
    let mia = subject(&mia);
    assert_eq!(call(&s, Method::DELETE, &rule, &mia).await.0, 403);
    assert_eq!(
        call(&s, Method::GET, "/v3/role_inferences", &mia).await.0,
        403
    );
    let ghost = format!("/v3/roles/ghost/implies/{}", auditor.id);
    assert_eq!(call(&s, Method::PUT, &ghost, &mia).await.0, 404);

    assert_eq!(call(&s, Method::DELETE, &rule, &admin).await.0, 204);
    assert_eq!(call(&s, Method::GET, &rule, &admin).await.0, 404);
}
