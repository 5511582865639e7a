//! `jwt`: federated login with a JWT from an external issuer (an OpenID
//! Connect ID token, or any signed JWT).
//!
//! Payload: `{"token": "<jwt>"}`. The token's `iss` selects one of the
//! configured issuers; the signature is then checked with that issuer's
//! keys, from its JWKS URL or a JWKS file. Then the audience, and
//! `exp`/`nbf` against the injected clock with the issuer's leeway. The
//! claims map to a local user (existing, or provisioned on first login) and
//! its group memberships ([`Mapping`]).
//!
//! Fetched keys are cached for `cache_secs`; a token naming an unknown
//! `kid` triggers a refetch. Fetches never block logins whose key is
//! cached, run one at a time and at most once per `min_refresh_secs`
//! whether they succeed or fail, and while the issuer cannot be reached
//! the last good keys keep serving for up to `max_stale_secs` past the
//! cache's lapse (see `keys.rs`).
//!
//! Algorithms are an allow-list per issuer, asymmetric only: RS256/384/512,
//! PS256/384/512, ES256/384/512 and EdDSA (over Ed25519, also named
//! `Ed25519`, as RFC 9864 and current providers do). `none` and the HMAC
//! family are refused when the configuration is read, symmetric and
//! encryption keys in a JWKS are ignored, and a key is only ever used with
//! the algorithm of its own type (and the one its JWK names), so a public
//! key can never be used as an HMAC secret.

mod algorithms;
mod keys;
mod mapping;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::{
    AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload, PluginConfig,
    ResponseData,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use algorithms::SigAlg;
use keys::{KeySource, Timing};
pub use mapping::Mapping;

/// The registered name.
pub const NAME: &str = "jwt";

builtin_method!(Jwt);

/// Configuration: the `[auth.method.jwt]` section of the server's file, one
/// `[[auth.method.jwt.issuers]]` table per trusted issuer.
///
/// ```toml
/// [[auth.method.jwt.issuers]]
/// issuer = "https://login.example.com"
/// audiences = ["keystone"]
/// jwks_url = "https://login.example.com/.well-known/jwks.json"   # or jwks_file = "…"
/// algorithms = ["RS256", "ES256"]   # the default; asymmetric only
/// leeway_secs = 60
/// [auth.method.jwt.issuers.mapping]
/// user_claim = "preferred_username"
/// domain = "default"
/// provision = true                  # create unknown users on first login
/// groups_claim = "groups"
/// groups = { admins = "<local group id>" }
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    /// The trusted issuers.
    pub issuers: Vec<IssuerConfig>,
}

/// One trusted issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` value.
    pub issuer: String,
    /// Accepted `aud` values; a token must name at least one.
    pub audiences: Vec<String>,
    /// The issuer's JWKS URL.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// A JWKS file, instead of a URL.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// Accepted algorithms (default RS256 and ES256). `EdDSA` and
    /// `Ed25519` name one algorithm here: allowing either accepts tokens
    /// that use either name.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// How long fetched keys are trusted before refetching, in seconds.
    #[serde(default = "default_cache")]
    pub cache_secs: u64,
    /// The least time between two fetch attempts, successful or not, in
    /// seconds; also how often a JWKS file is re-read for an unknown `kid`.
    #[serde(default = "default_min_refresh")]
    pub min_refresh_secs: u64,
    /// How long after `cache_secs` has lapsed the last good keys still
    /// serve while the issuer cannot be reached, in seconds (default a
    /// day). Past it logins from this issuer fail (503) until a fetch
    /// succeeds: keys that old may include one the issuer has withdrawn.
    #[serde(default = "default_max_stale")]
    pub max_stale_secs: u64,
    /// How claims map to local users.
    #[serde(default)]
    pub mapping: Mapping,
}

fn default_algorithms() -> Vec<String> {
    vec!["RS256".into(), "ES256".into()]
}
fn default_leeway() -> u64 {
    60
}
fn default_cache() -> u64 {
    3600
}
fn default_min_refresh() -> u64 {
    30
}
fn default_max_stale() -> u64 {
    86_400
}

#[derive(Debug)]
struct Issuer {
    config: IssuerConfig,
    algorithms: Vec<SigAlg>,
    keys: KeySource,
}

#[derive(Deserialize)]
struct JwtPayload {
    token: SecretString,
}

/// The `jwt` method.
#[derive(Debug)]
pub struct Jwt {
    issuers: Vec<Issuer>,
}

