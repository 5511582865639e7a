//! The AWS-style signatures an EC2 credential's secret makes, computed
//! exactly as Keystone verifies them, so that what Keystone accepts is
//! accepted here and nothing more.
//!
//! Two forms reach Keystone, and so this module:
//!
//! - `/v3/ec2tokens` receives the parts of the signed request (verb, host,
//!   path, query parameters, headers, body hash) and recomputes the
//!   signature the way `keystoneclient.contrib.ec2.utils.Ec2Signer` does:
//!   AWS signature versions 0, 1, 2 (always HMAC-SHA256) and 4.
//! - `/v3/s3tokens` receives the string to sign itself (Swift's `s3api`
//!   builds it) and signs it with HMAC-SHA1 (version 1, base64) or, for a
//!   string starting `AWS4`, the version 4 key derivation (hex), for the
//!   `s3`, `iam` and `sts` services only.
//!
//! Why not the `aws-sigv4` crate: it signs whole HTTP requests and
//! canonicalizes their path and headers itself, whereas these endpoints
//! receive a request already taken apart by the client's signer and must
//! reproduce Keystone's canonical forms byte for byte (a path used as
//! given, signed headers missing from the request skipped, the canonical
//! query string empty for `POST`). The primitives are RustCrypto's `hmac`,
//! `sha1` and `sha2`; the comparison is constant-time (`subtle`).

use std::collections::BTreeMap;

use auth_core::AuthError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What Python's `urllib.parse.quote(value, safe='-_~')` leaves alone:
/// letters, digits and `-_.~`.
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The algorithm name of AWS signature version 4.
const AWS4: &str = "AWS4-HMAC-SHA256";

/// Why no signature could be computed. Each becomes the crate's 401 (see
/// `From` below): the client learns only that the signature is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The request names no signature version this module knows.
    UnknownFormat,
    /// A field the signature version needs is missing.
    Missing(&'static str),
    /// A version 4 request whose date does not match its credential scope,
    /// or whose scope is malformed.
    Scope,
}

impl From<SignatureError> for AuthError {
    fn from(error: SignatureError) -> Self {
        AuthError::Unauthorized(match error {
            SignatureError::UnknownFormat => {
                "Invalid EC2 signature: unexpected signature format".into()
            }
            SignatureError::Missing(what) => {
                format!("Invalid EC2 signature: the signed request lacks {what}")
            }
            SignatureError::Scope => {
                "Invalid EC2 signature: the request's date or credential scope does not match"
                    .into()
            }
        })
    }
}

/// A request as the client's signer took it apart (the `credentials`
/// object of `/v3/ec2tokens`, without the access key and signature).
#[derive(Debug, Clone, Default)]
pub struct SignedRequest {
    /// The HTTP method.
    pub verb: String,
    /// The `Host` the client signed, possibly with a port.
    pub host: String,
    /// The path, as signed.
    pub path: String,
    /// The query (or form) parameters, without `Signature`.
    pub params: BTreeMap<String, String>,
    /// The request headers, names as sent (looked up case-sensitively, as
    /// Keystone does, except when canonicalized).
    pub headers: BTreeMap<String, String>,
    /// The hex SHA-256 of the body (version 4 only).
    pub body_hash: Option<String>,
}

impl SignedRequest {
    /// The same request with the port removed from the host: some clients
    /// sign without it, and Keystone tries that second.
    pub fn without_port(&self) -> Option<Self> {
        let (host, _port) = self.host.rsplit_once(':')?;
        if host.is_empty() {
            return None;
        }
        Some(Self {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            ..self.clone()
        })
    }
}

