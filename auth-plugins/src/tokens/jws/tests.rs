use auth_core::TokenProvider;
use secrecy::zeroize::Zeroize as _;

use super::*;

fn claims() -> TokenClaims {
    TokenClaims {
        sub: "u1".into(),
        iat: 1_700_000_000,
        exp: 1_700_003_600,
        methods: vec!["password".into()],
        audit_ids: vec!["a1".into()],
        project_id: Some("p1".into()),
        domain_id: None,
        system: None,
        app_cred_id: None,
        group_ids: vec![],
        idp_id: None,
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
