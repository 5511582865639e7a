use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use auth_core::handlers::{ActionCall, HandlerModule};
use auth_core::store::HandlerPosition;
use serde_json::json;

use super::*;
use crate::handlers::testing::{event, now, run, stores};

/// Writes an executable shell script.
fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn enabled(dir: &Path) -> Script {
    let section = json!({"enabled": true, "directory": dir});
    Script::from_config(&PluginConfig::new(NAME, section)).unwrap()
}

#[tokio::test]
async fn runs_the_script_with_the_event_as_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    script(
        dir.path(),
        "record.sh",
        &format!(
            "printf '%s|' \"$@\" > {}; printf '%s' \"$HOME\" >> {}",
            out.display(),
            out.display()
        ),
    );
    let (_, stores) = stores();
    run(
        &enabled(dir.path()),
        "run",
        json!({"script": "record.sh"}),
        &event(),
        &stores,
        None,
    )
    .await
    .unwrap();
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        written,
        "--event|auth.tokens.create|--result|failure|--user-id|u1|--user|alice|--domain|default|\
         --client-ip|10.0.0.9|--request-id|req-7|--binding|test-binding|",
        "arguments, and an empty environment"
    );
}

#[tokio::test]
async fn a_failing_script_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    script(dir.path(), "fail.sh", "exit 3");
    let (_, stores) = stores();
    let e = run(
        &enabled(dir.path()),
        "run",
        json!({"script": "fail.sh"}),
        &event(),
        &stores,
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            AuthError::HandlerFailed {
                cause: "exit_status"
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_script_past_its_time_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("finished");
    script(
        dir.path(),
        "slow.sh",
        &format!("sleep 5; touch {}", marker.display()),
    );
    let module = enabled(dir.path());
    let (_, stores) = stores();
    let options = module.actions()[0]
        .validate_options(NAME, &json!({"script": "slow.sh"}))
        .unwrap();
    let ev = event();
    let call = ActionCall::new("run", &options, &ev, HandlerPosition::Post, &stores, now());
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(Duration::from_millis(300), module.run(call)).await;
    assert!(outcome.is_err(), "timed out");
    assert!(started.elapsed() < Duration::from_secs(3));
    // The child was killed with the run: it never finishes.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!marker.exists());
}

#[tokio::test]
async fn scripts_are_off_unless_configured() {
    let dir = tempfile::tempdir().unwrap();
    script(dir.path(), "ok.sh", "exit 0");
    let (_, stores) = stores();
    let off = Script::from_config(&PluginConfig::empty(NAME)).unwrap();
    let e = run(
        &off,
        "run",
        json!({"script": "ok.sh"}),
        &event(),
        &stores,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(e.http_status(), 400);
    assert!(e.to_string().contains("scripts are disabled"), "{e}");
    let disabled = json!({"enabled": false, "directory": dir.path()});
    assert!(
        Script::from_config(&PluginConfig::new(NAME, disabled))
            .unwrap()
            .directory
            .is_none()
    );
    for bad in [
        json!({"enabled": true}),
        json!({"enabled": true, "directory": dir.path().join("missing")}),
        json!({"enabled": true, "directory": dir.path().join("ok.sh")}),
        json!({"enabled": true, "directory": dir.path(), "shell": true}),
    ] {
        let e = Script::from_config(&PluginConfig::new(NAME, bad.clone())).unwrap_err();
        assert!(matches!(e, AuthError::InvalidConfig { .. }), "{bad}: {e}");
    }
}

#[tokio::test]
async fn no_path_traversal() {
    let root = tempfile::tempdir().unwrap();
    let scripts = root.path().join("scripts");
    std::fs::create_dir(&scripts).unwrap();
    script(root.path(), "outside.sh", "exit 0");
    script(&scripts, ".hidden", "exit 0");
    std::os::unix::fs::symlink(root.path().join("outside.sh"), scripts.join("link.sh")).unwrap();
    std::fs::create_dir(scripts.join("sub")).unwrap();
    let module = enabled(&scripts);
    let (_, stores) = stores();
    for name in [
        "../outside.sh",
        "/bin/sh",
        "sub/../../outside.sh",
        ".hidden",
        "..",
        "",
        "link.sh",
        "sub",
        "missing.sh",
        "a\\b",
    ] {
        let e = run(
            &module,
            "run",
            json!({ "script": name }),
            &event(),
            &stores,
            None,
        )
        .await
        .unwrap_err();
        assert_eq!(e.http_status(), 400, "{name}: {e}");
    }
}
