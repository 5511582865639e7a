//! Built-in TLS (`[tls]`): every HTTP listener (the API, the management
//! port and the gateway) serves HTTPS with one certificate, reloaded from
//! its files without a restart.
//!
//! Certificates are renewed often now (ACME's 90 days, or less), by a tool
//! that rewrites the files and at most signals the server. Here the files
//! are read again every `[tls] reload_interval_secs` and on `SIGHUP`
//! (`systemctl reload auth-server`); new handshakes use the new pair at
//! once, connections already open keep theirs.
//!
//! A renewal is written as two files, one after the other, so the server
//! may read a new certificate beside the old key. A pair that does not
//! load (unreadable, not PEM, no certificate, or a key that is not the
//! certificate's) is refused, logged once, and the pair already loaded
//! stays in use: a half-finished renewal never takes the server's TLS
//! down, and the next poll after the second file is written picks the
//! whole pair up. At start, the same failure stops the server, naming the
//! file and the cause.
//!
//! The crypto provider is named here (aws-lc-rs, the one reqwest already
//! links), rather than taken from the process default, which rustls
//! cannot choose when two providers are linked in.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;

use crate::error::ServerError;

/// `[tls]`: unset, the listeners speak plain HTTP (behind a proxy that
/// ends TLS, say).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSection {
    /// The certificate chain, PEM: the server's certificate first, then
    /// the intermediates.
    pub certificate_file: Option<PathBuf>,
    /// The certificate's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// How often both files are read again, in seconds; 0 reloads only on
    /// `SIGHUP`.
    pub reload_interval_secs: u64,
}

impl Default for TlsSection {
    fn default() -> Self {
        Self {
            certificate_file: None,
            key_file: None,
            reload_interval_secs: 60,
        }
    }
}

impl TlsSection {
    /// The two files, if TLS is on; one without the other is a mistake.
    pub fn files(&self) -> Result<Option<(&Path, &Path)>, ServerError> {
        match (&self.certificate_file, &self.key_file) {
            (Some(certificate), Some(key)) => Ok(Some((certificate, key))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ServerError::Config(
                "[tls] certificate_file is set but key_file is not".into(),
            )),
            (None, Some(_)) => Err(ServerError::Config(
                "[tls] key_file is set but certificate_file is not".into(),
            )),
        }
    }

    /// The reload period, if polling is on.
    pub fn reload_interval(&self) -> Option<Duration> {
        (self.reload_interval_secs > 0).then(|| Duration::from_secs(self.reload_interval_secs))
    }
}

/// What a reload did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reloaded {
    /// Both files are as last read: nothing to do.
    Unchanged,
    /// A new pair is in use; its certificate's SHA-256 fingerprint (hex).
    Replaced(String),
    /// The files changed but do not load; the pair in use stays.
    Refused(String),
}

