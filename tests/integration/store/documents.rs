//! Conformance: JSON documents (`DocumentStore`): created then replaced,
//! listed per collection in id order, deleted, and never moving the token
//! revision.

use serde_json::json;

use super::harness::{Fixture, at};

pub(crate) async fn documents_round_trip_per_collection_without_moving_the_revision(f: &Fixture) {
    let s = f.storage.as_ref();
    let revision = s.token_revision().await.unwrap();
    assert_eq!(s.get_document("policy", "p1").await.unwrap(), None);
    assert!(
        s.put_document("policy", "p2", &json!({"blob": "b"}), at(1))
            .await
            .unwrap()
    );
    assert!(
        s.put_document("policy", "p1", &json!({"blob": "a"}), at(1))
            .await
            .unwrap()
    );
    assert!(
        s.put_document("domain_config", "p1", &json!({"ldap": {}}), at(1))
            .await
            .unwrap()
    );
    // Replaced, not created again.
    assert!(
        !s.put_document("policy", "p1", &json!({"blob": "a2"}), at(2))
            .await
            .unwrap()
    );
    assert_eq!(
        s.get_document("policy", "p1").await.unwrap(),
        Some(json!({"blob": "a2"}))
    );
    let listed = s.list_documents("policy").await.unwrap();
    assert_eq!(
        listed,
        vec![
            ("p1".to_owned(), json!({"blob": "a2"})),
            ("p2".to_owned(), json!({"blob": "b"}))
        ]
    );
    assert!(s.delete_document("policy", "p1").await.unwrap());
    assert!(!s.delete_document("policy", "p1").await.unwrap());
    assert_eq!(s.list_documents("policy").await.unwrap().len(), 1);
    assert_eq!(s.list_documents("domain_config").await.unwrap().len(), 1);
    assert_eq!(s.token_revision().await.unwrap(), revision);
}
