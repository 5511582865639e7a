//! Reading stored public keys.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{SigningKey, VerifyingKey};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Deserialize)]
struct Blob {
    algorithm: String,
    public_key: String,
}

/// The Ed25519 key in a credential blob, or `None` if the blob is not one
/// (other algorithms, malformed data): such credentials are skipped.
pub(super) fn parse_public_key(blob: &SecretString) -> Option<VerifyingKey> {
    let blob: Blob = serde_json::from_str(blob.expose_secret()).ok()?;
    if !blob.algorithm.eq_ignore_ascii_case("ed25519") {
        return None;
    }
    let bytes: [u8; 32] = STANDARD.decode(blob.public_key).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// A fixed key nobody holds a signature for, to spend the same time on a
/// user without keys as on a user with one.
pub(super) fn dummy_key() -> &'static VerifyingKey {
    static DUMMY: OnceLock<VerifyingKey> = OnceLock::new();
    DUMMY.get_or_init(|| SigningKey::from_bytes(&[7u8; 32]).verifying_key())
}

/// The credential blob for a public key, in the format this method reads.
pub fn credential_blob(key: &VerifyingKey) -> String {
    serde_json::json!({"algorithm": "ed25519", "public_key": STANDARD.encode(key.as_bytes())})
        .to_string()
}