/// The certificate and key in use, and the files they come from: the
/// rustls resolver of every listener.
pub struct Certificates {
    certificate_file: PathBuf,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' bytes as last read, loaded or not: a pair is tried (and a
    /// failure logged) once per change.
    last_read: Mutex<(Vec<u8>, Vec<u8>)>,
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("Certificates")
            .field("certificate_file", &self.certificate_file)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

impl Certificates {
    /// Loads the pair `[tls]` names, or `None` without `[tls]`. A pair that
    /// does not load stops the start, naming the file and the cause.
    pub fn from_config(section: &TlsSection) -> Result<Option<Arc<Self>>, ServerError> {
        let Some((certificate_file, key_file)) = section.files()? else {
            return Ok(None);
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let bytes = read_pair(certificate_file, key_file)?;
        let loaded = load_pair(&provider, certificate_file, key_file, &bytes)?;
        Ok(Some(Arc::new(Self {
            certificate_file: certificate_file.to_owned(),
            key_file: key_file.to_owned(),
            provider,
            current: RwLock::new(Arc::new(loaded)),
            last_read: Mutex::new(bytes),
        })))
    }

    /// Reads both files again and, if they changed and load, uses them for
    /// the next handshakes. Logs what it did, never the key.
    pub fn reload(&self) -> Reloaded {
        let outcome = self.try_reload();
        match &outcome {
            Reloaded::Unchanged => {}
            Reloaded::Replaced(fingerprint) => tracing::info!(
                certificate_file = %self.certificate_file.display(),
                sha256 = %fingerprint,
                "TLS certificate reloaded"
            ),
            Reloaded::Refused(cause) => tracing::error!(
                cause = %cause,
                "TLS certificate not reloaded; the one loaded before stays in use"
            ),
        }
        outcome
    }

    fn try_reload(&self) -> Reloaded {
        let bytes = match read_pair(&self.certificate_file, &self.key_file) {
            Ok(bytes) => bytes,
            // A file being replaced may be missing for a moment; the next
            // poll reads it.
            Err(error) => return Reloaded::Refused(error.to_string()),
        };
        {
            let mut last = self
                .last_read
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if *last == bytes {
                return Reloaded::Unchanged;
            }
            last.clone_from(&bytes);
        }
        match load_pair(
            &self.provider,
            &self.certificate_file,
            &self.key_file,
            &bytes,
        ) {
            Ok(loaded) => {
                let fingerprint = fingerprint(&loaded);
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(loaded);
                Reloaded::Replaced(fingerprint)
            }
            Err(error) => Reloaded::Refused(error.to_string()),
        }
    }

    /// The SHA-256 fingerprint (hex) of the certificate in use.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// A TLS acceptor over these certificates, speaking HTTP/1.1 (the only
    /// protocol the listeners serve).
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, ServerError> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ServerError::Config(format!("[tls]: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

/// Reloads `certificates` every `interval`, for as long as it runs (the
/// server aborts it when it stops).
pub async fn watch(certificates: Arc<Certificates>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        certificates.reload();
    }
}

fn read_pair(certificate_file: &Path, key_file: &Path) -> Result<(Vec<u8>, Vec<u8>), ServerError> {
    let read = |setting: &str, path: &Path| {
        std::fs::read(path)
            .map_err(|e| ServerError::Config(format!("[tls] {setting} {}: {e}", path.display())))
    };
    Ok((
        read("certificate_file", certificate_file)?,
        read("key_file", key_file)?,
    ))
}

fn load_pair(
    provider: &CryptoProvider,
    certificate_file: &Path,
    key_file: &Path,
    (certificate_pem, key_pem): &(Vec<u8>, Vec<u8>),
) -> Result<CertifiedKey, ServerError> {
    let bad_certificate = |cause: String| {
        ServerError::Config(format!(
            "[tls] certificate_file {}: {cause}",
            certificate_file.display()
        ))
    };
    let chain = CertificateDer::pem_slice_iter(certificate_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            bad_certificate(format!("not a PEM certificate chain ({})", pem_problem(&e)))
        })?;
    if chain.is_empty() {
        return Err(bad_certificate("holds no certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
        ServerError::Config(format!(
            "[tls] key_file {}: not a PEM private key ({})",
            key_file.display(),
            pem_problem(&e)
        ))
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        ServerError::Config(format!(
            "[tls] key_file {} does not go with certificate_file {}: {e}",
            key_file.display(),
            certificate_file.display()
        ))
    })
}

/// What is wrong with a PEM file, in words of our own: the parser's
/// messages quote the file's lines, which for a key file are the key.
fn pem_problem(error: &pem::Error) -> &'static str {
    match error {
        pem::Error::MissingSectionEnd { .. } => "a section has no END line",
        pem::Error::IllegalSectionStart { .. } => "a malformed BEGIN line",
        pem::Error::Base64Decode(_) => "a section is not valid base64",
        pem::Error::NoItemsFound => "no section of the expected kind",
        pem::Error::SectionTooLarge => "a section is too large",
        _ => "unreadable",
    }
}

fn fingerprint(key: &CertifiedKey) -> String {
    key.cert
        .first()
        .map(|certificate| hex::encode(Sha256::digest(certificate.as_ref())))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use rustls::pki_types::ServerName;
    use tokio_rustls::TlsConnector;

    use super::*;

    /// A certificate authority of the test's own.
    struct Ca(CertifiedIssuer<'static, KeyPair>);

    impl Ca {
        fn new() -> Self {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            Self(CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap())
        }

        /// A certificate for `localhost` and its key, PEM.
        fn issue(&self) -> (String, String) {
            let key = KeyPair::generate().unwrap();
            let certificate = CertificateParams::new(vec!["localhost".to_owned()])
                .unwrap()
                .signed_by(&key, &self.0)
                .unwrap();
            (certificate.pem(), key.serialize_pem())
        }

        /// A client trusting this authority only.
        fn connector(&self) -> TlsConnector {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.0.der().clone()).unwrap();
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
            TlsConnector::from(Arc::new(config))
        }
    }

    /// The two files of a `[tls]` section, in a directory of their own.
    struct Files {
        dir: tempfile::TempDir,
        section: TlsSection,
    }

    impl Files {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let section = TlsSection {
                certificate_file: Some(dir.path().join("cert.pem")),
                key_file: Some(dir.path().join("key.pem")),
                ..TlsSection::default()
            };
            Self { dir, section }
        }

        fn write_certificate(&self, pem: &str) {
            std::fs::write(self.dir.path().join("cert.pem"), pem).unwrap();
        }

        fn write_key(&self, pem: &str) {
            std::fs::write(self.dir.path().join("key.pem"), pem).unwrap();
        }

        fn write(&self, (certificate, key): &(String, String)) {
            self.write_certificate(certificate);
            self.write_key(key);
        }

        fn load(&self) -> Result<Arc<Certificates>, String> {
            Certificates::from_config(&self.section)
                .map(|loaded| loaded.expect("[tls] is set"))
                .map_err(|e| e.to_string())
        }
    }

    fn fingerprint_of(certificate_pem: &str) -> String {
        let der = CertificateDer::from_pem_slice(certificate_pem.as_bytes()).unwrap();
        hex::encode(Sha256::digest(der.as_ref()))
    }

    /// The fingerprint of the certificate a handshake with `acceptor` gets.
    async fn served_fingerprint(acceptor: &TlsAcceptor, ca: &Ca) -> String {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let server = async { acceptor.accept(server).await.map(drop) };
        let name = ServerName::try_from("localhost").unwrap();
        let client = ca.connector().connect(name, client);
        let (client, server) = tokio::join!(client, server);
        server.unwrap();
        let client = client.unwrap();
        let (_, session) = client.get_ref();
        assert_eq!(session.alpn_protocol(), None, "the client offered none");
        let served = session.peer_certificates().unwrap();
        hex::encode(Sha256::digest(served[0].as_ref()))
    }

    #[test]
    fn without_both_files_there_is_no_tls_and_one_alone_is_a_mistake() {
        assert!(
            Certificates::from_config(&TlsSection::default())
                .unwrap()
                .is_none()
        );
        let files = Files::new();
        let only_certificate = TlsSection {
            key_file: None,
            ..files.section.clone()
        };
        let error = Certificates::from_config(&only_certificate).unwrap_err();
        assert!(error.to_string().contains("key_file is not"), "{error}");
        let only_key = TlsSection {
            certificate_file: None,
            ..files.section.clone()
        };
        let error = Certificates::from_config(&only_key).unwrap_err();
        assert!(
            error.to_string().contains("certificate_file is not"),
            "{error}"
        );
    }

    #[test]
    fn a_pair_that_does_not_load_stops_the_start_naming_the_file_never_the_key() {
        let ca = Ca::new();
        let files = Files::new();
        let error = files.load().unwrap_err();
        assert!(
            error.contains("cert.pem") && error.contains("No such file"),
            "{error}"
        );

        let (certificate, key) = ca.issue();
        let (_, other_key) = ca.issue();
        files.write_certificate(&certificate);
        files.write_key(&other_key);
        let error = files.load().unwrap_err();
        assert!(
            error.contains("key.pem does not go with certificate_file"),
            "{error}"
        );
        files.write_key("not a key");
        let error = files.load().unwrap_err();
        assert!(error.contains("key.pem: not a PEM private key"), "{error}");
        files.write_key(&key);
        files.write_certificate(
            "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        );
        let error = files.load().unwrap_err();
        assert!(
            error.contains("cert.pem: not a PEM certificate chain"),
            "{error}"
        );
        files.write_certificate("");
        let error = files.load().unwrap_err();
        assert!(error.contains("cert.pem: holds no certificate"), "{error}");
        // A key cut short: the error names the file, not what it holds.
        files.write_certificate(&certificate);
        let body = &key[28..100];
        files.write_key(&key[..key.len() / 2]);
        let error = files.load().unwrap_err();
        assert!(error.contains("key.pem"), "{error}");
        assert!(!error.contains(body), "{error}");
        // A BEGIN line the parser quotes in its own message.
        files.write_key(&format!("-----BEGIN {body}\n"));
        let error = files.load().unwrap_err();
        assert!(
            error.ends_with("key.pem: not a PEM private key (a malformed BEGIN line)"),
            "{error}"
        );
        files.write_key(&key);
        files.write_certificate(&certificate);
        let loaded = files.load().unwrap();
        let debug = format!("{loaded:?}");
        assert!(
            !debug.contains("PRIVATE") && !debug.contains(&key[40..80]),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn a_renewal_is_served_at_once_and_a_half_written_one_never() {
        let ca = Ca::new();
        let files = Files::new();
        let first = ca.issue();
        files.write(&first);
        let certificates = files.load().unwrap();
        let acceptor = certificates.acceptor().unwrap();
        assert_eq!(
            served_fingerprint(&acceptor, &ca).await,
            fingerprint_of(&first.0)
        );
        assert_eq!(certificates.reload(), Reloaded::Unchanged);

        // The renewal's certificate is written, its key not yet.
        let second = ca.issue();
        files.write_certificate(&second.0);
        assert!(
            matches!(certificates.reload(), Reloaded::Refused(cause) if cause.contains("does not go with"))
        );
        assert_eq!(
            certificates.reload(),
            Reloaded::Unchanged,
            "refused once per change"
        );
        assert_eq!(
            served_fingerprint(&acceptor, &ca).await,
            fingerprint_of(&first.0)
        );

        files.write_key(&second.1);
        assert_eq!(
            certificates.reload(),
            Reloaded::Replaced(fingerprint_of(&second.0))
        );
        assert_eq!(
            served_fingerprint(&acceptor, &ca).await,
            fingerprint_of(&second.0)
        );
        assert_eq!(certificates.fingerprint(), fingerprint_of(&second.0));

        // A file gone for a moment (replaced by a rename) changes nothing.
        std::fs::remove_file(files.dir.path().join("key.pem")).unwrap();
        assert!(matches!(certificates.reload(), Reloaded::Refused(_)));
        assert_eq!(
            served_fingerprint(&acceptor, &ca).await,
            fingerprint_of(&second.0)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_files_are_read_again_every_interval() {
        let ca = Ca::new();
        let files = Files::new();
        let first = ca.issue();
        files.write(&first);
        let certificates = files.load().unwrap();
        let watcher = tokio::spawn(watch(certificates.clone(), Duration::from_secs(60)));
        tokio::task::yield_now().await;
        let second = ca.issue();
        files.write(&second);
        tokio::time::advance(Duration::from_secs(59)).await;
        tokio::task::yield_now().await;
        assert_eq!(certificates.fingerprint(), fingerprint_of(&first.0));
        tokio::time::advance(Duration::from_secs(1)).await;
        tokio::task::yield_now().await;
        assert_eq!(certificates.fingerprint(), fingerprint_of(&second.0));
        watcher.abort();
    }
}
