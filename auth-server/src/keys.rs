//! Key material: where each key set lives and how it is created and
//! rotated.
//!
//! - Receipt keys and token signing keys are shared through the database's
//!   key store, so every node on one database agrees on them. The first
//!   node to start creates them; a node that loses the race to save adopts
//!   the winner's (the store's save is compare-and-swap).
//! - The credential encryption keys live in a file under `[keys] dir`, not
//!   in the database, so a database dump alone reveals no TOTP seed.

use std::path::Path;
use std::sync::Mutex;

use auth_core::keys::KeySetExport;
use auth_core::store::KeyStore;
use auth_core::{AuthError, KeySet};
use auth_plugins::tokens::jws::{SigningAlgorithm, SigningKeySet};
use secrecy::{ExposeSecret, SecretString};

use crate::error::ServerError;

/// The key-store purpose of the receipt keys.
pub const RECEIPT_KEYS: &str = "receipt";
/// The key-store purpose of the token signing keys.
pub const SIGNING_KEYS: &str = "token-signing";
/// How many keys a set keeps (staged, primary and secondaries).
pub const MAX_ACTIVE_KEYS: usize = 3;

const CREDENTIAL_KEYS_FILE: &str = "credential-keys.json";

/// The credential key set in `dir`, created (owner-only) on first start.
pub fn credential_keys(dir: &Path) -> Result<KeySet, ServerError> {
    let path = dir.join(CREDENTIAL_KEYS_FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path)?;
        let export: KeySetExport = serde_json::from_str(&text)
            .map_err(|_| ServerError::Config(format!("{} is not a key set", path.display())))?;
        return Ok(KeySet::import(&export)?);
    }
    std::fs::create_dir_all(dir)?;
    let keys = KeySet::generate();
    let text = serde_json::to_string(&keys.export())
        .map_err(|e| ServerError::Config(format!("encoding keys: {e}")))?;
    write_private(&path, &text)?;
    Ok(keys)
}

fn write_private(path: &Path, text: &str) -> Result<(), ServerError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())?;
    Ok(())
}

/// A key set kept in the key store under `purpose`: loaded, or created by
/// `create` and saved. If another node saves first, its set is used.
async fn shared<T>(
    store: &dyn KeyStore,
    purpose: &str,
    create: impl Fn() -> Result<(T, SecretString), AuthError>,
    read: impl Fn(&str) -> Result<T, AuthError>,
) -> Result<T, AuthError> {
    if let Some(stored) = store.load_key_set(purpose).await? {
        return read(stored.material.expose_secret());
    }
    let (keys, material) = create()?;
    match store.save_key_set(purpose, &material, None).await {
        Ok(_) => Ok(keys),
        Err(AuthError::Conflict { .. }) => match store.load_key_set(purpose).await? {
            Some(stored) => read(stored.material.expose_secret()),
            None => Err(AuthError::Internal(format!("the {purpose} keys vanished"))),
        },
        Err(e) => Err(e),
    }
}

/// The receipt keys.
pub async fn receipt_keys(store: &dyn KeyStore) -> Result<KeySet, AuthError> {
    shared(
        store,
        RECEIPT_KEYS,
        || {
            let keys = KeySet::generate();
            let material = export_receipt_keys(&keys)?;
            Ok((keys, material))
        },
        import_receipt_keys,
    )
    .await
}

/// The token signing keys, created with `algorithm` if there are none.
pub async fn signing_keys(
    store: &dyn KeyStore,
    algorithm: SigningAlgorithm,
) -> Result<SigningKeySet, AuthError> {
    shared(
        store,
        SIGNING_KEYS,
        || {
            let keys = SigningKeySet::generate(algorithm)?;
            let material = SecretString::from(keys.export()?.to_string());
            Ok((keys, material))
        },
        SigningKeySet::import,
    )
    .await
}

/// Rotates both shared key sets (stages a new key, promotes the staged
/// one, prunes the oldest). Fails with a conflict if another node rotated
/// at the same moment; run it again.
pub async fn rotate(store: &dyn KeyStore, algorithm: SigningAlgorithm) -> Result<(), AuthError> {
    // Make sure both exist first.
    receipt_keys(store).await?;
    signing_keys(store, algorithm).await?;
    if let Some(stored) = store.load_key_set(RECEIPT_KEYS).await? {
        let mut keys = import_receipt_keys(stored.material.expose_secret())?;
        keys.rotate(MAX_ACTIVE_KEYS);
        store
            .save_key_set(
                RECEIPT_KEYS,
                &export_receipt_keys(&keys)?,
                Some(stored.version),
            )
            .await?;
    }
    if let Some(stored) = store.load_key_set(SIGNING_KEYS).await? {
        let mut keys = SigningKeySet::import(stored.material.expose_secret())?;
        keys.rotate(algorithm, MAX_ACTIVE_KEYS)?;
        let material = SecretString::from(keys.export()?.to_string());
        store
            .save_key_set(SIGNING_KEYS, &material, Some(stored.version))
            .await?;
    }
    Ok(())
}

fn export_receipt_keys(keys: &KeySet) -> Result<SecretString, AuthError> {
    serde_json::to_string(&keys.export())
        .map(SecretString::from)
        .map_err(|e| AuthError::Internal(format!("encoding keys: {e}")))
}

fn import_receipt_keys(json: &str) -> Result<KeySet, AuthError> {
    let export: KeySetExport = serde_json::from_str(json).map_err(|_| {
        AuthError::invalid_config("receipt keys", "the stored key set is not valid")
    })?;
    KeySet::import(&export)
}

/// The versions of the shared key sets a node holds, so that a reload
/// only swaps (and drops cached validations) when a set changed.
#[derive(Debug, Default)]
pub struct LoadedVersions(Mutex<[Option<i64>; 2]>);

/// Loads the shared key sets again and swaps in whichever changed since
/// the last load: a rotation made by `keys rotate` or on another node
/// reaches this one without a restart. Returns whether anything changed.
/// When the signing keys change, cached validations are dropped, so a
/// token signed by a key rotated out stops validating here too.
pub async fn refresh(state: &crate::AppState) -> Result<bool, AuthError> {
    let store = state.storage().as_ref();
    let receipt = store.load_key_set(RECEIPT_KEYS).await?;
    let signing = store.load_key_set(SIGNING_KEYS).await?;
    let versions = [
        receipt.as_ref().map(|k| k.version),
        signing.as_ref().map(|k| k.version),
    ];
    let seen = *state
        .key_versions()
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if seen == versions {
        return Ok(false);
    }
    if let Some(stored) = receipt.filter(|_| seen[0] != versions[0]) {
        state
            .receipt_keys()
            .replace(import_receipt_keys(stored.material.expose_secret())?);
    }
    if let Some(stored) = signing.filter(|_| seen[1] != versions[1]) {
        state
            .tokens()
            .replace_keys(SigningKeySet::import(stored.material.expose_secret())?);
        state.validations().clear();
    }
    *state
        .key_versions()
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = versions;
    Ok(true)
}
