//! Rotating symmetric key sets and authenticated encryption with them.
//!
//! Receipts (and, in the store, credential secrets) are sealed with
//! XChaCha20-Poly1305 under the *primary* key of a [`KeySet`] and can be
//! opened with any key of the set. The set rotates the way Keystone's Fernet
//! repository does, so several nodes can share it without a flag day:
//!
//! - the **staged** key is known to every node but never used to seal; the
//!   next rotation promotes it, so a node that rotates first produces
//!   ciphertexts its peers can already open;
//! - the **primary** key seals;
//! - **secondary** keys only open what older primaries sealed, until
//!   they are pruned.
//!
//! A sealed blob is `version (1) ‖ key id (4, big-endian) ‖ nonce (24) ‖
//! ciphertext+tag`. The version, key id and a caller-chosen *purpose* are
//! authenticated as associated data, so a receipt can never be replayed as a
//! credential blob or the other way round.

use std::fmt;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::AuthError;

const FORMAT_VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 4;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// One 256-bit key with its id. The bytes never appear in `Debug` output
/// and are wiped on drop.
#[derive(Clone)]
pub struct SymmetricKey {
    id: u32,
    bytes: Zeroizing<[u8; 32]>,
}

impl SymmetricKey {
    /// A fresh random key with a random id.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(bytes.as_mut());
        Self {
            id: OsRng.next_u32(),
            bytes,
        }
    }

    /// The key's id, stored in everything it seals.
    pub fn id(&self) -> u32 {
        self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(self.bytes.as_ref()))
    }
}

impl fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SymmetricKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A staged key, a primary key and older secondary keys.
#[derive(Debug, Clone)]
pub struct KeySet {
    staged: SymmetricKey,
    primary: SymmetricKey,
    secondary: Vec<SymmetricKey>,
}

impl KeySet {
    /// A new set with fresh staged and primary keys.
    pub fn generate() -> Self {
        Self {
            staged: SymmetricKey::generate(),
            primary: SymmetricKey::generate(),
            secondary: Vec::new(),
        }
    }

    /// Promotes the staged key to primary, demotes the primary to secondary,
    /// stages a fresh key and keeps at most `max_active` keys in all (at
    /// least 3: staged, primary and one secondary), dropping the oldest.
    pub fn rotate(&mut self, max_active: usize) {
        let max_secondary = max_active.max(3) - 2;
        let promoted = std::mem::replace(&mut self.staged, SymmetricKey::generate());
        let demoted = std::mem::replace(&mut self.primary, promoted);
        self.secondary.insert(0, demoted);
        self.secondary.truncate(max_secondary);
    }

    /// The key that seals.
    pub fn primary(&self) -> &SymmetricKey {
        &self.primary
    }

    /// Every key that opens, primary first.
    pub fn keys(&self) -> impl Iterator<Item = &SymmetricKey> {
        std::iter::once(&self.primary)
            .chain(self.secondary.iter())
            .chain(std::iter::once(&self.staged))
    }

    fn find(&self, id: u32) -> Option<&SymmetricKey> {
        self.keys().find(|k| k.id == id)
    }

    /// Encrypts and authenticates `plaintext` for `purpose`.
    pub fn seal(&self, purpose: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, AuthError> {
        let key = &self.primary;
        let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&key.id.to_be_bytes());
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        out.extend_from_slice(&nonce);
        let aad = associated_data(purpose, &out[..HEADER_LEN]);
        let ciphertext = key
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| AuthError::Internal("sealing failed".into()))?;
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Opens what [`KeySet::seal`] produced for the same `purpose`.
    ///
    /// Every failure (truncated, unknown version, unknown key, altered,
    /// other purpose) is the same [`OpenError`]: callers turn it into their
    /// own error and need not, and should not, say which it was.
    pub fn open(&self, purpose: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < HEADER_LEN + NONCE_LEN + TAG_LEN || sealed[0] != FORMAT_VERSION {
            return Err(OpenError);
        }
        let (header, rest) = sealed.split_at(HEADER_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let id = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let key = self.find(id).ok_or(OpenError)?;
        let aad = associated_data(purpose, header);
        key.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError)
    }

    /// Seals and encodes as unpadded URL-safe base64 (header-safe).
    pub fn seal_to_string(&self, purpose: &[u8], plaintext: &[u8]) -> Result<String, AuthError> {
        Ok(URL_SAFE_NO_PAD.encode(self.seal(purpose, plaintext)?))
    }

