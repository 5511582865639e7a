//! Conformance: roles, grants, effective roles and cascades
//! (`AssignmentStore`).

use auth_core::AuthError;
use auth_core::store::*;

use super::harness::{Fixture, at, domain, password, project, user};

fn role(name: &str, domain_id: Option<&str>) -> Role {
    let role = Role::new(new_id(), name);
    match domain_id {
        Some(domain_id) => role.with_domain(domain_id),
        None => role,
    }
}

fn group(name: &str) -> Group {
    Group::new(new_id(), name, DEFAULT_DOMAIN_ID)
}

fn grant(role: &Role, actor: Actor, target: Target) -> Assignment {
    Assignment::new(role.id.clone(), actor, target)
}

pub(crate) async fn roles_round_trip_with_typed_errors(f: &Fixture) {
    let s = &f.storage;
    let (reader, admin) = (role("reader", None), role("admin", None));
    let scoped = role("reader", Some(DEFAULT_DOMAIN_ID));
    for r in [&reader, &admin, &scoped] {
        s.create_role(r).await.unwrap();
    }
    assert_eq!(s.get_role(&scoped.id).await.unwrap(), scoped);
    assert_eq!(s.find_role_by_name("reader").await.unwrap(), reader);
    let names: Vec<_> = s
        .list_roles()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["admin", "reader", "reader"]);
    for duplicate in [
        role("reader", None),
        role("reader", Some(DEFAULT_DOMAIN_ID)),
    ] {
        let refused = s.create_role(&duplicate).await;
        assert!(
            matches!(refused, Err(AuthError::Conflict { .. })),
            "{refused:?}"
        );
    }
    assert!(matches!(
        s.create_role(&role("x", Some("no-such-domain"))).await,
        Err(AuthError::NotFound { .. })
    ));
    let mut renamed = admin.clone();
    renamed.name = "reader".into();
    let taken = s.update_role(&renamed).await;
    assert!(
        matches!(taken, Err(AuthError::Conflict { .. })),
        "{taken:?}"
    );
    renamed.name = "administrator".into();
    s.update_role(&renamed).await.unwrap();
    assert_eq!(s.get_role(&admin.id).await.unwrap(), renamed);
    assert!(matches!(
        s.update_role(&role("ghost", None)).await,
        Err(AuthError::NotFound { .. })
    ));
    s.delete_role(&reader.id).await.unwrap();
    assert!(matches!(
        s.get_role(&reader.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.find_role_by_name("reader").await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete_role(&reader.id).await,
        Err(AuthError::NotFound { .. })
    ));
}

