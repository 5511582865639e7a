//! Password and secret hashing.
//!
//! New hashes are argon2id PHC strings. Hashes imported from Keystone
//! (bcrypt, scrypt, pbkdf2_sha512 and sha512_crypt, in passlib's formats)
//! still verify, and [`Verified::needs_rehash`] tells the caller to replace
//! them with argon2id after the next successful login, as it does for
//! argon2id hashes made with weaker parameters than the configured ones.
//!
//! Hashing is deliberately slow (tens of milliseconds) and memory-hard, so
//! async callers hand it to dedicated hashing threads
//! ([`PasswordHasher::verify_async`]) with two guards that matter under load:
//!
//! - at most one hash per core runs at a time (one thread per core, shared
//!   by the whole process): more would only queue on the CPU while holding
//!   19 MiB each, so a flood of logins could otherwise exhaust memory;
//! - argon2's working memory is pooled and reused: a fresh 19 MiB buffer per
//!   verification costs thousands of page faults, about a third of the hash
//!   itself on this machine.
//!
//! Each hasher counts what it computes ([`PasswordHasher::counts`]): the
//! number of verifications against a stored hash is the number of guesses
//! an attacker got checked, which is what lockout bounds, so tests count it
//! rather than infer it from timings.

mod imported;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use auth_core::AuthError;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// Argon2id parameters.
///
/// The defaults are OWASP's minimum recommendation for argon2id (19 MiB of
/// memory, 2 passes, 1 lane): about 20–40 ms per hash on a current core,
/// which bounds an online guesser while keeping a login affordable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HashingConfig {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashingConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// The result of a successful verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The stored hash is not an argon2id hash with the current parameters
    /// and should be replaced by [`PasswordHasher::hash`] of the same secret.
    pub needs_rehash: bool,
}

/// How many hashes a [`PasswordHasher`] (with its clones) has computed,
/// by kind, since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashCounts {
    /// Verifications against a stored hash: each one checks a guess.
    pub verified: u64,
    /// Dummy verifications, spent so that an unknown user or a locked
    /// account answers as slowly as a wrong secret: they check nothing.
    pub dummy: u64,
    /// New hashes.
    pub hashed: u64,
}

/// Hashes and verifies secrets. Cheap to clone; clones share their
/// [`HashCounts`].
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
    counts: Arc<Counters>,
}

/// The live counts behind [`HashCounts`].
#[derive(Debug, Default)]
struct Counters {
    verified: AtomicU64,
    dummy: AtomicU64,
    hashed: AtomicU64,
}

struct Inner {
    params: Params,
    /// A hash of a random secret with the current parameters: verifying
    /// against it costs exactly what a real verification costs.
    dummy: String,
    /// Reusable argon2 working memory, at most one buffer per core.
    buffers: Mutex<Vec<Vec<Block>>>,
}

/// The hashing threads: one per core for the whole process, whichever
/// hasher asks (the password and application-credential methods and the
/// admin API hash side by side, and together they must not run more argon2
/// hashes than there are cores).
///
/// Dedicated threads pulling from one queue, rather than a semaphore in
/// front of tokio's blocking pool: when a hash ends, its thread takes the
/// next job at once. With permits, the next waiter could only start once a
/// tokio worker got a time slice to poll it, and on a machine whose cores
/// are all busy hashing that gap cost 10–20 % of the login rate.
struct HashThreads {
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
    count: usize,
}

type Job = Box<dyn FnOnce() + Send>;

static THREADS: LazyLock<HashThreads> = LazyLock::new(|| {
    let count = std::thread::available_parallelism().map_or(1, usize::from);
    let (jobs, queue) = std::sync::mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..count {
        let queue = queue.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("argon2-{n}"))
            .spawn(move || {
                loop {
                    // The lock is held only to take a job, not to run it.
                    let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "could not start a hashing thread");
        }
    }
    HashThreads {
        jobs: Mutex::new(jobs),
        count,
    }
});