    /// Decodes and opens what [`KeySet::seal_to_string`] produced.
    pub fn open_str(&self, purpose: &[u8], sealed: &str) -> Result<Vec<u8>, OpenError> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| OpenError)?;
        self.open(purpose, &bytes)
    }

    /// The set in its storable form. The result holds key material: store it
    /// like a private key.
    pub fn export(&self) -> KeySetExport {
        let encode = |k: &SymmetricKey| ExportedKey {
            id: k.id,
            key: URL_SAFE_NO_PAD.encode(k.bytes.as_ref()),
        };
        KeySetExport {
            staged: encode(&self.staged),
            primary: encode(&self.primary),
            secondary: self.secondary.iter().map(encode).collect(),
        }
    }

    /// Rebuilds a set from [`KeySet::export`].
    pub fn import(export: &KeySetExport) -> Result<Self, AuthError> {
        let decode = |k: &ExportedKey| -> Result<SymmetricKey, AuthError> {
            let raw = Zeroizing::new(
                URL_SAFE_NO_PAD
                    .decode(&k.key)
                    .map_err(|_| AuthError::invalid_config("key set", "a key is not base64"))?,
            );
            let bytes: [u8; 32] = raw
                .as_slice()
                .try_into()
                .map_err(|_| AuthError::invalid_config("key set", "a key is not 32 bytes"))?;
            Ok(SymmetricKey {
                id: k.id,
                bytes: Zeroizing::new(bytes),
            })
        };
        Ok(Self {
            staged: decode(&export.staged)?,
            primary: decode(&export.primary)?,
            secondary: export
                .secondary
                .iter()
                .map(decode)
                .collect::<Result<_, _>>()?,
        })
    }
}

fn associated_data(purpose: &[u8], header: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(purpose.len() + 1 + header.len());
    aad.extend_from_slice(purpose);
    aad.push(0);
    aad.extend_from_slice(header);
    aad
}

/// A sealed value could not be opened. Deliberately carries no reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sealed value could not be opened")]
pub struct OpenError;

/// The storable form of a [`KeySet`] (base64 key material).
#[derive(Clone, Serialize, Deserialize)]
pub struct KeySetExport {
    /// The staged key.
    pub staged: ExportedKey,
    /// The primary key.
    pub primary: ExportedKey,
    /// Secondary keys, newest first.
    pub secondary: Vec<ExportedKey>,
}

impl fmt::Debug for KeySetExport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySetExport")
            .field("keys", &(2 + self.secondary.len()))
            .finish_non_exhaustive()
    }
}

/// One key in a [`KeySetExport`].
#[derive(Clone, Serialize, Deserialize)]
pub struct ExportedKey {
    /// The key id.
    pub id: u32,
    /// The key bytes, unpadded URL-safe base64.
    pub key: String,
}

impl fmt::Debug for ExportedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportedKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A [`KeySet`] that can be swapped while requests use it, for rotation in
/// a running server. Readers take a cheap `Arc` snapshot.
#[derive(Debug)]
pub struct KeyRing {
    current: RwLock<Arc<KeySet>>,
}

impl KeyRing {
    /// A ring holding `keys`.
    pub fn new(keys: KeySet) -> Self {
        Self {
            current: RwLock::new(Arc::new(keys)),
        }
    }

    /// The current key set.
    pub fn current(&self) -> Arc<KeySet> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Replaces the key set (after a rotation elsewhere, say).
    pub fn replace(&self, keys: KeySet) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips() {
        let keys = KeySet::generate();
        let sealed = keys.seal(b"receipt", b"hello").unwrap();
        assert_eq!(keys.open(b"receipt", &sealed).unwrap(), b"hello");
    }

    #[test]
    fn any_flipped_bit_is_refused() {
        let keys = KeySet::generate();
        let sealed = keys.seal(b"receipt", b"hello").unwrap();
        for i in 0..sealed.len() {
            let mut altered = sealed.clone();
            altered[i] ^= 0x01;
            assert_eq!(keys.open(b"receipt", &altered), Err(OpenError), "byte {i}");
        }
        assert_eq!(
            keys.open(b"receipt", &sealed[..sealed.len() - 1]),
            Err(OpenError)
        );
        assert_eq!(keys.open(b"receipt", &[]), Err(OpenError));
    }

    #[test]
    fn another_purpose_or_another_set_cannot_open() {
        let keys = KeySet::generate();
        let sealed = keys.seal(b"receipt", b"hello").unwrap();
        assert_eq!(keys.open(b"credential", &sealed), Err(OpenError));
        assert_eq!(KeySet::generate().open(b"receipt", &sealed), Err(OpenError));
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable_until_pruned() {
        let mut keys = KeySet::generate();
        let old = keys.seal(b"p", b"old").unwrap();
        // A peer that rotated first seals with what is our staged key.
        let mut peer = keys.clone();
        peer.rotate(3);
        let from_peer = peer.seal(b"p", b"new").unwrap();
        assert_eq!(keys.open(b"p", &from_peer).unwrap(), b"new");
        keys.rotate(3);
        assert_eq!(keys.open(b"p", &old).unwrap(), b"old");
        keys.rotate(3);
        assert_eq!(
            keys.open(b"p", &old),
            Err(OpenError),
            "pruned after two rotations"
        );
    }

    #[test]
    fn export_import_round_trips_and_debug_hides_keys() {
        let keys = KeySet::generate();
        let sealed = keys.seal(b"p", b"x").unwrap();
        let export = keys.export();
        let json = serde_json::to_string(&export).unwrap();
        let back: KeySetExport = serde_json::from_str(&json).unwrap();
        let imported = KeySet::import(&back).unwrap();
        assert_eq!(imported.open(b"p", &sealed).unwrap(), b"x");
        let debug = format!("{keys:?} {export:?}");
        assert!(!debug.contains(&export.primary.key));
    }
}
