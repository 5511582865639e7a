//! Key material: where each key set lives and how it is created, sealed
//! and rotated.
//!
//! - Receipt keys and token signing keys are shared through the database's
//!   key store, so every node on one database agrees on them. The first
//!   node to start creates them; a node that loses the race to save adopts
//!   the winner's (the store's save is compare-and-swap).
//! - In the key store they are **sealed** (XChaCha20-Poly1305, the stored
//!   set's purpose as associated data, so a sealed blob cannot be moved to
//!   another purpose) under the **key-encryption keys** (KEK), a small key
//!   set in a file under `[keys] dir`, never in the database: a database
//!   dump alone cannot sign a token or open a receipt. Every node on one
//!   database needs the same KEK file. A node whose KEK cannot open the
//!   stored sets refuses to start and changes nothing. Sets an earlier
//!   version stored in clear are sealed by the first node that starts.
//! - `auth-server keys rotate-kek` ([`rotate_kek`]) re-seals every stored
//!   set under a new KEK. The KEK rotates like every key set here: the new
//!   primary is the key staged in the file every node already has, so
//!   nodes that have not yet received the rotated file still open what it
//!   sealed; copy the new file to every node before the next KEK rotation.
//! - The credential encryption keys live in a file under `[keys] dir`, not
//!   in the database, so a database dump alone reveals no TOTP seed.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use auth_core::keys::KeySetExport;
use auth_core::store::KeyStore;
use auth_core::{AuthError, KeySet};
use auth_plugins::tokens::jws::{SigningAlgorithm, SigningKeySet};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};

use crate::error::ServerError;

/// The key-store purpose of the receipt keys.
pub const RECEIPT_KEYS: &str = "receipt";
/// The key-store purpose of the token signing keys.
pub const SIGNING_KEYS: &str = "token-signing";
/// Every key-store purpose sealed under the key-encryption keys: what
/// [`rotate_kek`] re-seals. A new shared key set must be listed here.
pub const SEALED_PURPOSES: [&str; 2] = [RECEIPT_KEYS, SIGNING_KEYS];
/// How many keys a set keeps (staged, primary and secondaries).
pub const MAX_ACTIVE_KEYS: usize = 3;
/// The file under `[keys] dir` holding the key-encryption keys.
pub const KEK_FILE: &str = "key-encryption-keys.json";

const CREDENTIAL_KEYS_FILE: &str = "credential-keys.json";
/// What a sealed material string starts with; a set stored in clear by an
/// earlier version is JSON and starts with `{`.
const SEALED_PREFIX: &str = "sealed:v1:";
/// How often a compare-and-swap save is retried after losing a race.
const SAVE_ATTEMPTS: usize = 3;

/// The credential key set in `dir`, created (owner-only) on first start.
pub fn credential_keys(dir: &Path) -> Result<KeySet, ServerError> {
    let path = dir.join(CREDENTIAL_KEYS_FILE);
    if path.exists() {
        return read_key_set_file(&path);
    }
    std::fs::create_dir_all(dir)?;
    let keys = KeySet::generate();
    write_private(&path, &export_json(&keys)?)?;
    Ok(keys)
}

/// The path of the credential key file in `dir`.
pub fn credential_keys_path(dir: &Path) -> PathBuf {
    dir.join(CREDENTIAL_KEYS_FILE)
}