pub(crate) async fn grants_revokes_and_listing(f: &Fixture) {
    let s = &f.storage;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, None).await.unwrap();
    let ops = group("ops");
    s.create_group(&ops).await.unwrap();
    let web = project("web", DEFAULT_DOMAIN_ID);
    s.create_project(&web).await.unwrap();
    let (reader, admin) = (role("reader", None), role("admin", None));
    s.create_role(&reader).await.unwrap();
    s.create_role(&admin).await.unwrap();

    let on_project = grant(
        &reader,
        Actor::User(alice.id.clone()),
        Target::Project(web.id.clone()),
    );
    let on_domain = grant(
        &admin,
        Actor::Group(ops.id.clone()),
        Target::Domain(DEFAULT_DOMAIN_ID.into()),
    );
    let on_system = grant(&admin, Actor::User(alice.id.clone()), Target::System);
    for a in [&on_project, &on_domain, &on_system, &on_project] {
        s.grant(a).await.unwrap(); // the repeat is idempotent
    }
    let all = s
        .list_assignments(&AssignmentFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    for a in [&on_project, &on_domain, &on_system] {
        assert!(all.contains(a), "{a:?}");
    }
    let by_role = AssignmentFilter::default().with_role(admin.id.clone());
    assert_eq!(s.list_assignments(&by_role).await.unwrap().len(), 2);
    let by_actor = AssignmentFilter::default().with_actor(Actor::User(alice.id.clone()));
    assert_eq!(s.list_assignments(&by_actor).await.unwrap().len(), 2);
    let by_target = AssignmentFilter::default().with_target(Target::System);
    assert_eq!(
        s.list_assignments(&by_target).await.unwrap(),
        vec![on_system.clone()]
    );
    let all_three = AssignmentFilter::default()
        .with_role(reader.id.clone())
        .with_actor(Actor::User(alice.id.clone()))
        .with_target(Target::Project(web.id.clone()));
    assert_eq!(
        s.list_assignments(&all_three).await.unwrap(),
        vec![on_project.clone()]
    );

    s.revoke(&on_system).await.unwrap();
    assert!(matches!(
        s.revoke(&on_system).await,
        Err(AuthError::NotFound { .. })
    ));
    assert_eq!(s.list_assignments(&by_target).await.unwrap(), vec![]);

    for dangling in [
        grant(
            &role("ghost", None),
            Actor::User(alice.id.clone()),
            Target::System,
        ),
        grant(&reader, Actor::User("no-such-user".into()), Target::System),
        grant(
            &reader,
            Actor::Group("no-such-group".into()),
            Target::System,
        ),
        grant(
            &reader,
            Actor::User(alice.id.clone()),
            Target::Project("nope".into()),
        ),
        grant(
            &reader,
            Actor::User(alice.id.clone()),
            Target::Domain("nope".into()),
        ),
    ] {
        let refused = s.grant(&dangling).await;
        assert!(
            matches!(refused, Err(AuthError::NotFound { .. })),
            "{dangling:?}: {refused:?}"
        );
    }
}

