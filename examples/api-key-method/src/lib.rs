//! # An auth method written outside the framework
//!
//! `api_key` lets machines authenticate with long random keys. The server
//! stores only each key's SHA-256 hash (a fast hash is right for 256-bit
//! random keys; argon2 is for passwords people choose) and compares hashes
//! in constant time. The key comes in the payload
//! (`{"api_key": {"key": "..."}}`) or, with an empty payload, in the
//! `X-Api-Key` header, which shows how a method declares the headers it
//! needs.
//!
//! Configuration, in the server's TOML file: enable it by name and give it
//! its section (`sha256` is [`hash_key`] of the key, here of `k-example`):
//!
//! ```toml
//! [auth]
//! methods = ["password", "token", "api_key"]
//!
//! [auth.method.api_key]
//! keys = [{ user_id = "3f2a9c", sha256 = "105086450c3f88e95a1c6600fdae5a17db1611aed20a154e6d680a9adbcce76e" }]
//! ```
//!
//! The whole plugin is this file: a config type, a handler, and one
//! `register_method!` line. Any binary that links this crate (by using
//! anything from it, e.g. [`hash_key`]) can enable `api_key` by name.

use std::sync::Arc;

use async_trait::async_trait;
use auth_core::{
    AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload, PluginConfig,
    ResponseData,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The registered name.
pub const NAME: &str = "api_key";

/// The header a key may come in.
pub const HEADER: &str = "x-api-key";

auth_core::register_method!(NAME, |config| Ok(Arc::new(ApiKey::from_config(config)?)));

/// The method's configuration section.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// The accepted keys, as hashes.
    pub keys: Vec<KeyEntry>,
}

/// One accepted key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// The user the key authenticates.
    pub user_id: String,
    /// The lowercase hex SHA-256 of the key.
    pub sha256: String,
}

/// `identity.api_key`: `{"key": "..."}`, or `{}` with the key in a header.
#[derive(Deserialize)]
struct ApiKeyPayload {
    #[serde(default)]
    key: Option<String>,
}

/// The `api_key` method.
#[derive(Debug)]
pub struct ApiKey {
    keys: Vec<([u8; 32], String)>,
    headers: Vec<String>,
}

impl ApiKey {
    /// Builds the method, refusing malformed hashes at start-up rather than
    /// at the first login.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let parsed: ApiKeyConfig = config.parse()?;
        let keys = parsed
            .keys
            .into_iter()
            .map(|entry| {
                let hash = decode_hex(&entry.sha256).ok_or_else(|| {
                    AuthError::invalid_config(NAME, "every sha256 must be 64 hex digits")
                })?;
                Ok((hash, entry.user_id))
            })
            .collect::<Result<_, AuthError>>()?;
        Ok(Self {
            keys,
            headers: vec![HEADER.to_owned()],
        })
    }
}

