//! The plugin contract: [`AuthMethodHandler`] and what it returns.
//!
//! This is Keystone's contract, typed. A method receives only its own
//! `identity.<method>` object, as a [`Payload`], plus a read-only
//! [`MethodContext`], and answers an [`AuthHandlerResponse`]: a success
//! with what it resolved, or a challenge for another round trip. That enum
//! stands for Keystone's `(status, response_body, response_data)` triple
//! (the mapping is in its documentation) without the triple's invalid
//! combinations.
//!
//! A failure is an `Err(AuthError)`, normally
//! [`AuthError::InvalidCredentials`].
//!
//! A method has no name of its own: it is known by the name it is
//! registered under ([`register_method!`](crate::register_method)) or
//! enabled under ([`EngineBuilder::method`](crate::EngineBuilder::method)),
//! and reads that name from [`MethodContext::method`]. One name, kept in one
//! place, cannot disagree with another.

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
///
/// The trait has no `name()`: the registration's name is the only one, so
/// a method cannot claim a name other than the one it is enabled under.
///
/// ```compile_fail,E0407
/// # use async_trait::async_trait;
/// # use auth_core::{AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload};
/// # #[derive(Debug)] struct Word;
/// #[async_trait]
/// impl AuthMethodHandler for Word {
///     fn name(&self) -> &str {
///         "word"
///     }
///     async fn authenticate(&self, _: &Payload, _: &MethodContext<'_>)
///         -> Result<AuthHandlerResponse, AuthError> { Err(AuthError::InvalidCredentials) }
/// }
/// ```
#[async_trait]
pub trait AuthMethodHandler: Send + Sync + fmt::Debug + 'static {
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

/// What a method answers: success, or a challenge for another round trip.
///
/// Keystone's methods answer a triple `(status, response_body,
/// response_data)` whose valid combinations are a convention checked at run
/// time; here each combination is a variant, so an invalid one (a failure
/// status without a body, a success naming no user) cannot be built:
///
/// | this answer | Keystone's `status` | `response_body` | `response_data` |
/// |---|---|---|---|
/// | [`Success(data)`](Self::Success) | `True` | `None` | `data` (names the user; may carry more) |
/// | [`Challenge { body, state }`](Self::Challenge) | `False` | `body` | — (`state` is kept in the sealed receipt, which Keystone has no equivalent of) |
/// | `Err(AuthError)` | raises | | |
///
/// ```
/// use auth_core::{AuthHandlerResponse, ResponseData};
/// use serde_json::{Value, json};
///
/// /// The Keystone triple an answer stands for.
/// fn keystone_triple(answer: &AuthHandlerResponse) -> (bool, Option<&Value>, Option<&ResponseData>) {
///     match answer {
///         AuthHandlerResponse::Success(data) => (true, None, Some(data)),
///         AuthHandlerResponse::Challenge { body, .. } => (false, Some(body), None),
///         // Marked non-exhaustive so that a new kind of answer is not a
///         // breaking change.
///         _ => unreachable!("no other answer exists today"),
///     }
/// }
///
/// let done = AuthHandlerResponse::success(ResponseData::for_user("u1"));
/// assert_eq!(keystone_triple(&done).0, true);
/// let more = AuthHandlerResponse::challenge(json!({"nonce": "n"}), json!({"expect": "n"}));
/// assert_eq!(keystone_triple(&more), (false, Some(&json!({"nonce": "n"})), None));
/// ```
///
/// A success that names no user cannot be written:
///
/// ```compile_fail,E0599
/// # use auth_core::{AuthHandlerResponse, ResponseData};
/// let nobody = AuthHandlerResponse::Success(ResponseData::default());
/// ```
///
/// nor a challenge without the state to resume it with:
///
/// ```compile_fail,E0639
/// # use auth_core::AuthHandlerResponse;
/// let half = AuthHandlerResponse::Challenge { body: serde_json::json!({}) };
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "one answer per method per request, moved once: boxing the common case would only add an allocation"
)]
pub enum AuthHandlerResponse {
    /// The method authenticated the request, and this is what it resolved.
    Success(ResponseData),
    /// The method needs another round trip. Build it with
    /// [`AuthHandlerResponse::challenge`].
    #[non_exhaustive]
    Challenge {
        /// What the client needs for the next round trip (a nonce, a
        /// prompt), sent to it as is.
        body: Value,
        /// What this method needs to finish when the client comes back. The
        /// engine seals it into the receipt, so the client can neither read
        /// nor change it, and hands it back to this method (as
        /// [`MethodContext::continuation`]) when the client resumes.
        state: Value,
    },
}

impl AuthHandlerResponse {
    /// A successful authentication.
    pub fn success(data: ResponseData) -> Self {
        Self::Success(data)
    }

    /// A request for another round trip: `body` goes to the client, `state`
    /// is sealed into the receipt and handed back to this method (as
    /// [`MethodContext::continuation`]) when the client resumes.
    pub fn challenge(body: Value, state: Value) -> Self {
        Self::Challenge { body, state }
    }
}

impl fmt::Debug for AuthHandlerResponse {
    /// The continuation state stays out: it is private to the method (it may
    /// hold what the client must prove it knows), which is why it travels
    /// encrypted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Success(data) => f.debug_tuple("Success").field(data).finish(),
            Self::Challenge { body, .. } => f
                .debug_struct("Challenge")
                .field("body", body)
                .field("state", &"<redacted>")
                .finish(),
        }
    }
}

/// What a successful method resolved.
///
/// `user_id`, `project_id` and `domain_id` are identity attributes: if two
/// methods of one request resolve different values, the request fails.
/// `expires_at` caps the token's lifetime; the earliest value wins.
///
/// Built with [`ResponseData::for_user`] or [`ResponseData::for_loaded_user`]
/// (a success always names its user) and the `with_*` methods, so that a
/// field added here later breaks no method.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ResponseData {
    /// The authenticated user.
    pub user_id: String,
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
    /// The user's record, when the method read it to do its work. The
    /// engine then uses it instead of reading the user again; it still
    /// checks that the user is enabled. Never leaves the request.
    pub user: Option<User>,
}

impl ResponseData {
    /// Data naming just the user.
    pub fn for_user(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            method_names: Vec::new(),
            expires_at: None,
            project_id: None,
            domain_id: None,
            extras: Map::new(),
            user: None,
        }
    }

    /// Data naming a user the method has just read from the store, so the
    /// engine need not read it again.
    pub fn for_loaded_user(user: User) -> Self {
        let mut data = Self::for_user(user.id.clone());
        data.user = Some(user);
        data
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

    /// Sets the bound domain.
    pub fn with_domain(mut self, domain_id: impl Into<String>) -> Self {
        self.domain_id = Some(domain_id.into());
        self
    }

    /// Counts `methods` as used too (a token's original methods, carried
    /// forward by rescoping).
    pub fn with_method_names(mut self, methods: impl IntoIterator<Item = String>) -> Self {
        self.method_names.extend(methods);
        self
    }

    /// Adds an extra attribute.
    pub fn with_extra(mut self, key: impl Into<String>, value: Value) -> Self {
        self.extras.insert(key.into(), value);
        self
    }
}
