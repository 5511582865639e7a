//! Behind a reverse proxy (`[server] trusted_proxies`): a request from a
//! trusted proxy is the client's its `X-Forwarded-For` names, for the
//! audit, the lockout and event conditions, and its public URL is the one
//! `X-Forwarded-Proto` and `X-Forwarded-Host` say; from any other peer
//! those headers change nothing. The tests' client connects from
//! 127.0.0.1, so it is the proxy when that address is trusted.

use serde_json::Value;

use super::harness::{TestServer, password_body};

/// Two failures lock the admin; failed logins from 198.51.100.0/24 are
/// counted by a binding with a `client_ip` condition.
const WATCHED: &str = r#"
    [security_compliance]
    lockout_failure_attempts = 2
    lockout_duration = 600
    [[events.bindings]]
    name = "count-proxied-failures"
    events = ["auth.tokens.create"]
    module = "Counter"
    action = "increase"
    options = { counter_name = "from-the-client-network" }
    conditions = { result = "failure", client_ip = "198.51.100.0/24" }
"#;

/// A wrong admin password sent with `X-Forwarded-For: forwarded`.
async fn wrong_login(s: &TestServer, forwarded: &str) -> u16 {
    s.client
        .post(s.url("/v3/auth/tokens"))
        .header("X-Forwarded-For", forwarded)
        .json(&password_body("admin", "not-the-password", None))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn counted(s: &TestServer) -> i64 {
    s.state.dispatcher().wait_idle().await;
    s.storage()
        .list_counters()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "from-the-client-network")
        .map_or(0, |c| c.value)
}

/// The client addresses of the audit rows of `event`.
async fn clients(s: &TestServer, event: &str) -> Vec<Option<String>> {
    s.audit_of(event)
        .await
        .into_iter()
        .map(|row| row.client_addr)
        .collect()
}

#[tokio::test]
async fn through_a_trusted_proxy_the_forwarded_client_is_audited_locked_and_matched() {
    let s = TestServer::start_with(&format!(
        "[server]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n{WATCHED}"
    ))
    .await;
    // What the client claimed (left), the client as the first proxy saw
    // it, and that proxy (trusted), in front of the one on 127.0.0.1.
    let chain = "203.0.113.66, 198.51.100.7, 10.1.2.3";
    assert_eq!(wrong_login(&s, chain).await, 401);
    assert_eq!(wrong_login(&s, chain).await, 401);
    let client = Some("198.51.100.7".to_owned());
    assert_eq!(
        clients(&s, "auth.tokens.create").await,
        [client.clone(), client.clone()]
    );
    assert_eq!(clients(&s, "user.locked").await, [client]);
    assert_eq!(counted(&s).await, 2, "the client_ip condition held");
}

#[tokio::test]
async fn from_an_untrusted_peer_the_forwarded_headers_change_nothing() {
    // Proxies are trusted, but not the peer these requests come from.
    let s = TestServer::start_with(&format!(
        "[server]\ntrusted_proxies = [\"10.0.0.0/8\"]\n{WATCHED}"
    ))
    .await;
    assert_eq!(wrong_login(&s, "198.51.100.7").await, 401);
    assert_eq!(wrong_login(&s, "198.51.100.7").await, 401);
    let peer = Some("127.0.0.1".to_owned());
    assert_eq!(
        clients(&s, "auth.tokens.create").await,
        [peer.clone(), peer.clone()]
    );
    assert_eq!(clients(&s, "user.locked").await, [peer]);
    assert_eq!(counted(&s).await, 0);
    let (links, location) = discovery(&s).await;
    let own = s.url("/v3/");
    assert_eq!(
        (links.as_str(), location.as_str()),
        (own.as_str(), own.as_str())
    );
}

/// `GET /v3`'s self link and `GET /`'s `Location`, asked through a proxy
/// that says the client used `https://keystone.example.com`.
async fn discovery(s: &TestServer) -> (String, String) {
    let forwarded = |path: &str| {
        s.client
            .get(s.url(path))
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-Host", "keystone.example.com")
            .header("X-Forwarded-For", "198.51.100.7")
            .send()
    };
    let v3: Value = forwarded("/v3").await.unwrap().json().await.unwrap();
    let link = v3["version"]["links"][0]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let root = forwarded("/").await.unwrap();
    assert_eq!(root.status(), 300);
    let location = root.headers()["location"].to_str().unwrap().to_owned();
    (link, location)
}

#[tokio::test]
async fn the_public_url_is_the_one_a_trusted_proxy_forwarded() {
    let s = TestServer::start_with("[server]\ntrusted_proxies = [\"127.0.0.1\"]").await;
    let (link, location) = discovery(&s).await;
    assert_eq!(link, "https://keystone.example.com/v3/");
    assert_eq!(location, "https://keystone.example.com/v3/");
    // The challenge of a 401 names it too.
    let refused = s
        .client
        .get(s.url("/v3/auth/tokens"))
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "keystone.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Keystone uri=\"https://keystone.example.com/v3\""
    );
    // A configured public_url still wins.
    let pinned = s
        .node_with(|c| c.server.public_url = Some("https://pinned.example.org".into()))
        .await;
    let (link, _) = discovery(&pinned).await;
    assert_eq!(link, "https://pinned.example.org/v3/");
}
