//! Conformance: the catalog, revocation events, key sets, the audit log and
//! handler bindings.

use std::collections::BTreeSet;

use auth_core::AuthError;
use auth_core::store::*;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::harness::{Fixture, at};

pub(crate) async fn catalog_round_trip(f: &Fixture) {
    let s = &f.storage;
    let keystone = Service::new(new_id(), "identity", "keystone");
    let nova = Service::new(new_id(), "compute", "nova").with_enabled(false);
    s.create_service(&keystone).await.unwrap();
    s.create_service(&nova).await.unwrap();
    assert_eq!(
        s.list_services().await.unwrap(),
        vec![nova.clone(), keystone.clone()]
    );
    assert!(matches!(
        s.create_service(&nova).await,
        Err(AuthError::Conflict { .. })
    ));

    let endpoint = |interface: &str, service_id: &str| {
        Endpoint::new(new_id(), service_id, interface, "http://127.0.0.1:5000/v3")
            .with_region("RegionOne")
    };
    s.create_region(&Region::new("RegionOne")).await.unwrap();
    let public = endpoint("public", &keystone.id);
    let mut admin = endpoint("admin", &keystone.id);
    admin.region = None;
    s.create_endpoint(&public).await.unwrap();
    s.create_endpoint(&admin).await.unwrap();
    let listed = s.list_endpoints().await.unwrap();
    assert_eq!(listed, vec![admin.clone(), public.clone()]);
    assert!(matches!(
        s.create_endpoint(&endpoint("public", "no-such-service"))
            .await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.create_endpoint(&endpoint("sideways", &keystone.id)).await,
        Err(AuthError::BadRequest(_))
    ));
}

