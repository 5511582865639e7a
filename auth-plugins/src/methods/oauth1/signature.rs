//! RFC 5849 signatures, HMAC-SHA1 only (what Keystone and its clients
//! use): the `Authorization: OAuth …` parameters, the signature base
//! string, and a check that recomputes the signature and compares it in
//! constant time, refuses a timestamp outside the window and claims the
//! nonce so that a request cannot be replayed within it.
//!
//! Written on the RustCrypto `hmac` and `sha1` crates rather than an OAuth1
//! crate: the maintained ones (`oauth1-request`, `oauth-client`) are
//! clients that sign outgoing requests; none parses and verifies an
//! incoming one.

use auth_core::store::OAuth1Store;
use auth_core::{AuthError, RequestLine};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// How far a request's `oauth_timestamp` may be from the server's clock,
/// either way (oauthlib's default lifetime); a nonce is kept this long
/// after its timestamp.
pub const TIMESTAMP_WINDOW: Duration = Duration::seconds(600);

/// RFC 5849 section 3.6: everything but ALPHA, DIGIT, `-`, `.`, `_`, `~`.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(text: &str) -> String {
    utf8_percent_encode(text, ENCODE).to_string()
}

fn decode(text: &str) -> Result<String, AuthError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|clear| clear.into_owned())
        .map_err(|_| AuthError::bad_request("an OAuth parameter is not UTF-8"))
}

/// The protocol parameters of an `Authorization: OAuth …` header,
/// decoded. `Debug` shows names only: `oauth_signature` and
/// `oauth_verifier` are credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthParams {
    pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for OAuthParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(name, _)| name))
            .finish()
    }
}

impl OAuthParams {
    /// Parses `OAuth realm="", oauth_consumer_key="…", …` (RFC 5849
    /// section 3.5.1); a header of another scheme, or a malformed one, is
    /// a 400 naming no value.
    pub fn from_authorization(header: &str) -> Result<Self, AuthError> {
        let malformed = || AuthError::bad_request("the Authorization header is not OAuth's");
        let header = header.trim_start();
        let (scheme, rest) = header.split_at(header.find(' ').ok_or_else(malformed)?);
        if !scheme.eq_ignore_ascii_case("oauth") {
            return Err(malformed());
        }
        let mut pairs = Vec::new();
        for item in rest.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, value) = item.split_once('=').ok_or_else(malformed)?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(malformed)?;
            let name = decode(name.trim())?;
            if pairs.iter().any(|(seen, _)| seen == &name) {
                return Err(AuthError::bad_request("an OAuth parameter is repeated"));
            }
            pairs.push((name, decode(value)?));
        }
        Ok(Self { pairs })
    }

    /// A parameter's decoded value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// `oauth_consumer_key`.
    pub fn consumer_key(&self) -> Option<&str> {
        self.get("oauth_consumer_key")
    }

    /// `oauth_token`.
    pub fn token(&self) -> Option<&str> {
        self.get("oauth_token")
    }

    /// `oauth_verifier`.
    pub fn verifier(&self) -> Option<&str> {
        self.get("oauth_verifier")
    }

    /// The parameters the signature covers: all but `realm` and
    /// `oauth_signature` (section 3.4.1.3.1).
    fn signed(&self) -> impl Iterator<Item = &(String, String)> {
        self.pairs
            .iter()
            .filter(|(n, _)| n != "realm" && n != "oauth_signature")
    }
}

/// The base string URI (section 3.4.1.2: scheme and host in lower case,
/// the default port left out, no query) and the decoded query parameters
/// of `url`.
fn split_url(url: &str) -> Result<(String, Vec<(String, String)>), AuthError> {
    let bad = || AuthError::bad_request("the request URL cannot be signed");
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let scheme = scheme.to_ascii_lowercase();
    let (rest, _fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let authority = authority.to_ascii_lowercase();
    let host = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host,
        _ => authority.as_str(),
    };
    let mut params = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        params.push((
            decode(&name.replace('+', " "))?,
            decode(&value.replace('+', " "))?,
        ));
    }
    Ok((format!("{scheme}://{host}{path}"), params))
}

/// The signature base string of a request (section 3.4.1).
pub fn base_string(line: &RequestLine, params: &OAuthParams) -> Result<String, AuthError> {
    let (uri, query) = split_url(&line.url)?;
    let mut encoded: Vec<(String, String)> = params
        .signed()
        .chain(query.iter())
        .map(|(n, v)| (encode(n), encode(v)))
        .collect();
    encoded.sort();
    let normalized = encoded
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    Ok(format!(
        "{}&{}&{}",
        line.method.to_ascii_uppercase(),
        encode(&uri),
        encode(&normalized)
    ))
}

