use std::time::Duration;

use auth_core::handlers::{ActionCall, ActionEffect, HandlerModule};
use auth_core::store::HandlerPosition;
use base64::Engine;
use serde_json::json;

use super::*;
use crate::handlers::testing::{HttpSink, closed_port, event, hanging_target, now, run, stores};

fn module() -> WebHook {
    WebHook::from_config(&PluginConfig::empty(NAME)).unwrap()
}

#[tokio::test]
async fn posts_the_templated_body_with_a_bearer_token() {
    let mut sink = HttpSink::start(200).await;
    let (_, stores) = stores();
    let options = json!({
        "url": sink.url,
        "body": {"text": "{user} {result} from {client_ip}", "n": 1, "event": "{event}"},
        "bearer_token": "t0ken"
    });
    let effect = run(&module(), "post", options, &event(), &stores, None)
        .await
        .unwrap();
    assert_eq!(effect, ActionEffect::Unchanged);
    let got = sink.received.recv().await.unwrap();
    assert!(got.head.starts_with("POST /hook HTTP/1.1"), "{}", got.head);
    assert_eq!(got.header("authorization"), Some("Bearer t0ken"));
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(
        got.json(),
        json!({"text": "alice failure from 10.0.0.9", "n": 1, "event": "auth.tokens.create"})
    );
}

#[tokio::test]
async fn the_default_body_is_the_event_and_basic_auth_works() {
    let mut sink = HttpSink::start(204).await;
    let (_, stores) = stores();
    let options = json!({"url": sink.url, "username": "hook", "password": "pw"});
    run(&module(), "post", options, &event(), &stores, None)
        .await
        .unwrap();
    let got = sink.received.recv().await.unwrap();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("hook:pw")
    );
    assert_eq!(got.header("authorization"), Some(expected.as_str()));
    let body = got.json();
    assert_eq!(body["binding"], "test-binding");
    assert_eq!(body["event"]["name"], "auth.tokens.create");
    assert_eq!(body["event"]["user_id"], "u1");
}

#[tokio::test]
async fn failures_are_fixed_words() {
    let (_, stores) = stores();
    let sink = HttpSink::start(500).await;
    let e = run(
        &module(),
        "post",
        json!({"url": sink.url}),
        &event(),
        &stores,
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, AuthError::HandlerFailed { cause: "rejected" }),
        "{e:?}"
    );

    let down = format!("http://user:secret@127.0.0.1:{}/hook", closed_port().await);
    let e = run(
        &module(),
        "post",
        json!({ "url": down }),
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
                cause: "unreachable"
            }
        ),
        "{e:?}"
    );
    assert!(!format!("{e} {e:?}").contains("secret"));
}

#[tokio::test]
async fn a_hanging_target_times_out_at_the_run_limit() {
    let (_, stores) = stores();
    let url = hanging_target().await;
    let options =
        ActionSpec::validate_options(&module().actions()[0], NAME, &json!({ "url": url })).unwrap();
    let ev = event();
    let call = ActionCall::new("post", &options, &ev, HandlerPosition::Post, &stores, now())
        .with_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let e = module().run(call).await.unwrap_err();
    assert!(
        matches!(e, AuthError::HandlerFailed { cause: "timeout" }),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn secrets_stay_out_of_debug_and_bad_auth_is_refused() {
    let (_, stores) = stores();
    let module = module();
    let options = module.actions()[0]
        .validate_options(NAME, &json!({"url": "http://h/", "bearer_token": "t0ken"}))
        .unwrap();
    assert!(!format!("{options:?}").contains("t0ken"));
    for (bad, problem) in [
        (json!({"url": "http://h/", "username": "u"}), "both"),
        (json!({"url": "http://h/", "password": "p"}), "both"),
        (
            json!({"url": "http://h/", "bearer_token": "t", "username": "u", "password": "p"}),
            "not both",
        ),
        (json!({"url": "ftp://h/"}), "http(s) URL"),
        (json!({}), "required"),
    ] {
        let e = run(&module, "post", bad, &event(), &stores, None)
            .await
            .unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert!(e.to_string().contains(problem), "{e}");
    }
}