pub(crate) async fn effective_roles_include_groups_without_repeats(f: &Fixture) {
    let s = &f.storage;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    let bob = user("bob", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, None).await.unwrap();
    s.create_user(&bob, None).await.unwrap();
    let (ops, devs) = (group("ops"), group("devs"));
    s.create_group(&ops).await.unwrap();
    s.create_group(&devs).await.unwrap();
    s.add_user_to_group(&alice.id, &ops.id).await.unwrap();
    s.add_user_to_group(&alice.id, &devs.id).await.unwrap();
    let (web, api) = (
        project("web", DEFAULT_DOMAIN_ID),
        project("api", DEFAULT_DOMAIN_ID),
    );
    s.create_project(&web).await.unwrap();
    s.create_project(&api).await.unwrap();
    let [reader, member, admin, auditor] =
        ["reader", "member", "admin", "auditor"].map(|n| role(n, None));
    for r in [&reader, &member, &admin, &auditor] {
        s.create_role(r).await.unwrap();
    }
    let on_web = || Target::Project(web.id.clone());
    let user_actor = Actor::User(alice.id.clone());
    for a in [
        grant(&reader, user_actor.clone(), on_web()),
        grant(&reader, Actor::Group(ops.id.clone()), on_web()), // a repeat, via a group
        grant(&member, Actor::Group(ops.id.clone()), on_web()),
        grant(&member, Actor::Group(devs.id.clone()), on_web()),
        grant(&admin, user_actor.clone(), Target::Project(api.id.clone())),
        grant(
            &auditor,
            Actor::Group(devs.id.clone()),
            Target::Domain(DEFAULT_DOMAIN_ID.into()),
        ),
        grant(&admin, Actor::Group(ops.id.clone()), Target::System),
        grant(&auditor, Actor::User(bob.id.clone()), on_web()),
    ] {
        s.grant(&a).await.unwrap();
    }
    let names = |roles: Vec<Role>| roles.into_iter().map(|r| r.name).collect::<Vec<_>>();
    assert_eq!(
        names(s.effective_roles(&alice.id, &on_web()).await.unwrap()),
        ["member", "reader"]
    );
    assert_eq!(
        names(
            s.effective_roles(&alice.id, &Target::Project(api.id.clone()))
                .await
                .unwrap()
        ),
        ["admin"]
    );
    assert_eq!(
        names(
            s.effective_roles(&alice.id, &Target::Domain(DEFAULT_DOMAIN_ID.into()))
                .await
                .unwrap()
        ),
        ["auditor"]
    );
    assert_eq!(
        names(s.effective_roles(&alice.id, &Target::System).await.unwrap()),
        ["admin"]
    );
    assert_eq!(
        names(s.effective_roles(&bob.id, &on_web()).await.unwrap()),
        ["auditor"]
    );
    assert!(
        s.effective_roles("ghost", &on_web())
            .await
            .unwrap()
            .is_empty()
    );

    let mut targets = s.targets_for_user(&alice.id).await.unwrap();
    targets.sort_by_key(|t| format!("{t:?}"));
    let mut expected = vec![
        Target::Domain(DEFAULT_DOMAIN_ID.into()),
        on_web(),
        Target::Project(api.id.clone()),
        Target::System,
    ];
    expected.sort_by_key(|t| format!("{t:?}"));
    assert_eq!(targets, expected);

    // Leaving a group takes its roles away.
    s.remove_user_from_group(&alice.id, &ops.id).await.unwrap();
    assert_eq!(
        names(s.effective_roles(&alice.id, &on_web()).await.unwrap()),
        ["member", "reader"]
    );
    s.remove_user_from_group(&alice.id, &devs.id).await.unwrap();
    assert_eq!(
        names(s.effective_roles(&alice.id, &on_web()).await.unwrap()),
        ["reader"]
    );
    assert!(
        s.effective_roles(&alice.id, &Target::System)
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn deletes_cascade_to_what_hangs_off_and_nothing_else(f: &Fixture) {
    let s = &f.storage;
    let (web, api) = (
        project("web", DEFAULT_DOMAIN_ID),
        project("api", DEFAULT_DOMAIN_ID),
    );
    s.create_project(&web).await.unwrap();
    s.create_project(&api).await.unwrap();
    let mut alice = user("alice", DEFAULT_DOMAIN_ID);
    alice.default_project_id = Some(web.id.clone());
    let bob = user("bob", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, Some(&password("$h", at(0))))
        .await
        .unwrap();
    s.create_user(&bob, Some(&password("$b", at(0))))
        .await
        .unwrap();
    let ops = group("ops");
    s.create_group(&ops).await.unwrap();
    s.add_user_to_group(&alice.id, &ops.id).await.unwrap();
    s.add_user_to_group(&bob.id, &ops.id).await.unwrap();
    let (reader, admin) = (role("reader", None), role("admin", None));
    s.create_role(&reader).await.unwrap();
    s.create_role(&admin).await.unwrap();
    let alice_web = grant(
        &reader,
        Actor::User(alice.id.clone()),
        Target::Project(web.id.clone()),
    );
    let alice_api = grant(
        &reader,
        Actor::User(alice.id.clone()),
        Target::Project(api.id.clone()),
    );
    let bob_web = grant(
        &admin,
        Actor::User(bob.id.clone()),
        Target::Project(web.id.clone()),
    );
    let ops_api = grant(
        &admin,
        Actor::Group(ops.id.clone()),
        Target::Project(api.id.clone()),
    );
    for a in [&alice_web, &alice_api, &bob_web, &ops_api] {
        s.grant(a).await.unwrap();
    }
    let cred = Credential::new(
        new_id(),
        alice.id.clone(),
        "totp",
        secrecy::SecretString::from("seed"),
    );
    s.create_credential(&cred).await.unwrap();
    let app = super::credentials::app_cred("ci", &alice.id, &api.id);
    s.create_application_credential(&app).await.unwrap();
    let listed = || async {
        s.list_assignments(&AssignmentFilter::default())
            .await
            .unwrap()
    };

    // A project: its assignments go; users pointing at it lose their
    // default project and nothing else.
    s.delete_project(&web.id).await.unwrap();
    let left = listed().await;
    assert!(!left.contains(&alice_web) && !left.contains(&bob_web));
    assert!(left.contains(&alice_api) && left.contains(&ops_api));
    assert_eq!(
        s.get_user(&alice.id).await.unwrap().default_project_id,
        None
    );
    s.get_application_credential(&app.id).await.unwrap();

    // A user: password, credentials, memberships, assignments and
    // application credentials go; the group, role, project and other
    // users stay.
    s.delete_user(&alice.id).await.unwrap();
    assert!(matches!(
        s.current_password(&alice.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.get_credential(&cred.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.get_application_credential(&app.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(s.list_user_groups(&alice.id).await.unwrap().is_empty());
    assert_eq!(listed().await, vec![ops_api.clone()]);
    assert_eq!(
        s.list_user_groups(&bob.id).await.unwrap(),
        vec![ops.clone()]
    );
    assert!(s.current_password(&bob.id).await.unwrap().is_some());
    s.get_role(&reader.id).await.unwrap();
    s.get_project(&api.id).await.unwrap();

    // A group: its memberships and assignments go, its members stay.
    s.delete_group(&ops.id).await.unwrap();
    assert!(listed().await.is_empty());
    assert!(s.list_user_groups(&bob.id).await.unwrap().is_empty());
    s.get_user(&bob.id).await.unwrap();

    // A role: its assignments go.
    let bob_api = grant(
        &admin,
        Actor::User(bob.id.clone()),
        Target::Project(api.id.clone()),
    );
    s.grant(&bob_api).await.unwrap();
    s.delete_role(&admin.id).await.unwrap();
    assert!(listed().await.is_empty());
    s.get_user(&bob.id).await.unwrap();
}

/// OS-INHERIT: an inherited grant on a domain reaches every project of
/// the domain, on a project every project below it, never its own target;
/// a direct and an inherited grant of one role on one target are two
/// grants, revoked apart; each write moves the token revision.
pub(crate) async fn inherited_grants_reach_the_projects_below_their_target(f: &Fixture) {
    let s = &f.storage;
    let tree = domain("tree");
    s.create_domain(&tree).await.unwrap();
    let top = project("top", &tree.id);
    let child = project("child", &tree.id).with_parent(top.id.clone());
    let leaf = project("leaf", &tree.id).with_parent(child.id.clone());
    let beside = project("beside", &tree.id);
    let elsewhere = project("elsewhere", DEFAULT_DOMAIN_ID);
    for p in [&top, &child, &leaf, &beside, &elsewhere] {
        s.create_project(p).await.unwrap();
    }
    let (alice, bob) = (
        user("alice", DEFAULT_DOMAIN_ID),
        user("bob", DEFAULT_DOMAIN_ID),
    );
    s.create_user(&alice, None).await.unwrap();
    s.create_user(&bob, None).await.unwrap();
    let ops = group("ops");
    s.create_group(&ops).await.unwrap();
    s.add_user_to_group(&alice.id, &ops.id).await.unwrap();
    let [direct, from_domain, from_top] = ["a-direct", "b-domain", "c-top"].map(|n| role(n, None));
    for r in [&direct, &from_domain, &from_top] {
        s.create_role(r).await.unwrap();
    }
    let alice_actor = || Actor::User(alice.id.clone());
    let on_domain = Assignment::inherited(
        from_domain.id.clone(),
        alice_actor(),
        Target::Domain(tree.id.clone()),
    );
    let on_top = Assignment::inherited(
        from_top.id.clone(),
        Actor::Group(ops.id.clone()),
        Target::Project(top.id.clone()),
    );
    let direct_on_top = grant(&direct, alice_actor(), Target::Project(top.id.clone()));
    let revision = || async { s.token_revision().await.unwrap().unwrap() };
    let mut before = revision().await;
    for a in [&on_domain, &on_top, &direct_on_top, &on_domain] {
        s.grant(a).await.unwrap();
        let after = revision().await;
        assert!(after >= before);
        before = after;
    }
    let names = |roles: Vec<Role>| roles.into_iter().map(|r| r.name).collect::<Vec<_>>();
    let on = |p: &Project| Target::Project(p.id.clone());
    for (target, expected) in [
        (on(&top), vec!["a-direct", "b-domain"]),
        (on(&child), vec!["b-domain", "c-top"]),
        (on(&leaf), vec!["b-domain", "c-top"]),
        (on(&beside), vec!["b-domain"]),
        (on(&elsewhere), vec![]),
        (Target::Domain(tree.id.clone()), vec![]),
        (Target::System, vec![]),
    ] {
        assert_eq!(
            names(s.effective_roles(&alice.id, &target).await.unwrap()),
            expected,
            "{target:?}"
        );
    }
    assert!(
        s.effective_roles(&bob.id, &on(&leaf))
            .await
            .unwrap()
            .is_empty()
    );
    let mut targets = s.targets_for_user(&alice.id).await.unwrap();
    targets.sort_by_key(|t| format!("{t:?}"));
    let mut expected = [&top, &child, &leaf, &beside].map(on).to_vec();
    expected.sort_by_key(|t| format!("{t:?}"));
    assert_eq!(targets, expected, "each project once, not the domain");
    assert!(s.targets_for_user(&bob.id).await.unwrap().is_empty());

    // Listed as stored, and by the flag.
    let of_alice = AssignmentFilter::default().with_actor(alice_actor());
    assert_eq!(s.list_assignments(&of_alice).await.unwrap().len(), 2);
    assert_eq!(
        s.list_assignments(&of_alice.clone().with_inherited(true))
            .await
            .unwrap(),
        vec![on_domain.clone()]
    );
    assert_eq!(
        s.list_assignments(&of_alice.clone().with_inherited(false))
            .await
            .unwrap(),
        vec![direct_on_top.clone()]
    );

    // A direct grant beside the inherited one: two grants, revoked apart.
    let direct_on_domain = grant(&from_domain, alice_actor(), Target::Domain(tree.id.clone()));
    s.grant(&direct_on_domain).await.unwrap();
    let on_the_domain = AssignmentFilter::default().with_target(Target::Domain(tree.id.clone()));
    assert_eq!(s.list_assignments(&on_the_domain).await.unwrap().len(), 2);
    assert_eq!(
        names(
            s.effective_roles(&alice.id, &Target::Domain(tree.id.clone()))
                .await
                .unwrap()
        ),
        ["b-domain"]
    );
    let before = revision().await;
    s.revoke(&on_domain).await.unwrap();
    assert!(revision().await > before, "a revoke moves the revision");
    assert!(matches!(
        s.revoke(&on_domain).await,
        Err(AuthError::NotFound { .. })
    ));
    assert_eq!(
        s.list_assignments(&on_the_domain).await.unwrap(),
        vec![direct_on_domain.clone()]
    );
    assert_eq!(
        names(s.effective_roles(&alice.id, &on(&leaf)).await.unwrap()),
        ["c-top"]
    );
    assert!(
        s.effective_roles(&alice.id, &on(&beside))
            .await
            .unwrap()
            .is_empty()
    );

    // Nothing is inherited from the system.
    let from_system = Assignment::inherited(direct.id.clone(), alice_actor(), Target::System);
    assert!(matches!(
        s.grant(&from_system).await,
        Err(AuthError::BadRequest(_))
    ));
    // Deleting the project an inherited grant is on deletes the grant.
    s.revoke(&direct_on_top).await.unwrap();
    s.revoke(&on_top).await.unwrap();
    s.grant(&on_top).await.unwrap();
    s.delete_project(&leaf.id).await.unwrap();
    s.delete_project(&child.id).await.unwrap();
    s.delete_project(&top.id).await.unwrap();
    assert!(
        s.list_assignments(&AssignmentFilter::default().with_actor(Actor::Group(ops.id.clone())))
            .await
            .unwrap()
            .is_empty()
    );
}
