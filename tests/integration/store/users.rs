//! Conformance: domains, projects, users, groups (`UserStore`) and the
//! housekeeping of `Storage`.

use auth_core::AuthError;
use auth_core::store::*;

use super::harness::{Fixture, at, domain, password, project, user};

pub(crate) async fn migrate_is_idempotent_and_keeps_the_default_domain(f: &Fixture) {
    let s = &f.storage;
    let default = s.get_domain(DEFAULT_DOMAIN_ID).await.unwrap();
    assert_eq!(default.name, "Default");
    assert!(default.enabled);
    s.migrate().await.unwrap();
    s.migrate().await.unwrap();
    s.health().await.unwrap();
    assert_eq!(s.list_domains().await.unwrap(), vec![default.clone()]);
    // A deleted default domain comes back with the next migrate.
    s.delete_domain(DEFAULT_DOMAIN_ID).await.unwrap();
    s.migrate().await.unwrap();
    assert_eq!(s.get_domain(DEFAULT_DOMAIN_ID).await.unwrap(), default);
    assert_eq!(
        s.find_domain_by_name("Default").await.unwrap().id,
        DEFAULT_DOMAIN_ID
    );
}

pub(crate) async fn domains_round_trip_with_typed_errors(f: &Fixture) {
    let s = &f.storage;
    let mut d = domain("acme");
    s.create_domain(&d).await.unwrap();
    assert_eq!(s.get_domain(&d.id).await.unwrap(), d);
    assert_eq!(s.find_domain_by_name("acme").await.unwrap(), d);
    let names: Vec<_> = s
        .list_domains()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["Default", "acme"]);

    let same_name = domain("acme");
    assert!(matches!(
        s.create_domain(&same_name).await,
        Err(AuthError::Conflict { .. })
    ));
    let mut same_id = domain("other");
    same_id.id = d.id.clone();
    assert!(matches!(
        s.create_domain(&same_id).await,
        Err(AuthError::Conflict { .. })
    ));

    d.name = "acme2".into();
    d.enabled = false;
    d.description = "changed".into();
    s.update_domain(&d).await.unwrap();
    assert_eq!(s.get_domain(&d.id).await.unwrap(), d);
    let mut renamed_onto_default = d.clone();
    renamed_onto_default.name = "Default".into();
    assert!(matches!(
        s.update_domain(&renamed_onto_default).await,
        Err(AuthError::Conflict { .. })
    ));
    assert!(matches!(
        s.update_domain(&domain("ghost")).await,
        Err(AuthError::NotFound { .. })
    ));

    s.delete_domain(&d.id).await.unwrap();
    assert!(matches!(
        s.get_domain(&d.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.find_domain_by_name("acme2").await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete_domain(&d.id).await,
        Err(AuthError::NotFound { .. })
    ));
}

pub(crate) async fn a_domain_in_use_cannot_be_deleted(f: &Fixture) {
    let s = &f.storage;
    for holder in ["project", "user", "group", "role"] {
        let d = domain(holder);
        s.create_domain(&d).await.unwrap();
        match holder {
            "project" => s.create_project(&project("p", &d.id)).await.unwrap(),
            "user" => s.create_user(&user("u", &d.id), None).await.unwrap(),
            "group" => s
                .create_group(&Group::new(new_id(), "g", d.id.clone()))
                .await
                .unwrap(),
            _ => s
                .create_role(&Role::new(new_id(), "r").with_domain(d.id.clone()))
                .await
                .unwrap(),
        }
        let refused = s.delete_domain(&d.id).await;
        assert!(
            matches!(refused, Err(AuthError::Conflict { .. })),
            "{holder}: {refused:?}"
        );
        assert_eq!(s.get_domain(&d.id).await.unwrap(), d);
    }
}

