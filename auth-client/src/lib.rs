//! A client side for this server's logins, for Rust services calling
//! protected endpoints (the gateway, the Keystone API, or any service
//! that logs in the same ways).
//!
//! [`AuthMiddleware`] plugs into a `reqwest-middleware` client: it logs in
//! with a [`LoginStrategy`] ([`HeaderLogin`], [`keystone::KeystonePassword`],
//! [`keystone::ApplicationCredential`], [`StaticToken`], or one's own),
//! attaches the session to each request, renews it before it expires, and
//! on a 401 logs in once and retries once, with the new session only.
//!
//! ```no_run
//! use auth_client::{AuthMiddleware, HeaderLogin};
//! use secrecy::SecretString;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let login = HeaderLogin::new(
//!     "https://pacs.example.com/login".parse()?,
//!     "alice",
//!     SecretString::from(std::env::var("PACS_PASSWORD")?),
//! );
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(AuthMiddleware::new(login))
//!     .build();
//! let studies = client
//!     .get("https://pacs.example.com/dicom-web/studies")
//!     .send()
//!     .await?;
//! # drop(studies);
//! # Ok(())
//! # }
//! ```
//!
//! Depends on no server code: services link it without the server.

mod clock;
mod error;
mod middleware;
mod session;
mod strategy;

pub use clock::{Clock, SystemClock};
pub use error::{LoginError, login_error};
pub use middleware::{AuthMiddleware, AuthMiddlewareBuilder, DEFAULT_REFRESH_MARGIN};
pub use session::{Credential, Session};
pub use strategy::{
    DEFAULT_REALM, HeaderLogin, LoginContext, LoginStrategy, StaticToken, keystone,
};
