//! Catalog administration over HTTP: `/v3/services`, `/v3/endpoints`,
//! `/v3/regions`, `/v3/OS-EP-FILTER`, and the catalog tokens and
//! `GET /v3/auth/catalog` show, built from the same tables, on every node.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{ADMIN_PASSWORD, TestServer, password_body, subject};

/// `method path` with `body` as the admin; the status and the JSON body
/// (`Null` when empty).
async fn send(
    s: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = s.call(method, path, token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, json)
}

async fn create_service(s: &TestServer, admin: &str, kind: &str, name: &str) -> String {
    let (status, body) = send(
        s,
        admin,
        Method::POST,
        "/v3/services",
        Some(json!({"service": {"type": kind, "name": name}})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["service"]["id"].as_str().unwrap().to_owned()
}

async fn create_endpoint(s: &TestServer, admin: &str, endpoint: Value) -> String {
    let (status, body) = send(
        s,
        admin,
        Method::POST,
        "/v3/endpoints",
        Some(json!({"endpoint": endpoint})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["endpoint"]["id"].as_str().unwrap().to_owned()
}

/// The ids of the endpoints of a catalog.
fn endpoint_ids(catalog: &Value) -> Vec<String> {
    let mut ids: Vec<String> = catalog
        .as_array()
        .unwrap_or_else(|| panic!("not a catalog: {catalog}"))
        .iter()
        .flat_map(|s| s["endpoints"].as_array().unwrap().clone())
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The catalog a fresh project-scoped admin token carries, and the one
/// `GET /v3/auth/catalog` answers for it (asserted equal).
async fn admin_catalog(s: &TestServer, project: &str) -> Value {
    let response = s
        .issue(
            &password_body(
                "admin",
                ADMIN_PASSWORD,
                Some(json!({"project": {"id": project}})),
            ),
            None,
        )
        .await;
    assert_eq!(response.status(), 201);
    let token = subject(&response);
    let body: Value = response.json().await.unwrap();
    let (status, listed) = send(s, &token, Method::GET, "/v3/auth/catalog", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["catalog"], body["token"]["catalog"]);
    body["token"]["catalog"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_are_created_listed_updated_and_deleted_with_their_endpoints() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let (status, body) = send(
        &s,
        &admin,
        Method::POST,
        "/v3/services",
        Some(json!({"service": {"type": "compute", "name": "nova", "description": "VMs"}})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let service = &body["service"];
    let id = service["id"].as_str().unwrap();
    assert_eq!(service["type"], "compute");
    assert_eq!(service["name"], "nova");
    assert_eq!(service["description"], "VMs");
    assert_eq!(service["enabled"], true);
    assert!(
        service["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v3/services/{id}"))
    );

    // A type is required; a type of the wrong kind is refused.
    for bad in [
        json!({"name": "x"}),
        json!({"type": ""}),
        json!({"type": 3}),
    ] {
        let (status, body) = send(
            &s,
            &admin,
            Method::POST,
            "/v3/services",
            Some(json!({"service": bad})),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], 400);
    }

    let (_, listed) = send(&s, &admin, Method::GET, "/v3/services?type=compute", None).await;
    let listed = listed["services"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id);
    let (_, all) = send(&s, &admin, Method::GET, "/v3/services", None).await;
    assert_eq!(
        all["services"].as_array().unwrap().len(),
        2,
        "with bootstrap's identity"
    );

    let (status, updated) = send(
        &s,
        &admin,
        Method::PATCH,
        &format!("/v3/services/{id}"),
        Some(json!({"service": {"name": "nova2", "enabled": false, "description": "more VMs"}})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["service"]["name"], "nova2");
    assert_eq!(updated["service"]["enabled"], false);
    assert_eq!(updated["service"]["type"], "compute");
    let (_, got) = send(&s, &admin, Method::GET, &format!("/v3/services/{id}"), None).await;
    assert_eq!(got["service"], updated["service"]);
    let (status, _) = send(
        &s,
        &admin,
        Method::PATCH,
        &format!("/v3/services/{id}"),
        Some(json!({"service": {"id": "other"}})),
    )
    .await;
    assert_eq!(status, 400);

    let endpoint = create_endpoint(
        &s,
        &admin,
        json!({"service_id": id, "interface": "public", "url": "http://nova:8774/v2.1"}),
    )
    .await;
    let (status, _) = send(
        &s,
        &admin,
        Method::DELETE,
        &format!("/v3/services/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = send(&s, &admin, Method::GET, &format!("/v3/services/{id}"), None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], 404);
    let (status, _) = send(
        &s,
        &admin,
        Method::GET,
        &format!("/v3/endpoints/{endpoint}"),
        None,
    )
    .await;
    assert_eq!(status, 404, "the service's endpoint went with it");
    let (status, _) = send(
        &s,
        &admin,
        Method::DELETE,
        &format!("/v3/services/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let created = s.audit_of("service.create").await;
    let created: Vec<_> = created.iter().filter(|r| r.success).collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].detail["request"]["service_id"], id);
    assert_eq!(created[0].detail["policy"], "identity:create_service");
    let deleted = s.audit_of("service.delete").await;
    assert!(
        deleted
            .iter()
            .any(|r| r.detail["request"]["service_id"] == id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_take_keystones_regions_filters_and_checks() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let service = create_service(&s, &admin, "image", "glance").await;

    // region_id must name a region; the legacy region is created.
    let (status, body) = send(
        &s,
        &admin,
        Method::POST,
        "/v3/endpoints",
        Some(
            json!({"endpoint": {"service_id": service, "interface": "public",
                                 "url": "http://glance:9292", "region_id": "nowhere"}}),
        ),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = send(
        &s,
        &admin,
        Method::POST,
        "/v3/endpoints",
        Some(
            json!({"endpoint": {"service_id": service, "interface": "public",
                                 "url": "http://glance:9292", "region": "RegionTwo",
                                 "name": "glance-public"}}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let public = body["endpoint"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["endpoint"]["region"], "RegionTwo");
    assert_eq!(body["endpoint"]["region_id"], "RegionTwo");
    assert_eq!(body["endpoint"]["enabled"], true);
    assert_eq!(body["endpoint"]["name"], "glance-public");
    let (status, _) = send(&s, &admin, Method::GET, "/v3/regions/RegionTwo", None).await;
    assert_eq!(status, 200, "the legacy region was created");
    let internal = create_endpoint(
        &s,
        &admin,
        json!({"service_id": service, "interface": "internal", "url": "http://glance-int:9292",
               "region_id": "RegionTwo"}),
    )
    .await;

    // Keystone's 400s.
    for bad in [
        json!({"service_id": service, "interface": "sideways", "url": "http://g"}),
        json!({"service_id": service, "interface": "public", "url": "not a url"}),
        json!({"service_id": service, "interface": "public", "url": "http://g/$(admin_token)s"}),
        json!({"service_id": "no-such-service", "interface": "public", "url": "http://g"}),
        json!({"interface": "public", "url": "http://g"}),
        json!({"service_id": service, "url": "http://g"}),
        json!({"service_id": service, "interface": "public"}),
    ] {
        let (status, body) = send(
            &s,
            &admin,
            Method::POST,
            "/v3/endpoints",
            Some(json!({"endpoint": bad.clone()})),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    let ids = |body: &Value| -> Vec<String> {
        let mut ids: Vec<String> = body["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let (_, listed) = send(
        &s,
        &admin,
        Method::GET,
        "/v3/endpoints?interface=internal",
        None,
    )
    .await;
    assert_eq!(ids(&listed), [internal.as_str()]);
    let (_, listed) = send(
        &s,
        &admin,
        Method::GET,
        &format!("/v3/endpoints?service_id={service}"),
        None,
    )
    .await;
    let mut both = vec![public.clone(), internal.clone()];
    both.sort();
    assert_eq!(ids(&listed), both);
    let (_, listed) = send(
        &s,
        &admin,
        Method::GET,
        "/v3/endpoints?region_id=RegionTwo",
        None,
    )
    .await;
    assert_eq!(ids(&listed), both);
    let (status, _) = send(
        &s,
        &admin,
        Method::GET,
        "/v3/endpoints?interface=sideways",
        None,
    )
    .await;
    assert_eq!(status, 400);

    let (status, updated) = send(
        &s,
        &admin,
        Method::PATCH,
        &format!("/v3/endpoints/{internal}"),
        Some(json!({"endpoint": {"url": "http://glance-2:9292", "enabled": false, "region_id": null}})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["endpoint"]["url"], "http://glance-2:9292");
    assert_eq!(updated["endpoint"]["enabled"], false);
    assert_eq!(updated["endpoint"]["region_id"], Value::Null);
    assert_eq!(updated["endpoint"]["interface"], "internal");
    let (_, got) = send(
        &s,
        &admin,
        Method::GET,
        &format!("/v3/endpoints/{internal}"),
        None,
    )
    .await;
    assert_eq!(got["endpoint"], updated["endpoint"]);
    let (status, _) = send(
        &s,
        &admin,
        Method::PATCH,
        &format!("/v3/endpoints/{internal}"),
        Some(json!({"endpoint": {"region_id": "nowhere"}})),
    )
    .await;
    assert_eq!(status, 400);

    // A project member may not administer the catalog.
    let member = s.role_id(&admin, "member").await.unwrap();
    s.create_user_with_role(&admin, "carol", "carol-pass", Some(&member))
        .await;
    let response = s
        .issue(
            &password_body(
                "carol",
                "carol-pass",
                Some(json!({"project": {"id": s.admin.project.id}})),
            ),
            None,
        )
        .await;
    let carol = subject(&response);
    let (status, body) = send(
        &s,
        &carol,
        Method::POST,
        "/v3/endpoints",
        Some(json!({"endpoint": {"service_id": service, "interface": "admin", "url": "http://g"}})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = send(
        &s,
        &carol,
        Method::DELETE,
        &format!("/v3/endpoints/{public}"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(
        &s,
        &carol,
        Method::POST,
        "/v3/services",
        Some(json!({"service": {"type": "x"}})),
    )
    .await;
    assert_eq!(status, 403);
    // Keystone 30 lets anyone read a region, and only readers of the
    // system (and admins) list services and endpoints.
    let (status, _) = send(&s, &carol, Method::GET, "/v3/regions/RegionTwo", None).await;
    assert_eq!(status, 200);
    for path in [
        "/v3/services",
        "/v3/endpoints",
        "/v3/OS-EP-FILTER/endpoint_groups",
    ] {
        let (status, _) = send(&s, &carol, Method::GET, path, None).await;
        assert_eq!(status, 403, "{path}");
    }

    let (status, _) = send(
        &s,
        &admin,
        Method::DELETE,
        &format!("/v3/endpoints/{public}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = send(
        &s,
        &admin,
        Method::DELETE,
        &format!("/v3/endpoints/{public}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_nest_refuse_cycles_and_go_with_the_regions_below() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let region = |body: Value| Some(json!({"region": body}));
    let (status, body) = send(
        &s,
        &admin,
        Method::POST,
        "/v3/regions",
        region(json!({"id": "Europe", "description": "EU"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["region"]["id"], "Europe");
    assert_eq!(body["region"]["description"], "EU");
    assert_eq!(body["region"]["parent_region_id"], Value::Null);
    assert!(
        body["region"]["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with("/v3/regions/Europe")
    );
    // Without an id (or with a null one, and a null parent, as the
    // openstack CLI sends them), one is made.
    for body in [json!({}), json!({"id": null, "parent_region_id": null})] {
        let (status, body) = send(&s, &admin, Method::POST, "/v3/regions", region(body)).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["region"]["id"].as_str().unwrap().len(), 32);
        assert_eq!(body["region"]["description"], "");
        assert_eq!(body["region"]["parent_region_id"], Value::Null);
    }
    // PUT with the id in the path; a different one in the body is a 400.
    let (status, body) = send(
        &s,
        &admin,
        Method::PUT,
        "/v3/regions/Paris",
        region(json!({"parent_region_id": "Europe"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["region"]["parent_region_id"], "Europe");
    let (status, _) = send(
        &s,
        &admin,
        Method::PUT,
        "/v3/regions/Lyon",
        region(json!({"id": "Nice"})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = send(
        &s,
        &admin,
        Method::PUT,
        "/v3/regions/Paris",
        region(json!({})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = send(
        &s,
        &admin,
        Method::POST,
        "/v3/regions",
        region(json!({"id": "Lost", "parent_region_id": "Atlantis"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &s,
        &admin,
        Method::PUT,
        "/v3/regions/Paris-15",
        region(json!({"parent_region_id": "Paris"})),
    )
    .await;
    assert_eq!(status, 201);

    let (_, listed) = send(
        &s,
        &admin,
        Method::GET,
        "/v3/regions?parent_region_id=Europe",
        None,
    )
    .await;
    let children: Vec<&str> = listed["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["Paris"]);

    // Europe under Paris-15 (or under itself) would close a cycle.
    for parent in ["Paris-15", "Europe"] {
        let (status, body) = send(
            &s,
            &admin,
            Method::PATCH,
            "/v3/regions/Europe",
            region(json!({"parent_region_id": parent})),
        )
        .await;
        assert_eq!(status, 400, "{parent}: {body}");
    }
    let (status, body) = send(
        &s,
        &admin,
        Method::PATCH,
        "/v3/regions/Paris",
        region(json!({"description": "Lutetia", "motto": "fluctuat"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["region"]["description"], "Lutetia");
    assert_eq!(body["region"]["motto"], "fluctuat");
    assert_eq!(body["region"]["parent_region_id"], "Europe");

    // A null parent takes a region out of its parent, and back.
    let unparent = region(json!({"parent_region_id": null}));
    let (status, body) = send(&s, &admin, Method::PATCH, "/v3/regions/Paris", unparent).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["region"]["parent_region_id"], Value::Null);
    let reparent = region(json!({"parent_region_id": "Europe"}));
    let (status, _) = send(&s, &admin, Method::PATCH, "/v3/regions/Paris", reparent).await;
    assert_eq!(status, 200);

    // An endpoint below refuses the deletion; without it, the regions
    // below go too.
    let service = create_service(&s, &admin, "volume", "cinder").await;
    let endpoint = create_endpoint(
        &s,
        &admin,
        json!({"service_id": service, "interface": "public", "url": "http://cinder", "region_id": "Paris-15"}),
    )
    .await;
    let (status, body) = send(&s, &admin, Method::DELETE, "/v3/regions/Europe", None).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = send(
        &s,
        &admin,
        Method::DELETE,
        &format!("/v3/endpoints/{endpoint}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = send(&s, &admin, Method::DELETE, "/v3/regions/Europe", None).await;
    assert_eq!(status, 204);
    for gone in ["Europe", "Paris", "Paris-15"] {
        let (status, _) = send(
            &s,
            &admin,
            Method::GET,
            &format!("/v3/regions/{gone}"),
            None,
        )
        .await;
        assert_eq!(status, 404, "{gone}");
    }
    assert!(!s.audit_of("region.create").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_catalog_is_the_tables_on_every_node_at_once() {
    token_catalog(TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_catalog_is_the_tables_on_every_node_at_once_on_postgres() {
    if let Some(s) = TestServer::start_postgres("").await {
        token_catalog(s).await;
    }
}

async fn token_catalog(s: TestServer) {
    let other = s.second_node().await;
    let admin = s.admin_token().await;
    let project = s.admin.project.id.clone();

    // Bootstrap's identity endpoint, in its region, through the tables.
    let (_, endpoints) = send(&s, &admin, Method::GET, "/v3/endpoints", None).await;
    let endpoints = endpoints["endpoints"].as_array().unwrap().clone();
    assert_eq!(endpoints.len(), 1);
    let region = endpoints[0]["region_id"].as_str().unwrap().to_owned();
    let (status, _) = send(
        &s,
        &admin,
        Method::GET,
        &format!("/v3/regions/{region}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let before = admin_catalog(&s, &project).await;
    assert_eq!(before.as_array().unwrap().len(), 1);
    assert_eq!(before[0]["type"], "identity");

    // A token validated (and kept) before the change shows it after, on
    // both nodes.
    let service = create_service(&s, &admin, "compute", "nova").await;
    for node in [&s, &other] {
        let body: Value = node.validate(&admin, &admin).await.json().await.unwrap();
        let compute = body["token"]["catalog"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["type"] == "compute")
            .cloned()
            .unwrap();
        assert_eq!(
            compute["endpoints"],
            json!([]),
            "a service without endpoints is listed"
        );
    }
    let nova = create_endpoint(
        &s,
        &admin,
        json!({"service_id": service, "interface": "public",
               "url": "http://nova:8774/v2.1/$(project_id)s", "region_id": region}),
    )
    .await;
    let disabled = create_endpoint(
        &s,
        &admin,
        json!({"service_id": service, "interface": "admin", "url": "http://nova-admin",
               "enabled": false}),
    )
    .await;
    for node in [&s, &other] {
        let body: Value = node.validate(&admin, &admin).await.json().await.unwrap();
        let catalog = &body["token"]["catalog"];
        assert!(endpoint_ids(catalog).contains(&nova), "{catalog}");
        assert!(!endpoint_ids(catalog).contains(&disabled));
        let compute = catalog
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["type"] == "compute")
            .unwrap();
        assert_eq!(compute["name"], "nova");
        assert_eq!(
            compute["endpoints"][0]["url"],
            format!("http://nova:8774/v2.1/{project}"),
            "the project substituted"
        );
        assert_eq!(compute["endpoints"][0]["region"], region);
        assert_eq!(compute["endpoints"][0]["region_id"], region);
    }

    // A system token has no project: the endpoint that needs one is left out.
    let system = s
        .issue(
            &password_body(
                "admin",
                ADMIN_PASSWORD,
                Some(json!({"system": {"all": true}})),
            ),
            None,
        )
        .await;
    assert_eq!(system.status(), 201);
    let system: Value = system.json().await.unwrap();
    assert!(!endpoint_ids(&system["token"]["catalog"]).contains(&nova));
    assert!(!endpoint_ids(&system["token"]["catalog"]).is_empty());

    // A disabled service leaves the catalog.
    let (status, _) = send(
        &s,
        &admin,
        Method::PATCH,
        &format!("/v3/services/{service}"),
        Some(json!({"service": {"enabled": false}})),
    )
    .await;
    assert_eq!(status, 200);
    let catalog = admin_catalog(&other, &project).await;
    assert!(
        catalog
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["type"] != "compute")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_filters_narrow_a_projects_catalog() {
    endpoint_filters(TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_filters_narrow_a_projects_catalog_on_postgres() {
    if let Some(s) = TestServer::start_postgres("").await {
        endpoint_filters(s).await;
    }
}

async fn endpoint_filters(s: TestServer) {
    let admin = s.admin_token().await;
    let project = s.admin.project.id.clone();
    let service = create_service(&s, &admin, "network", "neutron").await;
    let public = create_endpoint(
        &s,
        &admin,
        json!({"service_id": service, "interface": "public", "url": "http://neutron"}),
    )
    .await;
    let internal = create_endpoint(
        &s,
        &admin,
        json!({"service_id": service, "interface": "internal", "url": "http://neutron-int"}),
    )
    .await;
    let everything = endpoint_ids(&admin_catalog(&s, &project).await);
    assert_eq!(everything.len(), 3, "identity and both of neutron's");

    // One endpoint associated: the project sees it alone.
    let link = format!("/v3/OS-EP-FILTER/projects/{project}/endpoints/{public}");
    let (status, _) = send(&s, &admin, Method::GET, &link, None).await;
    assert_eq!(status, 404);
    let (status, body) = send(&s, &admin, Method::PUT, &link, None).await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = send(&s, &admin, Method::PUT, &link, None).await;
    assert_eq!(status, 409);
    let (status, _) = send(&s, &admin, Method::GET, &link, None).await;
    assert_eq!(status, 204);
    let (status, _) = send(
        &s,
        &admin,
        Method::PUT,
        &format!("/v3/OS-EP-FILTER/projects/{project}/endpoints/nope"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &s,
        &admin,
        Method::PUT,
        &format!("/v3/OS-EP-FILTER/projects/nope/endpoints/{public}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let catalog = admin_catalog(&s, &project).await;
    assert_eq!(endpoint_ids(&catalog), [public.as_str()]);
    assert_eq!(
        catalog.as_array().unwrap().len(),
        1,
        "services left without endpoints go"
    );
    let (_, listed) = send(
        &s,
        &admin,
        Method::GET,
        &format!("/v3/OS-EP-FILTER/projects/{project}/endpoints"),
        None,
    )
    .await;
    assert_eq!(listed["endpoints"][0]["id"], public.as_str());
    let (_, projects) = send(
        &s,
        &admin,
        Method::GET,
        &format!("/v3/OS-EP-FILTER/endpoints/{public}/projects"),
        None,
    )
    .await;
    assert_eq!(projects["projects"][0]["id"], project.as_str());

    // An endpoint group of internal endpoints adds neutron's internal one.
    let (status, body) = send(
        &s,
        &admin,
        Method::POST,
        "/v3/OS-EP-FILTER/endpoint_groups",
        Some(
            json!({"endpoint_group": {"name": "internals", "description": "d",
                                       "filters": {"interface": "internal"}}}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let group = body["endpoint_group"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        body["endpoint_group"]["filters"],
        json!({"interface": "internal"})
    );
    for bad in [
        json!({"name": "x", "filters": {}}),
        json!({"name": "x", "filters": {"url": "http://x"}}),
        json!({"name": "x"}),
        json!({"filters": {"interface": "public"}}),
        json!({"name": "x", "filters": {"interface": "public"}, "colour": "red"}),
    ] {
        let (status, body) = send(
            &s,
            &admin,
            Method::POST,
            "/v3/OS-EP-FILTER/endpoint_groups",
            Some(json!({"endpoint_group": bad.clone()})),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (_, matched) = send(
        &s,
        &admin,
        Method::GET,
        &format!("/v3/OS-EP-FILTER/endpoint_groups/{group}/endpoints"),
        None,
    )
    .await;
    assert_eq!(matched["endpoints"].as_array().unwrap().len(), 1);
    assert_eq!(matched["endpoints"][0]["id"], internal.as_str());
    let group_link = format!("/v3/OS-EP-FILTER/endpoint_groups/{group}/projects/{project}");
    let (status, _) = send(&s, &admin, Method::GET, &group_link, None).await;
    assert_eq!(status, 404);
    let (status, _) = send(&s, &admin, Method::PUT, &group_link, None).await;
    assert_eq!(status, 204);
    let (status, association) = send(&s, &admin, Method::GET, &group_link, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        association["project_endpoint_group"]["endpoint_group_id"],
        group.as_str()
    );
    let mut expected = vec![public.clone(), internal.clone()];
    expected.sort();
    assert_eq!(endpoint_ids(&admin_catalog(&s, &project).await), expected);
    let (_, groups) = send(
        &s,
        &admin,
        Method::GET,
        &format!("/v3/OS-EP-FILTER/projects/{project}/endpoint_groups"),
        None,
    )
    .await;
    assert_eq!(groups["endpoint_groups"][0]["id"], group.as_str());
    let (_, projects) = send(
        &s,
        &admin,
        Method::GET,
        &format!("/v3/OS-EP-FILTER/endpoint_groups/{group}/projects"),
        None,
    )
    .await;
    assert_eq!(projects["projects"][0]["id"], project.as_str());
    let (status, renamed) = send(
        &s,
        &admin,
        Method::PATCH,
        &format!("/v3/OS-EP-FILTER/endpoint_groups/{group}"),
        Some(json!({"endpoint_group": {"name": "ints"}})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(renamed["endpoint_group"]["name"], "ints");
    assert_eq!(
        renamed["endpoint_group"]["filters"],
        json!({"interface": "internal"})
    );
    let (_, listed) = send(
        &s,
        &admin,
        Method::GET,
        "/v3/OS-EP-FILTER/endpoint_groups?name=ints",
        None,
    )
    .await;
    assert_eq!(listed["endpoint_groups"].as_array().unwrap().len(), 1);

    // Without any association, the whole catalog again.
    let (status, _) = send(&s, &admin, Method::DELETE, &link, None).await;
    assert_eq!(status, 204);
    let (status, _) = send(&s, &admin, Method::DELETE, &link, None).await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &s,
        &admin,
        Method::DELETE,
        &format!("/v3/OS-EP-FILTER/endpoint_groups/{group}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = send(&s, &admin, Method::GET, &group_link, None).await;
    assert_eq!(status, 404);
    assert_eq!(endpoint_ids(&admin_catalog(&s, &project).await), everything);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_return_all_only_associated_endpoints_are_listed() {
    let s =
        TestServer::start_with("[endpoint_filter]\nreturn_all_endpoints_if_no_filter = false\n")
            .await;
    let admin = s.admin_token().await;
    let project = s.admin.project.id.clone();
    assert_eq!(admin_catalog(&s, &project).await, json!([]));
    let (_, endpoints) = send(&s, &admin, Method::GET, "/v3/endpoints", None).await;
    let identity = endpoints["endpoints"][0]["id"].as_str().unwrap().to_owned();
    let link = format!("/v3/OS-EP-FILTER/projects/{project}/endpoints/{identity}");
    let (status, _) = send(&s, &admin, Method::PUT, &link, None).await;
    assert_eq!(status, 204);
    assert_eq!(
        endpoint_ids(&admin_catalog(&s, &project).await),
        [identity.as_str()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_again_keeps_one_identity_endpoint_and_follows_a_new_url() {
    let s = TestServer::start().await;
    let admin = s.admin_token().await;
    let plan = |url: &str| auth_server::bootstrap::Bootstrap {
        admin_user: "admin".into(),
        admin_password: secrecy::SecretString::from(ADMIN_PASSWORD),
        admin_project: "admin".into(),
        public_url: url.into(),
        region: "RegionOne".into(),
    };
    let (_, before) = send(&s, &admin, Method::GET, "/v3/endpoints", None).await;
    let url = before["endpoints"][0]["url"].as_str().unwrap().to_owned();
    auth_server::bootstrap::run(&s.state.services(), &plan(&url))
        .await
        .unwrap();
    let (_, again) = send(&s, &admin, Method::GET, "/v3/endpoints", None).await;
    assert_eq!(again["endpoints"], before["endpoints"]);
    auth_server::bootstrap::run(&s.state.services(), &plan("http://keystone.example:5000/"))
        .await
        .unwrap();
    let (_, moved) = send(
        &s,
        &admin,
        Method::GET,
        "/v3/endpoints?interface=public",
        None,
    )
    .await;
    let moved = moved["endpoints"].as_array().unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0]["url"], "http://keystone.example:5000");
    assert_eq!(moved[0]["id"], before["endpoints"][0]["id"]);
}
