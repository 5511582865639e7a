//! Why a login did not give a session.

use std::sync::Arc;

use reqwest::StatusCode;

/// A login that failed. Callers match on it to tell a refused credential
/// (ask the operator) from a network fault (try later); it never carries a
/// secret, so it may be logged as is.
///
/// Clone, because every request that waited on the same login in flight
/// gets the same error rather than trying again and locking the account.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The server answered the login with an error status.
    #[error("login failed. {status}: {reason}")]
    Refused {
        /// The status of the login answer (401 for a wrong password).
        status: StatusCode,
        /// The server's error message, or the status's canonical reason.
        reason: String,
    },
    /// The server wants another factor and none was given (no callback, or
    /// the callback declined).
    #[error("login needs another factor, one of {required:?}")]
    FactorRequired {
        /// The method sets the server would accept (Keystone's
        /// `required_auth_methods`).
        required: Vec<Vec<String>>,
    },
    /// The server said yes but the answer holds no usable session (no
    /// cookie, no token header, a token that is not a header value).
    #[error("login answer unusable: {0}")]
    Malformed(String),
    /// The login request did not get an answer.
    #[error("login request failed: {0}")]
    Transport(#[source] Arc<reqwest::Error>),
}

impl LoginError {
    /// The status of a refused login, for callers that branch on 401
    /// versus 403 without matching every variant.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error of a refused `response`: the server's message when its
    /// body is the usual JSON error, else the status's reason.
    pub(crate) async fn refused(response: reqwest::Response) -> Self {
        let status = response.status();
        let body: Option<serde_json::Value> = response.json().await.ok();
        let reason = body
            .as_ref()
            .and_then(|body| body["error"]["message"].as_str())
            .map(str::to_owned)
            .or_else(|| status.canonical_reason().map(str::to_owned))
            .unwrap_or_default();
        Self::Refused { status, reason }
    }
}

impl From<reqwest::Error> for LoginError {
    fn from(error: reqwest::Error) -> Self {
        Self::Transport(Arc::new(error))
    }
}

/// The login error inside an error of the middleware chain, if that is
/// what it is: the chain's error type is reqwest-middleware's, which boxes
/// middleware errors.
pub fn login_error(error: &reqwest_middleware::Error) -> Option<&LoginError> {
    match error {
        reqwest_middleware::Error::Middleware(inner) => inner.downcast_ref::<LoginError>(),
        _ => None,
    }
}
