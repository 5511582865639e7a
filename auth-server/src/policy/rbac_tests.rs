//! The default policy against Keystone 30, cell for cell.
//!
//! `testdata/keystone-rbac.txt` is the table of `shared/reference/
//! keystone-rbac.md`: 87 calls made as 12 personas on a real Keystone 30.
//! Each call is expressed here as Keystone's API expresses it to
//! oslo.policy: the action, and the target its `keystone/api/*.py` handler
//! builds (view arguments at the top, `target.<type>.*` from the objects it
//! loads, `target.domain_id` from a domain-scoped token on list calls, the
//! subject token as `target.token.*`). The policy must give the table's
//! answer in every cell this way; the server's handlers are tested over
//! HTTP separately.

use serde_json::{Value, json};

use super::*;

const TABLE: &str = include_str!("testdata/keystone-rbac.txt");

const DOMAIN_A: &str = "dA";
const DOMAIN_B: &str = "dB";

/// A persona: its token's credentials, and what "its own" things are.
struct Persona {
    credentials: Credentials,
    /// The project its "own project" calls read.
    own_project: Value,
}

fn user(id: &str, domain: &str) -> Value {
    json!({"id": id, "name": id, "domain_id": domain, "enabled": true})
}

fn group(id: &str, domain: &str) -> Value {
    json!({"id": id, "name": id, "domain_id": domain, "description": ""})
}

fn project(id: &str, domain: &str) -> Value {
    json!({"id": id, "name": id, "domain_id": domain, "parent_id": domain,
           "is_domain": false, "enabled": true})
}

fn domain(id: &str) -> Value {
    json!({"id": id, "name": id, "enabled": true})
}

/// The global role a grant call grants (what a domain manager may grant).
fn member_role() -> Value {
    json!({"id": "r-member", "name": "member", "domain_id": null})
}

/// Roles with the ones Keystone's bootstrap makes them imply.
fn implied(role: &str) -> Vec<&'static str> {
    match role {
        "admin" => vec!["admin", "manager", "member", "reader"],
        "manager" => vec!["manager", "member", "reader"],
        "member" => vec!["member", "reader"],
        "reader" => vec!["reader"],
        _ => vec![],
    }
}

fn persona(name: &str) -> Persona {
    let role = match &name[name.len() - 1..] {
        _ if name.ends_with("Mg") => "manager",
        "A" => "admin",
        "M" => "member",
        "R" => "reader",
        _ => "",
    };
    let user_id = format!("u-{name}");
    let persona_project = || CallerScope::Project {
        id: "p-own".into(),
        domain_id: DOMAIN_A.into(),
    };
    let (scope, roles, user_domain) = match name {
        "none" => (CallerScope::Unscoped, vec![], DOMAIN_A),
        "admPrj" => (
            CallerScope::Project {
                id: "p-admin".into(),
                domain_id: "default".into(),
            },
            implied("admin"),
            "default",
        ),
        _ if name.starts_with("sys") => (CallerScope::System, implied(role), DOMAIN_A),
        _ if name.starts_with("dom") => (
            CallerScope::Domain {
                id: DOMAIN_A.into(),
            },
            implied(role),
            DOMAIN_A,
        ),
        _ if name.starts_with("prj") => (persona_project(), implied(role), DOMAIN_A),
        other => panic!("unknown persona {other}"),
    };
    let own_project = match &scope {
        CallerScope::Project { id, domain_id } => project(id, domain_id),
        _ => project("p-A", DOMAIN_A),
    };
    Persona {
        credentials: Credentials::new(user_id, user_domain, scope, roles),
        own_project,
    }
}

/// Keystone's `list_*` handlers put the domain of a domain-scoped token in
/// the target (as `target.<key>`), and nothing otherwise.
fn list_target(p: &Persona, key: &str) -> Target {
    match &p.credentials.scope {
        CallerScope::Domain { id } => Target::new().with(format!("target.{key}"), id.as_str()),
        _ => Target::new(),
    }
}

fn user_target(user_value: &Value) -> Target {
    Target::new()
        .with("user_id", user_value["id"].clone())
        .with_object("target.user", user_value)
}

fn group_target(group_value: &Value) -> Target {
    Target::new()
        .with("group_id", group_value["id"].clone())
        .with_object("target.group", group_value)
}

fn project_target(project_value: &Value) -> Target {
    Target::new()
        .with("project_id", project_value["id"].clone())
        .with_object("target.project", project_value)
}

fn membership(group_value: &Value, user_value: &Value) -> Target {
    Target::new()
        .with("group_id", group_value["id"].clone())
        .with("user_id", user_value["id"].clone())
        .with_object("target.group", group_value)
        .with_object("target.user", user_value)
}

