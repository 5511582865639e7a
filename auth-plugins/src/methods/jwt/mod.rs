//! `jwt`: federated login with a JWT from an external issuer (an OpenID
//! Connect ID token, or any signed JWT).
//!
//! Payload: `{"token": "<jwt>"}`. The token's `iss` selects one of the
//! configured issuers; the signature is then checked with that issuer's
//! keys, from its JWKS URL (cached, refreshed when a token names an unknown
//! `kid`, at most once per `min_refresh_secs`) or a JWKS file. Then the
//! audience, and `exp`/`nbf` against the injected clock with the issuer's
//! leeway. The claims map to a local user (existing, or provisioned on
//! first login) and its group memberships ([`Mapping`]).
//!
//! Algorithms are an allow-list per issuer, asymmetric only: `none` and
//! the HMAC family are refused when the configuration is read, symmetric
//! keys in a JWKS are ignored, and a key is only ever used with an
//! algorithm of its own family, so a public key can never be used as an
//! HMAC secret.

mod keys;
mod mapping;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::{
    AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, Payload, PluginConfig,
    ResponseData,
};
use jsonwebtoken::{Algorithm, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use keys::KeySource;
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
    /// Accepted algorithms (default RS256 and ES256).
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// How long fetched keys are trusted before refetching, in seconds.
    #[serde(default = "default_cache")]
    pub cache_secs: u64,
    /// The least time between two fetches, in seconds.
    #[serde(default = "default_min_refresh")]
    pub min_refresh_secs: u64,
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

#[derive(Debug)]
struct Issuer {
    config: IssuerConfig,
    algorithms: Vec<Algorithm>,
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
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| AuthError::InvalidCredentials)?;
        // Read `iss` without trusting it, only to pick whose keys to try.
        let unverified: Map<String, Value> = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| AuthError::InvalidCredentials)?;
        let issuer = unverified
            .get("iss")
            .and_then(Value::as_str)
            .and_then(|iss| self.issuers.iter().find(|i| i.config.issuer == iss))
            .ok_or(AuthError::InvalidCredentials)?;
        if !issuer.algorithms.contains(&header.alg) {
            return Err(AuthError::InvalidCredentials);
        }
        let (key, jwk) = issuer
            .keys
            .key(header.kid.as_deref())
            .await?
            .ok_or(AuthError::InvalidCredentials)?;
        if jwk
            .common
            .key_algorithm
            .is_some_and(|alg| alg.to_string() != format!("{:?}", header.alg))
        {
            return Err(AuthError::InvalidCredentials);
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&issuer.config.issuer]);
        validation.set_audience(&issuer.config.audiences);
        // Time is checked below against the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["iss", "aud", "exp"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|_| AuthError::InvalidCredentials)?
            .claims;
        let now = ctx.now().timestamp();
        let leeway = i64::try_from(issuer.config.leeway_secs).unwrap_or(i64::MAX);
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(AuthError::InvalidCredentials)?;
        if now > exp.saturating_add(leeway) {
            return Err(AuthError::InvalidCredentials);
        }
        if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64) {
            if now < nbf.saturating_sub(leeway) {
                return Err(AuthError::InvalidCredentials);
            }
        }
        Ok((claims, issuer))
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
        let keys = match (&config.jwks_url, &config.jwks_file) {
            (Some(url), None) => KeySource::url(
                url.clone(),
                Duration::from_secs(config.cache_secs),
                Duration::from_secs(config.min_refresh_secs),
            )?,
            (None, Some(path)) => KeySource::file(path.clone()),
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
fn parse_algorithm(name: &str) -> Result<Algorithm, AuthError> {
    let algorithm: Algorithm = name
        .parse()
        .map_err(|_| AuthError::invalid_config(NAME, format!("unknown algorithm '{name}'")))?;
    if matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return Err(AuthError::invalid_config(
            NAME,
            format!("{name} is symmetric: an issuer's tokens must be verified with a public key"),
        ));
    }
    Ok(algorithm)
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