/// The HMAC-SHA1 signature of `base` (section 3.4.2), base64.
pub fn hmac_sha1(
    base: &str,
    consumer_secret: &SecretString,
    token_secret: &SecretString,
) -> String {
    let key = format!(
        "{}&{}",
        encode(consumer_secret.expose_secret()),
        encode(token_secret.expose_secret())
    );
    let key = zeroize::Zeroizing::new(key);
    // HMAC takes a key of any length; this cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(base.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Authorization` header a client sends: `params` (the `oauth_*`
/// protocol parameters but the signature) and their HMAC-SHA1 signature
/// over `line` with the two secrets. The server never signs; this is the
/// client side, for tests and for Rust clients.
pub fn authorization(
    line: &RequestLine,
    params: &[(&str, &str)],
    consumer_secret: &SecretString,
    token_secret: &SecretString,
) -> Result<String, AuthError> {
    let unsigned = OAuthParams {
        pairs: params
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
    };
    let signature = hmac_sha1(
        &base_string(line, &unsigned)?,
        consumer_secret,
        token_secret,
    );
    let fields: Vec<String> = unsigned
        .pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain([("oauth_signature", signature.as_str())])
        .map(|(n, v)| format!("{}=\"{}\"", encode(n), encode(v)))
        .collect();
    Ok(format!("OAuth {}", fields.join(", ")))
}

/// Why a signed request is refused. Each is a 401 where the server turns
/// it into an error; the `oauth1` method answers all alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not HMAC-SHA1, not version 1.0, or a parameter missing.
    Unsupported,
    /// The consumer does not exist.
    UnknownConsumer,
    /// The signature does not match.
    BadSignature,
    /// The timestamp is outside the window.
    StaleTimestamp,
    /// The nonce was used within the window.
    ReplayedNonce,
}

impl Refusal {
    /// The 401 a server endpoint answers (Keystone's words where it has
    /// them).
    pub fn into_error(self) -> AuthError {
        AuthError::Unauthorized(
            match self {
                Self::Unsupported => "Only HMAC-SHA1 signed OAuth 1.0 requests are accepted",
                Self::UnknownConsumer => "Provided consumer does not exist.",
                Self::BadSignature => "Invalid signature",
                Self::StaleTimestamp => "The OAuth timestamp is outside the accepted window",
                Self::ReplayedNonce => "The OAuth nonce was already used",
            }
            .into(),
        )
    }
}

