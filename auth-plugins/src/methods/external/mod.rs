//! `external`: an identity asserted by a trusted front proxy.
//!
//! Kerberos/SPNEGO, client certificates or a corporate SSO are terminated
//! at a reverse proxy, which forwards the authenticated user name in a
//! header (Apache's `REMOTE_USER`, by default `X-Remote-User`). This method
//! believes that header only from the configured proxy networks: from any
//! other address the header is ignored and logged (a client setting it
//! itself is an attack), and the request fails.
//!
//! Payload: `"external": {}`. The user is looked up by name in the domain
//! named by the optional domain header (by name), else in
//! `default_domain`.

use async_trait::async_trait;
use auth_core::store::{DomainRef, UserRef, resolve_user};
use auth_core::{
    AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload, PluginConfig,
    ResponseData,
};
use ipnet::IpNet;
use serde::Deserialize;

/// The registered name.
pub const NAME: &str = "external";

builtin_method!(External);

/// Configuration: the `[auth.method.external]` section of the server's file.
///
/// ```toml
/// [auth.method.external]
/// user_header = "x-remote-user"        # the default
/// domain_header = "x-remote-domain"    # optional
/// default_domain = "default"           # when no domain header is sent
/// trusted_proxies = ["10.0.0.0/24"]    # empty by default: nobody is believed
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExternalConfig {
    /// The header carrying the user name.
    pub user_header: String,
    /// An optional header carrying the user's domain name.
    pub domain_header: Option<String>,
    /// The domain (by id) of users when no domain header is sent.
    pub default_domain: String,
    /// The networks the proxies connect from. Empty (the default) trusts
    /// nobody, so enabling the method without configuring it lets no one
    /// in.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for ExternalConfig {
    fn default() -> Self {
        Self {
            user_header: "x-remote-user".to_owned(),
            domain_header: None,
            default_domain: "default".to_owned(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// The `external` method.
#[derive(Debug, Clone)]
pub struct External {
    config: ExternalConfig,
    headers: Vec<String>,
}

impl External {
    /// Builds the method from its configuration section.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let config: ExternalConfig = config.parse()?;
        let mut headers = vec![config.user_header.to_ascii_lowercase()];
        headers.extend(config.domain_header.iter().map(|h| h.to_ascii_lowercase()));
        Ok(Self { config, headers })
    }
}

#[async_trait]
impl AuthMethodHandler for External {
    fn declared_headers(&self) -> &[String] {
        &self.headers
    }

    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let _: serde::de::IgnoredAny = payload.parse()?;
        let Some(name) = ctx
            .header(&self.config.user_header)
            .filter(|n| !n.is_empty())
        else {
            return Err(AuthError::InvalidCredentials);
        };
        let trusted = ctx.client_addr().is_some_and(|addr| {
            self.config
                .trusted_proxies
                .iter()
                .any(|net| net.contains(&addr))
        });
        if !trusted {
            tracing::warn!(
                client = ?ctx.client_addr(),
                header = %self.config.user_header,
                "ignoring an external identity header from an address that is not a trusted proxy"
            );
            return Err(AuthError::InvalidCredentials);
        }
        let domain = match self
            .config
            .domain_header
            .as_deref()
            .and_then(|h| ctx.header(h))
        {
            Some(domain_name) => DomainRef::Name(domain_name.to_owned()),
            None => DomainRef::Id(self.config.default_domain.clone()),
        };
        let reference = UserRef::Name {
            name: name.to_owned(),
            domain,
        };
        let user = resolve_user(ctx.stores().users()?, &reference).await?;
        Ok(AuthHandlerResponse::success(ResponseData::for_user(
            user.id,
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::sync::Arc;

    use auth_core::testkit::MemoryStore;
    use auth_core::{AuthAttempt, AuthOutcome, Engine, RequestHeaders, Stores};
    use serde_json::{Value, json};

    use super::*;

    fn engine(section: Value) -> Engine {
        let store = Arc::new(MemoryStore::new());
        store.add_user("u1", "alice");
        store.add_domain("corp", "Corp", true);
        store.put_user(auth_core::store::User::new("u2", "alice", "corp"));
        let method = External::from_config(&PluginConfig::new(NAME, section)).unwrap();
        Engine::builder()
            .method(NAME, Arc::new(method))
            .stores(Stores::new().with_users(store))
            .build()
            .unwrap()
    }

    async fn login(
        engine: &Engine,
        from: &str,
        headers: RequestHeaders,
    ) -> Result<AuthOutcome, AuthError> {
        let body = json!({"auth": {"identity": {"methods": ["external"], "external": {}}}});
        let addr: IpAddr = from.parse().unwrap();
        engine
            .authenticate(
                AuthAttempt::from_json(body)
                    .client_addr(addr)
                    .headers(headers),
            )
            .await
    }

    fn proxied() -> Value {
        json!({"trusted_proxies": ["10.0.0.0/8", "::1/128"], "domain_header": "X-Remote-Domain"})
    }

    #[tokio::test]
    async fn a_trusted_proxy_asserts_the_user() {
        let e = engine(proxied());
        let headers = RequestHeaders::new().with("X-Remote-User", "alice");
        assert_eq!(
            login(&e, "10.1.2.3", headers.clone())
                .await
                .unwrap()
                .user_id(),
            Some("u1")
        );
        assert_eq!(
            login(&e, "::1", headers).await.unwrap().user_id(),
            Some("u1")
        );
        let in_corp = RequestHeaders::new()
            .with("x-remote-user", "alice")
            .with("x-remote-domain", "Corp");
        assert_eq!(
            login(&e, "10.0.0.1", in_corp).await.unwrap().user_id(),
            Some("u2")
        );
    }

    #[tokio::test]
    async fn the_header_from_anyone_else_is_ignored() {
        let e = engine(proxied());
        let headers = RequestHeaders::new().with("X-Remote-User", "alice");
        assert!(matches!(
            login(&e, "192.0.2.1", headers).await,
            Err(AuthError::InvalidCredentials)
        ));
    }

    #[tokio::test]
    async fn unconfigured_it_trusts_nobody() {
        let e = engine(Value::Null);
        let headers = RequestHeaders::new().with("X-Remote-User", "alice");
        assert!(login(&e, "127.0.0.1", headers).await.is_err());
    }

    #[tokio::test]
    async fn missing_headers_and_unknown_users_fail() {
        let e = engine(proxied());
        assert!(login(&e, "10.0.0.1", RequestHeaders::new()).await.is_err());
        let ghost = RequestHeaders::new().with("X-Remote-User", "ghost");
        assert!(matches!(
            login(&e, "10.0.0.1", ghost).await,
            Err(AuthError::InvalidCredentials)
        ));
    }

    #[tokio::test]
    async fn passes_the_conformance_kit() {
        use auth_core::testkit::conformance::{MethodCase, Round, check};
        let store = Arc::new(MemoryStore::new());
        store.add_user("u1", "alice");
        let trusted: IpAddr = "10.0.0.1".parse().unwrap();
        let header = |name: &str| RequestHeaders::new().with("X-Remote-User", name);
        check(
            MethodCase::new(
                NAME,
                Arc::new(External::from_config(&PluginConfig::new(NAME, proxied())).unwrap()),
                Stores::new().with_users(store),
                json!({}),
                [Round::new(json!({}))
                    .with_headers(header("alice"))
                    .with_client_addr("192.0.2.9".parse().unwrap())],
            )
            .with_headers(RequestHeaders::new().with("X-Remote-User", "alice"))
            .with_client_addr(trusted)
            .with_unknown_user([Round::new(json!({})).with_headers(header("ghost"))]),
        )
        .await;
    }

    #[test]
    fn bad_networks_are_refused_at_start_up() {
        assert!(
            External::from_config(&PluginConfig::new(
                NAME,
                json!({"trusted_proxies": ["nope"]})
            ))
            .is_err()
        );
    }
}
