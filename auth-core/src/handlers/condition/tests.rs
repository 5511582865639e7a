//! Every condition, including what it does with missing data.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::*;
use crate::events::EventError;
use crate::store::UserOptions;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000, 0).unwrap()
}

fn event() -> AuthEvent {
    let mut e = AuthEvent::new("auth.tokens.create", now());
    e.result = Some(EventResult::Failure);
    e.methods = vec!["password".into(), "totp".into()];
    e.user_id = Some("u1".into());
    e.domain_id = Some("default".into());
    e.project_id = Some("p1".into());
    e.client_addr = Some("10.1.2.3".parse().unwrap());
    e.error = Some(EventError {
        kind: "account_locked".into(),
        status: 401,
        message: "The account is locked.".into(),
    });
    e.elapsed_us = Some(1500);
    e.attributes
        .insert("required_methods".into(), json!(["totp"]));
    e
}

fn user() -> User {
    User::new("u1", "admin-alice", "default")
        .with_options(UserOptions {
            lock_password: true,
            ..Default::default()
        })
        .with_extra(
            json!({"email": "alice@example.org", "department": "ops", "level": 7,
                      "tags": ["oncall"], "hired": "2020-01-01T00:00:00Z", "gone": null})
            .as_object()
            .unwrap()
            .clone(),
        )
}

fn state() -> UserAuthState {
    UserAuthState {
        failed_auth_count: 3,
        failed_auth_at: Some(now() - Duration::minutes(1)),
        last_active_at: Some(now() - Duration::days(200)),
    }
}

/// Whether `conditions` hold with everything known.
fn holds(conditions: Value) -> bool {
    holds_with(conditions, &event(), Some(&user()), Some(&state()))
}

fn holds_with(
    conditions: Value,
    event: &AuthEvent,
    user: Option<&User>,
    state: Option<&UserAuthState>,
) -> bool {
    Conditions::compile(&conditions)
        .unwrap_or_else(|e| panic!("{conditions}: {e}"))
        .evaluate(&Facts {
            event,
            user,
            auth_state: state,
            now: now(),
        })
}

/// Whether `conditions` hold when the event has nothing but a name and no
/// user could be loaded.
fn holds_on_nothing(conditions: Value) -> bool {
    holds_with(conditions, &AuthEvent::new("x", now()), None, None)
}

fn refused(conditions: Value) -> String {
    let e = Conditions::compile(&conditions).unwrap_err();
    assert_eq!(e.http_status(), 400, "{e}");
    e.to_string()
}

#[test]
fn no_conditions_always_hold() {
    for none in [Value::Null, json!({}), json!([])] {
        let c = Conditions::compile(&none).unwrap();
        assert!(c.is_empty());
        assert!(holds_on_nothing(none));
    }
}

#[test]
fn result() {
    assert!(holds(json!({"result": "failure"})));
    assert!(!holds(json!({"result": "success"})));
    assert!(holds(json!({"result": ["success", "failure"]})));
    assert!(!holds_on_nothing(json!({"result": "failure"})));
    assert!(holds_on_nothing(
        json!({"result": {"value": "failure", "on_missing": "true"}})
    ));
    assert!(refused(json!({"result": "maybe"})).contains("unknown result 'maybe'"));
}

#[test]
fn method() {
    // A request-wide event: any of the request's methods.
    assert!(holds(json!({"method": "totp"})));
    assert!(!holds(json!({"method": "publickey"})));
    // A method event: that method only.
    let mut e = event();
    e.method = Some("password".into());
    assert!(!holds_with(json!({"method": "totp"}), &e, None, None));
    assert!(holds_with(json!({"method": ["password"]}), &e, None, None));
    assert!(!holds_on_nothing(json!({"method": "password"})));
    assert!(refused(json!({"method": []})).contains("empty"));
    assert!(refused(json!({"method": 7})).contains("string"));
}

#[test]
fn user_name() {
    assert!(holds(json!({"user": "^admin-"})));
    assert!(!holds(json!({"user": "^root$"})));
    // The user's name, not its id.
    assert!(!holds(json!({"user": "^u1$"})));
    assert!(!holds_with(json!({"user": ".*"}), &event(), None, None));
    assert!(holds_with(
        json!({"user": {"value": "^x", "on_missing": true}}),
        &event(),
        None,
        None
    ));
    assert!(refused(json!({"user": "(unclosed"})).contains("bad regular expression"));
    assert!(refused(json!({"user": 5})).contains("regular expression string"));
}

