//! Building a policy: defaults, files, overrides, errors, scope types.

use serde_json::json;

use super::*;

fn system(roles: &[&str]) -> Credentials {
    Credentials::new("u1", "dA", CallerScope::System, roles)
}

fn domain(id: &str, roles: &[&str]) -> Credentials {
    Credentials::new("u1", "dA", CallerScope::Domain { id: id.into() }, roles)
}

fn project(roles: &[&str]) -> Credentials {
    Credentials::new(
        "u1",
        "dA",
        CallerScope::Project {
            id: "p1".into(),
            domain_id: "dA".into(),
        },
        roles,
    )
}

fn unscoped() -> Credentials {
    Credentials::new("u1", "dA", CallerScope::Unscoped, Vec::<String>::new())
}

fn config_error(result: Result<Policy, ServerError>) -> String {
    match result {
        Err(ServerError::Config(message)) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn every_default_parses_and_is_listed() {
    let policy = Policy::keystone_defaults();
    assert_eq!(policy.rules().count(), 203 + 12);
    assert!(policy.rules().all(|r| !r.source().from_file()));
    let rule = policy
        .rule("identity:create_application_credential")
        .unwrap();
    assert_eq!(rule.check_str(), "user_id:%(user_id)s");
    assert_eq!(rule.scope_types(), Some(&[ScopeType::Project][..]));
    assert_eq!(rule.source(), RuleSource::Keystone);
    assert_eq!(
        policy.rule("identity:list_audit").unwrap().source(),
        RuleSource::Server
    );
    assert_eq!(policy.rule("admin_required").unwrap().scope_types(), None);
}

#[test]
fn scope_types_refuse_a_token_of_another_scope() {
    let policy = Policy::keystone_defaults();
    let admin = ["admin", "manager", "member", "reader"];
    // create_role is [system, project]: admin on a domain is refused, on
    // a project allowed.
    assert!(!policy.allows(
        "identity:create_role",
        &domain("dA", &admin),
        &Target::new()
    ));
    assert!(policy.allows("identity:create_role", &project(&admin), &Target::new()));
    assert!(policy.allows("identity:create_role", &system(&admin), &Target::new()));
    // create_application_credential is [project] only: the system admin
    // owning the path is refused, an unscoped token (counted as project by
    // oslo.policy) is allowed.
    let own = Target::new().with("user_id", "u1");
    assert!(!policy.allows(
        "identity:create_application_credential",
        &system(&admin),
        &own
    ));
    assert!(policy.allows("identity:create_application_credential", &unscoped(), &own));
    // Rules without scope types accept any token.
    assert!(policy.allows("identity:get_auth_projects", &unscoped(), &Target::new()));
}

#[test]
fn our_rules_are_admin_or_system_reader_for_reads_and_admin_for_writes() {
    let policy = Policy::keystone_defaults();
    let t = Target::new();
    for read in [
        "identity:list_event_handlers",
        "identity:get_event_handler",
        "identity:get_event_handler_schema",
        "identity:list_audit",
        "identity:export_audit",
    ] {
        assert!(policy.allows(read, &system(&["reader"]), &t), "{read}");
        assert!(policy.allows(read, &project(&["admin"]), &t), "{read}");
        assert!(
            !policy.allows(read, &project(&["member", "reader"]), &t),
            "{read}"
        );
        assert!(
            !policy.allows(read, &domain("dA", &["admin"]), &t),
            "{read}"
        );
    }
    for write in [
        "identity:create_event_handler",
        "identity:update_event_handler",
        "identity:enable_event_handler",
        "identity:disable_event_handler",
        "identity:delete_event_handler",
    ] {
        assert!(policy.allows(write, &system(&["admin"]), &t), "{write}");
        assert!(
            !policy.allows(write, &system(&["member", "reader"]), &t),
            "{write}"
        );
        assert!(
            !policy.allows(write, &domain("dA", &["admin"]), &t),
            "{write}"
        );
    }
}

#[test]
fn an_unknown_action_is_refused() {
    let policy = Policy::keystone_defaults();
    assert!(!policy.allows(
        "identity:no_such_thing",
        &system(&["admin"]),
        &Target::new()
    ));
    let e = policy
        .enforce(
            "identity:no_such_thing",
            &system(&["admin"]),
            &Target::new(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("identity:no_such_thing"), "{e}");
}

#[test]
fn a_file_overrides_defaults_and_adds_rules() {
    let policy = Policy::from_yaml(
        "\"identity:list_users\": \"rule:only_alice\"\n\
         only_alice: \"user_id:alice\"\n",
        "p.yaml",
    )
    .unwrap();
    let alice = Credentials::new("alice", "dA", CallerScope::System, ["reader"]);
    let t = Target::new();
    assert!(policy.allows("identity:list_users", &alice, &t));
    assert!(!policy.allows("identity:list_users", &system(&["admin"]), &t));
    let rule = policy.rule("identity:list_users").unwrap();
    assert_eq!(rule.source(), RuleSource::File);
    assert_eq!(rule.check_str(), "rule:only_alice");
    // The overridden rule keeps Keystone's scope types.
    assert_eq!(rule.scope_types().map(<[_]>::len), Some(3));
    let added = policy.rule("only_alice").unwrap();
    assert_eq!(added.source(), RuleSource::FileOnly);
    assert_eq!(added.scope_types(), None);
    // Defaults that referenced nothing changed still work.
    assert!(policy.allows("identity:get_user", &system(&["reader"]), &t));
}

#[test]
fn an_override_keeps_the_defaults_scope_types() {
    // Even "@" cannot let a domain-scoped token create a role: create_role
    // is registered for system and project scope, as oslo.policy keeps it.
    let policy = Policy::from_yaml("\"identity:create_role\": \"@\"", "p.yaml").unwrap();
    assert!(!policy.allows(
        "identity:create_role",
        &domain("dA", &["admin"]),
        &Target::new()
    ));
    assert!(policy.allows("identity:create_role", &project(&[]), &Target::new()));
}

#[test]
fn policy_files_load_from_disk_in_yaml_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("policy.yaml");
    std::fs::write(&yaml, "\"identity:get_user\": \"!\"\n").unwrap();
    let json_path = dir.path().join("policy.json");
    std::fs::write(&json_path, json!({"identity:get_user": "!"}).to_string()).unwrap();
    for path in [&yaml, &json_path] {
        let policy = Policy::from_config(&PolicySection {
            file: Some(path.clone()),
        })
        .unwrap();
        assert!(!policy.allows(
            "identity:get_user",
            &system(&["admin"]),
            &Target::new().with("target.user.id", "u1")
        ));
        assert_eq!(
            policy.rule("identity:get_user").unwrap().source(),
            RuleSource::File
        );
    }
    let missing = dir.path().join("nope.yaml");
    let e = config_error(Policy::from_file(&missing));
    assert!(e.contains("nope.yaml") && e.contains("cannot read"), "{e}");
    // No file configured: the defaults.
    let policy = Policy::from_config(&PolicySection::default()).unwrap();
    assert!(policy.rules().all(|r| !r.source().from_file()));
}

#[test]
fn a_syntax_error_names_the_file_line_rule_and_column() {
    let e = config_error(Policy::from_yaml(
        "# strict\n\"identity:get_user\": \"role:admin and\"\n",
        "p.yaml",
    ));
    assert!(e.contains("p.yaml:2"), "{e}");
    assert!(e.contains("rule identity:get_user"), "{e}");
    assert!(e.contains("column 15"), "{e}");
}

#[test]
fn an_undefined_rule_reference_is_refused() {
    let e = config_error(Policy::from_yaml(
        "\"identity:get_user\": \"rule:admin_requried\"\n",
        "p.yaml",
    ));
    assert!(e.contains("rule identity:get_user"), "{e}");
    assert!(
        e.contains("rule:admin_requried names a rule that is not defined"),
        "{e}"
    );
}

#[test]
fn a_cycle_of_rule_references_is_refused() {
    let e = config_error(Policy::from_yaml(
        "a: \"rule:b\"\nb: \"role:x or rule:c\"\nc: \"rule:a\"\n",
        "p.yaml",
    ));
    assert!(e.contains("cycle"), "{e}");
    assert!(
        e.contains("a -> b -> c -> a") || e.contains("b -> c -> a -> b"),
        "{e}"
    );
    // A cycle through a default: admin_required -> mine -> admin_required.
    let e = config_error(Policy::from_yaml(
        "admin_required: \"rule:mine\"\nmine: \"rule:admin_required\"\n",
        "p.yaml",
    ));
    assert!(e.contains("cycle") && e.contains("admin_required"), "{e}");
    // A rule referring to itself.
    let e = config_error(Policy::from_yaml("x: \"rule:x\"\n", "p.yaml"));
    assert!(e.contains("x -> x"), "{e}");
}

#[test]
fn a_value_that_is_not_a_string_is_refused() {
    let e = config_error(Policy::from_yaml(
        "\"identity:get_user\": [\"role:admin\"]\n",
        "p.yaml",
    ));
    assert!(
        e.contains("rule identity:get_user") && e.contains("must be a string"),
        "{e}"
    );
}

#[test]
fn a_missing_target_key_makes_a_check_false_not_an_error() {
    let policy = Policy::from_yaml(
        "x: \"user_id:%(target.user.id)s or role:fallback\"\n",
        "p.yaml",
    )
    .unwrap();
    assert!(!policy.allows("x", &system(&[]), &Target::new()));
    assert!(policy.allows("x", &system(&["fallback"]), &Target::new()));
    assert!(policy.allows(
        "x",
        &system(&[]),
        &Target::new().with("target.user.id", "u1")
    ));
}

#[test]
fn debug_shows_counts_only() {
    let shown = format!("{:?}", Policy::keystone_defaults());
    assert_eq!(shown, "Policy { rules: 215, from_file: 0 }");
}

#[test]
fn the_listing_shows_scope_types_sources_and_overrides() {
    let policy = Policy::from_yaml(
        "\"identity:list_users\": \"role:reader\"\nmine: \"@\"\n",
        "p.yaml",
    )
    .unwrap();
    let listing = policy.listing();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines[0], "name\tscope_types\tsource\tcheck_str");
    assert_eq!(lines.len(), 1 + 215 + 1);
    assert!(lines.contains(&"identity:list_users\tsystem,domain,project\tfile\trole:reader"));
    assert!(lines.contains(&"mine\tany\tfile-only\t@"));
    assert!(lines.contains(&"identity:get_auth_catalog\tany\tkeystone\t\"\""));
    assert!(lines.contains(&"identity:create_role\tsystem,project\tkeystone\trule:admin_required"));
    assert!(lines.contains(
        &"identity:list_audit\tsystem,project\tserver\trule:admin_required or (role:reader and system_scope:all)"
    ));
}

#[test]
fn the_defaults_read_only_caller_attributes_this_server_knows() {
    let policy = Policy::keystone_defaults();
    for (rule, check) in policy.rules.iter().zip(&policy.checks) {
        check.visit(&mut |node| {
            assert!(
                !matches!(
                    node,
                    Check::Generic {
                        left: check::Left::Attr(check::CredAttr::Unknown),
                        ..
                    }
                ),
                "{} reads an attribute the engine does not know",
                rule.name
            );
        });
    }
}