fn project_grant(domain_of: &str) -> Target {
    let p = project(&format!("p-{domain_of}"), domain_of);
    let u = user(&format!("u-{domain_of}"), domain_of);
    Target::new()
        .with("project_id", p["id"].clone())
        .with("user_id", u["id"].clone())
        .with("role_id", "r-member")
        .with_object("target.role", &member_role())
        .with_object("target.user", &u)
        .with_object("target.project", &p)
}

fn domain_grant() -> Target {
    let u = user("u-dA", DOMAIN_A);
    Target::new()
        .with("domain_id", DOMAIN_A)
        .with("user_id", "u-dA")
        .with("role_id", "r-member")
        .with_object("target.domain", &domain(DOMAIN_A))
        .with_object("target.role", &member_role())
        .with_object("target.user", &u)
}

fn system_grant() -> Target {
    Target::new()
        .with("user_id", "u-dA")
        .with("role_id", "r-member")
        .with_object("target.role", &member_role())
        .with_object("target.user", &user("u-dA", DOMAIN_A))
}

fn credential_of(owner: &str) -> Target {
    Target::new().with("credential_id", "c1").with_object(
        "target.credential",
        &json!({"id": "c1", "user_id": owner, "type": "totp", "project_id": null}),
    )
}

/// Keystone's subject-token target: `target.token.user_id` and the
/// user's domain.
fn subject_token(owner: &str) -> Target {
    Target::new()
        .with("target.token.user_id", owner)
        .with("target.token.user.domain.id", DOMAIN_A)
}