/// Checks a request signed by the consumer `params` names, with
/// `token_secret` (empty for a request token request): HMAC-SHA1, version
/// 1.0 if given, a timestamp within [`TIMESTAMP_WINDOW`] of `now`, the
/// signature (constant-time), and, last (so that a forged request cannot
/// burn a nonce), the nonce, claimed in `store` until the window ends.
/// `Ok(Err(refusal))` for a refused request; `Err` for a store failure.
pub async fn check(
    store: &dyn OAuth1Store,
    line: &RequestLine,
    params: &OAuthParams,
    token_secret: &SecretString,
    now: DateTime<Utc>,
) -> Result<Result<(), Refusal>, AuthError> {
    let (Some(consumer), Some(signature), Some(nonce), Some(timestamp)) = (
        params.consumer_key(),
        params.get("oauth_signature"),
        params.get("oauth_nonce"),
        params.get("oauth_timestamp"),
    ) else {
        return Ok(Err(Refusal::Unsupported));
    };
    if params.get("oauth_signature_method") != Some("HMAC-SHA1")
        || params.get("oauth_version").is_some_and(|v| v != "1.0")
    {
        return Ok(Err(Refusal::Unsupported));
    }
    let Some(at) = timestamp
        .parse::<i64>()
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
    else {
        return Ok(Err(Refusal::StaleTimestamp));
    };
    if now - at > TIMESTAMP_WINDOW || at - now > TIMESTAMP_WINDOW {
        return Ok(Err(Refusal::StaleTimestamp));
    }
    let consumer_secret = match store.oauth1_consumer_secret(consumer).await {
        Ok(secret) => secret,
        Err(AuthError::NotFound { .. }) => return Ok(Err(Refusal::UnknownConsumer)),
        Err(e) => return Err(e),
    };
    let expected = hmac_sha1(&base_string(line, params)?, &consumer_secret, token_secret);
    if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        return Ok(Err(Refusal::BadSignature));
    }
    let until = at.max(now) + TIMESTAMP_WINDOW;
    if !store
        .claim_oauth1_nonce(consumer, nonce, until, now)
        .await?
    {
        return Ok(Err(Refusal::ReplayedNonce));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5849 section 3.4.1.1's example request (its base string, with
    /// the body parameters moved to the query, which signs the same).
    #[test]
    fn the_rfc_example_base_string_and_signature() {
        let params = OAuthParams::from_authorization(
            "OAuth realm=\"Example\", oauth_consumer_key=\"9djdj82h48djs9d2\", \
             oauth_token=\"kkk9d7dh3k39sjv7\", oauth_signature_method=\"HMAC-SHA1\", \
             oauth_timestamp=\"137131201\", oauth_nonce=\"7d8f3e4a\", \
             oauth_signature=\"bYT5CMsGcbgUdFHObYMEfcx6bsw%3D\"",
        )
        .unwrap();
        let line = RequestLine::new(
            "post",
            "HTTP://Example.com:80/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b&c2&a3=2+q",
        );
        let base = base_string(&line, &params).unwrap();
        assert_eq!(
            base,
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q\
             %26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_\
             key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m\
             ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk\
             9d7dh3k39sjv7"
        );
        assert_eq!(
            params.get("oauth_signature"),
            Some("bYT5CMsGcbgUdFHObYMEfcx6bsw=")
        );
        assert_eq!(params.token(), Some("kkk9d7dh3k39sjv7"));
    }

    #[test]
    fn hmac_sha1_matches_a_known_signature() {
        // RFC 5849 section 1.2's photo request (consumer dpf43f3p2l4k3l03 /
        // kd94hf93k423kf44, token nnch734d00sl2jdk / pfkkdhi9sl3r4s00): the
        // signature oauthlib 4 computes for it.
        let params = OAuthParams::from_authorization(
            "OAuth realm=\"Photos\", oauth_consumer_key=\"dpf43f3p2l4k3l03\", \
             oauth_token=\"nnch734d00sl2jdk\", oauth_signature_method=\"HMAC-SHA1\", \
             oauth_timestamp=\"137131202\", oauth_nonce=\"chapoH\"",
        )
        .unwrap();
        let line = RequestLine::new(
            "GET",
            "http://photos.example.net/photos?file=vacation.jpg&size=original",
        );
        let base = base_string(&line, &params).unwrap();
        let signature = hmac_sha1(
            &base,
            &SecretString::from("kd94hf93k423kf44"),
            &SecretString::from("pfkkdhi9sl3r4s00"),
        );
        assert_eq!(signature, "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
    }

    /// A header oauthlib 4 signed (what keystoneclient and keystoneauth1
    /// sign with), for a URL with a default port, upper case and a query.
    #[test]
    fn oauthlib_signatures_verify() {
        let header = "OAuth oauth_nonce=\"123456789\", oauth_timestamp=\"1796039769\", \
            oauth_version=\"1.0\", oauth_signature_method=\"HMAC-SHA1\", \
            oauth_consumer_key=\"0123456789abcdef0123456789abcdef\", \
            oauth_token=\"fedcba9876543210fedcba9876543210\", oauth_verifier=\"AbCd2345\", \
            oauth_signature=\"PLT%2F%2FzpH0GdJlhJn9Cy4XfeaEqM%3D\"";
        let params = OAuthParams::from_authorization(header).unwrap();
        let line = RequestLine::new(
            "POST",
            "http://Example.COM:80/v3/OS-OAUTH1/access_token?x=1+2",
        );
        let expected = hmac_sha1(
            &base_string(&line, &params).unwrap(),
            &SecretString::from("consumer secret/+="),
            &SecretString::from("token~secret"),
        );
        assert_eq!(params.get("oauth_signature"), Some(expected.as_str()));
        assert_eq!(params.verifier(), Some("AbCd2345"));
    }

    #[test]
    fn what_authorization_signs_verifies() {
        let line = RequestLine::new("POST", "http://localhost:5000/v3/auth/tokens");
        let header = authorization(
            &line,
            &[("oauth_consumer_key", "c k"), ("oauth_nonce", "n")],
            &SecretString::from("a"),
            &SecretString::from("b"),
        )
        .unwrap();
        let params = OAuthParams::from_authorization(&header).unwrap();
        assert_eq!(params.consumer_key(), Some("c k"));
        let again = hmac_sha1(
            &base_string(&line, &params).unwrap(),
            &SecretString::from("a"),
            &SecretString::from("b"),
        );
        assert_eq!(params.get("oauth_signature"), Some(again.as_str()));
    }

    #[test]
    fn other_schemes_and_malformed_headers_are_400s() {
        for header in [
            "Bearer abc",
            "OAuth oauth_token",
            "OAuth oauth_token=unquoted",
            "OAuth a=\"1\", a=\"2\"",
            "OAuth",
        ] {
            let e = OAuthParams::from_authorization(header).unwrap_err();
            assert_eq!(e.http_status(), 400, "{header}");
        }
    }

    #[test]
    fn debug_shows_names_only() {
        let params = OAuthParams::from_authorization("OAuth oauth_verifier=\"s3cr3tv\"").unwrap();
        assert!(!format!("{params:?}").contains("s3cr3tv"));
    }
}
