//! Keystone's password method, with further factors through receipts.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::{NextFactor, Placement, UserRef, issue};
use crate::strategy::{LoginContext, LoginStrategy};
use crate::{LoginError, Session};

/// `POST /v3/auth/tokens` with the password method. When the user's rules
/// want more (a 401 with `Openstack-Auth-Receipt`), the [`NextFactor`]
/// callback gives the next factor and the login continues with the
/// receipt.
#[derive(Clone)]
pub struct KeystonePassword {
    auth_url: Url,
    user: UserRef,
    password: SecretString,
    scope: Option<Value>,
    next: Option<Arc<dyn NextFactor>>,
    placement: Placement,
}

impl KeystonePassword {
    /// A login of `user` with `password` at `auth_url` (the server's root
    /// or its `/v3`), unscoped unless [`KeystonePassword::scope`] says.
    pub fn new(auth_url: Url, user: UserRef, password: SecretString) -> Self {
        Self {
            auth_url,
            user,
            password,
            scope: None,
            next: None,
            placement: Placement::default(),
        }
    }

    /// Keystone's `scope` object as is (`{"project": {"name": …,
    /// "domain": {"id": …}}}`, `{"system": {"all": true}}`, …).
    pub fn scope(mut self, scope: Value) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The source of further factors.
    pub fn next_factor(mut self, next: impl NextFactor + 'static) -> Self {
        self.next = Some(Arc::new(next));
        self
    }

    /// Where the token goes (default `X-Auth-Token`).
    pub fn attach_as(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }
}

impl fmt::Debug for KeystonePassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeystonePassword")
            .field("auth_url", &self.auth_url.as_str())
            .field("user", &self.user)
            .field("password", &self.password)
            .field("scope", &self.scope)
            .field("next_factor", &self.next.is_some())
            .field("placement", &self.placement)
            .finish()
    }
}

#[async_trait]
impl LoginStrategy for KeystonePassword {
    async fn login(&self, cx: &LoginContext<'_>) -> Result<Session, LoginError> {
        let mut user = self.user.to_json();
        user["password"] = json!(self.password.expose_secret());
        let identity = json!({"methods": ["password"], "password": {"user": user}});
        issue(
            cx,
            &self.auth_url,
            identity,
            self.scope.as_ref(),
            self.next.as_deref(),
            &self.placement,
        )
        .await
    }
}
