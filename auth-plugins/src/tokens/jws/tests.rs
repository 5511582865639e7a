use auth_core::TokenProvider;
use secrecy::zeroize::Zeroize as _;

use super::*;

fn claims() -> TokenClaims {
    TokenClaims {
        sub: "u1".into(),
        iat: 1_700_000_000,
        iat_us: Some(123_456),
        exp: 1_700_003_600,
        methods: vec!["password".into()],
        audit_ids: vec!["a1".into()],
        project_id: Some("p1".into()),
        domain_id: None,
        system: None,
        app_cred_id: None,
        access_token_id: None,
        group_ids: vec![],
        idp_id: None,
        trust_id: None,
    }
}

#[tokio::test]
async fn es256_and_eddsa_tokens_round_trip() {
    for algorithm in [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA] {
        let provider = JwsProvider::new(SigningKeySet::generate(algorithm).unwrap());
        let token = provider.issue(&claims()).unwrap();
        assert_eq!(provider.verify(&token).await.unwrap(), claims());
    }
}

#[tokio::test]
async fn altered_foreign_and_garbage_tokens_are_404s() {
    let provider = JwsProvider::new(SigningKeySet::generate(SigningAlgorithm::ES256).unwrap());
    let token = provider.issue(&claims()).unwrap();
    let other = JwsProvider::new(SigningKeySet::generate(SigningAlgorithm::ES256).unwrap());
    let mut altered = token.clone().into_bytes();
    let mid = altered.len() / 2;
    altered[mid] = if altered[mid] == b'A' { b'B' } else { b'A' };
    for bad in [
        String::from_utf8(altered).unwrap(),
        "garbage".into(),
        String::new(),
    ] {
        let e = provider.verify(&bad).await.unwrap_err();
        assert_eq!(e.http_status(), 404);
        assert!(!e.to_string().contains(&token));
    }
    assert_eq!(other.verify(&token).await.unwrap_err().http_status(), 404);
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_and_peers_agree() {
    let mut keys = SigningKeySet::generate(SigningAlgorithm::ES256).unwrap();
    let node_a = JwsProvider::new(keys.clone());
    let old = node_a.issue(&claims()).unwrap();
    keys.rotate(SigningAlgorithm::ES256, 3).unwrap();
    // A peer that rotated signs with what node A has staged.
    let node_b = JwsProvider::new(keys.clone());
    let new = node_b.issue(&claims()).unwrap();
    assert!(node_a.verify(&new).await.is_ok());
    assert!(node_b.verify(&old).await.is_ok());
    // Two more rotations prune the key that signed `old`.
    keys.rotate(SigningAlgorithm::ES256, 3).unwrap();
    keys.rotate(SigningAlgorithm::ES256, 3).unwrap();
    node_b.replace_keys(keys);
    assert!(node_b.verify(&old).await.is_err());
}

#[tokio::test]
async fn a_rotation_can_switch_to_eddsa() {
    let mut keys = SigningKeySet::generate(SigningAlgorithm::ES256).unwrap();
    let old = JwsProvider::new(keys.clone()).issue(&claims()).unwrap();
    // Two rotations to sign with EdDSA; four keys keep the ES256 one.
    keys.rotate(SigningAlgorithm::EdDSA, 4).unwrap();
    keys.rotate(SigningAlgorithm::EdDSA, 4).unwrap();
    assert_eq!(keys.primary().algorithm(), SigningAlgorithm::EdDSA);
    let provider = JwsProvider::new(keys);
    let new = provider.issue(&claims()).unwrap();
    assert!(provider.verify(&old).await.is_ok());
    assert!(provider.verify(&new).await.is_ok());
}

#[tokio::test]
async fn export_import_round_trips_and_debug_hides_keys() {
    let keys = SigningKeySet::generate(SigningAlgorithm::ES256).unwrap();
    let token = JwsProvider::new(keys.clone()).issue(&claims()).unwrap();
    let mut exported = keys.export().unwrap();
    let imported = SigningKeySet::import(&exported).unwrap();
    assert!(JwsProvider::new(imported).verify(&token).await.is_ok());
    let debug = format!("{keys:?}");
    let stored: serde_json::Value = serde_json::from_str(&exported).unwrap();
    assert!(!debug.contains(stored["primary"]["pkcs8"].as_str().unwrap()));
    exported.zeroize();
    assert!(SigningKeySet::import("{}").is_err());
}

mod validation {
    //! `auth_core::token::validate` with this provider and the in-memory
    //! store: lifetimes and exact revocation.
    use std::sync::Arc;

    use auth_core::store::{RevocationEvent, RevocationStore as _};
    use auth_core::testkit::MemoryStore;
    use auth_core::{AuthError, Stores, TokenClaims, TokenProvider, token};
    use chrono::{DateTime, Duration, Utc};

    use super::super::*;

    fn provider() -> JwsProvider {
        JwsProvider::new(SigningKeySet::generate(SigningAlgorithm::ES256).unwrap())
            .with_max_lifetime(Duration::hours(1))
    }

    fn stores() -> (Arc<MemoryStore>, Stores) {
        let store = Arc::new(MemoryStore::new());
        store.add_user("u1", "alice");
        let stores = Stores::new()
            .with_users(store.clone())
            .with_revocations(store.clone());
        (store, stores)
    }

    fn issued(at: DateTime<Utc>, lifetime: Duration) -> TokenClaims {
        let mut claims = super::claims();
        claims.set_issued_at(at);
        claims.exp = claims.iat + lifetime.num_seconds();
        claims
    }

    fn start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap()
    }

    async fn check(
        provider: &JwsProvider,
        stores: &Stores,
        claims: &TokenClaims,
        now: DateTime<Utc>,
    ) -> Result<TokenClaims, AuthError> {
        let token = provider.issue(claims).unwrap();
        token::validate(provider, stores, &token, now, Duration::zero())
            .await
            .map(|(claims, _)| claims)
    }

    #[tokio::test]
    async fn a_lifetime_longer_than_the_provider_issues_is_refused() {
        let provider = provider();
        assert_eq!(provider.max_lifetime(), Some(Duration::hours(1)));
        let (_, stores) = stores();
        let now = start() + Duration::minutes(1);
        let hour = issued(start(), Duration::hours(1));
        assert!(check(&provider, &stores, &hour, now).await.is_ok());
        for refused in [
            issued(start(), Duration::days(3650)),
            issued(start(), Duration::seconds(3601)),
            issued(start() + Duration::days(3650), Duration::hours(1)),
        ] {
            let e = check(&provider, &stores, &refused, now).await.unwrap_err();
            assert_eq!(e.http_status(), 404);
        }
        // Without a stated maximum the provider vouches for any lifetime.
        let lax = JwsProvider::new(provider.keys().as_ref().clone());
        let long = issued(start(), Duration::days(3650));
        assert!(check(&lax, &stores, &long, now).await.is_ok());
    }

    #[tokio::test]
    async fn revocation_in_the_memory_store_is_exact_to_the_microsecond() {
        let provider = provider();
        let (store, stores) = stores();
        // Nanoseconds below the microsecond, as a real clock gives.
        let event_at = start() + Duration::nanoseconds(400);
        store
            .add_revocation(&RevocationEvent::at(event_at).with_user("u1"))
            .await
            .unwrap();
        let now = start() + Duration::minutes(1);
        let before = issued(event_at - Duration::microseconds(1), Duration::hours(1));
        let after = issued(event_at + Duration::microseconds(1), Duration::hours(1));
        assert_eq!(before.iat, after.iat, "the same second");
        assert!(matches!(
            check(&provider, &stores, &before, now).await,
            Err(AuthError::NotFound { .. })
        ));
        let valid = check(&provider, &stores, &after, now).await.unwrap();
        assert_eq!(valid.issued_at_micros(), after.issued_at_micros());
    }

    #[tokio::test]
    async fn a_token_of_an_earlier_version_still_validates() {
        let provider = provider();
        let (store, stores) = stores();
        let mut legacy = issued(start(), Duration::hours(1));
        legacy.iat_us = None;
        let token = provider.issue(&legacy).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        assert!(
            !String::from_utf8(
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                    .unwrap()
            )
            .unwrap()
            .contains("openstack_iat_us")
        );
        let now = start() + Duration::minutes(1);
        assert!(check(&provider, &stores, &legacy, now).await.is_ok());
        // An event later in its second revokes it (its microseconds are
        // unknown), as Keystone would.
        store
            .add_revocation(&RevocationEvent::at(start()).with_user("u1"))
            .await
            .unwrap();
        assert!(check(&provider, &stores, &legacy, now).await.is_err());
    }
}