#[test]
fn domain_and_project() {
    assert!(holds(json!({"domain": "default", "project": ["p0", "p1"]})));
    assert!(!holds(json!({"domain": "corp"})));
    assert!(!holds(json!({"project": "p2"})));
    assert!(!holds_on_nothing(json!({"domain": "default"})));
    assert!(!holds_on_nothing(json!({"project": "p1"})));
    assert!(holds_on_nothing(
        json!({"project": {"value": "p1", "on_missing": "true"}})
    ));
}

#[test]
fn client_ip() {
    assert!(holds(json!({"client_ip": "10.0.0.0/8, !10.0.0.7"})));
    assert!(!holds(json!({"client_ip": "10.0.0.0/8, !10.1.0.0/16"})));
    assert!(holds(json!({"client_ip": ["192.168.0.0/16", "10.1.2.3"]})));
    assert!(!holds_on_nothing(json!({"client_ip": "0.0.0.0/0"})));
    // An exclusion-only list does not let an unknown address in.
    assert!(!holds_on_nothing(json!({"client_ip": "!10.0.0.0/8"})));
    assert!(refused(json!({"client_ip": "10.0.0.0/40"})).contains("'10.0.0.0/40'"));
}

#[test]
fn error_kind_and_message() {
    assert!(holds(json!({"error": ["account_locked", "user_disabled"]})));
    assert!(!holds(json!({"error": "invalid_credentials"})));
    assert!(holds(json!({"error_message": "(?i)LOCKED"})));
    assert!(!holds(json!({"error_message": "^wrong"})));
    // A success has no error: missing, false unless said otherwise.
    let mut ok = event();
    ok.result = Some(EventResult::Success);
    ok.error = None;
    assert!(!holds_with(json!({"error_message": ".*"}), &ok, None, None));
    assert!(!holds_with(
        json!({"error": "account_locked"}),
        &ok,
        None,
        None
    ));
    assert!(refused(json!({"error_message": "["})).contains("bad regular expression"));
}

#[test]
fn failure_count() {
    for (condition, expected) in [
        (json!(3), true),
        (json!("3"), true),
        (json!(">= 3"), true),
        (json!(">3"), false),
        (json!("< 4"), true),
        (json!("!= 3"), false),
        (json!({"op": "<=", "value": 2}), false),
        (json!({"op": "in", "value": [1, 3]}), true),
        (json!({"value": ">= 1"}), true),
    ] {
        assert_eq!(
            holds(json!({ "failure_count": condition.clone() })),
            expected,
            "{condition}"
        );
    }
    // No user (or its state could not be loaded): missing.
    assert!(!holds_with(
        json!({"failure_count": ">= 0"}),
        &event(),
        Some(&user()),
        None
    ));
    assert!(holds_with(
        json!({"failure_count": {"op": ">=", "value": 9, "on_missing": "true"}}),
        &event(),
        None,
        None
    ));
    assert!(refused(json!({"failure_count": "~ 3"})).contains("unknown comparator"));
    assert!(refused(json!({"failure_count": {"op": 3, "value": 1}})).contains("'op'"));
    assert!(refused(json!({"failure_count": true})).contains("number"));
    assert!(refused(json!({"failure_count": ">= many"})).contains("number"));
    assert!(refused(json!({"failure_count": {"op": "matches", "value": "3"}})).contains("number"));
}

#[test]
fn last_auth() {
    assert!(holds(json!({"last_auth": "180d"})));
    assert!(!holds(json!({"last_auth": "1y"})));
    assert!(holds(json!({"last_auth": "4799h"})));
    assert!(
        !holds(json!({"last_auth": "4800h"})),
        "exactly as old is not older"
    );
    // Never logged in: missing (the condition says so, not the count).
    let never = UserAuthState {
        last_active_at: None,
        ..state()
    };
    assert!(!holds_with(
        json!({"last_auth": "1d"}),
        &event(),
        None,
        Some(&never)
    ));
    assert!(holds_with(
        json!({"last_auth": {"value": "1d", "on_missing": "true"}}),
        &event(),
        None,
        Some(&never)
    ));
    for bad in [json!("180"), json!("1.5d"), json!("180x"), json!(180)] {
        assert!(refused(json!({ "last_auth": bad })).contains("duration"));
    }
}

