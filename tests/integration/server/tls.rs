//! `[tls]`: the API and the management port served over HTTPS with a
//! certificate of the test's own authority, renewed without a restart.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use auth_server::AppState;
use auth_server::tls::Reloaded;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsConnector;

use super::harness::TestServer;

/// A certificate authority of the test's own.
struct Ca(CertifiedIssuer<'static, KeyPair>);

impl Ca {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Self(CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap())
    }

    /// Writes a new certificate for `127.0.0.1` and its key into `dir`;
    /// returns the certificate.
    fn issue_into(&self, dir: &Path) -> CertificateDer<'static> {
        let key = KeyPair::generate().unwrap();
        let certificate = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &self.0)
            .unwrap();
        std::fs::write(dir.join("cert.pem"), certificate.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        certificate.der().clone()
    }

    /// An HTTP client trusting this authority only.
    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(self.0.pem().as_bytes()).unwrap()])
            .build()
            .unwrap()
    }

    /// The certificate a new TLS connection to `base` is shown.
    async fn served(&self, base: &str) -> CertificateDer<'static> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.0.der().clone()).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let address = base.trim_start_matches("https://");
        let tcp = TcpStream::connect(address).await.unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let tls = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        tls.get_ref().1.peer_certificates().unwrap()[0].clone()
    }
}

