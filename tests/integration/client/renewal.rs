//! A session that stops working mid-run: revoked, expired by the server's
//! clock, or about to expire by the client's. And concurrent first use,
//! and a body that cannot be sent twice.

use std::sync::Arc;

use auth_client::AuthMiddleware;
use auth_client::keystone::{DomainRef, KeystonePassword, UserRef};
use futures_util::future::join_all;
use reqwest::Method;
use secrecy::SecretString;

use super::{ServerClock, logins, recorded};
use crate::server::harness::{ADMIN_PASSWORD, TestServer};

fn admin_login(s: &TestServer) -> KeystonePassword {
    KeystonePassword::new(
        s.url("/v3").parse().unwrap(),
        UserRef::named("admin", DomainRef::Name("Default".into())),
        SecretString::from(ADMIN_PASSWORD.to_owned()),
    )
}

async fn revoke(s: &TestServer, token: &str) {
    let admin = s.admin_token().await;
    let revoked = s
        .call(Method::DELETE, "/v3/auth/tokens", &admin)
        .header("X-Subject-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
}

#[tokio::test]
async fn a_revoked_token_is_replaced_and_the_retry_carries_the_new_one() {
    let s = TestServer::start().await;
    let (client, recorder) = recorded(AuthMiddleware::new(admin_login(&s)));
    let url = s.url("/v3/auth/projects");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    let old = recorder.sent()[0].0.clone().unwrap();
    revoke(&s, &old).await;
    let before = logins(&s, "password").await;
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(logins(&s, "password").await, before + 1, "one re-login");
    let sent = recorder.sent();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[1], (Some(old.clone()), 401));
    let new = sent[2].0.clone().unwrap();
    assert_ne!(new, old, "the retry did not resend the revoked token");
    assert_eq!(sent[2].1, 200);
    // And later calls keep the new one.
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(recorder.sent()[3].0.as_deref(), Some(new.as_str()));
}

#[tokio::test]
async fn a_token_expired_by_the_server_clock_is_replaced_on_its_401() {
    let s = TestServer::start().await;
    // The client's own clock does not move: it learns from the 401.
    let (client, recorder) = recorded(AuthMiddleware::new(admin_login(&s)));
    let url = s.url("/v3/auth/projects");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    s.clock.advance(chrono::Duration::seconds(3601));
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    let sent = recorder.sent();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[1], (sent[0].0.clone(), 401));
    assert_ne!(sent[2].0, sent[0].0);
    assert_eq!(sent[2].1, 200);
}

#[tokio::test]
async fn a_token_about_to_expire_is_renewed_before_it_is_refused() {
    let s = TestServer::start().await;
    let auth = AuthMiddleware::builder(admin_login(&s))
        .clock(Arc::new(ServerClock(s.clock.clone())))
        .refresh_margin(std::time::Duration::from_secs(120))
        .build();
    let (client, recorder) = recorded(auth);
    let url = s.url("/v3/auth/projects");
    let before = logins(&s, "password").await;
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    // 100 s before expiry: inside the margin, still valid on the server.
    s.clock.advance(chrono::Duration::seconds(3500));
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    // Past the first token's expiry: the second one is still good.
    s.clock.advance(chrono::Duration::seconds(200));
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(logins(&s, "password").await, before + 2);
    let sent = recorder.sent();
    assert!(sent.iter().all(|(_, status)| *status == 200), "{sent:?}");
    assert_ne!(sent[1].0, sent[0].0, "renewed before use");
    assert_eq!(sent[2].0, sent[1].0);
}

#[tokio::test]
async fn twenty_concurrent_first_calls_cost_one_login() {
    let s = TestServer::start().await;
    let (client, recorder) = recorded(AuthMiddleware::new(admin_login(&s)));
    let url = s.url("/v3/auth/projects");
    let before = logins(&s, "password").await;
    let calls = (0..20).map(|_| client.get(&url).send());
    for response in join_all(calls).await {
        assert_eq!(response.unwrap().status(), 200);
    }
    assert_eq!(logins(&s, "password").await, before + 1);
    let sent = recorder.sent();
    assert_eq!(sent.len(), 20);
    assert!(sent.iter().all(|(token, _)| *token == sent[0].0));
}

#[tokio::test]
async fn a_streaming_body_is_not_retried() {
    let s = TestServer::start().await;
    let (client, recorder) = recorded(AuthMiddleware::new(admin_login(&s)));
    let url = s.url("/v3/auth/projects");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    let old = recorder.sent()[0].0.clone().unwrap();
    revoke(&s, &old).await;
    let before = logins(&s, "password").await;
    let body = r#"{"project": {"name": "streamed"}}"#;
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(body)]);
    let response = client
        .post(s.url("/v3/projects"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "returned as is");
    assert_eq!(recorder.sent().len(), 2, "sent once");
    assert_eq!(logins(&s, "password").await, before, "no login for it");
    // The next call logs in and gets through.
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(logins(&s, "password").await, before + 1);
    assert_ne!(recorder.sent()[2].0.as_deref(), Some(old.as_str()));
}
