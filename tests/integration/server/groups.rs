//! `/v3/groups`, group membership, role grants to groups and what they do
//! to tokens, and group assignments in `/v3/role_assignments`.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, password_body, subject};

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

/// An admin client: `(method, path, body)` to the response.
struct Admin<'a> {
    s: &'a TestServer,
    token: String,
}

impl Admin<'_> {
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = self.s.call(method, path, &self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    async fn status(&self, method: Method, path: &str) -> u16 {
        self.send(method, path, None).await.status().as_u16()
    }

    async fn get(&self, path: &str) -> Value {
        let response = self.send(Method::GET, path, None).await;
        assert_eq!(response.status(), 200, "GET {path}");
        json_of(response).await
    }

    /// Creates something and returns its id.
    async fn create(&self, path: &str, body: Value) -> String {
        let response = self.send(Method::POST, path, Some(body)).await;
        assert_eq!(response.status(), 201, "POST {path}");
        let created = json_of(response).await;
        let (_, entity) = created.as_object().unwrap().iter().next().unwrap();
        entity["id"].as_str().unwrap().to_owned()
    }

    async fn user(&self, name: &str) -> String {
        let body = json!({"user": {"name": name, "password": format!("{name}-pass")}});
        self.create("/v3/users", body).await
    }

    async fn group(&self, name: &str) -> String {
        self.create("/v3/groups", json!({"group": {"name": name}}))
            .await
    }

    async fn role_id(&self, name: &str) -> String {
        self.s.storage().find_role_by_name(name).await.unwrap().id
    }
}

async fn admin(s: &TestServer) -> Admin<'_> {
    Admin {
        s,
        token: s.admin_token().await,
    }
}

/// A password login of `user` (password `<user>-pass`) with `scope`.
async fn login(s: &TestServer, user: &str, scope: Option<Value>) -> reqwest::Response {
    let body = password_body(user, &format!("{user}-pass"), scope);
    s.issue(&body, None).await
}

