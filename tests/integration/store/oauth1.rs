//! Conformance: OAuth1 request and access tokens (`OAuth1Store`): secrets
//! sealed at rest and bound to their token, a request token authorized
//! once and exchanged once, deletes that move the token revision, nonces
//! claimed once, consumer secrets opened from their documents.

use auth_core::AuthError;
use auth_core::store::{
    DEFAULT_DOMAIN_ID, OAUTH1_CONSUMER_SECRET_PURPOSE, OAUTH1_CONSUMERS, OAuth1AccessToken,
    OAuth1RequestToken,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::harness::{Fixture, at, project, user};

/// A user and a project to delegate on.
async fn setup(f: &Fixture) -> (String, String) {
    let s = f.storage.as_ref();
    let u = user("alice", DEFAULT_DOMAIN_ID);
    s.create_user(&u, None).await.unwrap();
    let p = project("p", DEFAULT_DOMAIN_ID);
    s.create_project(&p).await.unwrap();
    (u.id, p.id)
}

fn access(id: &str, user_id: &str, project_id: &str) -> OAuth1AccessToken {
    OAuth1AccessToken::new(
        id,
        SecretString::from(format!("{id}-secret")),
        "c1",
        user_id,
        project_id,
        vec!["r1".into(), "r2".into()],
        Some(at(100)),
    )
}

pub(crate) async fn request_tokens_are_sealed_authorized_once_and_exchanged_once(f: &Fixture) {
    let s = f.storage.as_ref();
    let (user_id, project_id) = setup(f).await;
    let request = OAuth1RequestToken::new(
        "rt1",
        SecretString::from("request-s3cret"),
        "c1",
        &project_id,
        Some(at(10)),
    );
    s.create_oauth1_request_token(&request).await.unwrap();
    let stored = f
        .raw_text("SELECT secret_sealed FROM oauth1_request_tokens WHERE id = 'rt1'")
        .await;
    assert!(!stored.contains("request-s3cret"), "sealed at rest");

    let read = s.get_oauth1_request_token("rt1").await.unwrap();
    assert_eq!(read.secret.expose_secret(), "request-s3cret");
    assert_eq!(read.project_id, project_id);
    assert_eq!(read.expires_at, Some(at(10)));
    assert_eq!(read.authorizing_user_id, None);
    assert!(matches!(
        s.get_oauth1_request_token("nope").await,
        Err(AuthError::NotFound { .. })
    ));
    // Not authorized yet: it cannot be exchanged.
    assert!(matches!(
        s.exchange_oauth1_request_token("rt1", &access("at0", &user_id, &project_id))
            .await,
        Err(AuthError::NotFound { .. })
    ));

    let roles = vec!["r1".to_owned()];
    s.authorize_oauth1_request_token("rt1", &user_id, &roles, "hash")
        .await
        .unwrap();
    assert!(matches!(
        s.authorize_oauth1_request_token("rt1", &user_id, &roles, "other")
            .await,
        Err(AuthError::Conflict { .. })
    ));
    assert!(matches!(
        s.authorize_oauth1_request_token("nope", &user_id, &roles, "h")
            .await,
        Err(AuthError::NotFound { .. })
    ));
    let read = s.get_oauth1_request_token("rt1").await.unwrap();
    assert_eq!(read.authorizing_user_id.as_deref(), Some(user_id.as_str()));
    assert_eq!(read.role_ids, roles);
    assert_eq!(read.verifier_hash.as_deref(), Some("hash"));

    s.exchange_oauth1_request_token("rt1", &access("at1", &user_id, &project_id))
        .await
        .unwrap();
    assert!(matches!(
        s.get_oauth1_request_token("rt1").await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.exchange_oauth1_request_token("rt1", &access("at2", &user_id, &project_id))
            .await,
        Err(AuthError::NotFound { .. })
    ));
    assert!(matches!(
        s.get_oauth1_access_token("at2").await,
        Err(AuthError::NotFound { .. })
    ));
}

pub(crate) async fn access_tokens_round_trip_and_deletes_move_the_revision(f: &Fixture) {
    let s = f.storage.as_ref();
    let (user_id, project_id) = setup(f).await;
    for id in ["at1", "at2"] {
        let request = OAuth1RequestToken::new(
            format!("r-{id}"),
            SecretString::from("x"),
            "c1",
            &project_id,
            None,
        );
        s.create_oauth1_request_token(&request).await.unwrap();
        s.authorize_oauth1_request_token(&request.id, &user_id, &[], "h")
            .await
            .unwrap();
        s.exchange_oauth1_request_token(&request.id, &access(id, &user_id, &project_id))
            .await
            .unwrap();
    }
    let stored = f
        .raw_text("SELECT secret_sealed FROM oauth1_access_tokens WHERE id = 'at1'")
        .await;
    assert!(!stored.contains("at1-secret"), "sealed at rest");
    let read = s.get_oauth1_access_token("at1").await.unwrap();
    assert_eq!(read.secret.expose_secret(), "at1-secret");
    assert_eq!(read.role_ids, ["r1", "r2"]);
    assert_eq!(read.expires_at, Some(at(100)));
    assert_eq!(read.consumer_id, "c1");
    let listed: Vec<String> = s
        .list_oauth1_access_tokens(&user_id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, ["at1", "at2"]);
    assert!(
        s.list_oauth1_access_tokens("nobody")
            .await
            .unwrap()
            .is_empty()
    );

    let before = s.token_revision().await.unwrap();
    s.delete_oauth1_access_token("at1").await.unwrap();
    let after = s.token_revision().await.unwrap();
    assert_ne!(before, after, "deleting an access token moves the revision");
    assert!(matches!(
        s.delete_oauth1_access_token("at1").await,
        Err(AuthError::NotFound { .. })
    ));

    s.delete_oauth1_consumer_tokens("c1").await.unwrap();
    assert_ne!(s.token_revision().await.unwrap(), after);
    assert!(
        s.list_oauth1_access_tokens(&user_id)
            .await
            .unwrap()
            .is_empty()
    );

    // Deleting the user deletes what it authorized.
    let request = OAuth1RequestToken::new("r3", SecretString::from("x"), "c2", &project_id, None);
    s.create_oauth1_request_token(&request).await.unwrap();
    s.authorize_oauth1_request_token("r3", &user_id, &[], "h")
        .await
        .unwrap();
    s.exchange_oauth1_request_token("r3", &access("at3", &user_id, &project_id))
        .await
        .unwrap();
    s.delete_user(&user_id).await.unwrap();
    assert!(matches!(
        s.get_oauth1_access_token("at3").await,
        Err(AuthError::NotFound { .. })
    ));
}

pub(crate) async fn nonces_are_claimed_once_until_they_expire(f: &Fixture) {
    let s = f.storage.as_ref();
    assert!(
        s.claim_oauth1_nonce("c1", "n1", at(10), at(0))
            .await
            .unwrap()
    );
    assert!(
        !s.claim_oauth1_nonce("c1", "n1", at(10), at(5))
            .await
            .unwrap()
    );
    // Another consumer's nonce is its own.
    assert!(
        s.claim_oauth1_nonce("c2", "n1", at(10), at(5))
            .await
            .unwrap()
    );
    // Once the window is over the entry is pruned.
    assert!(
        s.claim_oauth1_nonce("c1", "n1", at(30), at(20))
            .await
            .unwrap()
    );
}

pub(crate) async fn consumer_secrets_open_from_their_documents(f: &Fixture) {
    let s = f.storage.as_ref();
    let sealed = f
        .keys
        .current()
        .seal_to_string(OAUTH1_CONSUMER_SECRET_PURPOSE, b"consumer-s3cret")
        .unwrap();
    s.put_document(
        OAUTH1_CONSUMERS,
        "c1",
        &json!({"description": null, "secret_sealed": sealed}),
        at(0),
    )
    .await
    .unwrap();
    assert_eq!(
        s.oauth1_consumer_secret("c1")
            .await
            .unwrap()
            .expose_secret(),
        "consumer-s3cret"
    );
    assert!(matches!(
        s.oauth1_consumer_secret("c2").await,
        Err(AuthError::NotFound { .. })
    ));
}
