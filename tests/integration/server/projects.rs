//! `/v3/projects` as Keystone has it: the hierarchy (`parent_id`, its depth
//! limit, the `parents_as_*` and `subtree_as_*` expansions, what a parent
//! refuses), projects acting as domains, names of at most 64 characters,
//! project tags and their filters, `?enabled=`; and deleting a disabled
//! domain with everything it holds.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{TestServer, password_body, status_of, subject};

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

/// Creates a project from `body` (the members of `project`); its JSON.
async fn create(s: &TestServer, admin: &str, body: Value) -> Value {
    let response = s
        .call(Method::POST, "/v3/projects", admin)
        .json(&json!({ "project": body }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{body}");
    json_of(response).await["project"].clone()
}

/// The status and body of a call.
async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn projects_nest_within_their_domain_and_the_depth_limit() {
    let s = TestServer::start_with("[resource]\nmax_project_tree_depth = 3").await;
    let admin = s.admin_token().await;
    let call = |method: Method, path: &str| s.call(method, path, &admin);

    let top = create(&s, &admin, json!({"name": "top", "domain_id": "default"})).await;
    assert_eq!(
        top["parent_id"], "default",
        "a top project's parent is its domain"
    );
    assert_eq!(top["is_domain"], false);
    assert_eq!(top["tags"], json!([]));
    let top_id = top["id"].as_str().unwrap().to_owned();
    // No domain named: the parent's.
    let middle = create(&s, &admin, json!({"name": "middle", "parent_id": top_id})).await;
    assert_eq!(middle["parent_id"], top_id.as_str());
    assert_eq!(middle["domain_id"], "default");
    let middle_id = middle["id"].as_str().unwrap().to_owned();
    let leaf = create(&s, &admin, json!({"name": "leaf", "parent_id": middle_id})).await;
    let leaf_id = leaf["id"].as_str().unwrap().to_owned();
    // A parent naming the domain is a top project.
    let beside = create(
        &s,
        &admin,
        json!({"name": "beside", "parent_id": "default"}),
    )
    .await;
    assert_eq!(beside["parent_id"], "default");

    // Three deep is the limit here: a fourth level is Keystone's 403.
    let (status, body) = answer(
        call(Method::POST, "/v3/projects")
            .json(&json!({"project": {"name": "too-deep", "parent_id": leaf_id}})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"]["message"],
        format!("Max hierarchy depth reached for {leaf_id} branch.")
    );

    // A parent that does not exist, or of another domain, is a 400.
    let other = s
        .created_id(&admin, "/v3/domains", json!({"domain": {"name": "other"}}))
        .await;
    for body in [
        json!({"name": "orphan", "parent_id": "no-such-project"}),
        json!({"name": "stray", "parent_id": top_id, "domain_id": other}),
        json!({"name": "stray", "domain_id": "no-such-domain"}),
    ] {
        let (status, answered) =
            answer(call(Method::POST, "/v3/projects").json(&json!({ "project": body }))).await;
        assert_eq!(status, 400, "{body}: {answered}");
    }

    // Names: 64 characters at most, as Keystone's schema.
    let long = "n".repeat(65);
    let (status, _) =
        answer(call(Method::POST, "/v3/projects").json(&json!({"project": {"name": long}}))).await;
    assert_eq!(status, 400);
    create(&s, &admin, json!({"name": "n".repeat(64)})).await;
    let (status, _) = answer(
        call(Method::PATCH, &format!("/v3/projects/{top_id}"))
            .json(&json!({"project": {"name": "m".repeat(65)}})),
    )
    .await;
    assert_eq!(status, 400);

    // ?parent_id= lists the children; a top project's parent is its domain.
    let children = json_of(
        call(Method::GET, &format!("/v3/projects?parent_id={top_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(&children, "projects"), std::slice::from_ref(&middle_id));
    let tops = json_of(
        call(Method::GET, "/v3/projects?parent_id=default")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(ids(&tops, "projects").contains(&top_id));
    assert!(!ids(&tops, "projects").contains(&middle_id));

    // The ids above and below, nested, as Keystone's *_as_ids.
    let read = |query: String| {
        let request = call(Method::GET, &format!("/v3/projects/{middle_id}?{query}"));
        answer(request)
    };
    let (status, body) = read("parents_as_ids&subtree_as_ids".into()).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["project"]["parents"],
        json!({ top_id.clone(): {"default": null} })
    );
    assert_eq!(body["project"]["subtree"], json!({ leaf_id.clone(): null }));
    // The lists show only the projects the caller holds a role on.
    let member = s.role_id(&admin, "member").await.unwrap();
    let me = &s.admin.user.id;
    assert_eq!(
        call(
            Method::PUT,
            &format!("/v3/projects/{leaf_id}/users/{me}/roles/{member}")
        )
        .send()
        .await
        .unwrap()
        .status(),
        204
    );
    let (_, body) = read("parents_as_list&subtree_as_list".into()).await;
    assert_eq!(body["project"]["parents"], json!([]));
    let subtree = body["project"]["subtree"].as_array().unwrap();
    assert_eq!(subtree.len(), 1);
    assert_eq!(subtree[0]["project"]["id"], leaf_id.as_str());
    let (status, _) = read("parents_as_list&parents_as_ids".into()).await;
    assert_eq!(status, 400);
    let (status, _) = read("subtree_as_list&subtree_as_ids".into()).await;
    assert_eq!(status, 400);
    let (_, body) = read("parents_as_list=0".into()).await;
    assert!(body["project"].get("parents").is_none());

    // A parent is never changed, nor a domain; a project with children is
    // not deleted; a subtree with enabled projects is not disabled.
    let middle_path = format!("/v3/projects/{middle_id}");
    for (body, status) in [
        (json!({"parent_id": "default"}), 403),
        (json!({"domain_id": other}), 400),
        (json!({"is_domain": true}), 400),
        (json!({"id": "another"}), 400),
        (json!({"enabled": false}), 403),
    ] {
        let (got, answered) =
            answer(call(Method::PATCH, &middle_path).json(&json!({ "project": body }))).await;
        assert_eq!(got, status, "{body}: {answered}");
    }
    let (status, body) = answer(call(Method::DELETE, &middle_path)).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a leaf")
    );

    // Disabled from the leaf up; the leaf cannot be enabled again under a
    // disabled parent, nor a project made under one.
    let disable = |path: String, enabled: bool| {
        let request = call(Method::PATCH, &path).json(&json!({"project": {"enabled": enabled}}));
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(disable(format!("/v3/projects/{leaf_id}"), false).await, 200);
    assert_eq!(disable(middle_path.clone(), false).await, 200);
    assert_eq!(disable(format!("/v3/projects/{leaf_id}"), true).await, 403);
    let (status, _) = answer(
        call(Method::POST, "/v3/projects")
            .json(&json!({"project": {"name": "under-disabled", "parent_id": middle_id}})),
    )
    .await;
    assert_eq!(status, 400);

    // From the leaf up, they go.
    for id in [&leaf_id, &middle_id, &top_id] {
        let status = status_of(call(Method::DELETE, &format!("/v3/projects/{id}"))).await;
        assert_eq!(status, 204);
    }
}

#[tokio::test]
async fn a_project_acting_as_a_domain_is_a_domain() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let call = |method: Method, path: &str| s.call(method, path, &admin);

    let project = create(
        &s,
        &admin,
        json!({"name": "acting", "is_domain": true, "description": "a domain"}),
    )
    .await;
    assert_eq!(project["is_domain"], true);
    assert_eq!(project["domain_id"], Value::Null);
    assert_eq!(project["parent_id"], Value::Null);
    let id = project["id"].as_str().unwrap().to_owned();
    let (status, domain) = answer(call(Method::GET, &format!("/v3/domains/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(domain["domain"]["name"], "acting");
    let (status, read) = answer(call(Method::GET, &format!("/v3/projects/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(read["project"]["is_domain"], true);
    let listed = json_of(
        call(Method::GET, "/v3/projects?is_domain=true")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let listed = ids(&listed, "projects");
    assert!(listed.contains(&id) && listed.contains(&"default".to_owned()));
    let plain = json_of(call(Method::GET, "/v3/projects").send().await.unwrap()).await;
    assert!(!ids(&plain, "projects").contains(&id));
    let (status, _) =
        answer(call(Method::POST, "/v3/projects").json(
            &json!({"project": {"name": "child-domain", "is_domain": true, "parent_id": id}}),
        ))
        .await;
    assert_eq!(status, 400, "only root projects act as domains");

    // Updated and deleted through /v3/projects too, as the domain it is.
    let path = format!("/v3/projects/{id}");
    assert_eq!(
        call(Method::DELETE, &path).send().await.unwrap().status(),
        403
    );
    let (status, patched) = answer(
        call(Method::PATCH, &path)
            .json(&json!({"project": {"enabled": false, "description": "off"}})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["project"]["enabled"], false);
    assert_eq!(patched["project"]["is_domain"], true);
    let (_, domain) = answer(call(Method::GET, &format!("/v3/domains/{id}"))).await;
    assert_eq!(domain["domain"]["description"], "off");
    let (status, _) =
        answer(call(Method::PATCH, &path).json(&json!({"project": {"parent_id": "default"}})))
            .await;
    assert_eq!(status, 400);
    assert_eq!(
        call(Method::DELETE, &path).send().await.unwrap().status(),
        204
    );
    assert_eq!(
        status_of(call(Method::GET, &format!("/v3/domains/{id}"))).await,
        404
    );
    assert_eq!(call(Method::GET, &path).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn project_tags_are_kept_changed_and_filtered() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let call = |method: Method, path: &str| s.call(method, path, &admin);

    let a = create(&s, &admin, json!({"name": "a", "tags": ["red", "blue"]})).await;
    assert_eq!(a["tags"], json!(["red", "blue"]));
    let a_id = a["id"].as_str().unwrap().to_owned();
    let b_id = create(&s, &admin, json!({"name": "b", "tags": ["red"]})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c_id = create(&s, &admin, json!({"name": "c"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for tags in [
        json!(["a,b"]),
        json!(["a/b"]),
        json!([""]),
        json!(["x", "x"]),
    ] {
        let (status, _) = answer(
            call(Method::POST, "/v3/projects")
                .json(&json!({"project": {"name": "bad-tags", "tags": tags}})),
        )
        .await;
        assert_eq!(status, 400, "{tags}");
    }
    let too_many: Vec<String> = (0..81).map(|i| format!("t{i}")).collect();
    let (status, _) = answer(
        call(Method::PUT, &format!("/v3/projects/{c_id}/tags")).json(&json!({ "tags": too_many })),
    )
    .await;
    assert_eq!(status, 400);

    // The filters: every one, any one, not every one, none.
    let filtered = |query: &str| {
        let request = call(Method::GET, &format!("/v3/projects?{query}"));
        let (a_id, b_id, c_id) = (&a_id, &b_id, &c_id);
        async move {
            let mut found = ids(&json_of(request.send().await.unwrap()).await, "projects");
            found.retain(|id| [a_id, b_id, c_id].contains(&id));
            found.sort();
            found
        }
    };
    let sorted = |mut v: Vec<&String>| {
        v.sort();
        v.into_iter().cloned().collect::<Vec<String>>()
    };
    assert_eq!(filtered("tags=red,blue").await, sorted(vec![&a_id]));
    assert_eq!(filtered("tags=red").await, sorted(vec![&a_id, &b_id]));
    assert_eq!(filtered("tags-any=blue,green").await, sorted(vec![&a_id]));
    assert_eq!(
        filtered("not-tags=red,blue").await,
        sorted(vec![&b_id, &c_id])
    );
    assert_eq!(
        filtered("not-tags-any=blue").await,
        sorted(vec![&b_id, &c_id])
    );
    assert_eq!(
        filtered("tags=red&not-tags-any=blue").await,
        sorted(vec![&b_id])
    );

    // /v3/projects/{id}/tags.
    let tags_path = format!("/v3/projects/{a_id}/tags");
    let (status, body) = answer(call(Method::GET, &tags_path)).await;
    assert_eq!(status, 200);
    assert_eq!(body["tags"], json!(["red", "blue"]));
    assert!(
        body["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&tags_path)
    );
    let (status, body) =
        answer(call(Method::PUT, &tags_path).json(&json!({"tags": ["green", "gold"]}))).await;
    assert_eq!(
        (status, body["tags"].clone()),
        (200, json!(["green", "gold"]))
    );
    let one = |tag: &str| format!("{tags_path}/{tag}");
    assert_eq!(status_of(call(Method::GET, &one("green"))).await, 204);
    assert_eq!(status_of(call(Method::GET, &one("red"))).await, 404);
    let added = call(Method::PUT, &one("silver")).send().await.unwrap();
    assert_eq!(added.status(), 201);
    assert!(
        added.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with(&one("silver"))
    );
    assert_eq!(
        status_of(call(Method::PUT, &one("silver"))).await,
        400,
        "tags stay unique, as Keystone validates them"
    );
    assert_eq!(status_of(call(Method::DELETE, &one("green"))).await, 204);
    assert_eq!(status_of(call(Method::DELETE, &one("green"))).await, 404);
    let (_, project) = answer(call(Method::GET, &format!("/v3/projects/{a_id}"))).await;
    assert_eq!(project["project"]["tags"], json!(["gold", "silver"]));
    let (status, patched) = answer(
        call(Method::PATCH, &format!("/v3/projects/{a_id}"))
            .json(&json!({"project": {"tags": ["one"]}})),
    )
    .await;
    assert_eq!(
        (status, patched["project"]["tags"].clone()),
        (200, json!(["one"]))
    );
    assert_eq!(status_of(call(Method::DELETE, &tags_path)).await, 204);
    let (_, body) = answer(call(Method::GET, &tags_path)).await;
    assert_eq!(body["tags"], json!([]));
    assert_eq!(
        status_of(call(Method::GET, "/v3/projects/nope/tags")).await,
        404
    );

    // A member may read tags, not change them (Keystone's defaults).
    let member = s.role_id(&admin, "member").await.unwrap();
    s.create_user_with_role(&admin, "tagger", "tagger-pass", Some(&member))
        .await;
    let scope = json!({"project": {"id": s.admin.project.id}});
    let token = subject(
        &s.issue(&password_body("tagger", "tagger-pass", Some(scope)), None)
            .await,
    );
    let own = format!("/v3/projects/{}/tags", s.admin.project.id);
    assert_eq!(status_of(s.call(Method::GET, &own, &token)).await, 200);
    assert_eq!(
        status_of(s.call(Method::PUT, &format!("{own}/x"), &token)).await,
        403
    );
}

#[tokio::test]
async fn listings_filter_on_enabled() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let call = |method: Method, path: &str| s.call(method, path, &admin);

    let off = create(&s, &admin, json!({"name": "off", "enabled": false})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = s
        .created_id(
            &admin,
            "/v3/users",
            json!({"user": {"name": "sleeper", "enabled": false}}),
        )
        .await;
    let domain = s
        .created_id(
            &admin,
            "/v3/domains",
            json!({"domain": {"name": "dormant", "enabled": false}}),
        )
        .await;
    for (path, key, id) in [
        ("/v3/projects", "projects", &off),
        ("/v3/users", "users", &user),
        ("/v3/domains", "domains", &domain),
    ] {
        let listed = |query: &'static str| {
            let request = call(Method::GET, &format!("{path}?{query}"));
            async move { ids(&json_of(request.send().await.unwrap()).await, key) }
        };
        let disabled = listed("enabled=false").await;
        assert_eq!(disabled, std::slice::from_ref(id), "{path}");
        let enabled = listed("enabled=true").await;
        assert!(!enabled.contains(id) && !enabled.is_empty(), "{path}");
        assert!(listed("enabled=0").await.contains(id), "{path}");
        assert_eq!(listed("").await.len(), disabled.len() + enabled.len());
    }
}

#[tokio::test]
async fn deleting_a_disabled_domain_deletes_what_it_holds_and_revokes_its_tokens() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let call = |method: Method, path: &str| s.call(method, path, &admin);

    let domain = s
        .created_id(&admin, "/v3/domains", json!({"domain": {"name": "doomed"}}))
        .await;
    let top = create(&s, &admin, json!({"name": "top", "domain_id": domain})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let child = create(&s, &admin, json!({"name": "child", "parent_id": top})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = s
        .created_id(
            &admin,
            "/v3/users",
            json!({"user": {"name": "inside", "domain_id": domain, "password": "inside-pass"}}),
        )
        .await;
    let group = s
        .created_id(
            &admin,
            "/v3/groups",
            json!({"group": {"name": "crew", "domain_id": domain}}),
        )
        .await;
    let role = s
        .created_id(
            &admin,
            "/v3/roles",
            json!({"role": {"name": "local", "domain_id": domain}}),
        )
        .await;
    let member = s.role_id(&admin, "member").await.unwrap();
    // An outsider (of the default domain) with a role on the child project.
    let outsider = s
        .create_user_with_role(&admin, "outsider", "outsider-pass", None)
        .await;
    for grant in [
        format!("/v3/projects/{child}/users/{outsider}/roles/{member}"),
        format!("/v3/projects/{top}/users/{user}/roles/{member}"),
        format!("/v3/domains/{domain}/groups/{group}/roles/{member}"),
    ] {
        assert_eq!(
            call(Method::PUT, &grant).send().await.unwrap().status(),
            204,
            "{grant}"
        );
    }
    let credential = s
        .created_id(
            &admin,
            "/v3/credentials",
            json!({"credential": {"user_id": user, "type": "cert", "blob": "x"}}),
        )
        .await;
    let scoped = subject(
        &s.issue(
            &password_body(
                "outsider",
                "outsider-pass",
                Some(json!({"project": {"id": child}})),
            ),
            None,
        )
        .await,
    );
    let inside = s
        .issue(
            &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "id": user, "password": "inside-pass"}}}, "scope": {"project": {"id": top}}}}),
            None,
        )
        .await;
    assert_eq!(inside.status(), 201);
    let inside = subject(&inside);
    let validate = |token: &str| {
        s.call(Method::GET, "/v3/auth/tokens", &admin)
            .header("X-Subject-Token", token)
            .send()
    };
    assert_eq!(validate(&scoped).await.unwrap().status(), 200);

    let path = format!("/v3/domains/{domain}");
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
    // The outsider's token is on a project of the domain, not the domain:
    // disabling alone leaves it; deleting the domain ends it.
    let second = s.second_node().await;
    let on_second = |token: &str| {
        second
            .call(Method::GET, "/v3/auth/tokens", &admin)
            .header("X-Subject-Token", token)
            .send()
    };
    let _ = on_second(&scoped).await.unwrap();
    assert_eq!(
        call(Method::DELETE, &path).send().await.unwrap().status(),
        204
    );
    for gone in [
        path.clone(),
        format!("/v3/projects/{top}"),
        format!("/v3/projects/{child}"),
        format!("/v3/users/{user}"),
        format!("/v3/groups/{group}"),
        format!("/v3/roles/{role}"),
        format!("/v3/credentials/{credential}"),
    ] {
        assert_eq!(
            call(Method::GET, &gone).send().await.unwrap().status(),
            404,
            "{gone}"
        );
    }
    for token in [&scoped, &inside] {
        assert_eq!(validate(token).await.unwrap().status(), 404);
        assert_eq!(
            on_second(token).await.unwrap().status(),
            404,
            "the cache is exact"
        );
    }
    // The outsider stays, without the grant.
    let (status, assignments) = answer(call(
        Method::GET,
        &format!("/v3/role_assignments?user.id={outsider}"),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(assignments["role_assignments"], json!([]));
    let audit = s.audit_of("domain.delete").await;
    assert!(audit.iter().any(|row| row.success));
}
