//! # auth-core
//!
//! The framework at the heart of a Keystone-like, multi-method
//! authentication service: the contract auth methods implement, the
//! registry that finds them, the engine that runs them, and the receipts,
//! events and store traits around it. No HTTP and no SQL live here; the
//! server and the storage drivers are built on top.
//!
//! ## Layout
//!
//! - [`method`]: [`AuthMethodHandler`], the one trait a plugin author
//!   implements, and [`AuthHandlerResponse`], its answer: success or a
//!   challenge, Keystone's `(status, response_body, response_data)` triple
//!   without its invalid combinations.
//! - [`payload`]: [`Payload`], a method's own `identity.<method>` object,
//!   raw, for the method to deserialize into its own type.
//! - [`context`]: [`MethodContext`], the read-only view of the request a
//!   method gets.
//! - [`registry`]: compile-time registration with [`inventory`]
//!   ([`register_method!`]), name-keyed [`Registry`] maps and the
//!   [`MethodSet`] of enabled methods.
//! - [`request`]: parsing and validating auth request bodies, with limits.
//! - [`engine`]: [`Engine`], which runs a request's methods in order,
//!   reconciles what they resolve ([`identity`]), applies per-user MFA rules
//!   ([`mfa`]) and continues multi-step logins with sealed receipts
//!   ([`receipt`], [`keys`]).
//! - [`events`]: the typed [`AuthEvent`]s the engine emits to an
//!   [`EventSink`].
//! - [`store`]: the storage traits drivers implement, and [`Stores`].
//! - [`imaging`]: the authorization decision for Orthanc's authorization
//!   plugin: imaging permissions, the role map, user and share tokens.
//! - [`implied_roles`]: expanding held roles through Keystone's implied-role
//!   rules, and the checks a new rule must pass.
//! - [`token`]: [`TokenClaims`], the [`TokenProvider`] trait and the one
//!   validation routine (expiry, revocation, user state).
//! - [`handlers`]: privacyIDEA-style event handlers: bindings of handler
//!   module actions to events, with conditions, run before or after a call
//!   by the [`Dispatcher`](handlers::Dispatcher).
//! - [`audit`]: [`AuditLog`], the non-blocking writer of the audit log.
//! - [`clock`]: injected time.
//! - [`error`]: [`AuthError`], each variant one HTTP status.
//!
//! ## A login in one call
//!
//! ```
//! # use std::sync::Arc;
//! # use async_trait::async_trait;
//! # use auth_core::*;
//! # use auth_core::store::*;
//! # #[derive(Debug)] struct OneUser;
//! # #[async_trait] impl UserStore for OneUser {
//! #   async fn get_user(&self, id: &str) -> Result<User, AuthError> {
//! #     Ok(User::new(id, "alice", "default")) }
//! #   async fn find_user_by_name(&self, _: &str, _: &str) -> Result<User, AuthError> { unreachable!() }
//! #   async fn get_domain(&self, _: &str) -> Result<Domain, AuthError> { unreachable!() }
//! #   async fn find_domain_by_name(&self, _: &str) -> Result<Domain, AuthError> { unreachable!() }
//! # }
//! # #[derive(Debug)] struct Word;
//! # #[async_trait] impl AuthMethodHandler for Word {
//! #   async fn authenticate(&self, p: &Payload, _: &MethodContext<'_>)
//! #       -> Result<AuthHandlerResponse, AuthError> {
//! #     if p.to_value()["word"] == "swordfish" { Ok(AuthHandlerResponse::success(ResponseData::for_user("u1"))) }
//! #     else { Err(AuthError::InvalidCredentials) } }
//! # }
//! # tokio_test(async {
//! let engine = Engine::builder()
//!     .method("word", Arc::new(Word))
//!     .stores(Stores::new().with_users(Arc::new(OneUser)))
//!     .build()?;
//! let body = br#"{"auth": {"identity": {"methods": ["word"], "word": {"word": "swordfish"}}}}"#;
//! match engine.authenticate(AuthAttempt::new(body)).await? {
//!     AuthOutcome::Authenticated(done) => assert_eq!(done.user.id, "u1"),
//!     AuthOutcome::Continue(more) => println!("come back with {:?}", more.required_auth_methods),
//! }
//! # Ok::<(), AuthError>(()) });
//! # fn tokio_test<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f) }
//! ```

pub mod audit;
pub mod clock;
pub mod config;
pub mod context;
pub mod engine;
pub mod error;
pub mod events;
pub mod handlers;
pub mod identity;
pub mod imaging;
pub mod implied_roles;
pub mod keys;
pub mod method;
pub mod mfa;
pub mod payload;
pub mod receipt;
pub mod registry;
pub mod request;
pub mod store;
pub mod token;

#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use audit::AuditLog;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::PluginConfig;
pub use context::{MethodContext, RequestHeaders, RequestLine};
pub use engine::{AuthAttempt, AuthOutcome, Authenticated, Continuation, Engine, EngineBuilder};
pub use error::AuthError;
pub use events::{AuthEvent, EventResult, EventSink, NoopSink, RecordingSink};
pub use identity::Identity;
pub use keys::{KeyRing, KeySet};
pub use method::{AuthHandlerResponse, AuthMethodHandler, ResponseData};
pub use payload::Payload;
pub use receipt::Receipt;
pub use registry::{MethodRegistration, MethodSet, Registry};
pub use request::{AuthRequest, RequestLimits, ScopeRequest};
pub use store::Stores;
pub use token::{TokenClaims, TokenProvider};

/// Re-exported so that [`register_method!`] works without plugin crates
/// depending on `inventory` themselves.
#[doc(hidden)]
pub use inventory;

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
