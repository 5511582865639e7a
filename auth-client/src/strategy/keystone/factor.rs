//! The next factor of a multi-factor Keystone login: the server answers a
//! first factor with a receipt, the service supplies the next.

use std::future::Future;

use async_trait::async_trait;
use secrecy::SecretString;

/// What the server asked for when it answered with a receipt.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Challenge {
    /// The user the receipt is for (the next factor names them by id).
    pub user_id: String,
    /// The methods already satisfied.
    pub done: Vec<String>,
    /// The method sets that would complete the login
    /// (`required_auth_methods`).
    pub required: Vec<Vec<String>>,
}

/// A further factor for the receipt's login.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Factor {
    /// A TOTP passcode.
    Totp(SecretString),
}

impl Factor {
    /// A TOTP passcode.
    pub fn totp(passcode: SecretString) -> Self {
        Self::Totp(passcode)
    }

    /// The method name and its `identity` section, for `user_id`.
    pub(super) fn identity(&self, user_id: &str) -> (&'static str, serde_json::Value) {
        use secrecy::ExposeSecret;
        match self {
            Self::Totp(passcode) => (
                "totp",
                serde_json::json!({"user": {"id": user_id, "passcode": passcode.expose_secret()}}),
            ),
        }
    }
}

/// Supplies the next factor when a login comes back with a receipt
/// (a TOTP generator, a prompt). `None` gives up: the login fails with
/// [`crate::LoginError::FactorRequired`].
///
/// Any `Fn(Challenge) -> impl Future<Output = Option<Factor>>` is one.
#[async_trait]
pub trait NextFactor: Send + Sync {
    /// The factor that answers `challenge`, if there is one.
    async fn next_factor(&self, challenge: &Challenge) -> Option<Factor>;
}

#[async_trait]
impl<F, Fut> NextFactor for F
where
    F: Fn(Challenge) -> Fut + Send + Sync,
    Fut: Future<Output = Option<Factor>> + Send,
{
    async fn next_factor(&self, challenge: &Challenge) -> Option<Factor> {
        self(challenge.clone()).await
    }
}
