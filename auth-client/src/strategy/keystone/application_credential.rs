//! Keystone's application credential method: a service's own credential,
//! bound to a project and a subset of its owner's roles.

use async_trait::async_trait;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{Placement, UserRef, issue};
use crate::strategy::{LoginContext, LoginStrategy};
use crate::{LoginError, Session};

/// `POST /v3/auth/tokens` with the application credential method. The
/// token is scoped by the credential itself.
#[derive(Debug, Clone)]
pub struct ApplicationCredential {
    auth_url: Url,
    name: Named,
    secret: SecretString,
    placement: Placement,
}

#[derive(Debug, Clone)]
enum Named {
    Id(String),
    Name { name: String, user: UserRef },
}

impl ApplicationCredential {
    /// The credential `id` with its `secret`.
    pub fn by_id(auth_url: Url, id: impl Into<String>, secret: SecretString) -> Self {
        Self {
            auth_url,
            name: Named::Id(id.into()),
            secret,
            placement: Placement::default(),
        }
    }

    /// The credential `name` of `user` with its `secret`.
    pub fn by_name(
        auth_url: Url,
        name: impl Into<String>,
        user: UserRef,
        secret: SecretString,
    ) -> Self {
        Self {
            auth_url,
            name: Named::Name {
                name: name.into(),
                user,
            },
            secret,
            placement: Placement::default(),
        }
    }

    /// Where the token goes (default `X-Auth-Token`).
    pub fn attach_as(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }
}

#[async_trait]
impl LoginStrategy for ApplicationCredential {
    async fn login(&self, cx: &LoginContext<'_>) -> Result<Session, LoginError> {
        let mut credential = match &self.name {
            Named::Id(id) => json!({"id": id}),
            Named::Name { name, user } => json!({"name": name, "user": user.to_json()}),
        };
        credential["secret"] = json!(self.secret.expose_secret());
        let identity = json!({"methods": ["application_credential"],
            "application_credential": credential});
        issue(cx, &self.auth_url, identity, None, None, &self.placement).await
    }
}
