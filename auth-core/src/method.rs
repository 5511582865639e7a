//! The plugin contract: [`AuthMethodHandler`] and what it returns.
//!
//! This is Keystone's contract, typed. A method receives only its own
//! `identity.<method>` object, as a [`Payload`], plus a read-only
//! [`MethodContext`], and answers
//! with Keystone's triple, [`AuthHandlerResponse`]:
//!
//! | outcome | `status` | `response_body` | `response_data` |
//! |---|---|---|---|
//! | success | `true` | `None` | names the user; may carry more |
//! | needs another round trip | `false` | `Some(challenge)` | optional continuation state |
//! | failed credential | — | — | — (return `Err`) |
//!
//! A failure is an `Err(AuthError)`, normally
//! [`AuthError::InvalidCredentials`](crate::AuthError::InvalidCredentials).

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::payload::Payload;

use crate::AuthError;
use crate::context::MethodContext;
use crate::store::User;

/// An authentication method: password, totp, a company's custom token, …
///
/// Implementations are built once at start-up (from their configuration
/// section, through the [registry](crate::registry)) and then shared by every
/// request, so they must be `Send + Sync` and keep per-request state out of
/// `self`. State that must survive between round trips goes into the
/// continuation state of a challenge, which the engine seals into the
/// receipt.
///
/// ```
/// use async_trait::async_trait;
/// use auth_core::{
///     AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload, ResponseData,
/// };
/// use serde::Deserialize;
///
/// /// Lets in one user who knows the word of the day.
/// #[derive(Debug)]
/// struct WordOfTheDay;
///
/// /// `{"word": {"word": "..."}}`
/// #[derive(Deserialize)]
/// struct WordPayload {
///     word: String,
/// }
///
/// #[async_trait]
/// impl AuthMethodHandler for WordOfTheDay {
///     fn name(&self) -> &str {
///         "word"
///     }
///
///     async fn authenticate(
///         &self,
///         payload: &Payload,
///         _ctx: &MethodContext<'_>,
///     ) -> Result<AuthHandlerResponse, AuthError> {
///         // A malformed payload is a 400 whose message never echoes values.
///         let WordPayload { word } = payload.parse()?;
///         if word == "swordfish" {
///             Ok(AuthHandlerResponse::success(ResponseData::for_user("u1")))
///         } else {
///             Err(AuthError::InvalidCredentials)
///         }
///     }
/// }
/// ```
#[async_trait]
pub trait AuthMethodHandler: Send + Sync + fmt::Debug + 'static {
    /// The method's name as it appears in `identity.methods`.
    fn name(&self) -> &str;

    /// The request headers this method needs to see. The engine shows a
    /// method no other header, so a method cannot read a credential meant
    /// for another. Names are case-insensitive.
    fn declared_headers(&self) -> &[String] {
        &[]
    }

    /// Authenticates one request.
    ///
    /// `payload` is the request's `identity.<method>` object (always a JSON
    /// object, otherwise arbitrary: [`Payload::parse`] it into a typed struct,
    /// which answers [`AuthError::BadRequest`] for a malformed one). Never
    /// panic.
    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError>;
}

/// What a method answers: Keystone's `(status, response_body, response_data)`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthHandlerResponse {
    /// `true` when the method authenticated the request.
    pub status: bool,
    /// With `status == false`: what the client needs for the next round trip
    /// (a nonce, a prompt). Sent to the client as is.
    pub response_body: Option<Value>,
    /// With `status == true`: what the method resolved. With
    /// `status == false`: optionally the user the challenge is for and the
    /// continuation state (see [`ResponseData::continuation`]).
    pub response_data: ResponseData,
}

impl AuthHandlerResponse {
    /// A successful authentication.
    pub fn success(data: ResponseData) -> Self {
        Self {
            status: true,
            response_body: None,
            response_data: data,
        }
    }

    /// A request for another round trip: `body` goes to the client, `state`
    /// is sealed into the receipt and handed back to this method (as
    /// [`MethodContext::continuation`]) when the client resumes.
    pub fn challenge(body: Value, state: Value) -> Self {
        Self {
            status: false,
            response_body: Some(body),
            response_data: ResponseData {
                continuation: Some(state),
                ..ResponseData::default()
            },
        }
    }
}

/// What a method resolved.
///
/// `user_id`, `project_id` and `domain_id` are identity attributes: if two
/// methods of one request resolve different values, the request fails.
/// `expires_at` caps the token's lifetime; the earliest value wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseData {
    /// The authenticated user. Required on success.
    pub user_id: Option<String>,
    /// Methods to count as used in addition to this one (the `token` method
    /// carries the original token's methods forward).
    pub method_names: Vec<String>,
    /// The latest time a token from this authentication may be valid.
    pub expires_at: Option<DateTime<Utc>>,
    /// A project the credential is bound to (application credentials).
    pub project_id: Option<String>,
    /// A domain the credential is bound to.
    pub domain_id: Option<String>,
    /// Anything else for the token provider and the server (audit ids,
    /// application credential id, group ids, …). Merged into the
    /// authenticated context; a later method overwrites an earlier one.
    pub extras: Map<String, Value>,
    /// With a challenge: the state to keep until the client comes back. It
    /// travels inside the encrypted receipt, so the client can neither read
    /// nor change it.
    pub continuation: Option<Value>,
    /// The user's record, when the method read it to do its work. The
    /// engine then uses it instead of reading the user again; it still
    /// checks that the user is enabled. Never leaves the request.
    pub user: Option<User>,
}

impl ResponseData {
    /// Data naming just the user.
    pub fn for_user(user_id: impl Into<String>) -> Self {
        Self {
            user_id: Some(user_id.into()),
            ..Self::default()
        }
    }

    /// Data naming a user the method has just read from the store, so the
    /// engine need not read it again.
    pub fn for_loaded_user(user: User) -> Self {
        Self {
            user_id: Some(user.id.clone()),
            user: Some(user),
            ..Self::default()
        }
    }

    /// Sets the expiry cap.
    pub fn with_expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Sets the bound project.
    pub fn with_project(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }

    /// Adds an extra attribute.
    pub fn with_extra(mut self, key: impl Into<String>, value: Value) -> Self {
        self.extras.insert(key.into(), value);
        self
    }
}
