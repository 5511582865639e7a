//! `dicom_asserted`: a user name a DICOM peer asserts (User Identity
//! Negotiation type 1, "username" with no passcode), believed from
//! configured calling AE titles on configured networks only.
//!
//! PS3.7 Annex D lets an association request name its user without any
//! proof; modalities that can only do that are common. Like the `external`
//! method, which believes a front proxy's header, this method believes the
//! peer only where the operator said so: the attempt must come through the
//! server's DICOM listener ([`MethodContext::door`] is `"dicom"`, which no
//! HTTP request can set), from a calling AE title in `ae_titles` and an
//! address in `networks`. Anything else fails as a wrong credential, so a
//! client of the HTTP API writing the same payload gets nothing.
//!
//! An AE title is only a name the peer sends; the network is what the
//! operator can enforce. Configure both narrowly.
//!
//! Payload (written by the DICOM listener):
//! `{"user": {"name": "…", "domain": {"id": "…"}}, "calling_ae_title": "…"}`.

use async_trait::async_trait;
use auth_core::request::UserSelector;
use auth_core::store::resolve_user;
use auth_core::{
    AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload, PluginConfig,
    ResponseData,
};
use ipnet::IpNet;
use serde::Deserialize;

/// The registered name.
pub const NAME: &str = "dicom_asserted";

/// The door name the server's DICOM listener gives its attempts.
pub const DICOM_DOOR: &str = "dicom";

builtin_method!(DicomAsserted);

/// Configuration: the `[auth.method.dicom_asserted]` section.
///
/// ```toml
/// [auth.method.dicom_asserted]
/// ae_titles = ["CT_SCANNER_1"]     # calling AE titles believed; empty (default): none
/// networks = ["10.1.2.0/24"]       # and only from these; empty (default): none
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DicomAssertedConfig {
    /// The calling AE titles whose asserted users are believed (compared
    /// without the padding spaces).
    pub ae_titles: Vec<String>,
    /// The networks those peers connect from.
    pub networks: Vec<IpNet>,
}

/// The `dicom_asserted` method.
#[derive(Debug, Clone)]
pub struct DicomAsserted {
    config: DicomAssertedConfig,
}

impl DicomAsserted {
    /// Builds the method from its configuration section.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let mut config: DicomAssertedConfig = config.parse()?;
        for title in &mut config.ae_titles {
            *title = title.trim().to_owned();
        }
        Ok(Self { config })
    }

    fn believes(&self, ctx: &MethodContext<'_>, calling_ae_title: &str) -> bool {
        ctx.door() == Some(DICOM_DOOR)
            && self
                .config
                .ae_titles
                .iter()
                .any(|t| t == calling_ae_title.trim())
            && ctx
                .client_addr()
                .is_some_and(|addr| self.config.networks.iter().any(|n| n.contains(&addr)))
    }
}

/// The payload the DICOM listener writes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Asserted {
    user: UserSelector,
    calling_ae_title: String,
}

#[async_trait]
impl AuthMethodHandler for DicomAsserted {
    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let asserted: Asserted = payload.parse()?;
        let reference = asserted.user.to_ref("user")?;
        if !self.believes(ctx, &asserted.calling_ae_title) {
            tracing::warn!(
                client = ?ctx.client_addr(),
                door = ?ctx.door(),
                calling_ae_title = %asserted.calling_ae_title,
                "ignoring an asserted DICOM identity from a peer that is not trusted"
            );
            return Err(AuthError::InvalidCredentials);
        }
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
    use auth_core::{AuthAttempt, AuthOutcome, Engine, Stores};
    use serde_json::{Value, json};

    use super::*;

    fn trusting() -> Value {
        json!({"ae_titles": ["CT_1"], "networks": ["10.0.0.0/24"]})
    }

    fn engine(section: Value) -> Engine {
        let store = Arc::new(MemoryStore::new());
        store.add_user("u1", "alice");
        let method = DicomAsserted::from_config(&PluginConfig::new(NAME, section)).unwrap();
        Engine::builder()
            .method(NAME, Arc::new(method))
            .stores(Stores::new().with_users(store))
            .build()
            .unwrap()
    }

    fn payload(user: &str, ae: &str) -> Value {
        json!({"user": {"name": user, "domain": {"id": "default"}}, "calling_ae_title": ae})
    }

    async fn login(
        engine: &Engine,
        payload: Value,
        from: &str,
        door: Option<&str>,
    ) -> Result<AuthOutcome, AuthError> {
        let body = json!({"auth": {"identity": {"methods": [NAME], NAME: payload}}});
        let addr: IpAddr = from.parse().unwrap();
        let mut attempt = AuthAttempt::from_json(body).client_addr(addr);
        if let Some(door) = door {
            attempt = attempt.door(door);
        }
        engine.authenticate(attempt).await
    }

    #[tokio::test]
    async fn a_trusted_peer_through_the_dicom_door_is_believed() {
        let e = engine(trusting());
        let done = login(&e, payload("alice", "CT_1"), "10.0.0.7", Some(DICOM_DOOR))
            .await
            .unwrap();
        assert_eq!(done.authenticated().unwrap().user.id, "u1");
        // Padding spaces of the AE title field are not significant.
        assert!(
            login(&e, payload("alice", "CT_1  "), "10.0.0.7", Some(DICOM_DOOR))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn each_condition_is_required() {
        let e = engine(trusting());
        for (payload, from, door) in [
            // Through the HTTP API: the same payload is just what a client wrote.
            (payload("alice", "CT_1"), "10.0.0.7", None),
            (payload("alice", "CT_1"), "10.0.0.7", Some("gateway")),
            // Another AE title, another network.
            (payload("alice", "CT_2"), "10.0.0.7", Some(DICOM_DOOR)),
            (payload("alice", "CT_1"), "10.0.1.7", Some(DICOM_DOOR)),
        ] {
            assert!(matches!(
                login(&e, payload, from, door).await,
                Err(AuthError::InvalidCredentials)
            ));
        }
    }

    #[tokio::test]
    async fn nothing_is_believed_by_default() {
        let e = engine(json!({}));
        assert!(
            login(&e, payload("alice", "CT_1"), "10.0.0.7", Some(DICOM_DOOR))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn passes_the_conformance_kit() {
        use auth_core::testkit::conformance::{MethodCase, Round, check};
        let store = Arc::new(MemoryStore::new());
        store.add_user("u1", "alice");
        let method = DicomAsserted::from_config(&PluginConfig::new(NAME, trusting())).unwrap();
        check(
            MethodCase::new(
                NAME,
                Arc::new(method),
                Stores::new().with_users(store),
                payload("alice", "CT_1"),
                [Round::new(payload("alice", "CT_9"))],
            )
            .with_door(DICOM_DOOR)
            .with_client_addr("10.0.0.7".parse().unwrap())
            .with_unknown_user([Round::new(payload("ghost", "CT_1"))])
            .with_malformed([
                json!({"user": {"name": "alice", "domain": {"id": "default"}}}),
                json!({"calling_ae_title": "CT_1"}),
            ]),
        )
        .await;
    }

    #[test]
    fn bad_networks_are_refused_at_start_up() {
        assert!(
            DicomAsserted::from_config(&PluginConfig::new(NAME, json!({"networks": ["nope"]})))
                .is_err()
        );
    }
}