/// The action and target of one call of the table as `p`, or `None` for a
/// call the policy alone does not decide.
fn call(name: &str, p: &Persona) -> Option<(&'static str, Target)> {
    let me = p.credentials.user_id.as_str();
    let me_user = user(me, &p.credentials.user_domain_id);
    let user_a = user("u-dA", DOMAIN_A);
    let user_b = user("u-dB", DOMAIN_B);
    let group_a = group("g-dA", DOMAIN_A);
    let group_b = group("g-dB", DOMAIN_B);
    let project_a = project("p-A", DOMAIN_A);
    let project_b = project("p-B", DOMAIN_B);
    let of = |domain_id: &str| json!({"name": "new", "domain_id": domain_id});
    Some(match name {
        "users.list_all" | "users.list_A" => ("identity:list_users", list_target(p, "domain_id")),
        "users.get_self" => ("identity:get_user", user_target(&me_user)),
        "users.get_A" => ("identity:get_user", user_target(&user_a)),
        "users.get_B" => ("identity:get_user", user_target(&user_b)),
        "users.create_A" => (
            "identity:create_user",
            Target::new().with_object("target.user", &of(DOMAIN_A)),
        ),
        "users.create_B" => (
            "identity:create_user",
            Target::new().with_object("target.user", &of(DOMAIN_B)),
        ),
        "users.update_A" => ("identity:update_user", user_target(&user_a)),
        "users.update_B" => ("identity:update_user", user_target(&user_b)),
        "users.delete_A" => ("identity:delete_user", user_target(&user_a)),
        "users.delete_B" => ("identity:delete_user", user_target(&user_b)),
        "users.projects_self" => ("identity:list_user_projects", user_target(&me_user)),
        "users.projects_A" => ("identity:list_user_projects", user_target(&user_a)),
        "users.groups_A" => ("identity:list_groups_for_user", user_target(&user_a)),
        "groups.list_all" | "groups.list_A" => {
            ("identity:list_groups", list_target(p, "group.domain_id"))
        }
        "groups.get_A" => ("identity:get_group", group_target(&group_a)),
        "groups.get_B" => ("identity:get_group", group_target(&group_b)),
        "groups.create_A" => (
            "identity:create_group",
            Target::new().with_object("target.group", &of(DOMAIN_A)),
        ),
        "groups.create_B" => (
            "identity:create_group",
            Target::new().with_object("target.group", &of(DOMAIN_B)),
        ),
        "groups.update_A" => ("identity:update_group", group_target(&group_a)),
        "groups.update_B" => ("identity:update_group", group_target(&group_b)),
        "groups.delete_A" => ("identity:delete_group", group_target(&group_a)),
        "groups.delete_B" => ("identity:delete_group", group_target(&group_b)),
        "groups.members_A" => ("identity:list_users_in_group", group_target(&group_a)),
        "groups.add_member_A" => ("identity:add_user_to_group", membership(&group_a, &user_a)),
        "groups.remove_member_A" => (
            "identity:remove_user_from_group",
            membership(&group_a, &user_a),
        ),
        "groups.add_member_B" => ("identity:add_user_to_group", membership(&group_b, &user_b)),
        "projects.list_all" | "projects.list_A" => {
            ("identity:list_projects", list_target(p, "domain_id"))
        }
        "projects.get_own" => ("identity:get_project", project_target(&p.own_project)),
        "projects.get_A" => ("identity:get_project", project_target(&project_a)),
        "projects.get_B" => ("identity:get_project", project_target(&project_b)),
        "projects.create_A" => (
            "identity:create_project",
            Target::new().with_object("target.project", &of(DOMAIN_A)),
        ),
        "projects.create_B" => (
            "identity:create_project",
            Target::new().with_object("target.project", &of(DOMAIN_B)),
        ),
        "projects.update_A" => ("identity:update_project", project_target(&project_a)),
        "projects.update_B" => ("identity:update_project", project_target(&project_b)),
        "projects.delete_A" => ("identity:delete_project", project_target(&project_a)),
        "projects.delete_B" => ("identity:delete_project", project_target(&project_b)),
        "domains.list" => ("identity:list_domains", list_target(p, "domain.id")),
        "domains.get_A" | "domains.update_A" | "domains.get_B" | "domains.delete" => {
            let (action, id) = match name {
                "domains.get_A" => ("identity:get_domain", DOMAIN_A),
                "domains.get_B" => ("identity:get_domain", DOMAIN_B),
                "domains.update_A" => ("identity:update_domain", DOMAIN_A),
                _ => ("identity:delete_domain", "dC"),
            };
            (
                action,
                Target::new()
                    .with("domain_id", id)
                    .with_object("target.domain", &domain(id)),
            )
        }
        "domains.create" => ("identity:create_domain", Target::new()),
        "roles.list" => ("identity:list_roles", Target::new()),
        "roles.get" | "roles.delete" => (
            if name == "roles.get" {
                "identity:get_role"
            } else {
                "identity:delete_role"
            },
            Target::new()
                .with("role_id", "r-member")
                .with_object("target.role", &member_role()),
        ),
        "roles.create" => ("identity:create_role", Target::new()),
        "grants.check_projA" => ("identity:check_grant", project_grant(DOMAIN_A)),
        "grants.assign_projA" => ("identity:create_grant", project_grant(DOMAIN_A)),
        "grants.revoke_projA" => ("identity:revoke_grant", project_grant(DOMAIN_A)),
        "grants.check_projB" => ("identity:check_grant", project_grant(DOMAIN_B)),
        "grants.assign_projB" => ("identity:create_grant", project_grant(DOMAIN_B)),
        "grants.revoke_projB" => ("identity:revoke_grant", project_grant(DOMAIN_B)),
        "grants.check_domA" => ("identity:check_grant", domain_grant()),
        "grants.assign_domA" => ("identity:create_grant", domain_grant()),
        "grants.revoke_domA" => ("identity:revoke_grant", domain_grant()),
        "grants.check_system" => ("identity:check_system_grant_for_user", system_grant()),
        "grants.assign_system" => ("identity:create_system_grant_for_user", system_grant()),
        "grants.revoke_system" => ("identity:revoke_system_grant_for_user", system_grant()),
        "grants.list_projA" => (
            "identity:list_grants",
            Target::new()
                .with("project_id", "p-dA")
                .with("user_id", "u-dA")
                .with_object("target.user", &user("u-dA", DOMAIN_A))
                .with_object("target.project", &project("p-dA", DOMAIN_A)),
        ),
        "role_assignments.list_all"
        | "role_assignments.scope_projA"
        | "role_assignments.scope_domA"
        | "role_assignments.user_other"
        | "role_assignments.user_self" => (
            "identity:list_role_assignments",
            list_target(p, "domain_id"),
        ),
        "credentials.list" => (
            "identity:list_credentials",
            match p.credentials.scope {
                CallerScope::System => Target::new(),
                _ => Target::new().with("target.credential.user_id", me),
            },
        ),
        "credentials.create_self" => (
            "identity:create_credential",
            Target::new().with_object(
                "target.credential",
                &json!({"user_id": me, "type": "totp", "blob": "x"}),
            ),
        ),
        "credentials.create_other" => (
            "identity:create_credential",
            Target::new().with_object(
                "target.credential",
                &json!({"user_id": "u-dA", "type": "totp", "blob": "x"}),
            ),
        ),
        "credentials.get_other" => ("identity:get_credential", credential_of("u-dA")),
        "credentials.delete_other" => ("identity:delete_credential", credential_of("u-dA")),
        "app_creds.list_own" => (
            "identity:list_application_credentials",
            Target::new().with("user_id", me),
        ),
        "app_creds.create_own" => (
            "identity:create_application_credential",
            Target::new().with("user_id", me),
        ),
        // Keystone's handler replaces the path's user with the owner's.
        "app_creds.delete_own" => (
            "identity:delete_application_credential",
            Target::new()
                .with("user_id", me)
                .with("application_credential_id", "ac1")
                .with("target.user_id", me),
        ),
        "app_creds.list_other" => (
            "identity:list_application_credentials",
            Target::new().with("user_id", "u-dA"),
        ),
        "app_creds.get_other" | "app_creds.delete_other" => (
            if name == "app_creds.get_other" {
                "identity:get_application_credential"
            } else {
                "identity:delete_application_credential"
            },
            Target::new()
                .with("user_id", "u-dA")
                .with("application_credential_id", "ac1")
                .with("target.user_id", "u-dA"),
        ),
        "app_creds.create_other" => (
            "identity:create_application_credential",
            Target::new().with("user_id", "u-dA"),
        ),
        "auth.projects" => ("identity:get_auth_projects", Target::new()),
        "auth.domains" => ("identity:get_auth_domains", Target::new()),
        "auth.system" => ("identity:get_auth_system", Target::new()),
        // The policy allows everyone; Keystone's handler then refuses a
        // token without a project ("A project-scoped token is required").
        "auth.catalog" => return None,
        "tokens.validate_self" => ("identity:validate_token", subject_token(me)),
        "tokens.validate_other" => ("identity:validate_token", subject_token("u-dA")),
        "tokens.check_other" => ("identity:check_token", subject_token("u-dA")),
        "tokens.revoke_other" => ("identity:revoke_token", subject_token("u-dA")),
        other => panic!("call {other} of the table has no (action, target) here"),
    })
}