/// A server with `[tls]` on the two files in `dir`, whose client trusts
/// `ca`; no polling, so that only the test's reload reloads.
async fn tls_server(ca: &Ca, dir: &Path) -> TestServer {
    let (certificate, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let mut s = TestServer::start_custom(
        None,
        "[tls]\nreload_interval_secs = 0",
        |config| {
            config.tls.certificate_file = Some(certificate);
            config.tls.key_file = Some(key);
        },
        None,
    )
    .await;
    s.client = ca.client();
    s
}

#[tokio::test]
async fn the_api_is_served_over_tls_and_a_renewal_without_a_restart() {
    let ca = Ca::new();
    let dir = tempfile::tempdir().unwrap();
    let first = ca.issue_into(dir.path());
    let s = tls_server(&ca, dir.path()).await;
    assert!(s.base.starts_with("https://"), "{}", s.base);

    // Keystone's API, with links derived from Host saying https.
    let version: Value = s
        .client
        .get(s.url("/v3"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        version["version"]["links"][0]["href"],
        format!("{}/v3/", s.base),
        "{version}"
    );
    let token = s.admin_token().await;
    let validated = s.validate(&token, &token).await;
    assert_eq!(validated.status(), 200);
    assert_eq!(ca.served(&s.base).await, first);

    // The renewal is written; the next handshake is shown it, with no
    // restart, and tokens issued before still validate.
    let second = ca.issue_into(dir.path());
    let tls = s.state.tls().unwrap();
    assert!(matches!(tls.reload(), Reloaded::Replaced(_)));
    assert_eq!(ca.served(&s.base).await, second);
    let renewed = ca
        .client()
        .get(s.url("/v3/auth/tokens"))
        .header("X-Auth-Token", &token)
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(renewed.status(), 200);

    // Plain HTTP to the TLS port is told so, and counted.
    let plain = reqwest::Client::new()
        .get(s.base.replace("https://", "http://") + "/v3")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
    let body: Value = plain.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("https://"),
        "{body}"
    );
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("http_connections_closed_total{reason=\"tls_handshake_failed\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_management_port_is_served_over_tls_too() {
    let ca = Ca::new();
    let dir = tempfile::tempdir().unwrap();
    let certificate = ca.issue_into(dir.path());
    let s = tls_server(&ca, dir.path()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    let (_stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(auth_server::serve_management(
        listener,
        s.state.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let health = ca
        .client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(ca.served(&base).await, certificate);
}

#[tokio::test]
async fn a_server_whose_key_is_not_its_certificates_does_not_start() {
    let ca = Ca::new();
    let dir = tempfile::tempdir().unwrap();
    ca.issue_into(dir.path());
    let key = std::fs::read(dir.path().join("key.pem")).unwrap();
    ca.issue_into(dir.path());
    std::fs::write(dir.path().join("key.pem"), key).unwrap();
    let mut config = auth_server::Config::default();
    config.database.url = format!("sqlite://{}/auth.db", dir.path().display());
    config.keys.dir = dir.path().join("keys");
    config.tls.certificate_file = Some(dir.path().join("cert.pem"));
    config.tls.key_file = Some(dir.path().join("key.pem"));
    let error = AppState::build(config).await.unwrap_err().to_string();
    assert!(
        error.contains("does not go with certificate_file"),
        "{error}"
    );
    assert!(
        !dir.path().join("auth.db").exists(),
        "nothing is opened before the certificate is checked"
    );
    let unused: PathBuf = dir.path().join("keys");
    assert!(!unused.exists());
}

#[tokio::test]
async fn doctor_checks_the_pair_when_tls_is_on() {
    let ca = Ca::new();
    let dir = tempfile::tempdir().unwrap();
    ca.issue_into(dir.path());
    let mut config = auth_server::Config::default();
    config.database.url = format!("sqlite://{}/auth.db", dir.path().display());
    config.keys.dir = dir.path().join("keys");
    let name = "the TLS certificate and key load and go together";
    let finding = |checks: Vec<auth_server::operations::Check>| {
        checks.into_iter().find(|check| check.name == name)
    };
    assert_eq!(
        finding(auth_server::operations::doctor(&config).await),
        None,
        "[tls] unset"
    );

    config.tls.certificate_file = Some(dir.path().join("cert.pem"));
    config.tls.key_file = Some(dir.path().join("key.pem"));
    let good = finding(auth_server::operations::doctor(&config).await).unwrap();
    assert_eq!(good.problem, None);

    let key = std::fs::read(dir.path().join("key.pem")).unwrap();
    ca.issue_into(dir.path());
    std::fs::write(dir.path().join("key.pem"), key).unwrap();
    let bad = finding(auth_server::operations::doctor(&config).await).unwrap();
    assert!(
        bad.problem
            .as_deref()
            .unwrap_or_default()
            .contains("does not go with"),
        "{bad:?}"
    );
}

/// The issue's deployment: two nodes on one PostgreSQL database, both
/// behind the same certificate; a token one issues, the other validates.
#[tokio::test]
async fn two_nodes_on_postgresql_behind_tls() {
    let ca = Ca::new();
    let dir = tempfile::tempdir().unwrap();
    ca.issue_into(dir.path());
    let extra = format!(
        "[tls]\ncertificate_file = {:?}\nkey_file = {:?}",
        dir.path().join("cert.pem"),
        dir.path().join("key.pem")
    );
    let Some(mut first) = TestServer::start_postgres(&extra).await else {
        return;
    };
    first.client = ca.client();
    let mut second = first.second_node().await;
    second.client = ca.client();
    assert!(first.base.starts_with("https://") && second.base.starts_with("https://"));
    let token = first.admin_token().await;
    let validated = second.validate(&token, &token).await;
    assert_eq!(validated.status(), 200);
    let body: Value = validated.json().await.unwrap();
    assert_eq!(body["token"]["user"]["name"], "admin");
}

#[tokio::test]
async fn the_gateway_over_tls_makes_its_session_cookie_secure() {
    let ca = Ca::new();
    let dir = tempfile::tempdir().unwrap();
    ca.issue_into(dir.path());
    let (certificate, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    // No public_url: the listener's own scheme, https, decides.
    let s = TestServer::start_custom(
        None,
        "[tls]\nreload_interval_secs = 0\n[gateway]\nupstream = \"http://127.0.0.1:9\"",
        |config| {
            config.tls.certificate_file = Some(certificate);
            config.tls.key_file = Some(key);
        },
        None,
    )
    .await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    let (_stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(auth_server::gateway::serve(
        listener,
        s.state.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let login = ca
        .client()
        .post(format!("{base}/login"))
        .header("X-Userid", "admin")
        .header("X-Password", super::harness::ADMIN_PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}