/// The live hashers, by parameters: every `PasswordHasher::new` with the
/// same parameters shares one memory pool, so the process keeps at most one
/// argon2 buffer per core per parameter set (19 MiB each by default).
static SHARED: Mutex<Vec<(HashingConfig, Weak<Inner>)>> = Mutex::new(Vec::new());

impl PasswordHasher {
    /// A hasher with `config`'s parameters, sharing its memory pool with
    /// every other live hasher of the same parameters (but not its counts:
    /// each hasher made here counts from zero).
    pub fn new(config: HashingConfig) -> Result<Self, AuthError> {
        let counts = Arc::default();
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        shared.retain(|(_, inner)| inner.strong_count() > 0);
        if let Some(inner) = shared
            .iter()
            .find(|(c, _)| *c == config)
            .and_then(|(_, inner)| inner.upgrade())
        {
            return Ok(Self { inner, counts });
        }
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| AuthError::invalid_config("password hashing", e.to_string()))?;
        let mut memory = vec![Block::default(); params.block_count()];
        let dummy = phc_hash(&params, b"dummy password nobody knows", &mut memory)?;
        let inner = Arc::new(Inner {
            params,
            dummy,
            buffers: Mutex::new(vec![memory]),
        });
        shared.push((config, Arc::downgrade(&inner)));
        Ok(Self { inner, counts })
    }

    /// What this hasher and its clones have computed so far.
    pub fn counts(&self) -> HashCounts {
        HashCounts {
            verified: self.counts.verified.load(Ordering::Relaxed),
            dummy: self.counts.dummy.load(Ordering::Relaxed),
            hashed: self.counts.hashed.load(Ordering::Relaxed),
        }
    }

    /// An argon2id PHC string for `secret`, with a fresh salt, computed in
    /// pooled memory.
    pub fn hash(&self, secret: &SecretString) -> Result<SecretString, AuthError> {
        self.counts.hashed.fetch_add(1, Ordering::Relaxed);
        let needed = self.inner.params.block_count();
        let mut memory = self.take_buffer(needed);
        let hashed = phc_hash(
            &self.inner.params,
            secret.expose_secret().as_bytes(),
            &mut memory[..needed],
        );
        self.return_buffer(memory);
        hashed.map(SecretString::from)
    }

    /// Whether `secret` matches `hash`; `None` when it does not (or the hash
    /// is in no format we know, which is logged by the caller as a data
    /// problem, never as the secret).
    pub fn verify(&self, secret: &SecretString, hash: &SecretString) -> Option<Verified> {
        self.counts.verified.fetch_add(1, Ordering::Relaxed);
        self.verify_uncounted(secret, hash)
    }

    /// [`PasswordHasher::verify`] without counting it.
    fn verify_uncounted(&self, secret: &SecretString, hash: &SecretString) -> Option<Verified> {
        let secret = secret.expose_secret().as_bytes();
        let hash = hash.expose_secret();
        if hash.starts_with("$argon2") {
            let parsed = PasswordHash::new(hash).ok()?;
            self.verify_argon2(secret, &parsed)?;
            return Some(Verified {
                needs_rehash: !self.is_current(&parsed),
            });
        }
        imported::verify(secret, hash).then_some(Verified { needs_rehash: true })
    }

    /// Recomputes an argon2 hash in pooled memory and compares it in
    /// constant time.
    fn verify_argon2(&self, secret: &[u8], parsed: &PasswordHash<'_>) -> Option<()> {
        let params = Params::try_from(parsed).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::V0x13,
        };
        let expected = parsed.hash?;
        let mut salt = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
        let mut out = vec![0u8; expected.len()];
        let needed = params.block_count();
        let mut memory = self.take_buffer(needed);
        let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            secret,
            salt,
            &mut out,
            &mut memory[..needed],
        );
        self.return_buffer(memory);
        computed.ok()?;
        bool::from(out.ct_eq(expected.as_bytes())).then_some(())
    }

    fn take_buffer(&self, blocks: usize) -> Vec<Block> {
        let reused = self
            .inner
            .buffers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let mut buffer = reused.unwrap_or_default();
        if buffer.len() < blocks {
            buffer.resize(blocks, Block::default());
        }
        buffer
    }

    fn return_buffer(&self, buffer: Vec<Block>) {
        let mut pool = self.inner.buffers.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < THREADS.count {
            pool.push(buffer);
        }
    }

    /// Spends the time of one verification and returns nothing: for unknown
    /// users, so that their failure takes as long as a wrong password.
    pub fn verify_dummy(&self, secret: &SecretString) {
        self.counts.dummy.fetch_add(1, Ordering::Relaxed);
        let dummy = SecretString::from(self.inner.dummy.clone());
        let _ = self.verify_uncounted(secret, &dummy);
    }

    /// [`PasswordHasher::verify`] on the blocking pool; `hash: None` runs
    /// [`PasswordHasher::verify_dummy`] and answers `None`.
    pub async fn verify_async(
        &self,
        secret: SecretString,
        hash: Option<SecretString>,
    ) -> Result<Option<Verified>, AuthError> {
        self.on_blocking_pool(move |hasher| match hash {
            Some(hash) => hasher.verify(&secret, &hash),
            None => {
                hasher.verify_dummy(&secret);
                None
            }
        })
        .await
    }

    /// [`PasswordHasher::hash`] on the blocking pool.
    pub async fn hash_async(&self, secret: SecretString) -> Result<SecretString, AuthError> {
        self.on_blocking_pool(move |hasher| hasher.hash(&secret))
            .await?
    }

    /// Runs `work` on a hashing thread (see [`THREADS`]) and awaits it.
    async fn on_blocking_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let hasher = self.clone();
        let job: Job = Box::new(move || {
            let _ = done.send(work(&hasher));
        });
        THREADS
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job)
            .map_err(|_| AuthError::Internal("the hashing threads are gone".into()))?;
        result
            .await
            .map_err(|_| AuthError::Internal("hashing was interrupted".into()))
    }

    fn is_current(&self, hash: &PasswordHash<'_>) -> bool {
        hash.algorithm == argon2::ARGON2ID_IDENT
            && Params::try_from(hash).is_ok_and(|p| {
                p.m_cost() >= self.inner.params.m_cost()
                    && p.t_cost() >= self.inner.params.t_cost()
                    && p.p_cost() >= self.inner.params.p_cost()
            })
    }
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("memory_kib", &self.inner.params.m_cost())
            .field("iterations", &self.inner.params.t_cost())
            .field("parallelism", &self.inner.params.p_cost())
            .finish()
    }
}