#[test]
fn user_attributes() {
    assert!(holds(
        json!({"user_attribute": {"path": "enabled", "op": "==", "value": true}})
    ));
    assert!(holds(
        json!({"user_attribute": {"path": "enabled", "value": true}})
    ));
    assert!(holds(json!({"user_attribute": "extra.department == ops"})));
    assert!(holds(
        json!({"user_attribute": "options.lock_password == true"})
    ));
    assert!(holds(json!({"user_attribute": "extra.level > 5"})));
    assert!(!holds(json!({"user_attribute": "extra.level >= 8"})));
    assert!(holds(
        json!({"user_attribute": "extra.email matches @example\\.org$"})
    ));
    assert!(holds(
        json!({"user_attribute": "extra.tags contains oncall"})
    ));
    assert!(holds(json!({"user_attribute": "extra.tags.0 == oncall"})));
    assert!(holds(
        json!({"user_attribute": "extra.department in [\"ops\", \"sec\"]"})
    ));
    assert!(holds(json!({"user_attribute": "extra.hired < {now}-1y"})));
    assert!(!holds(json!({"user_attribute": "extra.hired > {now}-1y"})));
    // A list: all must hold.
    assert!(holds(
        json!({"user_attribute": ["enabled == true", "extra.department == ops"]})
    ));
    assert!(!holds(
        json!({"user_attribute": ["enabled == true", "extra.department == qa"]})
    ));
    // Absent or null attributes and unloaded users are missing, also for
    // negative comparators.
    assert!(!holds(json!({"user_attribute": "extra.phone != 123"})));
    assert!(!holds(json!({"user_attribute": "extra.gone != x"})));
    assert!(!holds(json!({"user_attribute": "extra.tags.5 == x"})));
    assert!(!holds_with(
        json!({"user_attribute": "enabled == true"}),
        &event(),
        None,
        None
    ));
    assert!(holds(
        json!({"user_attribute": {"path": "extra.phone", "op": "==", "value": "1",
                                            "on_missing": "true"}})
    ));
    assert!(refused(json!({"user_attribute": "enabled"})).contains("path op value"));
    assert!(refused(json!({"user_attribute": {"path": "a..b", "value": 1}})).contains("empty"));
    assert!(
        refused(json!({"user_attribute": {"path": "a", "value": 1, "colour": 1}}))
            .contains("unknown member 'colour'")
    );
    assert!(refused(json!({"user_attribute": {"value": 1}})).contains("'path'"));
    assert!(refused(json!({"user_attribute": []})).contains("no comparison"));
    assert!(refused(json!({"user_attribute": "extra.x <> 3"})).contains("comparator"));
}

#[test]
fn event_attributes() {
    assert!(holds(
        json!({"event_attribute": "attributes.required_methods contains totp"})
    ));
    assert!(holds(json!({"event_attribute": "error.status == 401"})));
    assert!(holds(json!({"event_attribute": "elapsed_us < 2000"})));
    assert!(holds(json!({"event_attribute": "name matches ^auth\\."})));
    assert!(!holds_on_nothing(
        json!({"event_attribute": "error.status == 401"})
    ));
    assert!(!holds_on_nothing(
        json!({"event_attribute": "error.status != 401"})
    ));
}

#[test]
fn all_conditions_must_hold() {
    let both = json!({"result": "failure", "client_ip": "10.0.0.0/8", "failure_count": ">= 3"});
    assert!(holds(both));
    let one_fails = json!({"result": "failure", "client_ip": "192.168.0.0/16"});
    assert!(!holds(one_fails));
}

#[test]
fn invalid_conditions_are_named() {
    assert!(refused(json!({"colour": "red"})).contains("condition 'colour': unknown condition"));
    assert!(refused(json!(["result"])).contains("JSON object"));
    assert!(refused(json!("result == failure")).contains("JSON object"));
    let e = refused(json!({"result": {"value": "failure", "on_missing": "maybe"}}));
    assert!(e.contains("on_missing"), "{e}");
    let e = refused(json!({"result": {"value": "failure", "op": "=="}}));
    assert!(e.contains("unknown member 'op'"), "{e}");
    assert!(refused(json!({"result": {"on_missing": "true"}})).contains("'value' is missing"));
}

#[test]
fn needs_say_what_to_load() {
    let needs = |c: Value| Conditions::compile(&c).unwrap().needs();
    assert_eq!(
        needs(json!({"result": "failure", "client_ip": "::1"})),
        Needs::default()
    );
    assert_eq!(
        needs(json!({"user": "a"})),
        Needs {
            user: true,
            auth_state: false
        }
    );
    assert_eq!(
        needs(json!({"user_attribute": "enabled == true", "last_auth": "1d"})),
        Needs {
            user: true,
            auth_state: true
        }
    );
    assert!(needs(json!({"failure_count": 1})).auth_state);
}
