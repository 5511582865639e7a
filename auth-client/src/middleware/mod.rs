//! The middleware: attaches the session, logs in when there is none or it
//! is about to expire, and on a refused request logs in once and retries
//! once.

mod state;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::Extensions;
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next};

use crate::{Clock, LoginStrategy, SystemClock};
use state::Logins;

/// The default margin before `expires_at` at which a session is renewed.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// A `reqwest-middleware` layer that logs in with a [`LoginStrategy`].
///
/// - Each request carries the current session; the first request logs in.
/// - A session is renewed before its `expires_at` (by the refresh margin,
///   or half its remaining life at login when that is shorter).
/// - A response with a retry status (401 by default) drops the session,
///   logs in once and sends the request once more, from a copy taken
///   before the old session was attached: the retry carries only the new
///   one (dicomtrolley's retry resent the old cookie, its issue #26).
///   Requests whose body cannot be copied (streams) are not retried; their
///   401 is returned and the next request logs in.
/// - Concurrent requests share one login in flight, and its failure.
/// - A failed login is a [`crate::LoginError`] inside
///   `reqwest_middleware::Error::Middleware` ([`crate::login_error`]
///   finds it).
///
/// Clones share the session.
#[derive(Clone)]
pub struct AuthMiddleware {
    logins: Arc<Logins>,
    retry_on: Arc<[StatusCode]>,
}

impl AuthMiddleware {
    /// A middleware with the defaults (retry on 401, a minute's margin,
    /// the system clock, a plain client for logins).
    pub fn new(strategy: impl LoginStrategy + 'static) -> Self {
        Self::builder(strategy).build()
    }

    /// A builder, for other statuses, margin, clock or login client.
    pub fn builder(strategy: impl LoginStrategy + 'static) -> AuthMiddlewareBuilder {
        AuthMiddlewareBuilder {
            strategy: Arc::new(strategy),
            retry_on: vec![StatusCode::UNAUTHORIZED],
            margin: DEFAULT_REFRESH_MARGIN,
            clock: Arc::new(SystemClock),
            client: None,
        }
    }
}

impl fmt::Debug for AuthMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthMiddleware")
            .field("logins", &self.logins)
            .field("retry_on", &self.retry_on)
            .finish()
    }
}

/// Settings of an [`AuthMiddleware`].
#[derive(Debug)]
pub struct AuthMiddlewareBuilder {
    strategy: Arc<dyn LoginStrategy>,
    retry_on: Vec<StatusCode>,
    margin: Duration,
    clock: Arc<dyn Clock>,
    client: Option<reqwest::Client>,
}

impl AuthMiddlewareBuilder {
    /// The statuses that mean "the session is no good" (default: 401).
    /// Some servers answer an expired session with 403 or 440.
    pub fn retry_on(mut self, statuses: impl IntoIterator<Item = StatusCode>) -> Self {
        self.retry_on = statuses.into_iter().collect();
        self
    }

    /// How long before `expires_at` a session is renewed.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The clock `expires_at` is compared with.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The client logins go out on (TLS roots, timeouts, proxy). It should
    /// not be the wrapped client's middleware chain: logins must not be
    /// authenticated themselves.
    pub fn login_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The middleware.
    pub fn build(self) -> AuthMiddleware {
        let margin = chrono::Duration::from_std(self.margin).unwrap_or(chrono::Duration::MAX);
        AuthMiddleware {
            logins: Arc::new(Logins::new(
                self.strategy,
                self.client.unwrap_or_default(),
                self.clock,
                margin,
            )),
            retry_on: self.retry_on.into(),
        }
    }
}

#[async_trait]
impl Middleware for AuthMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let (generation, session) = self
            .logins
            .session(None)
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        // Taken before the session goes on: the retry starts clean.
        let retry = request.try_clone();
        session.attach(request.headers_mut());
        let response = next.clone().run(request, extensions).await?;
        if !self.retry_on.contains(&response.status()) {
            return Ok(response);
        }
        let Some(mut retry) = retry else {
            tracing::debug!(status = %response.status(), "session refused; the body cannot be resent");
            self.logins.forget(generation).await;
            return Ok(response);
        };
        tracing::debug!(status = %response.status(), "session refused; logging in again");
        drop(response);
        let (_, session) = self
            .logins
            .session(Some(generation))
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        session.attach(retry.headers_mut());
        next.run(retry, extensions).await
    }
}

#[cfg(test)]
mod tests;
