//! The shipped `policies/domain-confined.yaml`, at the policy level: the
//! persona table of Keystone 30 asked again under the stricter file.

use serde_json::json;

use super::rbac_tests::{ask, cells};
use super::*;

const STRICT: &str = include_str!("../../policies/domain-confined.yaml");

fn strict() -> Policy {
    Policy::from_yaml(STRICT, "policies/domain-confined.yaml").unwrap()
}

/// The calls a domain admin of A makes on something outside domain A:
/// domain B's objects, and credentials (which carry no domain).
fn outside_domain_a(call: &str) -> bool {
    call.ends_with("_B")
        || call.ends_with("_projB")
        || matches!(
            call,
            "credentials.create_other" | "credentials.get_other" | "credentials.delete_other"
        )
}

#[test]
fn the_file_loads_and_overrides_what_it_says() {
    let policy = strict();
    let from_file: Vec<&str> = policy
        .rules()
        .filter(|r| r.source().from_file())
        .map(Rule::name)
        .collect();
    assert_eq!(
        from_file,
        [
            "admin_required",
            "identity:check_token",
            "identity:validate_token",
            "identity:revoke_token",
            "domain_admin_of_token_user",
        ]
    );
}

#[test]
fn a_domain_admin_is_refused_outside_its_domain_and_unchanged_inside() {
    let policy = strict();
    let mut checked = 0;
    for cell in cells().iter().filter(|c| c.persona == "domA") {
        let expected = cell.keystone && !outside_domain_a(cell.call);
        assert_eq!(
            ask(&policy, cell.call, "domA"),
            expected,
            "{} as domA (Keystone: {})",
            cell.call,
            cell.keystone
        );
        checked += 1;
    }
    assert_eq!(
        checked,
        87 - 1 - 1,
        "every call but the skip and the catalog"
    );
    // What it keeps in its domain, spelled out.
    for call in [
        "users.create_A",
        "users.delete_A",
        "groups.add_member_A",
        "projects.create_A",
        "grants.assign_projA",
        "grants.assign_domA",
        "tokens.revoke_other",
    ] {
        assert!(ask(&policy, call, "domA"), "{call}");
    }
    // What Keystone let it do elsewhere, refused.
    for call in [
        "users.get_B",
        "users.create_B",
        "groups.add_member_B",
        "projects.delete_B",
        "grants.assign_projB",
        "grants.assign_system",
        "domains.get_B",
    ] {
        assert!(!ask(&policy, call, "domA"), "{call}");
        assert!(
            ask(&Policy::keystone_defaults(), call, "domA") || call == "grants.assign_system",
            "{call} was Keystone's weakness"
        );
    }
}

#[test]
fn a_domain_admin_manages_tokens_of_its_own_domains_users_only() {
    let policy = strict();
    let domain_admin = Credentials::new(
        "u-domA",
        "dA",
        CallerScope::Domain { id: "dA".into() },
        ["admin", "manager", "member", "reader"],
    );
    let token_of = |domain: &str| {
        Target::new()
            .with("target.token.user_id", "u-other")
            .with("target.token.user.domain.id", domain)
    };
    for action in [
        "identity:validate_token",
        "identity:check_token",
        "identity:revoke_token",
    ] {
        assert!(
            policy.allows(action, &domain_admin, &token_of("dA")),
            "{action}"
        );
        assert!(
            !policy.allows(action, &domain_admin, &token_of("dB")),
            "{action}"
        );
        // Keystone lets it, anywhere.
        assert!(Policy::keystone_defaults().allows(action, &domain_admin, &token_of("dB")));
    }
}

#[test]
fn a_project_admin_is_an_admin_of_its_project_only() {
    // Under the file, prjA (admin on a project of A) and admPrj (the
    // bootstrap admin with a token on the admin project) answer every call
    // as a member of their project does under Keystone's defaults, but for
    // reading the `member` role, which Keystone's defaults let anyone with
    // `manager` (implied by `admin`) read; admPrj's project is in another
    // domain, so it cannot read domain A.
    let policy = strict();
    let keystone = Policy::keystone_defaults();
    for cell in cells().iter().filter(|c| c.persona == "prjM") {
        let member = cell.keystone;
        let expected = member || cell.call == "roles.get";
        assert_eq!(
            ask(&policy, cell.call, "prjA"),
            expected,
            "{} as prjA",
            cell.call
        );
        let adm_expected = expected && cell.call != "domains.get_A";
        assert_eq!(
            ask(&policy, cell.call, "admPrj"),
            adm_expected,
            "{} as admPrj",
            cell.call
        );
        assert_eq!(ask(&keystone, cell.call, "prjM"), member);
    }
}

#[test]
fn system_personas_and_non_admins_are_unchanged() {
    let policy = strict();
    for cell in cells()
        .iter()
        .filter(|c| !matches!(c.persona, "domA" | "prjA" | "admPrj"))
    {
        assert_eq!(
            ask(&policy, cell.call, cell.persona),
            cell.keystone,
            "{} as {}",
            cell.call,
            cell.persona
        );
    }
}

#[test]
fn a_domain_admin_granting_itself_project_admin_gains_nothing_outside() {
    // The escalation the file closes: domain admin of A grants itself
    // `admin` on a project of A (allowed, it is its domain), then uses a
    // token on that project. Under Keystone's defaults that token is a
    // cloud admin; under the file it is not.
    let policy = strict();
    let grant = Target::new()
        .with_object(
            "target.role",
            &json!({"id": "r-admin", "name": "admin", "domain_id": null}),
        )
        .with_object("target.user", &json!({"id": "u-domA", "domain_id": "dA"}))
        .with_object("target.project", &json!({"id": "p-A", "domain_id": "dA"}));
    let domain_admin = Credentials::new(
        "u-domA",
        "dA",
        CallerScope::Domain { id: "dA".into() },
        ["admin", "manager", "member", "reader"],
    );
    assert!(policy.allows("identity:create_grant", &domain_admin, &grant));
    let project_admin = Credentials::new(
        "u-domA",
        "dA",
        CallerScope::Project {
            id: "p-A".into(),
            domain_id: "dA".into(),
        },
        ["admin", "manager", "member", "reader"],
    );
    let user_in_b = Target::new()
        .with("user_id", "u-dB")
        .with_object("target.user", &json!({"id": "u-dB", "domain_id": "dB"}));
    assert!(Policy::keystone_defaults().allows("identity:delete_user", &project_admin, &user_in_b));
    assert!(!policy.allows("identity:delete_user", &project_admin, &user_in_b));
}
