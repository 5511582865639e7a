//! Credential blobs are sealed at rest.
//!
//! A blob (a TOTP seed, a key) is sealed with the primary key of the
//! credential key set under the purpose `credential:<id>`: the key set lives
//! outside the database, so a dump reveals no seed, and binding the id means
//! a sealed blob copied onto another credential's row does not open.

use auth_core::{AuthError, KeyRing};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

fn purpose(credential_id: &str) -> Vec<u8> {
    format!("credential:{credential_id}").into_bytes()
}

/// The sealed form of a credential's blob, as stored.
pub(crate) fn seal_blob(
    keys: &KeyRing,
    credential_id: &str,
    blob: &SecretString,
) -> Result<Vec<u8>, AuthError> {
    keys.current()
        .seal(&purpose(credential_id), blob.expose_secret().as_bytes())
}

/// The blob in clear. A blob that does not open (another key set, a key
/// pruned by rotation, an altered or moved row) is an error, never bytes
/// returned as if they were the blob.
pub(crate) fn open_blob(
    keys: &KeyRing,
    credential_id: &str,
    sealed: &[u8],
) -> Result<SecretString, AuthError> {
    let unreadable = || {
        AuthError::StoreUnavailable(format!(
            "credential {credential_id} cannot be decrypted with the configured credential keys"
        ))
    };
    let clear = Zeroizing::new(
        keys.current()
            .open(&purpose(credential_id), sealed)
            .map_err(|_| unreadable())?,
    );
    let text = std::str::from_utf8(&clear).map_err(|_| unreadable())?;
    Ok(SecretString::from(text))
}

/// A secret the store keeps sealed as text (base64url) under `purpose`
/// (an OAuth1 token secret, bound to its token's id).
pub(crate) fn seal_text(
    keys: &KeyRing,
    purpose: &str,
    secret: &SecretString,
) -> Result<String, AuthError> {
    keys.current()
        .seal_to_string(purpose.as_bytes(), secret.expose_secret().as_bytes())
}

/// The secret [`seal_text`] sealed; `what` names its record in the error
/// of one that does not open.
pub(crate) fn open_text(
    keys: &KeyRing,
    purpose: &[u8],
    sealed: &str,
    what: &str,
) -> Result<SecretString, AuthError> {
    let unreadable = || {
        AuthError::StoreUnavailable(format!(
            "{what} cannot be decrypted with the configured credential keys"
        ))
    };
    let clear = Zeroizing::new(
        keys.current()
            .open_str(purpose, sealed)
            .map_err(|_| unreadable())?,
    );
    let text = std::str::from_utf8(&clear).map_err(|_| unreadable())?;
    Ok(SecretString::from(text))
}

#[cfg(test)]
mod tests {
    use auth_core::KeySet;

    use super::*;

    #[test]
    fn sealed_blobs_open_only_for_their_credential() {
        let keys = KeyRing::new(KeySet::generate());
        let sealed = seal_blob(&keys, "c1", &SecretString::from("JBSWY3DPEHPK3PXP")).unwrap();
        assert!(!sealed.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(
            open_blob(&keys, "c1", &sealed).unwrap().expose_secret(),
            "JBSWY3DPEHPK3PXP"
        );
        assert!(matches!(
            open_blob(&keys, "c2", &sealed),
            Err(AuthError::StoreUnavailable(_))
        ));
        let other = KeyRing::new(KeySet::generate());
        assert!(open_blob(&other, "c1", &sealed).is_err());
    }
}