pub(crate) async fn projects_round_trip_with_typed_errors(f: &Fixture) {
    let s = &f.storage;
    let d = domain("acme");
    s.create_domain(&d).await.unwrap();
    let mut p = project("web", DEFAULT_DOMAIN_ID);
    let p2 = project("api", DEFAULT_DOMAIN_ID);
    let p3 = project("web", &d.id);
    for p in [&p, &p2, &p3] {
        s.create_project(p).await.unwrap();
    }
    assert_eq!(s.get_project(&p.id).await.unwrap(), p);
    assert_eq!(s.find_project_by_name(&d.id, "web").await.unwrap(), p3);
    let in_default = s.list_projects(Some(DEFAULT_DOMAIN_ID)).await.unwrap();
    assert_eq!(in_default, vec![p2.clone(), p.clone()]);
    assert_eq!(s.list_projects(None).await.unwrap().len(), 3);

    assert!(matches!(
        s.create_project(&project("web", DEFAULT_DOMAIN_ID)).await,
        Err(AuthError::Conflict { .. })
    ));
    assert!(matches!(
        s.create_project(&project("x", "no-such-domain")).await,
        Err(AuthError::NotFound { .. })
    ));

    p.name = "www".into();
    p.enabled = false;
    s.update_project(&p).await.unwrap();
    assert_eq!(s.get_project(&p.id).await.unwrap(), p);
    let mut clash = p.clone();
    clash.name = "api".into();
    assert!(matches!(
        s.update_project(&clash).await,
        Err(AuthError::Conflict { .. })
    ));
    assert!(matches!(
        s.update_project(&project("ghost", DEFAULT_DOMAIN_ID)).await,
        Err(AuthError::NotFound { .. })
    ));

    s.delete_project(&p.id).await.unwrap();
    assert!(matches!(
        s.get_project(&p.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.find_project_by_name(DEFAULT_DOMAIN_ID, "www").await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete_project(&p.id).await,
        Err(AuthError::NotFound { .. })
    ));
}

pub(crate) async fn users_round_trip_with_typed_errors(f: &Fixture) {
    let s = &f.storage;
    let p = project("home", DEFAULT_DOMAIN_ID);
    s.create_project(&p).await.unwrap();
    let d = domain("acme");
    s.create_domain(&d).await.unwrap();

    let mut alice = user("alice", DEFAULT_DOMAIN_ID);
    alice.default_project_id = Some(p.id.clone());
    alice.options.multi_factor_auth_rules = vec![vec!["password".into(), "totp".into()]];
    alice.options.multi_factor_auth_enabled = Some(true);
    alice.options.ignore_lockout_failure_attempts = true;
    alice.options.ignore_password_expiry = false;
    alice.options.ignore_change_password_upon_first_use = true;
    alice.options.ignore_user_inactivity = false;
    alice.options.lock_password = true;
    let bob = user("bob", DEFAULT_DOMAIN_ID);
    let alice_elsewhere = user("alice", &d.id);
    for u in [&alice, &bob, &alice_elsewhere] {
        s.create_user(u, None).await.unwrap();
    }
    assert_eq!(s.get_user(&alice.id).await.unwrap(), alice);
    assert_eq!(
        s.find_user_by_name(DEFAULT_DOMAIN_ID, "alice")
            .await
            .unwrap(),
        alice
    );
    assert_eq!(
        s.find_user_by_name(&d.id, "alice").await.unwrap(),
        alice_elsewhere
    );

    let all = s.list_users(&UserFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["alice", "alice", "bob"]
    );
    let in_default = UserFilter::default().with_domain(DEFAULT_DOMAIN_ID);
    assert_eq!(
        s.list_users(&in_default).await.unwrap(),
        vec![alice.clone(), bob.clone()]
    );
    let named = UserFilter::default().with_name("alice");
    assert_eq!(s.list_users(&named).await.unwrap().len(), 2);

    let duplicate = s.create_user(&user("alice", DEFAULT_DOMAIN_ID), None).await;
    assert!(
        matches!(duplicate, Err(AuthError::Conflict { .. })),
        "{duplicate:?}"
    );
    assert_eq!(duplicate.unwrap_err().http_status(), 409);
    let no_domain = s.create_user(&user("carol", "no-such-domain"), None).await;
    assert!(
        matches!(no_domain, Err(AuthError::NotFound { .. })),
        "{no_domain:?}"
    );
    let mut no_project = user("carol", DEFAULT_DOMAIN_ID);
    no_project.default_project_id = Some("no-such-project".into());
    assert!(matches!(
        s.create_user(&no_project, None).await,
        Err(AuthError::NotFound { .. })
    ));

    alice.enabled = false;
    alice.default_project_id = None;
    alice.options.multi_factor_auth_rules = vec![vec!["totp".into()]];
    s.update_user(&alice).await.unwrap();
    assert_eq!(s.get_user(&alice.id).await.unwrap(), alice);
    let mut clash = bob.clone();
    clash.name = "alice".into();
    assert!(matches!(
        s.update_user(&clash).await,
        Err(AuthError::Conflict { .. })
    ));
    assert!(matches!(
        s.update_user(&user("ghost", DEFAULT_DOMAIN_ID)).await,
        Err(AuthError::NotFound { .. })
    ));

    s.delete_user(&bob.id).await.unwrap();
    let missing = s.get_user(&bob.id).await.unwrap_err();
    assert!(matches!(missing, AuthError::NotFound { .. }));
    assert_eq!(missing.http_status(), 404);
    assert!(matches!(
        s.find_user_by_name(DEFAULT_DOMAIN_ID, "bob").await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete_user(&bob.id).await,
        Err(AuthError::NotFound { .. })
    ));
}

pub(crate) async fn a_failed_create_user_writes_nothing(f: &Fixture) {
    let s = &f.storage;
    // The user row is inserted first; the password row then breaks the
    // schema's CHECK (an empty hash), so the transaction must roll back.
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    let failed = s.create_user(&alice, Some(&password("", at(0)))).await;
    assert!(
        matches!(failed, Err(AuthError::BadRequest(_))),
        "{failed:?}"
    );
    assert!(matches!(
        s.get_user(&alice.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.find_user_by_name(DEFAULT_DOMAIN_ID, "alice").await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(
        s.list_users(&UserFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    // The writer is free and nothing is left over: the same user goes in.
    s.create_user(&alice, Some(&password("$argon2id$x", at(0))))
        .await
        .unwrap();
    let current = s.current_password(&alice.id).await.unwrap().unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&current.hash),
        "$argon2id$x"
    );
}

pub(crate) async fn groups_and_memberships(f: &Fixture) {
    let s = &f.storage;
    let alice = user("alice", DEFAULT_DOMAIN_ID);
    s.create_user(&alice, None).await.unwrap();
    let group = |name: &str| {
        Group::new(new_id(), name, DEFAULT_DOMAIN_ID).with_description(format!("the {name}s"))
    };
    let (ops, devs) = (group("ops"), group("devs"));
    s.create_group(&ops).await.unwrap();
    s.create_group(&devs).await.unwrap();
    assert_eq!(s.get_group(&ops.id).await.unwrap(), ops);
    assert!(matches!(
        s.create_group(&group("ops")).await,
        Err(AuthError::Conflict { .. })
    ));
    let mut orphan = group("orphans");
    orphan.domain_id = "no-such-domain".into();
    assert!(matches!(
        s.create_group(&orphan).await,
        Err(AuthError::NotFound { .. })
    ));

    s.add_user_to_group(&alice.id, &ops.id).await.unwrap();
    s.add_user_to_group(&alice.id, &ops.id).await.unwrap(); // idempotent
    s.add_user_to_group(&alice.id, &devs.id).await.unwrap();
    assert_eq!(
        s.list_user_groups(&alice.id).await.unwrap(),
        vec![devs.clone(), ops.clone()]
    );
    assert!(matches!(
        s.add_user_to_group("no-such-user", &ops.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.add_user_to_group(&alice.id, "no-such-group").await,
        Err(AuthError::NotFound { .. })
    ));

    s.remove_user_from_group(&alice.id, &devs.id).await.unwrap();
    assert!(matches!(
        s.remove_user_from_group(&alice.id, &devs.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert_eq!(
        s.list_user_groups(&alice.id).await.unwrap(),
        vec![ops.clone()]
    );

    s.delete_group(&ops.id).await.unwrap();
    assert!(s.list_user_groups(&alice.id).await.unwrap().is_empty());
    assert!(matches!(
        s.get_group(&ops.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete_group(&ops.id).await,
        Err(AuthError::NotFound { .. })
    ));
    s.get_user(&alice.id).await.unwrap();
}

pub(crate) async fn groups_are_listed_updated_and_list_their_members(f: &Fixture) {
    let s = &f.storage;
    let other = domain("other");
    s.create_domain(&other).await.unwrap();
    let group = |name: &str, domain_id: &str| Group::new(new_id(), name, domain_id);
    let ops = group("ops", DEFAULT_DOMAIN_ID);
    let devs = group("devs", DEFAULT_DOMAIN_ID);
    let other_ops = group("ops", &other.id);
    for g in [&ops, &devs, &other_ops] {
        s.create_group(g).await.unwrap();
    }
    let names = |groups: Vec<Group>| {
        groups
            .into_iter()
            .map(|g| (g.name, g.domain_id))
            .collect::<Vec<_>>()
    };
    let all = names(s.list_groups(&GroupFilter::default()).await.unwrap());
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].0, "devs", "by name");
    let in_default = GroupFilter::default().with_domain(DEFAULT_DOMAIN_ID);
    assert_eq!(
        names(s.list_groups(&in_default).await.unwrap()),
        [
            ("devs".to_owned(), DEFAULT_DOMAIN_ID.to_owned()),
            ("ops".to_owned(), DEFAULT_DOMAIN_ID.to_owned())
        ]
    );
    let ops_anywhere = GroupFilter::default().with_name("ops");
    assert_eq!(s.list_groups(&ops_anywhere).await.unwrap().len(), 2);
    let ops_in_other = GroupFilter::default()
        .with_domain(other.id.clone())
        .with_name("ops");
    assert_eq!(
        s.list_groups(&ops_in_other).await.unwrap(),
        vec![other_ops.clone()]
    );

    // Renaming: free names only, within the domain; the domain stays.
    let mut renamed = ops.clone();
    renamed.name = "devs".into();
    assert!(matches!(
        s.update_group(&renamed).await,
        Err(AuthError::Conflict { .. })
    ));
    assert_eq!(s.get_group(&ops.id).await.unwrap(), ops, "nothing written");
    renamed.name = "operators".into();
    renamed.description = "on call".into();
    s.update_group(&renamed).await.unwrap();
    assert_eq!(s.get_group(&ops.id).await.unwrap(), renamed);
    let mut other_renamed = other_ops.clone();
    other_renamed.name = "devs".into();
    s.update_group(&other_renamed).await.unwrap();
    assert!(matches!(
        s.update_group(&group("ghost", DEFAULT_DOMAIN_ID)).await,
        Err(AuthError::NotFound { .. })
    ));

    // Members, by name; none for an empty or unknown group.
    let (zed, amy) = (
        user("zed", DEFAULT_DOMAIN_ID),
        user("amy", DEFAULT_DOMAIN_ID),
    );
    for u in [&zed, &amy] {
        s.create_user(u, None).await.unwrap();
        s.add_user_to_group(&u.id, &ops.id).await.unwrap();
    }
    s.add_user_to_group(&amy.id, &devs.id).await.unwrap();
    let members: Vec<String> = s
        .list_group_users(&ops.id)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(members, ["amy", "zed"]);
    assert_eq!(
        s.list_group_users(&devs.id).await.unwrap(),
        vec![amy.clone()]
    );
    assert!(s.list_group_users(&other_ops.id).await.unwrap().is_empty());
    assert!(
        s.list_group_users("no-such-group")
            .await
            .unwrap()
            .is_empty()
    );
    s.delete_user(&zed.id).await.unwrap();
    assert_eq!(s.list_group_users(&ops.id).await.unwrap(), vec![amy]);
}

pub(crate) async fn projects_keep_their_parent_and_tags(f: &Fixture) {
    let s = &f.storage;
    let top = project("top", DEFAULT_DOMAIN_ID).with_tags(vec!["b".into(), "a".into()]);
    s.create_project(&top).await.unwrap();
    let child = project("child", DEFAULT_DOMAIN_ID).with_parent(top.id.clone());
    s.create_project(&child).await.unwrap();
    assert_eq!(s.get_project(&top.id).await.unwrap(), top);
    assert_eq!(s.get_project(&child.id).await.unwrap(), child);
    assert_eq!(
        s.find_project_by_name(DEFAULT_DOMAIN_ID, "child")
            .await
            .unwrap()
            .parent_id
            .as_deref(),
        Some(top.id.as_str())
    );
    assert!(matches!(
        s.create_project(&project("orphan", DEFAULT_DOMAIN_ID).with_parent("ghost"))
            .await,
        Err(AuthError::NotFound { .. })
    ));

    // Tags are replaced whole, in order; the parent never changes.
    let mut retagged = top.clone();
    retagged.tags = vec!["z".into()];
    retagged.parent_id = Some(child.id.clone());
    s.update_project(&retagged).await.unwrap();
    let read = s.get_project(&top.id).await.unwrap();
    assert_eq!(read.tags, ["z"]);
    assert_eq!(read.parent_id, None);

    // A parent is deleted after its children, not before; a credential
    // tied to a project goes with it, and only then.
    let owner = user("owner", DEFAULT_DOMAIN_ID);
    s.create_user(&owner, None).await.unwrap();
    let for_top = Credential::new(new_id(), owner.id.clone(), "ec2", "{}".to_owned().into())
        .with_project(top.id.clone());
    let untied = Credential::new(new_id(), owner.id.clone(), "totp", "seed".to_owned().into());
    for c in [&for_top, &untied] {
        s.create_credential(c).await.unwrap();
    }
    let refused = s.delete_project(&top.id).await;
    assert!(
        matches!(refused, Err(AuthError::Forbidden(ref m)) if m.contains("not a leaf")),
        "{refused:?}"
    );
    assert!(s.get_project(&top.id).await.is_ok());
    assert!(s.get_credential(&for_top.id).await.is_ok());
    s.delete_project(&child.id).await.unwrap();
    let before = s.token_revision().await.unwrap();
    s.delete_project(&top.id).await.unwrap();
    assert_ne!(s.token_revision().await.unwrap(), before);
    assert!(matches!(
        s.get_credential(&for_top.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(s.get_credential(&untied.id).await.is_ok());
}

pub(crate) async fn purging_a_domain_deletes_what_it_holds_and_nothing_else(f: &Fixture) {
    let s = &f.storage;
    let d = domain("doomed");
    s.create_domain(&d).await.unwrap();
    let top = project("top", &d.id);
    let child = project("child", &d.id).with_parent(top.id.clone());
    let grandchild = project("grandchild", &d.id).with_parent(child.id.clone());
    for p in [&top, &child, &grandchild] {
        s.create_project(p).await.unwrap();
    }
    let inside = user("inside", &d.id);
    s.create_user(&inside, None).await.unwrap();
    let group = Group::new(new_id(), "crew", d.id.clone());
    s.create_group(&group).await.unwrap();
    let local = Role::new(new_id(), "local").with_domain(d.id.clone());
    s.create_role(&local).await.unwrap();
    let global = Role::new(new_id(), "global");
    s.create_role(&global).await.unwrap();
    // Outside the domain: a user with a role on one of its projects and
    // that project as default, and a project of its own.
    let home = project("home", DEFAULT_DOMAIN_ID);
    s.create_project(&home).await.unwrap();
    let outsider = user("outsider", DEFAULT_DOMAIN_ID).with_default_project(child.id.clone());
    s.create_user(&outsider, None).await.unwrap();
    s.add_user_to_group(&outsider.id, &group.id).await.unwrap();
    let kept = Assignment::new(
        &global.id,
        Actor::User(outsider.id.clone()),
        Target::Project(home.id.clone()),
    );
    for a in [
        Assignment::new(
            &global.id,
            Actor::User(outsider.id.clone()),
            Target::Project(grandchild.id.clone()),
        ),
        Assignment::new(
            &global.id,
            Actor::Group(group.id.clone()),
            Target::Domain(d.id.clone()),
        ),
        Assignment::new(
            &global.id,
            Actor::User(inside.id.clone()),
            Target::Project(home.id.clone()),
        ),
        kept.clone(),
    ] {
        s.grant(&a).await.unwrap();
    }
    let tied = Credential::new(new_id(), outsider.id.clone(), "ec2", "{}".to_owned().into())
        .with_project(child.id.clone());
    s.create_credential(&tied).await.unwrap();
    let before = s.token_revision().await.unwrap();

    s.purge_domain(&d.id).await.unwrap();
    assert!(matches!(
        s.get_credential(&tied.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert_ne!(s.token_revision().await.unwrap(), before);
    assert!(matches!(
        s.get_domain(&d.id).await,
        Err(AuthError::NotFound { .. })
    ));
    for p in [&top, &child, &grandchild] {
        assert!(matches!(
            s.get_project(&p.id).await,
            Err(AuthError::NotFound { .. })
        ));
    }
    assert!(matches!(
        s.get_user(&inside.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.get_group(&group.id).await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.get_role(&local.id).await,
        Err(AuthError::NotFound { .. })
    ));
    // What is outside stays, less what pointed in.
    assert!(s.get_role(&global.id).await.is_ok());
    assert!(s.get_project(&home.id).await.is_ok());
    assert_eq!(
        s.get_user(&outsider.id).await.unwrap().default_project_id,
        None
    );
    assert!(s.list_user_groups(&outsider.id).await.unwrap().is_empty());
    let left = s
        .list_assignments(&AssignmentFilter::default().with_role(&global.id))
        .await
        .unwrap();
    assert_eq!(left, [kept]);
    assert!(matches!(
        s.purge_domain(&d.id).await,
        Err(AuthError::NotFound { .. })
    ));
}
