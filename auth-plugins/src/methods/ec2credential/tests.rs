use std::sync::Arc;

use auth_core::store::{ApplicationCredential, Credential, RoleRef};
use auth_core::testkit::MemoryStore;
use auth_core::{AuthAttempt, AuthOutcome, Engine, ManualClock, Stores};
use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;

/// The secret of the stored credential `AK`.
const SECRET: &str = "SK";

/// The time of the signed requests below, and the clock's.
fn signed_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
}

fn blob(access: &str, secret: &str, app_cred_id: Option<&str>) -> String {
    json!({"access": access, "secret": secret, "trust_id": null,
           "app_cred_id": app_cred_id, "access_token_id": null})
    .to_string()
}

fn store() -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    store.add_user("u1", "alice");
    let mut credential = Credential::new(
        credential_id("AK"),
        "u1".to_owned(),
        EC2_CREDENTIAL_TYPE.to_owned(),
        SecretString::from(blob("AK", SECRET, None)),
    );
    credential.project_id = Some("p1".into());
    store.put_credential(credential);
    store
}

fn engine_with(store: Arc<MemoryStore>, clock: Arc<ManualClock>) -> Engine {
    let method = Ec2Credential::from_config(&PluginConfig::new(NAME, json!({}))).unwrap();
    Engine::builder()
        .method(NAME, Arc::new(method))
        .stores(
            Stores::new()
                .with_users(store.clone())
                .with_credentials(store),
        )
        .clock(clock)
        .build()
        .unwrap()
}

fn engine() -> (Engine, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(signed_at() + Duration::minutes(5)));
    (engine_with(store(), clock.clone()), clock)
}

async fn login(
    engine: &Engine,
    door: Option<&str>,
    payload: Value,
) -> Result<AuthOutcome, AuthError> {
    let body = json!({"auth": {"identity": {"methods": [NAME], NAME: payload}}});
    let mut attempt = AuthAttempt::from_json(body);
    if let Some(door) = door {
        attempt = attempt.door(door);
    }
    engine.authenticate(attempt).await
}

fn project_of(outcome: AuthOutcome) -> (String, Option<String>) {
    let done = outcome.authenticated().unwrap();
    (done.user.id.clone(), done.identity.project_id.clone())
}

// The signatures below were computed with python-keystoneclient 5's
// `Ec2Signer("SK").generate(credentials)` for the same credentials.

/// Version 2, signed with the port in the host.
fn version_2() -> Value {
    json!({
        "access": "AK",
        "signature": "SEJHwOegEX0N2S1xFNCK+cEaNPmyJdHmvWS7QoSG2kI=",
        "host": "ec2.example.org:8773",
        "verb": "GET",
        "path": "/services/Cloud",
        "params": {
            "SignatureVersion": "2", "SignatureMethod": "HmacSHA256",
            "Action": "DescribeImages", "AWSAccessKeyId": "AK",
            "Timestamp": "2026-11-30T12:00:00Z", "Version": "2013-10-15",
            "Filter.1.Name": "name with space/é"
        }
    })
}

