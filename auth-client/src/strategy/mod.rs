//! How the client logs in: one strategy per kind of server.

mod bearer;
mod header;
pub mod keystone;

use std::fmt;

use async_trait::async_trait;

pub use bearer::StaticToken;
pub use header::{DEFAULT_REALM, HeaderLogin};

use crate::{Clock, LoginError, Session};

/// A way of getting a [`Session`]. The middleware calls it on first use,
/// shortly before the session's `expires_at`, and once after a refused
/// request; it never calls it twice at once.
///
/// Object-safe (`Arc<dyn LoginStrategy>`), so a service can choose the
/// strategy from its configuration at run time.
///
/// # Example
///
/// A strategy of one's own: an API key read from wherever the service
/// keeps it, sent as `X-Api-Key`.
///
/// ```
/// use async_trait::async_trait;
/// use auth_client::{AuthMiddleware, Credential, LoginContext, LoginError, LoginStrategy, Session};
/// use reqwest::header::HeaderName;
/// use secrecy::SecretString;
///
/// #[derive(Debug)]
/// struct ApiKey(SecretString);
///
/// #[async_trait]
/// impl LoginStrategy for ApiKey {
///     async fn login(&self, _cx: &LoginContext<'_>) -> Result<Session, LoginError> {
///         let credential = Credential::header(HeaderName::from_static("x-api-key"), &self.0)?;
///         Ok(Session::new(credential))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let strategy = ApiKey(SecretString::from("k-123".to_owned()));
/// let session = strategy
///     .login(&LoginContext::new(&reqwest::Client::new(), &auth_client::SystemClock))
///     .await
///     .unwrap();
/// assert_eq!(session.expires_at(), None);
/// assert!(!format!("{session:?}").contains("k-123"));
///
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(AuthMiddleware::new(strategy))
///     .build();
/// # drop(client);
/// # }
/// ```
#[async_trait]
pub trait LoginStrategy: Send + Sync + fmt::Debug {
    /// Logs in and returns the session to attach.
    async fn login(&self, cx: &LoginContext<'_>) -> Result<Session, LoginError>;
}

/// What a strategy logs in with: the middleware's own HTTP client (so
/// logins never pass through the middleware) and its clock (to turn a
/// cookie's `Max-Age` into an expiry).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct LoginContext<'a> {
    /// The client for the login request.
    pub client: &'a reqwest::Client,
    /// The clock that `expires_at` is compared with.
    pub clock: &'a dyn Clock,
}

impl<'a> LoginContext<'a> {
    /// A context for calling a strategy outside the middleware (tests,
    /// a service checking its credentials at start-up).
    pub fn new(client: &'a reqwest::Client, clock: &'a dyn Clock) -> Self {
        Self { client, clock }
    }
}