impl Jwt {
    /// Builds the method, refusing unsafe or incomplete issuer settings.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let parsed: JwtConfig = config.parse()?;
        let issuers = parsed
            .issuers
            .into_iter()
            .map(Issuer::new)
            .collect::<Result<_, _>>()?;
        Ok(Self { issuers })
    }

    async fn verify(
        &self,
        token: &str,
        ctx: &MethodContext<'_>,
    ) -> Result<(Map<String, Value>, &Issuer), AuthError> {
        let jws = Jws::parse(token).ok_or(AuthError::InvalidCredentials)?;
        // `iss` is read before the signature is checked, only to pick
        // whose keys to try.
        let issuer = jws
            .claims
            .get("iss")
            .and_then(Value::as_str)
            .and_then(|iss| self.issuers.iter().find(|i| i.config.issuer == iss))
            .ok_or(AuthError::InvalidCredentials)?;
        let alg = SigAlg::from_name(&jws.header.alg)
            .filter(|alg| issuer.algorithms.contains(alg))
            .ok_or(AuthError::InvalidCredentials)?;
        let key = issuer
            .keys
            .key(jws.header.kid.as_deref())
            .await?
            .ok_or(AuthError::InvalidCredentials)?;
        if !key.verifies(alg, jws.signing_input.as_bytes(), jws.signature) {
            return Err(AuthError::InvalidCredentials);
        }
        let claims = jws.claims;
        let audiences = match claims.get("aud") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audiences
            .iter()
            .any(|aud| issuer.config.audiences.iter().any(|a| a == aud))
        {
            return Err(AuthError::InvalidCredentials);
        }
        let now = ctx.now().timestamp();
        let leeway = i64::try_from(issuer.config.leeway_secs).unwrap_or(i64::MAX);
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(AuthError::InvalidCredentials)?;
        if now > exp.saturating_add(leeway) {
            return Err(AuthError::InvalidCredentials);
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf.as_i64().ok_or(AuthError::InvalidCredentials)?;
            if now < nbf.saturating_sub(leeway) {
                return Err(AuthError::InvalidCredentials);
            }
        }
        Ok((claims, issuer))
    }
}

/// A compact JWS, split and decoded but not yet verified.
struct Jws<'a> {
    header: JwsHeader,
    claims: Map<String, Value>,
    /// `header.payload`, as signed.
    signing_input: &'a str,
    /// The signature, base64url.
    signature: &'a str,
}

#[derive(Deserialize)]
struct JwsHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

impl<'a> Jws<'a> {
    /// Exactly three base64url parts, a JSON header naming `alg`, a JSON
    /// object of claims; anything else is `None`.
    fn parse(token: &'a str) -> Option<Self> {
        let (signing_input, signature) = token.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        if payload.contains('.') {
            return None;
        }
        let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        Some(Self {
            header,
            claims,
            signing_input,
            signature,
        })
    }
}

impl Issuer {
    fn new(config: IssuerConfig) -> Result<Self, AuthError> {
        let algorithms = config
            .algorithms
            .iter()
            .map(|name| parse_algorithm(name))
            .collect::<Result<Vec<_>, _>>()?;
        if algorithms.is_empty() || config.audiences.is_empty() {
            return Err(AuthError::invalid_config(
                NAME,
                format!(
                    "issuer {} needs at least one algorithm and one audience",
                    config.issuer
                ),
            ));
        }
        let min_refresh = Duration::from_secs(config.min_refresh_secs);
        let keys = match (&config.jwks_url, &config.jwks_file) {
            (Some(url), None) => KeySource::url(
                &config.issuer,
                url.clone(),
                Timing {
                    cache_for: Duration::from_secs(config.cache_secs),
                    min_refresh,
                    max_stale: Duration::from_secs(config.max_stale_secs),
                },
            )?,
            (None, Some(path)) => KeySource::file(&config.issuer, path.clone(), min_refresh),
            _ => {
                return Err(AuthError::invalid_config(
                    NAME,
                    format!(
                        "issuer {} needs exactly one of jwks_url and jwks_file",
                        config.issuer
                    ),
                ));
            }
        };
        Ok(Self {
            config,
            algorithms,
            keys,
        })
    }
}

/// An allowed algorithm name; `none` and HMAC are refused.
fn parse_algorithm(name: &str) -> Result<SigAlg, AuthError> {
    if matches!(name, "HS256" | "HS384" | "HS512") {
        return Err(AuthError::invalid_config(
            NAME,
            format!("{name} is symmetric: an issuer's tokens must be verified with a public key"),
        ));
    }
    SigAlg::from_name(name)
        .ok_or_else(|| AuthError::invalid_config(NAME, format!("unknown algorithm '{name}'")))
}

#[async_trait]
impl AuthMethodHandler for Jwt {
    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let JwtPayload { token } = payload.parse()?;
        let (claims, issuer) = self.verify(token.expose_secret(), ctx).await?;
        let (user, groups) = issuer
            .config
            .mapping
            .apply(&claims, ctx.stores().users()?)
            .await?;
        let data = ResponseData::for_loaded_user(user)
            .with_extra("group_ids", json!(groups))
            .with_extra("identity_provider", json!(issuer.config.issuer));
        Ok(AuthHandlerResponse::success(data))
    }
}

#[cfg(test)]
mod tests;