/// The status of validating `token` as the admin.
async fn validate(a: &Admin<'_>, token: &str) -> u16 {
    a.s.validate(&a.token, token).await.status().as_u16()
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn groups_are_managed_with_keystones_shapes_and_statuses() {
    let s = TestServer::start().await;
    let a = admin(&s).await;

    let created = a
        .send(
            Method::POST,
            "/v3/groups",
            Some(json!({"group": {"name": "ops", "description": "Operators"}})),
        )
        .await;
    assert_eq!(created.status(), 201);
    let group = json_of(created).await["group"].clone();
    let id = group["id"].as_str().unwrap().to_owned();
    assert_eq!(
        group,
        json!({"id": id, "name": "ops", "domain_id": "default", "description": "Operators",
               "links": {"self": s.url(&format!("/v3/groups/{id}"))}})
    );
    assert_eq!(a.get(&format!("/v3/groups/{id}")).await["group"], group);

    let long = "x".repeat(65);
    for (body, status) in [
        (json!({"group": {}}), 400),
        (json!({"group": {"name": ""}}), 400),
        (json!({"group": {"name": "   "}}), 400),
        (json!({"group": {"name": 7}}), 400),
        (json!({"group": {"name": long}}), 400),
        (json!({"group": {"name": "x", "description": 3}}), 400),
        (json!({"name": "x"}), 400),
        (json!({"group": {"name": "ops"}}), 409),
        (json!({"group": {"name": "x", "domain_id": "nope"}}), 404),
    ] {
        let refused = a.send(Method::POST, "/v3/groups", Some(body.clone())).await;
        assert_eq!(refused.status(), status, "{body}");
        assert!(json_of(refused).await["error"]["message"].is_string());
    }
    let not_json = s
        .call(Method::POST, "/v3/groups", &a.token)
        .header("content-type", "application/json")
        .body("{\"group\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert_eq!(json_of(not_json).await["error"]["code"], 400);

    // The same name in another domain is another group.
    let acme = a
        .create("/v3/domains", json!({"domain": {"name": "acme"}}))
        .await;
    let acme_ops = a
        .create(
            "/v3/groups",
            json!({"group": {"name": "ops", "domain_id": acme}}),
        )
        .await;
    a.group("devs").await;

    let listed = a.get("/v3/groups").await;
    assert_eq!(names(&listed, "groups"), ["devs", "ops", "ops"]);
    assert_eq!(
        listed["links"],
        json!({"self": s.url("/v3/groups"), "previous": null, "next": null})
    );
    let in_default = a.get("/v3/groups?domain_id=default").await;
    assert_eq!(names(&in_default, "groups"), ["devs", "ops"]);
    assert_eq!(
        names(&a.get("/v3/groups?name=ops").await, "groups").len(),
        2
    );
    let one = a
        .get(&format!("/v3/groups?domain_id={acme}&name=ops"))
        .await;
    assert_eq!(one["groups"][0]["id"], acme_ops.as_str());
    assert_eq!(one["groups"].as_array().unwrap().len(), 1);
    assert_eq!(a.get("/v3/groups?name=nobody").await["groups"], json!([]));

    // Update: name and description; no move, no duplicate.
    let path = format!("/v3/groups/{id}");
    let patched = a
        .send(
            Method::PATCH,
            &path,
            Some(json!({"group": {"name": "operators", "description": "On call"}})),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let patched = json_of(patched).await["group"].clone();
    assert_eq!(
        (&patched["name"], &patched["description"]),
        (&json!("operators"), &json!("On call"))
    );
    assert_eq!(a.get(&path).await["group"], patched);
    let kept_domain = a
        .send(
            Method::PATCH,
            &path,
            Some(json!({"group": {"domain_id": "default", "description": "Ops"}})),
        )
        .await;
    assert_eq!(kept_domain.status(), 200);
    for (body, status) in [
        (json!({"group": {"name": "devs"}}), 409),
        (json!({"group": {"name": ""}}), 400),
        (json!({"group": {"domain_id": acme}}), 400),
    ] {
        let refused = a.send(Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(refused.status(), status, "{body}");
        assert!(json_of(refused).await["error"]["message"].is_string());
    }
    assert_eq!(a.get(&path).await["group"]["name"], "operators");
    let body = json!({"group": {"name": "x"}});
    assert_eq!(
        a.send(Method::PATCH, "/v3/groups/nope", Some(body))
            .await
            .status(),
        404
    );
    assert_eq!(a.status(Method::GET, "/v3/groups/nope").await, 404);

    // Delete.
    assert_eq!(a.status(Method::DELETE, &path).await, 204);
    assert_eq!(a.status(Method::GET, &path).await, 404);
    assert_eq!(a.status(Method::DELETE, &path).await, 404);
    assert_eq!(names(&a.get("/v3/groups").await, "groups"), ["devs", "ops"]);

    // Every call is an event with its stable name.
    s.state.dispatcher().audit().flush().await;
    for event in ["group.create", "group.list", "group.get", "group.update"] {
        let rows = a.get(&format!("/v3/audit?event={event}")).await;
        assert!(!rows["audit"].as_array().unwrap().is_empty(), "{event}");
    }
}

#[tokio::test]
async fn membership_is_managed_and_listed_both_ways() {
    let s = TestServer::start().await;
    let a = admin(&s).await;
    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    let ops = a.group("ops").await;
    let devs = a.group("devs").await;
    let member = format!("/v3/groups/{ops}/users/{alice}");

    assert_eq!(a.status(Method::HEAD, &member).await, 404);
    assert_eq!(a.status(Method::GET, &member).await, 404);
    assert_eq!(a.status(Method::PUT, &member).await, 204);
    assert_eq!(a.status(Method::PUT, &member).await, 204, "idempotent");
    assert_eq!(a.status(Method::HEAD, &member).await, 204);
    assert_eq!(a.status(Method::GET, &member).await, 204, "GET checks too");
    assert_eq!(
        a.status(Method::PUT, &format!("/v3/groups/{devs}/users/{alice}"))
            .await,
        204
    );
    for path in [
        format!("/v3/groups/{ops}/users/nobody"),
        format!("/v3/groups/nothing/users/{alice}"),
    ] {
        for method in [Method::PUT, Method::HEAD, Method::DELETE] {
            assert_eq!(
                a.status(method.clone(), &path).await,
                404,
                "{method} {path}"
            );
        }
        let missing = a.send(Method::PUT, &path, None).await;
        assert!(json_of(missing).await["error"]["message"].is_string());
    }
    assert_eq!(
        a.status(Method::HEAD, &format!("/v3/groups/{ops}/users/{bob}"))
            .await,
        404,
        "bob is not a member"
    );

    let members = a.get(&format!("/v3/groups/{ops}/users")).await;
    assert_eq!(names(&members, "users"), ["alice"]);
    let user = &members["users"][0];
    assert_eq!(user["id"], alice.as_str());
    assert_eq!(user["domain_id"], "default");
    assert_eq!(user["links"]["self"], s.url(&format!("/v3/users/{alice}")));
    assert_eq!(
        members["links"]["self"],
        s.url(&format!("/v3/groups/{ops}/users"))
    );
    assert_eq!(a.status(Method::GET, "/v3/groups/nothing/users").await, 404);

    // A user's groups: for the admin and for the user themself only.
    let mine = a.get(&format!("/v3/users/{alice}/groups")).await;
    assert_eq!(names(&mine, "groups"), ["devs", "ops"]);
    assert_eq!(
        mine["links"]["self"],
        s.url(&format!("/v3/users/{alice}/groups"))
    );
    assert_eq!(
        mine["groups"][1]["links"]["self"],
        s.url(&format!("/v3/groups/{ops}"))
    );
    let alice_token = subject(&login(&s, "alice", None).await);
    let bob_token = subject(&login(&s, "bob", None).await);
    let as_alice = s
        .call(
            Method::GET,
            &format!("/v3/users/{alice}/groups"),
            &alice_token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(as_alice.status(), 200);
    assert_eq!(names(&json_of(as_alice).await, "groups"), ["devs", "ops"]);
    let as_bob = s
        .call(
            Method::GET,
            &format!("/v3/users/{alice}/groups"),
            &bob_token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(as_bob.status(), 403);
    assert!(json_of(as_bob).await["error"]["message"].is_string());
    assert_eq!(
        a.get(&format!("/v3/users/{bob}/groups")).await["groups"],
        json!([])
    );
    assert_eq!(a.status(Method::GET, "/v3/users/nobody/groups").await, 404);

    // Leaving.
    assert_eq!(a.status(Method::DELETE, &member).await, 204);
    assert_eq!(a.status(Method::DELETE, &member).await, 404);
    assert_eq!(a.status(Method::HEAD, &member).await, 404);
    assert_eq!(
        a.get(&format!("/v3/groups/{ops}/users")).await["users"],
        json!([])
    );
    assert_eq!(
        names(&a.get(&format!("/v3/users/{alice}/groups")).await, "groups"),
        ["devs"]
    );

    // Deleting a group ends its memberships; the users stay.
    assert_eq!(
        a.status(Method::DELETE, &format!("/v3/groups/{devs}"))
            .await,
        204
    );
    assert_eq!(
        a.get(&format!("/v3/users/{alice}/groups")).await["groups"],
        json!([])
    );
    assert_eq!(
        a.status(Method::GET, &format!("/v3/users/{alice}")).await,
        200
    );
}

#[tokio::test]
async fn a_group_grant_scopes_a_member_until_the_membership_or_the_grant_goes() {
    let s = TestServer::start().await;
    let a = admin(&s).await;
    let project = a
        .create("/v3/projects", json!({"project": {"name": "demo"}}))
        .await;
    let carol = a.user("carol").await;
    let ops = a.group("ops").await;
    let member_role = a.role_id("member").await;
    let grant = format!("/v3/projects/{project}/groups/{ops}/roles/{member_role}");
    let membership = format!("/v3/groups/{ops}/users/{carol}");
    let scope = || Some(json!({"project": {"id": project}}));

    // No role of her own, no membership: no project token.
    assert_eq!(login(&s, "carol", scope()).await.status(), 401);
    assert_eq!(a.status(Method::HEAD, &grant).await, 404);
    assert_eq!(a.status(Method::PUT, &grant).await, 204);
    assert_eq!(a.status(Method::HEAD, &grant).await, 204);
    assert_eq!(login(&s, "carol", scope()).await.status(), 401);

    // A member holds the group's role.
    assert_eq!(a.status(Method::PUT, &membership).await, 204);
    let issued = login(&s, "carol", scope()).await;
    assert_eq!(issued.status(), 201);
    let token = subject(&issued);
    let body = json_of(issued).await;
    assert_eq!(body["token"]["project"]["id"], project.as_str());
    let reader_role = a.role_id("reader").await;
    assert_eq!(
        body["token"]["roles"],
        json!([{"id": member_role, "name": "member"}, {"id": reader_role, "name": "reader"}]),
        "member, and reader which member implies"
    );
    assert_eq!(validate(&a, &token).await, 200);
    let unscoped = subject(&login(&s, "carol", None).await);

    // Leaving the group: the scoped token fails its next validation and a
    // new login is refused. As in Keystone, leaving revokes every token
    // the user holds (the unscoped one too, issued a second earlier).
    s.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(a.status(Method::DELETE, &membership).await, 204);
    assert_eq!(validate(&a, &token).await, 404);
    assert_eq!(validate(&a, &unscoped).await, 404);
    assert_eq!(login(&s, "carol", scope()).await.status(), 401);

    // Back in; then the grant goes: same outcome.
    assert_eq!(a.status(Method::PUT, &membership).await, 204);
    let token = subject(&login(&s, "carol", scope()).await);
    assert_eq!(validate(&a, &token).await, 200);
    assert_eq!(a.status(Method::DELETE, &grant).await, 204);
    assert_eq!(a.status(Method::HEAD, &grant).await, 404);
    assert_eq!(a.status(Method::DELETE, &grant).await, 404);
    assert_eq!(validate(&a, &token).await, 404);
    assert_eq!(login(&s, "carol", scope()).await.status(), 401);

    // Revoking one of a group's roles writes no revocation event (Keystone
    // recomputes roles instead): a member who keeps another role on the
    // scope keeps the token, now with that role alone.
    let reader_grant = format!("/v3/projects/{project}/groups/{ops}/roles/{reader_role}");
    assert_eq!(a.status(Method::PUT, &grant).await, 204);
    assert_eq!(a.status(Method::PUT, &reader_grant).await, 204);
    let issued = login(&s, "carol", scope()).await;
    let token = subject(&issued);
    assert_eq!(
        json_of(issued).await["token"]["roles"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    s.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(a.status(Method::DELETE, &grant).await, 204);
    let validated = s.validate(&a.token, &token).await;
    assert_eq!(validated.status(), 200);
    assert_eq!(
        json_of(validated).await["token"]["roles"],
        json!([{"id": reader_role, "name": "reader"}])
    );

    // Group grants on a domain and on the system scope those too.
    let domain_grant = format!("/v3/domains/default/groups/{ops}/roles/{member_role}");
    assert_eq!(
        login(&s, "carol", Some(json!({"domain": {"id": "default"}})))
            .await
            .status(),
        401
    );
    assert_eq!(a.status(Method::PUT, &domain_grant).await, 204);
    assert_eq!(a.status(Method::HEAD, &domain_grant).await, 204);
    let on_domain = login(&s, "carol", Some(json!({"domain": {"id": "default"}}))).await;
    assert_eq!(on_domain.status(), 201);
    let system_grant = format!("/v3/system/groups/{ops}/roles/{reader_role}");
    assert_eq!(a.status(Method::PUT, &system_grant).await, 204);
    assert_eq!(a.status(Method::HEAD, &system_grant).await, 204);
    let on_system = login(&s, "carol", Some(json!({"system": {"all": true}}))).await;
    assert_eq!(on_system.status(), 201);
    let system_token = subject(&on_system);
    assert_eq!(a.status(Method::DELETE, &system_grant).await, 204);
    assert_eq!(validate(&a, &system_token).await, 404);

    // Unknown group, role or target: 404.
    for path in [
        format!("/v3/projects/{project}/groups/nothing/roles/{member_role}"),
        format!("/v3/projects/{project}/groups/{ops}/roles/nothing"),
        format!("/v3/projects/nothing/groups/{ops}/roles/{member_role}"),
        format!("/v3/domains/nothing/groups/{ops}/roles/{member_role}"),
        format!("/v3/system/groups/nothing/roles/{member_role}"),
    ] {
        assert_eq!(a.status(Method::PUT, &path).await, 404, "{path}");
    }

    // Deleting a group that held roles revokes its members' tokens.
    let on_domain = subject(&login(&s, "carol", Some(json!({"domain": {"id": "default"}}))).await);
    let unscoped = subject(&login(&s, "carol", None).await);
    s.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(
        a.status(Method::DELETE, &format!("/v3/groups/{ops}")).await,
        204
    );
    assert_eq!(validate(&a, &on_domain).await, 404);
    assert_eq!(validate(&a, &unscoped).await, 404);
}

#[tokio::test]
async fn role_assignments_show_group_grants_and_expand_them_when_effective() {
    let s = TestServer::start().await;
    let a = admin(&s).await;
    let project = a
        .create("/v3/projects", json!({"project": {"name": "demo"}}))
        .await;
    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    let ops = a.group("ops").await;
    let idle = a.group("idle").await;
    let member = a.role_id("member").await;
    let reader = a.role_id("reader").await;
    for user in [&alice, &bob] {
        assert_eq!(
            a.status(Method::PUT, &format!("/v3/groups/{ops}/users/{user}"))
                .await,
            204
        );
    }
    let group_grant = format!("/v3/projects/{project}/groups/{ops}/roles/{member}");
    let alice_grant = format!("/v3/projects/{project}/users/{alice}/roles/{reader}");
    let idle_grant = format!("/v3/projects/{project}/groups/{idle}/roles/{reader}");
    for path in [&group_grant, &alice_grant, &idle_grant] {
        assert_eq!(a.status(Method::PUT, path).await, 204);
    }
    let on_project =
        |query: &str| format!("/v3/role_assignments?scope.project.id={project}{query}");
    let scope = json!({"project": {"id": project}});

    // Direct: the group's grants as group assignments.
    let listed = a.get(&on_project("")).await;
    let entries = listed["role_assignments"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{listed}");
    let group_entry = json!({"group": {"id": ops}, "role": {"id": member}, "scope": scope,
                             "links": {"assignment": s.url(&group_grant)}});
    let alice_entry = json!({"user": {"id": alice}, "role": {"id": reader}, "scope": scope,
                             "links": {"assignment": s.url(&alice_grant)}});
    assert!(entries.contains(&group_entry), "{listed}");
    assert!(entries.contains(&alice_entry), "{listed}");
    assert_eq!(
        listed["links"],
        json!({"self": s.url("/v3/role_assignments"), "previous": null, "next": null})
    );
    let by_group = a.get(&format!("/v3/role_assignments?group.id={ops}")).await;
    assert_eq!(by_group["role_assignments"], json!([group_entry]));

    // Effective: one user assignment per member, linked to the membership,
    // each followed by the role it implies (member implies reader, linked
    // to its prior role as Keystone links it); an empty group contributes
    // nothing.
    let via_group = |user: &str| {
        json!({"user": {"id": user}, "role": {"id": member}, "scope": scope,
               "links": {"assignment": s.url(&group_grant),
                         "membership": s.url(&format!("/v3/groups/{ops}/users/{user}"))}})
    };
    let implied_via_group = |user: &str| {
        json!({"user": {"id": user}, "role": {"id": reader}, "scope": scope,
               "links": {"assignment": s.url(&group_grant),
                         "membership": s.url(&format!("/v3/groups/{ops}/users/{user}")),
                         "prior_role": s.url(&format!("/v3/prior_role/{reader}/implies/{member}"))}})
    };
    for query in ["&effective", "&effective=true", "&effective=1"] {
        let effective = a.get(&on_project(query)).await;
        let entries = effective["role_assignments"].as_array().unwrap();
        assert_eq!(entries.len(), 5, "{query}: {effective}");
        assert!(entries.contains(&alice_entry), "{effective}");
        for user in [&alice, &bob] {
            assert!(entries.contains(&via_group(user)), "{effective}");
            assert!(entries.contains(&implied_via_group(user)), "{effective}");
        }
        assert!(entries.iter().all(|e| e.get("group").is_none()));
    }
    assert_eq!(
        a.get(&on_project("&effective=0")).await,
        listed,
        "effective=0 is off"
    );
    let bobs = a
        .get(&format!("/v3/role_assignments?user.id={bob}&effective"))
        .await;
    assert_eq!(
        bobs["role_assignments"],
        json!([via_group(&bob), implied_via_group(&bob)])
    );
    let bobs_direct = a.get(&format!("/v3/role_assignments?user.id={bob}")).await;
    assert_eq!(bobs_direct["role_assignments"], json!([]));
    // The role filter finds an implied role through the grant implying it.
    let readers = a
        .get(&format!(
            "/v3/role_assignments?user.id={alice}&role.id={reader}&effective"
        ))
        .await;
    assert_eq!(
        readers["role_assignments"],
        json!([alice_entry, implied_via_group(&alice)])
    );

    // Keystone refuses effective with a group filter.
    let refused = a
        .send(
            Method::GET,
            &format!("/v3/role_assignments?group.id={ops}&effective"),
            None,
        )
        .await;
    assert_eq!(refused.status(), 400);
    assert!(json_of(refused).await["error"]["message"].is_string());

    // A system grant to a group, linked to its own route.
    let system_grant = format!("/v3/system/groups/{ops}/roles/{reader}");
    assert_eq!(a.status(Method::PUT, &system_grant).await, 204);
    let on_system = a.get("/v3/role_assignments?scope.system=all").await;
    let entries = on_system["role_assignments"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "the admin's and the group's");
    assert!(entries.contains(&json!({
        "group": {"id": ops}, "role": {"id": reader}, "scope": {"system": {"all": true}},
        "links": {"assignment": s.url(&system_grant)}})));
}

#[tokio::test]
async fn only_admins_manage_groups_memberships_and_group_grants() {
    let s = TestServer::start().await;
    let a = admin(&s).await;
    let plain = a.user("plain").await;
    let ops = a.group("ops").await;
    let member = a.role_id("member").await;
    let project = &s.admin.project.id;
    // A project-scoped token with the member role: authenticated, not admin.
    assert_eq!(
        a.status(
            Method::PUT,
            &format!("/v3/projects/{project}/users/{plain}/roles/{member}")
        )
        .await,
        204
    );
    let issued = login(&s, "plain", Some(json!({"project": {"id": project}}))).await;
    assert_eq!(issued.status(), 201);
    let token = subject(&issued);
    let body = Some(json!({"group": {"name": "x"}}));
    for (method, path) in [
        (Method::GET, "/v3/groups".to_owned()),
        (Method::POST, "/v3/groups".to_owned()),
        (Method::GET, format!("/v3/groups/{ops}")),
        (Method::PATCH, format!("/v3/groups/{ops}")),
        (Method::DELETE, format!("/v3/groups/{ops}")),
        (Method::GET, format!("/v3/groups/{ops}/users")),
        (Method::PUT, format!("/v3/groups/{ops}/users/{plain}")),
        (Method::HEAD, format!("/v3/groups/{ops}/users/{plain}")),
        (Method::DELETE, format!("/v3/groups/{ops}/users/{plain}")),
        (
            Method::PUT,
            format!("/v3/projects/{project}/groups/{ops}/roles/{member}"),
        ),
        (
            Method::HEAD,
            format!("/v3/projects/{project}/groups/{ops}/roles/{member}"),
        ),
        (
            Method::DELETE,
            format!("/v3/domains/default/groups/{ops}/roles/{member}"),
        ),
        (
            Method::PUT,
            format!("/v3/system/groups/{ops}/roles/{member}"),
        ),
        (Method::GET, "/v3/role_assignments?effective".to_owned()),
        (Method::GET, format!("/v3/users/{}/groups", s.admin.user.id)),
    ] {
        let mut request = s.call(method.clone(), &path, &token);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{method} {path}");
        if method != Method::HEAD {
            let error = json_of(response).await;
            assert_eq!(error["error"]["code"], 403, "{method} {path}");
        }
    }
    // Nothing changed, and without a token it is a 401.
    assert_eq!(names(&a.get("/v3/groups").await, "groups"), ["ops"]);
    assert_eq!(
        a.get(&format!("/v3/groups/{ops}/users")).await["users"],
        json!([])
    );
    assert_eq!(
        s.client
            .get(s.url("/v3/groups"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}