fn version_4() -> Value {
    json!({
        "access": "AK",
        "signature": "20f7d5a9e1632a9b7975db17e2f206b9d995f58a386dd78c9ec6f8eaa045e625",
        "host": "s3.example.org",
        "verb": "GET",
        "path": "/bucket/key",
        "params": {"list-type": "2"},
        "headers": {
            "Host": "s3.example.org",
            "X-Amz-Date": "20261130T120000Z",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AK/20261130/RegionOne/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=x",
            "User-Agent": "test"
        },
        "body_hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    })
}

#[tokio::test]
async fn every_signature_version_keystoneclient_makes_verifies() {
    let (e, _) = engine();
    let version_0 = json!({"access": "AK", "signature": "nJRKbURFKuzzrPtgKgldKBgQ2bg=",
        "params": {"SignatureVersion": "0", "Action": "DescribeImages",
                   "Timestamp": "2026-11-30T12:00:00Z"}});
    let version_1 = json!({"access": "AK", "signature": "uGAPlacSq24xw1isbCQClriKkiM=",
        "params": {"SignatureVersion": "1", "Action": "DescribeImages",
                   "Timestamp": "2026-11-30T12:00:00Z", "aWSAccessKeyId": "AK",
                   "Version": "2013-10-15"}});
    // Signed without the port, sent with it: Keystone's second try.
    let mut portless = version_2();
    portless["signature"] = json!("JVe42n27NhyPGt5FsUWCcvkV+brCinnSDf+zwZ7QmeE=");
    for payload in [version_0, version_1, version_2(), portless, version_4()] {
        let outcome = login(&e, Some(EC2_DOOR), payload).await.unwrap();
        assert_eq!(project_of(outcome), ("u1".into(), Some("p1".into())));
    }
}

#[tokio::test]
async fn a_wrong_signature_and_an_unknown_access_key_fail_alike() {
    let (e, _) = engine();
    let mut wrong = version_2();
    wrong["signature"] = json!("SEJHwOegEX0N2S1xFNCK+cEaNPmyJdHmvWS7QoSG2kJ=");
    let mut unknown = version_2();
    unknown["access"] = json!("AK2");
    let mut altered = version_4();
    altered["path"] = json!("/bucket/other");
    for payload in [wrong, unknown, altered] {
        assert!(matches!(
            login(&e, Some(EC2_DOOR), payload).await,
            Err(AuthError::InvalidCredentials)
        ));
    }
}

#[tokio::test]
async fn only_the_ec2tokens_and_s3tokens_doors_are_believed() {
    let (e, _) = engine();
    for door in [None, Some("gateway"), Some(S3_DOOR)] {
        assert!(login(&e, door, version_2()).await.is_err(), "{door:?}");
    }
}

#[tokio::test]
async fn a_signed_timestamp_older_than_the_ttl_is_refused() {
    let (e, clock) = engine();
    clock.set(signed_at() + Duration::minutes(15));
    assert!(login(&e, Some(EC2_DOOR), version_2()).await.is_ok());
    clock.set(signed_at() + Duration::minutes(15) + Duration::seconds(1));
    for payload in [version_2(), version_4()] {
        match login(&e, Some(EC2_DOOR), payload).await {
            Err(AuthError::Unauthorized(m)) => assert!(m.contains("expired"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn timestamps_parse_as_keystone_reads_them() {
    for text in [
        "2026-11-30T12:00:00Z",
        "2026-11-30T12:00:00.000Z",
        "2026-11-30T13:00:00+01:00",
        "2026-11-30T12:00:00",
        "20261130T120000Z",
    ] {
        assert_eq!(parse_timestamp(text), Some(signed_at()), "{text}");
    }
    assert_eq!(parse_timestamp("yesterday"), None);
}

#[tokio::test]
async fn an_unreadable_timestamp_or_no_signature_is_refused() {
    let (e, _) = engine();
    let mut garbled = version_2();
    garbled["params"]["Timestamp"] = json!("soon");
    // Signed by keystoneclient with that timestamp: the signature holds,
    // the timestamp does not parse.
    garbled["signature"] = json!("WHy73oi2h/w4clVWaIPgXyUkYWdZ/K1k3u+yJPv3V7w=");
    match login(&e, Some(EC2_DOOR), garbled).await {
        Err(AuthError::Unauthorized(m)) => assert!(m.contains("timestamp is invalid"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut unsigned = version_2();
    unsigned.as_object_mut().unwrap().remove("signature");
    match login(&e, Some(EC2_DOOR), unsigned).await {
        Err(AuthError::Unauthorized(m)) => assert!(m.contains("signature not supplied"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_s3_string_to_sign_verifies_in_both_versions() {
    // AWS's documented examples (HMAC-SHA1 for S3's version 2, and the
    // version 4 "GET Object" example), with AWS's example secret.
    let store = Arc::new(MemoryStore::new());
    store.add_user("u1", "alice");
    let mut credential = Credential::new(
        credential_id("AKIAIOSFODNN7EXAMPLE"),
        "u1".to_owned(),
        EC2_CREDENTIAL_TYPE.to_owned(),
        SecretString::from(blob(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
        )),
    );
    credential.project_id = Some("p1".into());
    store.put_credential(credential);
    let e = engine_with(store, Arc::new(ManualClock::new(signed_at())));
    let version_1 = json!({"access": "AKIAIOSFODNN7EXAMPLE",
        "token": "R0VUCgoKVHVlLCAyNyBNYXIgMjAwNyAxOTozNjo0MiArMDAwMAovam9obnNtaXRoL3Bob3Rvcy9wdXBweS5qcGc=",
        "signature": "bWq2s1WEIj+Ydj0vQ697zp+IXMU="});
    let sts = "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972";
    let version_4 = json!({"access": "AKIAIOSFODNN7EXAMPLE",
        "token": base64::engine::general_purpose::URL_SAFE.encode(sts),
        "signature": "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"});
    for payload in [version_1.clone(), version_4] {
        let outcome = login(&e, Some(S3_DOOR), payload).await.unwrap();
        assert_eq!(project_of(outcome), ("u1".into(), Some("p1".into())));
    }
    let mut wrong = version_1.clone();
    wrong["signature"] = json!("bWq2s1WEIj+Ydj0vQ697zp+IXMV=");
    assert!(matches!(
        login(&e, Some(S3_DOOR), wrong).await,
        Err(AuthError::InvalidCredentials)
    ));
    // The ec2tokens form is not the s3tokens one.
    assert!(login(&e, Some(EC2_DOOR), version_1).await.is_err());
}

#[tokio::test]
async fn the_scope_cannot_be_chosen() {
    let (e, _) = engine();
    let body = json!({"auth": {
        "identity": {"methods": [NAME], NAME: version_2()},
        "scope": {"project": {"id": "p2"}}}});
    match e
        .authenticate(AuthAttempt::from_json(body).door(EC2_DOOR))
        .await
    {
        Err(AuthError::Unauthorized(m)) => assert!(m.contains("cannot request a scope"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn only_ec2_credentials_count() {
    let store = Arc::new(MemoryStore::new());
    store.add_user("u1", "alice");
    let mut totp = Credential::new(
        credential_id("AK"),
        "u1".to_owned(),
        "totp".to_owned(),
        SecretString::from(blob("AK", SECRET, None)),
    );
    totp.project_id = Some("p1".into());
    store.put_credential(totp);
    let e = engine_with(store, Arc::new(ManualClock::new(signed_at())));
    assert!(matches!(
        login(&e, Some(EC2_DOOR), version_2()).await,
        Err(AuthError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn a_credential_made_with_an_application_credential_carries_its_delegation() {
    let store = Arc::new(MemoryStore::new());
    store.add_user("u1", "alice");
    let at = signed_at();
    store.add_application_credential(
        ApplicationCredential::new(
            "ac1",
            "ci",
            "u1",
            "p1",
            SecretString::from("x".to_owned()),
            at,
        )
        .with_expires_at(at + Duration::hours(1))
        .with_roles(vec![RoleRef::new("r1", "reader")]),
    );
    let mut credential = Credential::new(
        credential_id("AK"),
        "u1".to_owned(),
        EC2_CREDENTIAL_TYPE.to_owned(),
        SecretString::from(blob("AK", SECRET, Some("ac1"))),
    );
    credential.project_id = Some("p1".into());
    store.put_credential(credential.clone());
    let clock = Arc::new(ManualClock::new(at));
    let e = engine_with(store.clone(), clock.clone());
    let outcome = login(&e, Some(EC2_DOOR), version_2()).await.unwrap();
    let done = outcome.authenticated().unwrap();
    assert_eq!(done.identity.extras["application_credential"]["id"], "ac1");
    assert_eq!(
        done.identity.extras["application_credential_roles"][0]["id"],
        "r1"
    );
    assert_eq!(done.identity.expires_at, Some(at + Duration::hours(1)));

    // Once the application credential expires, so does what it made.
    clock.set(at + Duration::hours(1));
    assert!(login(&e, Some(EC2_DOOR), version_2()).await.is_err());

    // A credential whose project is not the application credential's.
    clock.set(at);
    credential.project_id = Some("p2".into());
    store.put_credential(credential);
    match login(&e, Some(EC2_DOOR), version_2()).await {
        Err(AuthError::Unauthorized(m)) => assert!(m.contains("does not match"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn passes_the_conformance_kit() {
    use auth_core::testkit::conformance::{MethodCase, Round, check};
    let method = Ec2Credential::from_config(&PluginConfig::new(NAME, json!({}))).unwrap();
    let store = store();
    let mut wrong = version_2();
    wrong["signature"] = json!("SEJHwOegEX0N2S1xFNCK+cEaNPmyJdHmvWS7QoSG2kJ=");
    let mut unknown = version_2();
    unknown["access"] = json!("nobody");
    check(
        MethodCase::new(
            NAME,
            Arc::new(method),
            Stores::new()
                .with_users(store.clone())
                .with_credentials(store),
            version_2(),
            [Round::new(wrong)],
        )
        .with_door(EC2_DOOR)
        .with_clock(Arc::new(ManualClock::new(signed_at())))
        .with_unknown_user([Round::new(unknown)])
        .with_malformed([
            json!({"signature": "x", "params": {}}),
            json!({"access": "AK", "params": ["not", "an", "object"]}),
            json!({"access": 7}),
        ])
        .with_secrets([SECRET]),
    )
    .await;
}

#[test]
fn a_ttl_must_be_positive() {
    assert!(
        Ec2Credential::from_config(&PluginConfig::new(NAME, json!({"auth_ttl_minutes": 0})))
            .is_err()
    );
    assert!(Ec2Credential::from_config(&PluginConfig::new(NAME, json!({"surprise": 1}))).is_err());
}
