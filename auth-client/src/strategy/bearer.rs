//! A token the service was given: nothing to log in to.

use async_trait::async_trait;
use reqwest::header::HeaderName;
use secrecy::SecretString;

use super::{LoginContext, LoginStrategy};
use crate::{Credential, LoginError, Session};

/// A static token, as `Authorization: Bearer` (or a header of one's
/// choice). A refused request is retried once with the same token, which
/// only helps when the refusal was the server's passing fault.
#[derive(Debug)]
pub struct StaticToken {
    token: SecretString,
    header: Option<HeaderName>,
}

impl StaticToken {
    /// `token` as `Authorization: Bearer <token>`.
    pub fn bearer(token: SecretString) -> Self {
        Self {
            token,
            header: None,
        }
    }

    /// `token` in the header `name` (`X-Auth-Token`, say).
    pub fn header(name: HeaderName, token: SecretString) -> Self {
        Self {
            token,
            header: Some(name),
        }
    }
}

#[async_trait]
impl LoginStrategy for StaticToken {
    async fn login(&self, _cx: &LoginContext<'_>) -> Result<Session, LoginError> {
        let credential = match &self.header {
            Some(name) => Credential::header(name.clone(), &self.token)?,
            None => Credential::bearer(&self.token)?,
        };
        Ok(Session::new(credential))
    }
}