/// Regions (parents, cycles, deletion with the regions below), endpoints
/// in regions, cascades from services and projects, OS-EP-FILTER
/// associations and endpoint groups; every write moves the revision.
pub(crate) async fn catalog_regions_and_associations(f: &Fixture) {
    let s = &f.storage;
    let mut last = revision(s).await;

    s.create_region(&Region::new("top").with_description("the top"))
        .await
        .unwrap();
    assert!(revision(s).await > last, "create_region moves the revision");
    s.create_region(&Region::new("mid").with_parent(Some("top".into())))
        .await
        .unwrap();
    s.create_region(&Region::new("low").with_parent(Some("mid".into())))
        .await
        .unwrap();
    assert!(matches!(
        s.create_region(&Region::new("top")).await,
        Err(AuthError::Conflict { .. })
    ));
    assert!(matches!(
        s.create_region(&Region::new("orphan").with_parent(Some("nowhere".into())))
            .await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.create_region(&Region::new("self").with_parent(Some("self".into())))
            .await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.get_region("orphan").await,
        Err(AuthError::NotFound { .. })
    ));
    // top under low would close a cycle; top under itself too.
    for parent in ["low", "top"] {
        let cyclic = s
            .get_region("top")
            .await
            .unwrap()
            .with_parent(Some(parent.into()));
        assert!(
            matches!(
                s.update_region(&cyclic).await,
                Err(AuthError::BadRequest(_))
            ),
            "top under {parent}"
        );
    }
    assert_eq!(s.get_region("top").await.unwrap().parent_region_id, None);
    let described = s
        .get_region("low")
        .await
        .unwrap()
        .with_description("low one");
    s.update_region(&described).await.unwrap();
    assert_eq!(s.get_region("low").await.unwrap(), described);
    assert_eq!(s.list_regions().await.unwrap().len(), 3);

    let service = Service::new(new_id(), "compute", "nova");
    s.create_service(&service).await.unwrap();
    let in_region = |region: &str| {
        Endpoint::new(new_id(), &service.id, "public", "http://nova:8774/v2.1").with_region(region)
    };
    assert!(matches!(
        s.create_endpoint(&in_region("nowhere")).await,
        Err(AuthError::NotFound { .. })
    ));
    let low = in_region("low");
    s.create_endpoint(&low).await.unwrap();
    // A region with an endpoint below it stays, with everything below.
    assert!(matches!(
        s.delete_region("top").await,
        Err(AuthError::Forbidden(_))
    ));
    assert_eq!(s.list_regions().await.unwrap().len(), 3);

    // Associations.
    let project = Project::new(new_id(), "catalog-p", DEFAULT_DOMAIN_ID);
    s.create_project(&project).await.unwrap();
    let link = ProjectAssociation::new(&low.id, &project.id);
    last = revision(s).await;
    s.add_project_endpoint(&link).await.unwrap();
    assert!(
        revision(s).await > last,
        "an association moves the revision"
    );
    assert!(matches!(
        s.add_project_endpoint(&link).await,
        Err(AuthError::Conflict { .. })
    ));
    assert!(matches!(
        s.add_project_endpoint(&ProjectAssociation::new("no-endpoint", &project.id))
            .await,
        Err(AuthError::NotFound { .. })
    ));
    assert_eq!(
        s.list_project_endpoints().await.unwrap(),
        vec![link.clone()]
    );
    s.remove_project_endpoint(&link).await.unwrap();
    assert!(matches!(
        s.remove_project_endpoint(&link).await,
        Err(AuthError::NotFound { .. })
    ));
    s.add_project_endpoint(&link).await.unwrap();

    let mut filters = serde_json::Map::new();
    filters.insert("interface".into(), json!("public"));
    let group = EndpointGroup::new(new_id(), "publics", filters).with_description(Some("d".into()));
    s.create_endpoint_group(&group).await.unwrap();
    assert_eq!(s.get_endpoint_group(&group.id).await.unwrap(), group);
    let renamed = EndpointGroup::new(&group.id, "all publics", group.filters.clone());
    s.update_endpoint_group(&renamed).await.unwrap();
    assert_eq!(
        s.list_endpoint_groups().await.unwrap(),
        vec![renamed.clone()]
    );
    let group_link = ProjectAssociation::new(&group.id, &project.id);
    s.add_project_endpoint_group(&group_link).await.unwrap();
    assert!(matches!(
        s.add_project_endpoint_group(&group_link).await,
        Err(AuthError::Conflict { .. })
    ));
    assert_eq!(
        s.list_project_endpoint_groups().await.unwrap(),
        vec![group_link.clone()]
    );
    s.delete_endpoint_group(&group.id).await.unwrap();
    assert!(s.list_project_endpoint_groups().await.unwrap().is_empty());
    s.create_endpoint_group(&group).await.unwrap();
    s.add_project_endpoint_group(&group_link).await.unwrap();

    // Deleting the project takes its associations with it.
    s.delete_project(&project.id).await.unwrap();
    assert!(s.list_project_endpoints().await.unwrap().is_empty());
    assert!(s.list_project_endpoint_groups().await.unwrap().is_empty());

    // Endpoint updates: into a missing region refused, then moved up.
    let mut moved_up = low.clone();
    moved_up.region = Some("nowhere".into());
    assert!(matches!(
        s.update_endpoint(&moved_up).await,
        Err(AuthError::NotFound { .. })
    ));
    moved_up.region = Some("top".into());
    moved_up.url = "http://nova:8774/v2.1/$(project_id)s".into();
    s.update_endpoint(&moved_up).await.unwrap();
    assert_eq!(s.get_endpoint(&low.id).await.unwrap(), moved_up);
    assert!(matches!(s.delete_region("mid").await, Ok(())));
    assert_eq!(
        s.list_regions()
            .await
            .unwrap()
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["top"],
        "mid went with low below it"
    );

    // Deleting the service deletes its endpoints.
    last = revision(s).await;
    s.delete_service(&service.id).await.unwrap();
    assert!(revision(s).await > last);
    assert!(matches!(
        s.get_endpoint(&low.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete_service(&service.id).await,
        Err(AuthError::NotFound { .. })
    ));
    s.delete_region("top").await.unwrap();
    assert!(s.list_regions().await.unwrap().is_empty());
}

async fn revision(s: &std::sync::Arc<dyn Storage>) -> i64 {
    s.token_revision().await.unwrap().unwrap()
}

pub(crate) async fn revocations_list_and_prune(f: &Fixture) {
    let s = &f.storage;
    let event = |user: &str, revoked: i64| {
        RevocationEvent::at(at(revoked))
            .with_audit_chain_id(format!("chain-{user}"))
            .with_user(user)
            .with_domain(DEFAULT_DOMAIN_ID)
    };
    let events = [
        event("a", 10),
        event("b", 20),
        event("c", 30),
        event("d", 30),
    ];
    // Recorded out of order; listed oldest first.
    for e in [&events[2], &events[0], &events[3], &events[1]] {
        s.add_revocation(e).await.unwrap();
    }
    assert_eq!(s.list_revocations(at(0)).await.unwrap(), events.to_vec());
    assert_eq!(
        s.list_revocations(at(20)).await.unwrap(),
        events[1..].to_vec()
    );
    assert_eq!(s.prune_revocations(at(20)).await.unwrap(), 1);
    assert_eq!(s.prune_revocations(at(20)).await.unwrap(), 0);
    assert_eq!(
        s.list_revocations(at(0)).await.unwrap(),
        events[1..].to_vec()
    );
}

/// A user revocation at an instant inside a second, through the store and
/// `token::validate` with a real JWS provider and a fake clock: a token
/// issued 1 µs before it is refused, one issued 1 µs after (or in its very
/// microsecond) is accepted, and the store keeps the event's microseconds.
pub(crate) async fn revocations_are_exact_to_the_microsecond(f: &Fixture) {
    use auth_core::{ManualClock, Stores, TokenClaims, TokenProvider, token};
    use auth_plugins::tokens::jws::{JwsProvider, SigningAlgorithm, SigningKeySet};
    use chrono::Duration;

    let s = &f.storage;
    let alice = super::harness::user("alice", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, None).await.unwrap();
    let provider = JwsProvider::new(SigningKeySet::generate(SigningAlgorithm::ES256).unwrap())
        .with_max_lifetime(Duration::hours(1));
    let stores = Stores::from_storage(s.clone());
    // The revocation lands 0.25 s into a second (`at`), with nanoseconds
    // below the microsecond that no store keeps.
    let revoked = at(10) + Duration::nanoseconds(700);
    let clock = ManualClock::new(revoked);
    let issue_at = |when| {
        let mut claims = TokenClaims {
            sub: alice.id.clone(),
            iat: 0,
            iat_us: None,
            exp: 0,
            methods: vec!["password".into()],
            audit_ids: vec![new_id()],
            project_id: None,
            domain_id: None,
            system: None,
            app_cred_id: None,
            access_token_id: None,
            group_ids: vec![],
            idp_id: None,
            trust_id: None,
        };
        claims.set_issued_at(when);
        claims.exp = claims.iat + 3600;
        provider.issue(&claims).unwrap()
    };
    let before = issue_at(revoked - Duration::microseconds(1));
    let same = issue_at(revoked);
    let after = issue_at(revoked + Duration::microseconds(1));
    let event = RevocationEvent::at(auth_core::Clock::now(&clock)).with_user(alice.id.clone());
    s.add_revocation(&event).await.unwrap();
    let listed = s.list_revocations(at(0)).await.unwrap();
    assert_eq!(
        listed[0].issued_before.timestamp_micros(),
        revoked.timestamp_micros(),
        "the store keeps microseconds"
    );
    clock.advance(Duration::minutes(5));
    let validate = |t: String| {
        let stores = stores.clone();
        let provider = &provider;
        let now = auth_core::Clock::now(&clock);
        async move { token::validate(provider, &stores, &t, now, Duration::zero()).await }
    };
    assert!(
        matches!(validate(before).await, Err(AuthError::NotFound { .. })),
        "issued 1 µs before the revocation"
    );
    // A token of the event's very microsecond counts as issued after it
    // (see auth_core::token::is_revoked_by).
    validate(same)
        .await
        .expect("issued in the revocation's microsecond");
    let (claims, _) = validate(after)
        .await
        .expect("issued 1 µs after the revocation");
    assert_eq!(
        claims.issued_at().timestamp(),
        revoked.timestamp(),
        "all three in the same second"
    );
}

pub(crate) async fn key_sets_are_saved_by_compare_and_set(f: &Fixture) {
    let s = &f.storage;
    let material = |n: u32| SecretString::from(format!("{{\"generation\": {n}}}"));
    assert!(s.load_key_set("receipt").await.unwrap().is_none());
    assert_eq!(
        s.save_key_set("receipt", &material(1), None).await.unwrap(),
        1
    );
    let second_first = s.save_key_set("receipt", &material(9), None).await;
    assert!(
        matches!(second_first, Err(AuthError::Conflict { .. })),
        "{second_first:?}"
    );
    assert_eq!(
        s.save_key_set("receipt", &material(2), Some(1))
            .await
            .unwrap(),
        2
    );
    assert!(matches!(
        s.save_key_set("receipt", &material(9), Some(1)).await,
        Err(AuthError::Conflict { .. })
    ));
    assert!(matches!(
        s.save_key_set("token", &material(9), Some(1)).await,
        Err(AuthError::Conflict { .. })
    ));
    let stored = s.load_key_set("receipt").await.unwrap().unwrap();
    assert_eq!(
        (stored.material.expose_secret(), stored.version),
        ("{\"generation\": 2}", 2)
    );
    assert!(s.load_key_set("token").await.unwrap().is_none());

    // Ten nodes rotating from the same version: exactly one wins.
    let racers: Vec<_> = (0..10)
        .map(|n| {
            let s = f.storage.clone();
            tokio::spawn(async move { s.save_key_set("receipt", &material(10 + n), Some(2)).await })
        })
        .collect();
    let mut won = Vec::new();
    for racer in racers {
        match racer.await.unwrap() {
            Ok(version) => won.push(version),
            Err(AuthError::Conflict { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(won, [3]);
    assert_eq!(s.load_key_set("receipt").await.unwrap().unwrap().version, 3);
}

fn audit(n: i64) -> AuditRecord {
    let kind = if n % 5 == 0 {
        AuditKind::Handler
    } else {
        AuditKind::Call
    };
    let event = if n % 2 == 0 {
        "auth.tokens.create"
    } else {
        "identity.users.update"
    };
    let mut record = AuditRecord::new(at(n), kind, event, n % 3 != 0)
        .with_client_addr("127.0.0.1")
        .with_user(format!("user{}", n % 2))
        .with_request_id(format!("req-{n}"))
        .with_detail(json!({"n": n, "error": null}));
    record.duration_us = (n % 4 != 0).then_some(n * 10);
    record
}

pub(crate) async fn audit_filters_pages_and_prunes(f: &Fixture) {
    let s = &f.storage;
    s.append_audit(&[]).await.unwrap();
    let records: Vec<_> = (0..30).map(audit).collect();
    s.append_audit(&records[..10]).await.unwrap();
    s.append_audit(&records[10..]).await.unwrap();

    let everything = AuditQuery::new(100);
    let all = s.query_audit(&everything).await.unwrap();
    assert_eq!(all.len(), 30);
    // Newest first, ids increasing with insertion.
    assert!(all.windows(2).all(|w| w[0].id > w[1].id));
    for row in &all {
        let n = row.detail["n"].as_i64().unwrap();
        assert_eq!(row.clone().with_id(0), records[n as usize]);
    }
    assert_eq!(all[0].request_id.as_deref(), Some("req-29"));

    let count = |mut q: AuditQuery| async move {
        q.limit = 100;
        s.query_audit(&q).await.unwrap()
    };
    let by_user = count(AuditQuery::default().with_user("user1")).await;
    assert_eq!(by_user.len(), 15);
    assert!(
        by_user
            .iter()
            .all(|r| r.user_id.as_deref() == Some("user1"))
    );
    let by_event = count(AuditQuery::default().with_event("auth.tokens.create")).await;
    assert_eq!(by_event.len(), 15);
    let failures = count(AuditQuery::default().with_success(false)).await;
    assert_eq!(failures.len(), 10);
    let window = count(AuditQuery::default().with_since(at(10)).with_until(at(20))).await;
    assert_eq!(
        window.iter().map(|r| r.at).collect::<BTreeSet<_>>(),
        (10..20).map(at).collect()
    );
    let combined = count(
        AuditQuery::default()
            .with_since(at(6))
            .with_user("user0")
            .with_success(true),
    )
    .await;
    // Even n in 6..30 not divisible by 3: 8, 10, 14, 16, 20, 22, 26, 28.
    assert_eq!(combined.len(), 8);

    // Pages of 7 by before_id cover every row once.
    let mut seen = Vec::new();
    let mut before_id = None;
    loop {
        let page = s
            .query_audit(&{
                let mut q = AuditQuery::new(7);
                q.before_id = before_id;
                q
            })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        before_id = page.last().map(|r| r.id);
        seen.extend(page.into_iter().map(|r| r.id));
    }
    assert_eq!(seen, all.iter().map(|r| r.id).collect::<Vec<_>>());
    assert!(
        s.query_audit(&AuditQuery::default())
            .await
            .unwrap()
            .is_empty(),
        "limit 0"
    );

    assert_eq!(s.prune_audit(at(12)).await.unwrap(), 12);
    assert_eq!(s.prune_audit(at(12)).await.unwrap(), 0);
    let rest = s.query_audit(&everything).await.unwrap();
    assert_eq!(rest.len(), 18);
    assert!(rest.iter().all(|r| r.at >= at(12)));
    // Ids keep increasing after a prune (never reused).
    s.append_audit(&[audit(99)]).await.unwrap();
    let newest = s.query_audit(&AuditQuery::new(1)).await.unwrap();
    assert!(newest[0].id > all[0].id);
}

fn binding(name: &str, ordering: i32) -> HandlerBinding {
    HandlerBinding::new(
        new_id(),
        name,
        vec!["auth.tokens.create".into(), "identity.users.update".into()],
        "WebHook",
        "post",
    )
    .with_options(json!({"url": "http://127.0.0.1:9/hook", "timeout_ms": 500}))
    .with_conditions(json!([{"field": "success", "equals": false}]))
    .with_ordering(ordering)
}

pub(crate) async fn handler_bindings_round_trip(f: &Fixture) {
    let s = &f.storage;
    let mut notify = binding("notify", 20);
    let mut audit = binding("audit", 10);
    audit.position = HandlerPosition::Pre;
    audit.events = vec!["*".into()];
    let also_ten = binding("alert", 10);
    for b in [&notify, &audit, &also_ten] {
        s.create_binding(b).await.unwrap();
    }
    assert_eq!(s.get_binding(&audit.id).await.unwrap(), audit);
    let names: Vec<_> = s
        .list_bindings()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, ["alert", "audit", "notify"]);
    assert!(matches!(
        s.create_binding(&binding("notify", 1)).await,
        Err(AuthError::Conflict { .. })
    ));

    notify.active = false;
    notify.abort_on_error = true;
    notify.ordering = -5;
    notify.options = json!({"url": "http://127.0.0.1:9/other"});
    s.update_binding(&notify).await.unwrap();
    assert_eq!(s.get_binding(&notify.id).await.unwrap(), notify);
    assert_eq!(s.list_bindings().await.unwrap()[0], notify);
    audit.name = "alert".into();
    assert!(matches!(
        s.update_binding(&audit).await,
        Err(AuthError::Conflict { .. })
    ));
    assert!(matches!(
        s.update_binding(&binding("ghost", 0)).await,
        Err(AuthError::NotFound { .. })
    ));

    s.delete_binding(&notify.id).await.unwrap();
    assert!(matches!(
        s.get_binding(&notify.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete_binding(&notify.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert_eq!(s.list_bindings().await.unwrap().len(), 2);
}