/// Whether `given` equals `expected`, in time independent of where they
/// differ.
pub fn matches(given: &str, expected: &str) -> bool {
    given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// The signature `secret` makes for `request`, in the version the request
/// is signed with (`Ec2Signer.generate`).
pub fn ec2_signature(secret: &[u8], request: &SignedRequest) -> Result<String, SignatureError> {
    match request.params.get("SignatureVersion").map(String::as_str) {
        Some("0") => version_0(secret, &request.params),
        Some("1") => Ok(version_1(secret, &request.params)),
        Some("2") => Ok(version_2(secret, request)),
        _ if is_version_4(request) => version_4(secret, request),
        _ => Err(SignatureError::UnknownFormat),
    }
}

/// The signature `secret` makes for the string to sign of an S3 request
/// (`/v3/s3tokens`).
pub fn s3_signature(secret: &[u8], string_to_sign: &[u8]) -> Result<String, SignatureError> {
    if !string_to_sign.starts_with(b"AWS4") {
        return Ok(STANDARD.encode(hmac_sha1(secret, &[string_to_sign])));
    }
    let parts: Vec<&[u8]> = string_to_sign.split(|b| *b == b'\n').collect();
    let [algorithm, _date, scope, _hash] = parts.as_slice() else {
        return Err(SignatureError::Scope);
    };
    if *algorithm != AWS4.as_bytes() {
        return Err(SignatureError::Scope);
    }
    let scope: Vec<&[u8]> = scope.split(|b| *b == b'/').collect();
    let [date, region, service, terminator] = scope.as_slice() else {
        return Err(SignatureError::Scope);
    };
    if *terminator != b"aws4_request" || ![&b"s3"[..], b"iam", b"sts"].contains(service) {
        return Err(SignatureError::Scope);
    }
    let key = signing_key(secret, date, region, service);
    Ok(hex::encode(hmac_sha256(&key, &[string_to_sign])))
}

fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length")
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length")
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Version 0: HMAC-SHA1 of `Action` then `Timestamp`.
fn version_0(secret: &[u8], params: &BTreeMap<String, String>) -> Result<String, SignatureError> {
    let action = params
        .get("Action")
        .ok_or(SignatureError::Missing("Action"))?;
    let timestamp = params
        .get("Timestamp")
        .ok_or(SignatureError::Missing("Timestamp"))?;
    Ok(STANDARD.encode(hmac_sha1(
        secret,
        &[action.as_bytes(), timestamp.as_bytes()],
    )))
}

/// Version 1: HMAC-SHA1 of every name and value, by name ignoring case.
fn version_1(secret: &[u8], params: &BTreeMap<String, String>) -> String {
    let mut sorted: Vec<(&String, &String)> = params.iter().collect();
    // Python's sort is stable: equal lowercased names keep the dict's
    // (here: byte) order.
    sorted.sort_by_key(|(name, _)| name.to_lowercase());
    let parts: Vec<&[u8]> = sorted
        .iter()
        .flat_map(|(name, value)| [name.as_bytes(), value.as_bytes()])
        .collect();
    STANDARD.encode(hmac_sha1(secret, &parts))
}

/// The query string with names sorted and names and values quoted.
fn canonical_query(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                utf8_percent_encode(name, QUOTE),
                utf8_percent_encode(value, QUOTE)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Version 2: HMAC-SHA256 of verb, host, path and the canonical query, in
/// which `SignatureMethod` is always `HmacSHA256` (as `Ec2Signer` sets it).
fn version_2(secret: &[u8], request: &SignedRequest) -> String {
    let mut params = request.params.clone();
    params.insert("SignatureMethod".into(), "HmacSHA256".into());
    let string_to_sign = format!(
        "{}\n{}\n{}\n{}",
        request.verb,
        request.host,
        request.path,
        canonical_query(&params)
    );
    STANDARD.encode(hmac_sha256(secret, &[string_to_sign.as_bytes()]))
}

/// A version 4 request names its algorithm in the `Authorization` header
/// or, presigned, in `X-Amz-Algorithm`.
fn is_version_4(request: &SignedRequest) -> bool {
    match request.headers.get("Authorization") {
        Some(authorization) => authorization.starts_with(AWS4),
        None => request.params.get("X-Amz-Algorithm").map(String::as_str) == Some(AWS4),
    }
}

/// A parameter of the version 4 signature: from the `Authorization` header
/// (`Name=value,` — empty if absent) or, without that header, from the
/// `X-Amz-Name` query parameter.
fn auth_param(request: &SignedRequest, name: &str) -> String {
    match request.headers.get("Authorization") {
        Some(authorization) => authorization
            .split_once(&format!("{name}="))
            .map(|(_, rest)| rest.split(',').next().unwrap_or_default().to_owned())
            .unwrap_or_default(),
        None => request
            .params
            .get(&format!("X-Amz-{name}"))
            .cloned()
            .unwrap_or_default(),
    }
}

/// `kSigning`: the secret, then date, region, service and `aws4_request`.
fn signing_key(secret: &[u8], date: &[u8], region: &[u8], service: &[u8]) -> Vec<u8> {
    let mut key = b"AWS4".to_vec();
    key.extend_from_slice(secret);
    let key = hmac_sha256(&key, &[date]);
    let key = hmac_sha256(&key, &[region]);
    let key = hmac_sha256(&key, &[service]);
    hmac_sha256(&key, &[b"aws4_request"])
}

/// Version 4: the canonical request, the string to sign and the derived
/// key, hex.
fn version_4(secret: &[u8], request: &SignedRequest) -> Result<String, SignatureError> {
    let body_hash = request
        .body_hash
        .as_deref()
        .ok_or(SignatureError::Missing("body_hash"))?;
    let lowered: BTreeMap<String, &str> = request
        .headers
        .iter()
        .map(|(name, value)| (name.trim().to_lowercase(), value.trim()))
        .collect();
    // Old boto (before 2.9.3) signed the host without its port.
    let strip_port = lowered.get("user-agent").is_some_and(|agent| {
        agent
            .strip_prefix("Boto/2.")
            .and_then(|rest| rest.as_bytes().get(..3))
            .is_some_and(|v| v[0].is_ascii_digit() && v[1] == b'.' && (b'0'..=b'2').contains(&v[2]))
    });
    let signed_headers = auth_param(request, "SignedHeaders");
    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        let Some(value) = lowered.get(name) else {
            continue;
        };
        let value = if name == "host" && strip_port {
            value.split(':').next().unwrap_or_default()
        } else {
            value
        };
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    let query = if request.verb.eq_ignore_ascii_case("POST") {
        String::new()
    } else {
        canonical_query(&request.params)
    };
    let canonical_request = [
        request.verb.to_uppercase().as_str(),
        &request.path,
        &query,
        &canonical_headers,
        &signed_headers,
        body_hash,
    ]
    .join("\n");

    let credential = auth_param(request, "Credential");
    let scope: Vec<&str> = credential.split('/').collect();
    let [_access, date, region, service, ..] = scope.as_slice() else {
        return Err(SignatureError::Scope);
    };
    let request_date = request
        .headers
        .get("X-Amz-Date")
        .or_else(|| request.params.get("X-Amz-Date"))
        .ok_or(SignatureError::Missing("X-Amz-Date"))?;
    if !request_date.starts_with(date) {
        return Err(SignatureError::Scope);
    }
    let string_to_sign = [
        AWS4,
        request_date,
        &scope[1..].join("/"),
        &hex::encode(Sha256::digest(canonical_request.as_bytes())),
    ]
    .join("\n");
    let key = signing_key(
        secret,
        date.as_bytes(),
        region.as_bytes(),
        service.as_bytes(),
    );
    Ok(hex::encode(hmac_sha256(&key, &[string_to_sign.as_bytes()])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const SECRET: &[u8] = b"secret";

    #[test]
    fn the_canonical_query_quotes_as_python_does() {
        let p = params(&[("b", "a b/c~d.e"), ("A", "é"), ("x-y_z", "*")]);
        assert_eq!(canonical_query(&p), "A=%C3%A9&b=a%20b%2Fc~d.e&x-y_z=%2A");
    }

    #[test]
    fn aws_s3_documented_version_4_example() {
        // AWS's "GET Object" example of Signature Version 4 for S3
        // (docs.aws.amazon.com, sig-v4-header-based-auth).
        let string_to_sign = b"AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972";
        assert_eq!(
            s3_signature(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", string_to_sign).unwrap(),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn aws_s3_documented_version_4_header_example_through_the_ec2_form() {
        // The same AWS example, given as its parts (as `/v3/ec2tokens`
        // receives them): the canonical request must come out the same.
        let mut headers = params(&[
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Range", "bytes=0-9"),
            (
                "x-amz-content-sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            ("X-Amz-Date", "20130524T000000Z"),
        ]);
        headers.insert(
            "Authorization".into(),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41".into(),
        );
        let request = SignedRequest {
            verb: "GET".into(),
            host: "examplebucket.s3.amazonaws.com".into(),
            path: "/test.txt".into(),
            params: BTreeMap::new(),
            headers,
            body_hash: Some(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
            ),
        };
        assert_eq!(
            ec2_signature(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", &request).unwrap(),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn version_4_refuses_a_date_outside_its_scope() {
        let request = SignedRequest {
            verb: "GET".into(),
            path: "/".into(),
            params: params(&[
                ("X-Amz-Algorithm", AWS4),
                ("X-Amz-Credential", "AK/20130524/us-east-1/s3/aws4_request"),
                ("X-Amz-Date", "20130525T000000Z"),
                ("X-Amz-SignedHeaders", "host"),
            ]),
            body_hash: Some("UNSIGNED-PAYLOAD".into()),
            ..SignedRequest::default()
        };
        assert_eq!(ec2_signature(SECRET, &request), Err(SignatureError::Scope));
        let no_hash = SignedRequest {
            body_hash: None,
            ..request
        };
        assert_eq!(
            ec2_signature(SECRET, &no_hash),
            Err(SignatureError::Missing("body_hash"))
        );
    }

    #[test]
    fn s3_version_4_refuses_other_services_and_malformed_scopes() {
        for string in [
            &b"AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/ec2/aws4_request\nabc"[..],
            b"AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws5_request\nabc",
            b"AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/s3/aws4_request\nabc",
            b"AWS4-HMAC-SHA1\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\nabc",
            b"AWS4-HMAC-SHA256\n20130524T000000Z\nabc",
        ] {
            assert_eq!(s3_signature(SECRET, string), Err(SignatureError::Scope));
        }
    }

    #[test]
    fn an_unknown_version_is_refused() {
        let request = SignedRequest {
            params: params(&[("SignatureVersion", "3")]),
            ..SignedRequest::default()
        };
        assert_eq!(
            ec2_signature(SECRET, &request),
            Err(SignatureError::UnknownFormat)
        );
        assert_eq!(
            ec2_signature(SECRET, &SignedRequest::default()),
            Err(SignatureError::UnknownFormat)
        );
    }

    #[test]
    fn the_port_can_be_dropped_from_the_host() {
        let request = SignedRequest {
            host: "s3.example.org:8080".into(),
            ..SignedRequest::default()
        };
        assert_eq!(request.without_port().unwrap().host, "s3.example.org");
        let bare = SignedRequest {
            host: "s3.example.org".into(),
            ..SignedRequest::default()
        };
        assert!(bare.without_port().is_none());
    }

    #[test]
    fn comparison_needs_equal_strings() {
        assert!(matches("abc", "abc"));
        assert!(!matches("abc", "abd"));
        assert!(!matches("abc", "abcd"));
    }
}