/// The hash to put in the configuration for `key`.
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[async_trait]
impl AuthMethodHandler for ApiKey {
    fn declared_headers(&self) -> &[String] {
        &self.headers
    }

    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let payload: ApiKeyPayload = payload.parse()?;
        let key = match payload.key.as_deref() {
            Some(key) => key,
            None => ctx.header(HEADER).ok_or_else(|| {
                AuthError::bad_request("an API key is required in 'api_key.key' or X-Api-Key")
            })?,
        };
        let presented: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        // Compare against every entry, without stopping early, so the time
        // taken does not depend on which entry matches.
        let mut matched: Option<&str> = None;
        for (hash, user_id) in &self.keys {
            if bool::from(hash.ct_eq(&presented)) {
                matched = Some(user_id);
            }
        }
        match matched {
            Some(user_id) => Ok(AuthHandlerResponse::success(ResponseData::for_user(
                user_id,
            ))),
            None => Err(AuthError::InvalidCredentials),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::testkit::MemoryStore;
    use auth_core::{AuthAttempt, AuthOutcome, Engine, RequestHeaders, Stores};
    use serde_json::{Value, json};

    fn engine() -> Engine {
        let store = Arc::new(MemoryStore::new());
        store.add_user("u1", "robot");
        let config = PluginConfig::new(
            NAME,
            json!({"keys": [{"user_id": "u1", "sha256": hash_key("k-123")}]}),
        );
        Engine::builder()
            .method(NAME, Arc::new(ApiKey::from_config(&config).unwrap()))
            .stores(Stores::new().with_users(store))
            .build()
            .unwrap()
    }

    async fn login(
        engine: &Engine,
        payload: Value,
        headers: RequestHeaders,
    ) -> Result<AuthOutcome, AuthError> {
        let body = json!({"auth": {"identity": {"methods": [NAME], NAME: payload}}});
        engine
            .authenticate(AuthAttempt::from_json(body).headers(headers))
            .await
    }

    #[tokio::test]
    async fn a_key_in_the_payload_or_the_header_authenticates() {
        let e = engine();
        let a = login(&e, json!({"key": "k-123"}), RequestHeaders::new())
            .await
            .unwrap();
        assert_eq!(a.user_id(), Some("u1"));
        let headers = RequestHeaders::new().with("X-Api-Key", "k-123");
        assert!(login(&e, json!({}), headers).await.is_ok());
    }

    #[tokio::test]
    async fn wrong_and_missing_keys_fail() {
        let e = engine();
        let wrong = login(&e, json!({"key": "k-124"}), RequestHeaders::new())
            .await
            .unwrap_err();
        assert!(matches!(wrong, AuthError::InvalidCredentials));
        let missing = login(&e, json!({}), RequestHeaders::new())
            .await
            .unwrap_err();
        assert_eq!(missing.http_status(), 400);
    }

    #[tokio::test]
    async fn passes_the_conformance_kit() {
        use auth_core::testkit::conformance::{MethodCase, check};
        let store = Arc::new(MemoryStore::new());
        store.add_user("u1", "robot");
        let config = PluginConfig::new(
            NAME,
            json!({"keys": [{"user_id": "u1", "sha256": hash_key("k-123")}]}),
        );
        check(
            MethodCase::new(
                NAME,
                Arc::new(ApiKey::from_config(&config).unwrap()),
                Stores::new().with_users(store),
                json!({"key": "k-123"}),
                vec![json!({"key": "k-999"}).into()],
            )
            // Keys name no user: an unknown key is the "unknown user".
            .with_unknown_user(vec![json!({"key": "never-issued"}).into()])
            .with_malformed(vec![json!({})])
            .with_secrets(["k-123", "k-999"]),
        )
        .await;
    }

    #[test]
    fn the_documented_configuration_builds_the_method() {
        // The ```toml block of this file's documentation: the server's
        // configuration test parses it with the server's Config; the
        // section itself is checked here, where the method is linked.
        let doc: String = include_str!("lib.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("//!"))
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .skip_while(|line| *line != "```toml")
            .skip(1)
            .take_while(|line| *line != "```")
            .map(|line| format!("{line}\n"))
            .collect();
        let file: Value = toml::from_str(&doc).unwrap();
        assert!(
            file["auth"]["methods"]
                .as_array()
                .unwrap()
                .contains(&json!(NAME))
        );
        let section = file["auth"]["method"][NAME].clone();
        let method = ApiKey::from_config(&PluginConfig::new(NAME, section)).unwrap();
        assert_eq!(
            method.keys,
            [(
                decode_hex(&hash_key("k-example")).unwrap(),
                "3f2a9c".to_owned()
            )]
        );
    }

    #[test]
    fn malformed_hashes_are_refused_at_start_up() {
        let config = PluginConfig::new(NAME, json!({"keys": [{"user_id": "u", "sha256": "zz"}]}));
        assert!(ApiKey::from_config(&config).is_err());
    }
}