/// One cell of the table: a call, a persona, and Keystone's answer.
pub(super) struct Cell {
    pub(super) call: &'static str,
    pub(super) persona: &'static str,
    pub(super) keystone: bool,
}

/// Every cell of the table the policy decides (not the skips, nor the
/// catalog's row).
pub(super) fn cells() -> Vec<Cell> {
    let mut lines = TABLE.lines();
    let header: Vec<&'static str> = lines.next().unwrap().split_whitespace().skip(1).collect();
    assert_eq!(header.len(), 12);
    let mut out = Vec::new();
    let mut calls = 0;
    for line in lines {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap();
        calls += 1;
        let words: Vec<&str> = words.collect();
        assert_eq!(words.len(), 12, "{line}");
        for (word, persona_name) in words.iter().zip(&header) {
            let keystone = match *word {
                "OK" => true,
                "-" => false,
                "skip" => continue,
                other => panic!("cell {other}"),
            };
            if call(name, &persona(persona_name)).is_none() {
                continue;
            }
            out.push(Cell {
                call: name,
                persona: persona_name,
                keystone,
            });
        }
    }
    assert_eq!(calls, 87);
    out
}

/// What `policy` answers to `call` made as `persona`.
pub(super) fn ask(policy: &Policy, call_name: &str, persona_name: &str) -> bool {
    let p = persona(persona_name);
    let (action, target) = call(call_name, &p).unwrap();
    policy.allows(action, &p.credentials, &target)
}

/// Every cell where `policy` differs from Keystone, as
/// `"<call> as <persona>: allowed|refused"`.
fn differences(policy: &Policy) -> Vec<String> {
    cells()
        .into_iter()
        .filter_map(|cell| {
            let allowed = ask(policy, cell.call, cell.persona);
            (allowed != cell.keystone).then(|| {
                format!(
                    "{} as {}: {}",
                    cell.call,
                    cell.persona,
                    if allowed { "allowed" } else { "refused" }
                )
            })
        })
        .collect()
}

#[test]
fn default_policy_reproduces_keystone_30_cell_for_cell() {
    // 87 calls x 12 personas, less 7 skips and auth.catalog's row.
    assert_eq!(cells().len(), 87 * 12 - 7 - 12);
    let wrong = differences(&Policy::keystone_defaults());
    assert!(
        wrong.is_empty(),
        "{} cells differ from Keystone:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_catalog_is_left_to_its_handler() {
    // The table's `auth.catalog` row is decided by Keystone's handler (a
    // project-scoped token is required); the policy itself allows anyone.
    let policy = Policy::keystone_defaults();
    for name in ["sysA", "domR", "none", "prjR"] {
        assert!(policy.allows(
            "identity:get_auth_catalog",
            &persona(name).credentials,
            &Target::new()
        ));
    }
}
