//! The signature algorithms an issuer may use, and the keys that verify
//! them.
//!
//! `jsonwebtoken` 11 verifies RS*, PS*, ES256, ES384 and EdDSA, but knows
//! neither ES512 (P-521) nor `Ed25519`, the fully-specified name RFC 9864
//! gives EdDSA over Ed25519 and that current providers issue. Its header
//! type refuses both names, so this module reads the JWS itself: it
//! verifies what `jsonwebtoken` supports with `jsonwebtoken::crypto::verify`
//! (the same call its `decode` makes) and ES512 with aws-lc-rs'
//! `ECDSA_P521_SHA512_FIXED`. No cryptography is written here.

use aws_lc_rs::signature::{ECDSA_P521_SHA512_FIXED, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// A signature algorithm an issuer may be allowed to use: always
/// asymmetric (HMAC and `none` have no name here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SigAlg {
    /// Verified by `jsonwebtoken`. Its `EdDSA` is Ed25519 only, so the
    /// names `EdDSA` and `Ed25519` are this one algorithm.
    Jwt(Algorithm),
    /// ECDSA on P-521 with SHA-512, verified with aws-lc-rs.
    Es512,
}

impl SigAlg {
    /// The algorithm a JOSE `alg` name stands for, if it is one we verify.
    pub(super) fn from_name(name: &str) -> Option<Self> {
        let alg = match name {
            "RS256" => Algorithm::RS256,
            "RS384" => Algorithm::RS384,
            "RS512" => Algorithm::RS512,
            "PS256" => Algorithm::PS256,
            "PS384" => Algorithm::PS384,
            "PS512" => Algorithm::PS512,
            "ES256" => Algorithm::ES256,
            "ES384" => Algorithm::ES384,
            "ES512" => return Some(Self::Es512),
            "EdDSA" | "Ed25519" => Algorithm::EdDSA,
            _ => return None,
        };
        Some(Self::Jwt(alg))
    }

    /// The kind of key this algorithm needs.
    fn key_kind(self) -> KeyKind {
        match self {
            Self::Es512 => KeyKind::P521,
            Self::Jwt(Algorithm::ES256) => KeyKind::P256,
            Self::Jwt(Algorithm::ES384) => KeyKind::P384,
            Self::Jwt(Algorithm::EdDSA) => KeyKind::Ed25519,
            Self::Jwt(_) => KeyKind::Rsa,
        }
    }
}

/// What a key is, which decides the one algorithm family it may verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    P521,
    Ed25519,
}

/// One public key from an issuer's JWKS, ready to verify signatures.
#[derive(Debug)]
pub(super) struct VerifyingKey {
    kid: Option<String>,
    /// The JWK's own `alg`, when it names one.
    declared: Option<SigAlg>,
    kind: KeyKind,
    material: Material,
}

#[derive(Debug)]
enum Material {
    Jwt(DecodingKey),
    /// An uncompressed P-521 point, `04 || x || y`.
    P521(Vec<u8>),
}

impl VerifyingKey {
    /// The key a JWK describes, or why it cannot verify an issuer's
    /// tokens: symmetric keys (a public key used as an HMAC secret is the
    /// classic JWT forgery), encryption keys, unknown key types and
    /// curves, and keys whose `alg` is not one we verify are all refused.
    pub(super) fn from_jwk(jwk: &Jwk, declared_alg: Option<&str>) -> Result<Self, &'static str> {
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            return Err("an encryption key");
        }
        let declared = match declared_alg {
            Some(name) => Some(SigAlg::from_name(name).ok_or("an algorithm we do not verify")?),
            None => None,
        };
        let (kind, material) = match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => (
                KeyKind::Rsa,
                Material::Jwt(
                    DecodingKey::from_rsa_components(&rsa.n, &rsa.e)
                        .map_err(|_| "a malformed RSA key")?,
                ),
            ),
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 | EllipticCurve::P384 => (
                    if ec.curve == EllipticCurve::P256 {
                        KeyKind::P256
                    } else {
                        KeyKind::P384
                    },
                    Material::Jwt(
                        DecodingKey::from_ec_components(&ec.x, &ec.y)
                            .map_err(|_| "a malformed EC key")?,
                    ),
                ),
                EllipticCurve::P521 => (KeyKind::P521, Material::P521(p521_point(&ec.x, &ec.y)?)),
                _ => return Err("an EC key on an unknown curve"),
            },
            AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => (
                KeyKind::Ed25519,
                Material::Jwt(
                    DecodingKey::from_ed_components(&okp.x)
                        .map_err(|_| "a malformed Ed25519 key")?,
                ),
            ),
            AlgorithmParameters::OctetKey(_) => return Err("a symmetric key"),
            _ => return Err("an unsupported key type"),
        };
        if declared.is_some_and(|alg| alg.key_kind() != kind) {
            return Err("a key whose alg does not match its type");
        }
        Ok(Self {
            kid: jwk.common.key_id.clone(),
            declared,
            kind,
            material,
        })
    }

    /// The key's `kid`.
    pub(super) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether `signature` (base64url, from the token) is this key's
    /// signature of `message` with `alg`. A key only ever verifies the
    /// algorithm of its own type, and the one its JWK names, if it names one.
    pub(super) fn verifies(&self, alg: SigAlg, message: &[u8], signature: &str) -> bool {
        if alg.key_kind() != self.kind || self.declared.is_some_and(|d| d != alg) {
            return false;
        }
        match (&self.material, alg) {
            (Material::Jwt(key), SigAlg::Jwt(alg)) => {
                jsonwebtoken::crypto::verify(signature, message, key, alg).unwrap_or(false)
            }
            (Material::P521(point), SigAlg::Es512) => {
                URL_SAFE_NO_PAD.decode(signature).is_ok_and(|signature| {
                    UnparsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, point)
                        .verify(message, &signature)
                        .is_ok()
                })
            }
            _ => false,
        }
    }
}

/// The uncompressed point of a P-521 JWK's coordinates (66 bytes each).
fn p521_point(x: &str, y: &str) -> Result<Vec<u8>, &'static str> {
    let malformed = "a malformed P-521 key";
    let x = URL_SAFE_NO_PAD.decode(x).map_err(|_| malformed)?;
    let y = URL_SAFE_NO_PAD.decode(y).map_err(|_| malformed)?;
    if x.len() != 66 || y.len() != 66 {
        return Err(malformed);
    }
    let mut point = Vec::with_capacity(133);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok(point)
}
