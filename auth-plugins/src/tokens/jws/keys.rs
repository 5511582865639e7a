//! Asymmetric signing keys with rotation, generated with aws-lc.

use std::fmt;

use auth_core::AuthError;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The signature algorithm of a key set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// ECDSA with P-256 and SHA-256 (Keystone's default).
    #[default]
    ES256,
    /// Ed25519.
    EdDSA,
}

impl SigningAlgorithm {
    pub(super) fn jws(self) -> Algorithm {
        match self {
            Self::ES256 => Algorithm::ES256,
            Self::EdDSA => Algorithm::EdDSA,
        }
    }
}

/// One key: its id, algorithm and both halves.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    algorithm: SigningAlgorithm,
    pkcs8: Zeroizing<Vec<u8>>,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SigningKey {
    fn generate(algorithm: SigningAlgorithm) -> Result<Self, AuthError> {
        let rng = SystemRandom::new();
        let pkcs8 = match algorithm {
            SigningAlgorithm::ES256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map(|doc| doc.as_ref().to_vec())
            }
            SigningAlgorithm::EdDSA => {
                Ed25519KeyPair::generate_pkcs8(&rng).map(|doc| doc.as_ref().to_vec())
            }
        }
        .map_err(|_| AuthError::Internal("generating a signing key failed".into()))?;
        let mut kid = [0u8; 12];
        aws_lc_rs::rand::fill(&mut kid).map_err(|_| AuthError::Internal("no randomness".into()))?;
        Self::from_pkcs8(
            URL_SAFE_NO_PAD.encode(kid),
            algorithm,
            Zeroizing::new(pkcs8),
        )
    }

    fn from_pkcs8(
        kid: String,
        algorithm: SigningAlgorithm,
        pkcs8: Zeroizing<Vec<u8>>,
    ) -> Result<Self, AuthError> {
        let bad = || {
            AuthError::invalid_config(
                "token signing keys",
                "a key is not valid PKCS#8 for its algorithm",
            )
        };
        let (public, encoding) = match algorithm {
            SigningAlgorithm::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
                    .map_err(|_| bad())?;
                (
                    pair.public_key().as_ref().to_vec(),
                    EncodingKey::from_ec_der(&pkcs8),
                )
            }
            SigningAlgorithm::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| bad())?;
                (
                    pair.public_key().as_ref().to_vec(),
                    EncodingKey::from_ed_der(&pkcs8),
                )
            }
        };
        let decoding = match algorithm {
            SigningAlgorithm::ES256 => DecodingKey::from_ec_der(&public),
            SigningAlgorithm::EdDSA => DecodingKey::from_ed_der(&public),
        };
        Ok(Self {
            kid,
            algorithm,
            pkcs8,
            encoding,
            decoding,
        })
    }

    /// The key id, in every token it signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    pub(super) fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub(super) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Staged, primary and secondary signing keys.
#[derive(Debug, Clone)]
pub struct SigningKeySet {
    staged: SigningKey,
    primary: SigningKey,
    secondary: Vec<SigningKey>,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    algorithm: SigningAlgorithm,
    pkcs8: String,
}

#[derive(Serialize, Deserialize)]
struct StoredSet {
    staged: StoredKey,
    primary: StoredKey,
    secondary: Vec<StoredKey>,
}

impl SigningKeySet {
    /// A fresh set of `algorithm` keys.
    pub fn generate(algorithm: SigningAlgorithm) -> Result<Self, AuthError> {
        Ok(Self {
            staged: SigningKey::generate(algorithm)?,
            primary: SigningKey::generate(algorithm)?,
            secondary: Vec::new(),
        })
    }

    /// Promotes the staged key, stages a new one of `algorithm` (so a
    /// rotation can switch algorithms), and keeps at most `max_active` keys
    /// (at least 3).
    pub fn rotate(
        &mut self,
        algorithm: SigningAlgorithm,
        max_active: usize,
    ) -> Result<(), AuthError> {
        let promoted = std::mem::replace(&mut self.staged, SigningKey::generate(algorithm)?);
        let demoted = std::mem::replace(&mut self.primary, promoted);
        self.secondary.insert(0, demoted);
        self.secondary.truncate(max_active.max(3) - 2);
        Ok(())
    }

    /// The signing key.
    pub fn primary(&self) -> &SigningKey {
        &self.primary
    }

    /// The key with id `kid`, among all that verify.
    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        std::iter::once(&self.primary)
            .chain(&self.secondary)
            .chain(std::iter::once(&self.staged))
            .find(|k| k.kid == kid)
    }

    /// The set as JSON holding private keys: store it like one.
    pub fn export(&self) -> Result<Zeroizing<String>, AuthError> {
        let stored = |k: &SigningKey| StoredKey {
            kid: k.kid.clone(),
            algorithm: k.algorithm,
            pkcs8: URL_SAFE_NO_PAD.encode(k.pkcs8.as_slice()),
        };
        let set = StoredSet {
            staged: stored(&self.staged),
            primary: stored(&self.primary),
            secondary: self.secondary.iter().map(stored).collect(),
        };
        serde_json::to_string(&set)
            .map(Zeroizing::new)
            .map_err(|e| AuthError::Internal(format!("encoding keys failed: {e}")))
    }

    /// Reads what [`SigningKeySet::export`] wrote.
    pub fn import(json: &str) -> Result<Self, AuthError> {
        let set: StoredSet = serde_json::from_str(json).map_err(|_| {
            AuthError::invalid_config("token signing keys", "the stored key set is not valid")
        })?;
        let load = |k: StoredKey| {
            let der = URL_SAFE_NO_PAD.decode(&k.pkcs8).map_err(|_| {
                AuthError::invalid_config("token signing keys", "a key is not base64")
            })?;
            SigningKey::from_pkcs8(k.kid, k.algorithm, Zeroizing::new(der))
        };
        Ok(Self {
            staged: load(set.staged)?,
            primary: load(set.primary)?,
            secondary: set
                .secondary
                .into_iter()
                .map(load)
                .collect::<Result<_, _>>()?,
        })
    }
}