/// The argon2id PHC string of `secret` under `params` with a fresh salt,
/// computed in `memory` (at least `params.block_count()` blocks).
fn phc_hash(params: &Params, secret: &[u8], memory: &mut [Block]) -> Result<String, AuthError> {
    let failed = |e: &dyn fmt::Display| AuthError::Internal(format!("hashing failed: {e}"));
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| failed(&e))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(secret, salt_raw, &mut out, memory)
        .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher as _;

    /// Fast parameters for tests; the defaults are tested once.
    pub(crate) fn fast() -> PasswordHasher {
        PasswordHasher::new(HashingConfig {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    fn s(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn argon2id_round_trip_with_the_default_parameters() {
        let hasher = PasswordHasher::new(HashingConfig::default()).unwrap();
        let hash = hasher.hash(&s("correct horse")).unwrap();
        assert!(
            hash.expose_secret()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
        );
        assert_eq!(
            hasher.verify(&s("correct horse"), &hash),
            Some(Verified {
                needs_rehash: false
            })
        );
        assert_eq!(hasher.verify(&s("correct horsf"), &hash), None);
    }

    #[test]
    fn pooled_hashes_verify_with_the_argon2_crate_itself() {
        use argon2::password_hash::PasswordVerifier;
        let hash = fast().hash(&s("correct horse")).unwrap();
        let parsed = PasswordHash::new(hash.expose_secret()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"correct horsf", &parsed)
                .is_err()
        );
        assert_ne!(
            hash.expose_secret(),
            fast().hash(&s("correct horse")).unwrap().expose_secret(),
            "fresh salt"
        );
    }

    #[test]
    fn hashers_with_the_same_parameters_share_one_memory_pool() {
        let (a, b) = (fast(), fast());
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
        let other = PasswordHasher::new(HashingConfig {
            memory_kib: 128,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        assert!(!Arc::ptr_eq(&a.inner, &other.inner));
        // Hashing and verifying many times keeps at most one buffer per core.
        for _ in 0..8 {
            let hash = a.hash(&s("pw")).unwrap();
            assert!(b.verify(&s("pw"), &hash).is_some());
        }
        let pooled = a.inner.buffers.lock().unwrap().len();
        assert!((1..=THREADS.count).contains(&pooled), "{pooled} buffers");
    }

    #[test]
    fn weaker_argon2_hashes_verify_and_ask_for_a_rehash() {
        let weak = fast().hash(&s("pw")).unwrap();
        let strong = PasswordHasher::new(HashingConfig::default()).unwrap();
        assert_eq!(
            strong.verify(&s("pw"), &weak),
            Some(Verified { needs_rehash: true })
        );
    }

    #[test]
    fn hashes_from_other_argon2_settings_verify_in_pooled_memory() {
        let h = fast();
        let other = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(256, 2, 2, None).unwrap(),
        );
        let salt = SaltString::generate(&mut OsRng);
        let hash = other.hash_password(b"pw", &salt).unwrap().to_string();
        assert_eq!(
            h.verify(&s("pw"), &s(&hash)),
            Some(Verified { needs_rehash: true })
        );
        assert_eq!(h.verify(&s("px"), &s(&hash)), None);
        // The buffer grown for 256 KiB is reused for the smaller default.
        let own = h.hash(&s("pw")).unwrap();
        assert!(h.verify(&s("pw"), &own).is_some());
    }

    #[test]
    fn garbage_hashes_never_verify() {
        let h = fast();
        for bad in [
            "",
            "plain",
            "$argon2id$broken",
            "$2b$04$short",
            "$6$x$y",
            "$pbkdf2-sha512$x",
        ] {
            assert_eq!(h.verify(&s("pw"), &s(bad)), None, "{bad}");
        }
    }

    #[test]
    fn debug_shows_parameters_only() {
        let h = fast();
        assert!(!format!("{h:?}").contains("argon2id$"));
    }

    #[tokio::test]
    async fn async_verification_and_the_dummy() {
        let h = fast();
        let hash = h.hash_async(s("pw")).await.unwrap();
        assert!(h.verify_async(s("pw"), Some(hash)).await.unwrap().is_some());
        assert!(h.verify_async(s("pw"), None).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn each_hasher_counts_what_it_and_its_clones_compute() {
        let h = fast();
        let clone = h.clone();
        let other = fast();
        let hash = h.hash(&s("pw")).unwrap();
        assert!(clone.verify(&s("px"), &hash).is_none());
        assert!(h.verify_async(s("pw"), Some(hash)).await.unwrap().is_some());
        clone.verify_dummy(&s("pw"));
        assert!(h.verify_async(s("pw"), None).await.unwrap().is_none());
        let expected = HashCounts {
            verified: 2,
            dummy: 2,
            hashed: 1,
        };
        assert_eq!((h.counts(), clone.counts()), (expected, expected));
        assert_eq!(other.counts(), HashCounts::default(), "not shared");
    }
}