/// The credential key set in `dir` if the file exists; never creates it
/// (for `doctor`, which must change nothing).
pub fn read_credential_keys(dir: &Path) -> Result<Option<KeySet>, ServerError> {
    let path = credential_keys_path(dir);
    match std::fs::metadata(&path) {
        Ok(_) => read_key_set_file(&path).map(Some),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn read_key_set_file(path: &Path) -> Result<KeySet, ServerError> {
    let text = Zeroizing::new(std::fs::read_to_string(path)?);
    let export: KeySetExport = serde_json::from_str(&text)
        .map_err(|_| ServerError::Config(format!("{} is not a key set", path.display())))?;
    Ok(KeySet::import(&export)?)
}

fn export_json(keys: &KeySet) -> Result<Zeroizing<String>, ServerError> {
    serde_json::to_string(&keys.export())
        .map(Zeroizing::new)
        .map_err(|e| ServerError::Config(format!("encoding keys: {e}")))
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
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// Replaces `path` with `text` atomically (a private temporary file, then a
/// rename), so a crash leaves the old file or the new one, never half.
fn replace_private(path: &Path, text: &str) -> Result<(), ServerError> {
    let temporary = path.with_extension("json.new");
    match std::fs::remove_file(&temporary) {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    write_private(&temporary, text)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

/// The path of the key-encryption key file in `dir`.
pub fn kek_path(dir: &Path) -> PathBuf {
    dir.join(KEK_FILE)
}

/// The key-encryption keys in `dir`, if the file exists.
pub fn read_kek(dir: &Path) -> Result<Option<KeySet>, ServerError> {
    let path = kek_path(dir);
    match std::fs::metadata(&path) {
        Ok(_) => read_key_set_file(&path).map(Some),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The key-encryption keys of a node on `store`: read from `dir`, or, when
/// there is no file yet, created there (owner-only). Refuses to create one
/// when the database already holds sealed key sets: they were sealed under
/// another node's file, which this node needs.
pub async fn kek(dir: &Path, store: &dyn KeyStore) -> Result<KeySet, ServerError> {
    if let Some(keys) = read_kek(dir)? {
        return Ok(keys);
    }
    for purpose in SEALED_PURPOSES {
        if let Some(stored) = store.load_key_set(purpose).await?
            && is_sealed(stored.material.expose_secret())
        {
            return Err(ServerError::Config(format!(
                "the key sets in the database are sealed, but {} does not exist: copy the \
                 key-encryption key file of a node already using this database there \
                 (every node on one database needs the same file)",
                kek_path(dir).display()
            )));
        }
    }
    std::fs::create_dir_all(dir)?;
    let keys = KeySet::generate();
    match write_private(&kek_path(dir), &export_json(&keys)?) {
        Ok(()) => Ok(keys),
        // Another process sharing the directory created it first.
        Err(ServerError::Io(e)) if e.kind() == ErrorKind::AlreadyExists => {
            read_key_set_file(&kek_path(dir))
        }
        Err(e) => Err(e),
    }
}

fn associated_data(purpose: &str) -> Vec<u8> {
    format!("key-store:{purpose}").into_bytes()
}

/// Whether stored key material is sealed (else an earlier version stored it
/// in clear).
pub fn is_sealed(material: &str) -> bool {
    material.starts_with(SEALED_PREFIX)
}

/// `clear` (an exported key set) sealed under `kek` for `purpose`.
pub fn seal(kek: &KeySet, purpose: &str, clear: &str) -> Result<SecretString, AuthError> {
    let sealed = kek.seal_to_string(&associated_data(purpose), clear.as_bytes())?;
    Ok(SecretString::from(format!("{SEALED_PREFIX}{sealed}")))
}

/// The exported key set in stored `material` for `purpose`: opened with
/// `kek`, or as it is if an earlier version stored it in clear. The error
/// says what to do and names no key.
pub fn open(kek: &KeySet, purpose: &str, material: &str) -> Result<Zeroizing<String>, AuthError> {
    let Some(sealed) = material.strip_prefix(SEALED_PREFIX) else {
        return Ok(Zeroizing::new(material.to_owned()));
    };
    let clear = kek
        .open_str(&associated_data(purpose), sealed)
        .map_err(|_| wrong_kek(purpose))?;
    String::from_utf8(clear).map(Zeroizing::new).map_err(|e| {
        // The bytes are key material: wipe them, say nothing of them.
        drop(Zeroizing::new(e.into_bytes()));
        wrong_kek(purpose)
    })
}

fn wrong_kek(purpose: &str) -> AuthError {
    AuthError::invalid_config(
        "key-encryption keys",
        format!(
            "the {purpose} keys in the database cannot be opened with this node's {KEK_FILE}: \
             every node on one database needs the same key-encryption key file (copy it from a \
             node already serving); nothing was changed"
        ),
    )
}

/// A key set kept in the key store under `purpose`, sealed under `kek`:
/// loaded, or created by `create` and saved. If another node saves first,
/// its set is used. A set stored in clear by an earlier version is sealed
/// and saved back (compare-and-swap: a node that loses the race reads the
/// winner's). A set the KEK cannot open is an error, and nothing is saved.
async fn shared<T>(
    store: &dyn KeyStore,
    kek: &KeySet,
    purpose: &str,
    create: impl Fn() -> Result<(T, Zeroizing<String>), AuthError>,
    read: impl Fn(&str) -> Result<T, AuthError>,
) -> Result<T, AuthError> {
    for _ in 0..SAVE_ATTEMPTS {
        let Some(stored) = store.load_key_set(purpose).await? else {
            let (keys, clear) = create()?;
            match store
                .save_key_set(purpose, &seal(kek, purpose, &clear)?, None)
                .await
            {
                Ok(_) => return Ok(keys),
                Err(AuthError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        };
        let material = stored.material.expose_secret();
        let clear = open(kek, purpose, material)?;
        let keys = read(&clear)?;
        if is_sealed(material) {
            return Ok(keys);
        }
        match store
            .save_key_set(purpose, &seal(kek, purpose, &clear)?, Some(stored.version))
            .await
        {
            Ok(_) => {
                tracing::info!(
                    purpose,
                    "sealed a key set stored in clear by an earlier version"
                );
                return Ok(keys);
            }
            Err(AuthError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(AuthError::Conflict {
        what: format!("the {purpose} keys changed during every attempt to load them"),
    })
}

/// The receipt keys, sealed under `kek` in the store.
pub async fn receipt_keys(store: &dyn KeyStore, kek: &KeySet) -> Result<KeySet, AuthError> {
    shared(
        store,
        kek,
        RECEIPT_KEYS,
        || {
            let keys = KeySet::generate();
            let clear = export_receipt_keys(&keys)?;
            Ok((keys, clear))
        },
        import_receipt_keys,
    )
    .await
}

/// The token signing keys, sealed under `kek` in the store, created with
/// `algorithm` if there are none.
pub async fn signing_keys(
    store: &dyn KeyStore,
    kek: &KeySet,
    algorithm: SigningAlgorithm,
) -> Result<SigningKeySet, AuthError> {
    shared(
        store,
        kek,
        SIGNING_KEYS,
        || {
            let keys = SigningKeySet::generate(algorithm)?;
            let clear = keys.export()?;
            Ok((keys, clear))
        },
        SigningKeySet::import,
    )
    .await
}

/// Rotates both shared key sets (stages a new key, promotes the staged
/// one, prunes the oldest), sealing them under `kek`. Fails with a conflict
/// if another node rotated at the same moment; run it again.
pub async fn rotate(
    store: &dyn KeyStore,
    kek: &KeySet,
    algorithm: SigningAlgorithm,
) -> Result<(), AuthError> {
    // Make sure both exist (and are sealed) first.
    receipt_keys(store, kek).await?;
    signing_keys(store, kek, algorithm).await?;
    if let Some(stored) = store.load_key_set(RECEIPT_KEYS).await? {
        let clear = open(kek, RECEIPT_KEYS, stored.material.expose_secret())?;
        let mut keys = import_receipt_keys(&clear)?;
        keys.rotate(MAX_ACTIVE_KEYS);
        let sealed = seal(kek, RECEIPT_KEYS, &export_receipt_keys(&keys)?)?;
        store
            .save_key_set(RECEIPT_KEYS, &sealed, Some(stored.version))
            .await?;
    }
    if let Some(stored) = store.load_key_set(SIGNING_KEYS).await? {
        let clear = open(kek, SIGNING_KEYS, stored.material.expose_secret())?;
        let mut keys = SigningKeySet::import(&clear)?;
        keys.rotate(algorithm, MAX_ACTIVE_KEYS)?;
        let sealed = seal(kek, SIGNING_KEYS, &keys.export()?)?;
        store
            .save_key_set(SIGNING_KEYS, &sealed, Some(stored.version))
            .await?;
    }
    Ok(())
}

/// Rotates the key-encryption keys in `dir` and re-seals every stored key
/// set under the new primary, each with the store's compare-and-swap save
/// (retried if a node saved in between). The old KEK opens them; the new
/// primary is the key the old file had staged, so every node still holding
/// the old file opens what this sealed, and picks the re-sealed sets up at
/// its next reload. The file is replaced last (atomically): a failure
/// before leaves sets that the old file opens, and running the command
/// again promotes the same staged key. Returns how many sets were
/// re-sealed.
pub async fn rotate_kek(dir: &Path, store: &dyn KeyStore) -> Result<usize, ServerError> {
    let old = read_kek(dir)?.ok_or_else(|| {
        ServerError::Config(format!(
            "{} does not exist: there is nothing to rotate",
            kek_path(dir).display()
        ))
    })?;
    // Every set must open before any is re-sealed.
    for purpose in SEALED_PURPOSES {
        if let Some(stored) = store.load_key_set(purpose).await? {
            open(&old, purpose, stored.material.expose_secret())?;
        }
    }
    let mut new = old.clone();
    new.rotate(MAX_ACTIVE_KEYS);
    let mut resealed = 0;
    for purpose in SEALED_PURPOSES {
        for attempt in 1..=SAVE_ATTEMPTS {
            let Some(stored) = store.load_key_set(purpose).await? else {
                break;
            };
            let clear = open(&old, purpose, stored.material.expose_secret())?;
            match store
                .save_key_set(purpose, &seal(&new, purpose, &clear)?, Some(stored.version))
                .await
            {
                Ok(_) => {
                    resealed += 1;
                    break;
                }
                Err(AuthError::Conflict { .. }) if attempt < SAVE_ATTEMPTS => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
    replace_private(&kek_path(dir), &export_json(&new)?)?;
    Ok(resealed)
}

fn export_receipt_keys(keys: &KeySet) -> Result<Zeroizing<String>, AuthError> {
    serde_json::to_string(&keys.export())
        .map(Zeroizing::new)
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

/// Opens stored `material` with the node's KEK; if that fails (the KEK was
/// rotated twice since this node read its file), reads the KEK file again
/// and, if that opens it, keeps the new KEK.
fn open_current(
    state: &crate::AppState,
    purpose: &str,
    material: &str,
) -> Result<Zeroizing<String>, AuthError> {
    match open(&state.kek().current(), purpose, material) {
        Ok(clear) => Ok(clear),
        Err(first) => {
            let Ok(Some(reread)) = read_kek(&state.config().keys.dir) else {
                return Err(first);
            };
            let clear = open(&reread, purpose, material)?;
            state.kek().replace(reread);
            Ok(clear)
        }
    }
}

/// Loads the shared key sets again and swaps in whichever changed since
/// the last load: a rotation made by `keys rotate`, `keys rotate-kek` or on
/// another node reaches this one without a restart. Returns whether
/// anything changed. When the signing keys change, cached validations are
/// dropped, so a token signed by a key rotated out stops validating here
/// too. A set this node cannot open leaves the keys it has in place.
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
        let clear = open_current(state, RECEIPT_KEYS, stored.material.expose_secret())?;
        state.receipt_keys().replace(import_receipt_keys(&clear)?);
    }
    if let Some(stored) = signing.filter(|_| seen[1] != versions[1]) {
        let clear = open_current(state, SIGNING_KEYS, stored.material.expose_secret())?;
        state.tokens().replace_keys(SigningKeySet::import(&clear)?);
        state.validations().clear();
    }
    *state
        .key_versions()
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = versions;
    Ok(true)
}

/// The key-store entry (plain JSON, not a key) recording when `keys rotate`
/// last rotated the shared sets. A rotation drops the oldest key, which
/// the previous rotation demoted from primary: tokens it signed validate
/// until the previous rotation + `[keys] refresh_interval` (nodes sign with
/// it until they reload) + `[token] expiration`. Before then, a rotation
/// would invalidate them, so [`rotate_checked`] refuses it.
pub const ROTATION_RECORD: &str = "key-rotations";

/// Why a rotation is refused: the time it becomes safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationTooSoon {
    /// When the previous rotation was made.
    pub previous: chrono::DateTime<chrono::Utc>,
    /// From when a rotation drops no key that signed a still-valid token.
    pub safe_from: chrono::DateTime<chrono::Utc>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct RotationRecord {
    rotated_at: chrono::DateTime<chrono::Utc>,
}

/// How long after a rotation the next one is safe: the token lifetime
/// (`[token] expiration`) plus the time nodes take to reload the keys
/// (`[keys] refresh_interval`), both in seconds; saturating, so no
/// configuration makes it overflow.
pub fn rotation_wait(expiration: i64, refresh_interval: u64) -> chrono::Duration {
    let seconds = |s: i64| chrono::Duration::try_seconds(s).unwrap_or(chrono::Duration::MAX);
    let refresh = i64::try_from(refresh_interval).unwrap_or(i64::MAX);
    seconds(expiration.max(0))
        .checked_add(&seconds(refresh))
        .unwrap_or(chrono::Duration::MAX)
}

/// Rotates both shared key sets as [`rotate`] does, unless the previous
/// rotation was less than `wait` (`[token] expiration` + `[keys]
/// refresh_interval`) ago and `force` is not given: then nothing changes
/// and the error says when it becomes safe. Records the rotation's time.
pub async fn rotate_checked(
    store: &dyn KeyStore,
    kek: &KeySet,
    algorithm: SigningAlgorithm,
    clock: &dyn auth_core::Clock,
    wait: chrono::Duration,
    force: bool,
) -> Result<(), ServerError> {
    let now = clock.now();
    let recorded = store.load_key_set(ROTATION_RECORD).await?;
    let previous = recorded.as_ref().and_then(|stored| {
        serde_json::from_str::<RotationRecord>(stored.material.expose_secret())
            .ok()
            .map(|r| r.rotated_at)
    });
    if let Some(previous) = previous {
        let safe_from = previous
            .checked_add_signed(wait)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        if now < safe_from && !force {
            return Err(ServerError::RotationTooSoon(RotationTooSoon {
                previous,
                safe_from,
            }));
        }
    }
    rotate(store, kek, algorithm).await?;
    let record = serde_json::to_string(&RotationRecord { rotated_at: now })
        .map_err(|e| ServerError::Config(format!("encoding the rotation record: {e}")))?;
    store
        .save_key_set(
            ROTATION_RECORD,
            &SecretString::from(record),
            recorded.map(|r| r.version),
        )
        .await?;
    Ok(())
}
