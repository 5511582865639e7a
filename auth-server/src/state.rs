//! Everything a request handler needs, built once at start-up.

use std::sync::Arc;

use auth_core::audit::AuditLog;
use auth_core::handlers::{Dispatcher, HandlerModuleRegistration};
use auth_core::store::{HandlerBinding, Storage, StorageConfig, StorageRegistration, new_id};
use auth_core::{
    AuthError, Clock, Engine, KeyRing, KeySet, MethodRegistration, Registry, Stores, SystemClock,
};
use auth_plugins::compliance::SecurityCompliance;
use auth_plugins::hashing::PasswordHasher;
use auth_plugins::tokens::jws::JwsProvider;
use chrono::Duration;

use crate::config::Config;
use crate::error::ServerError;
use crate::events::EngineSink;
use crate::imaging::Imaging;
use crate::keys;
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::validation::{RevisionGate, ValidationCache};

/// Shared, cheap-to-clone application state.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    storage: Arc<dyn Storage>,
    engine: Engine,
    tokens: Arc<JwsProvider>,
    clock: Arc<dyn Clock>,
    hasher: PasswordHasher,
    compliance: SecurityCompliance,
    metrics: Arc<Metrics>,
    validations: ValidationCache,
    receipt_keys: Arc<KeyRing>,
    credential_keys: KeyRing,
    kek: KeyRing,
    key_versions: keys::LoadedVersions,
    dispatcher: Dispatcher,
    policy: Policy,
    imaging: Imaging,
    tls: Option<Arc<crate::tls::Certificates>>,
}

impl AppState {
    /// Connects to the database (migrating it), loads or creates the keys,
    /// and builds the enabled methods. Fails, naming the problem, if a
    /// configured method or storage driver is not registered.
    pub async fn build(config: Config) -> Result<Self, ServerError> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`AppState::build`] with an injected clock, for tests.
    pub async fn build_with_clock(
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServerError> {
        auth_plugins::link();
        let registry = Registry::<MethodRegistration>::from_inventory()?;
        Self::build_with_methods(config, clock, registry).await
    }

    /// [`AppState::build_with_clock`] whose methods come from `registry`
    /// rather than from every registration linked in: for a program that
    /// embeds the server with methods of its own, registered explicitly
    /// (`Registry::builder().with_inventory().register(…)`).
    pub async fn build_with_methods(
        config: Config,
        clock: Arc<dyn Clock>,
        registry: Registry<MethodRegistration>,
    ) -> Result<Self, ServerError> {
        auth_plugins::link();
        // First, so that a bad policy file stops start-up before anything
        // is opened.
        let policy = Policy::from_config(&config.policy)?;
        let imaging = Imaging::from_config(&config.orthanc)?;
        config.orthanc.checked_prefix()?;
        let tls = crate::tls::Certificates::from_config(&config.tls)?;
        // Read once: the store seals credential blobs with them, and the
        // server its own secrets (see `credential_keys`).
        let credential_keys = keys::credential_keys(&config.keys.dir)?;
        let storage = connect_with(&config, credential_keys.clone(), true).await?;
        let kek = keys::kek(&config.keys.dir, storage.as_ref()).await?;
        let receipt_keys = keys::receipt_keys(storage.as_ref(), &kek).await?;
        let signing_keys =
            keys::signing_keys(storage.as_ref(), &kek, config.token.algorithm).await?;
        // Validation refuses tokens claiming a longer lifetime than this
        // server issues (one signed with a stolen key, say).
        let tokens = Arc::new(
            JwsProvider::new(signing_keys)
                .with_max_lifetime(Duration::seconds(config.token.expiration)),
        );
        let methods = registry.instantiate_with_shared(
            &config.auth.methods,
            &config.auth.sections,
            &config.shared_sections(),
        )?;
        let metrics = Arc::new(Metrics::default());
        let receipt_keys = Arc::new(KeyRing::new(receipt_keys));
        let dispatcher = events_dispatcher(&config, &storage, &clock).await?;
        let engine = Engine::builder()
            .events(Arc::new(EngineSink {
                metrics: metrics.clone(),
                dispatcher: dispatcher.clone(),
            }))
            .methods(methods)
            .stores(Stores::from_storage(storage.clone()))
            .receipt_keys(receipt_keys.clone())
            .receipt_ttl(Duration::seconds(config.receipt.expiration))
            .token_provider(tokens.clone())
            .clock(clock.clone())
            .build()?;
        let hasher = PasswordHasher::new(config.password_hashing()?)?;
        let compliance = config.compliance()?;
        let validations = ValidationCache::new(
            RevisionGate::new(storage.clone()),
            config.token.cache_size,
            Duration::seconds(config.token.cache_ttl),
        );
        let credential_keys = KeyRing::new(credential_keys);
        let state = Self {
            inner: Arc::new(Inner {
                config,
                storage,
                engine,
                tokens,
                clock,
                hasher,
                compliance,
                metrics,
                validations,
                receipt_keys,
                credential_keys,
                kek: KeyRing::new(kek),
                key_versions: keys::LoadedVersions::default(),
                dispatcher,
                policy,
                imaging,
                tls,
            }),
        };
        // Records the versions just loaded (a set rotated in between is
        // picked up here as well).
        keys::refresh(&state).await?;
        Ok(state)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The storage driver.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.inner.storage
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The token provider.
    pub fn tokens(&self) -> &Arc<JwsProvider> {
        &self.inner.tokens
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    /// The hasher for new passwords and secrets.
    pub fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Cached token validations.
    pub fn validations(&self) -> &ValidationCache {
        &self.inner.validations
    }

    /// What a service operation needs, at the clock's now (see
    /// [`crate::services`]).
    pub fn services(&self) -> crate::services::Context<'_> {
        crate::services::Context::new(
            self.storage().as_ref(),
            self.hasher(),
            self.compliance(),
            self.clock(),
        )
    }

    /// What the imaging doors keep: the role maps and share-token
    /// lookups.
    pub fn imaging(&self) -> &Imaging {
        &self.inner.imaging
    }

    /// The policy every door asks.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The TLS certificates every HTTP listener serves, if `[tls]` is set.
    pub fn tls(&self) -> Option<&Arc<crate::tls::Certificates>> {
        self.inner.tls.as_ref()
    }

    /// The event-handler dispatcher, and through it the audit log.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.inner.dispatcher
    }

    /// Loads the stored bindings again (after a change through the API,
    /// here or on another node). Bindings that no longer compile are
    /// logged and left out.
    pub async fn reload_bindings(&self) -> Result<(), AuthError> {
        let bindings = self.storage().list_bindings().await?;
        for (binding, error) in self.dispatcher().set_valid_bindings(bindings) {
            tracing::warn!(binding = %binding.name, %error, "event-handler binding left out");
        }
        Ok(())
    }

    /// The receipt keys (the engine's ring, swapped on reload).
    pub fn receipt_keys(&self) -> &Arc<KeyRing> {
        &self.inner.receipt_keys
    }

    /// The credential key set (the one the store seals credential blobs
    /// with), for secrets the server seals itself before storing them (an
    /// OAuth1 consumer's secret).
    pub fn credential_keys(&self) -> &KeyRing {
        &self.inner.credential_keys
    }

    /// The key-encryption keys the shared key sets are sealed under (read
    /// again from `[keys] dir` when they no longer open them).
    pub(crate) fn kek(&self) -> &KeyRing {
        &self.inner.kek
    }

    /// The versions of the shared key sets loaded.
    pub(crate) fn key_versions(&self) -> &keys::LoadedVersions {
        &self.inner.key_versions
    }

    /// The security compliance rules.
    pub fn compliance(&self) -> &SecurityCompliance {
        &self.inner.compliance
    }
}

/// The dispatcher with every registered handler module (each from its
/// `[events.modules.<Name>]`), the audit log, and the bindings: those of
/// the file saved to the database by name, then all stored ones loaded.
async fn events_dispatcher(
    config: &Config,
    storage: &Arc<dyn Storage>,
    clock: &Arc<dyn Clock>,
) -> Result<Dispatcher, ServerError> {
    let modules = Registry::<HandlerModuleRegistration>::from_inventory()?
        .instantiate(&config.events.modules)?;
    let audit = AuditLog::new(storage.clone(), clock.clone(), config.audit.queue.clone());
    let dispatcher = Dispatcher::builder()
        .modules(modules)
        .stores(Stores::from_storage(storage.clone()))
        .clock(clock.clone())
        .audit(audit)
        .config(config.events.dispatcher.clone())
        .build()?;
    let stored = storage.list_bindings().await?;
    for file in &config.events.bindings {
        let existing = stored.iter().find(|b| b.name == file.name);
        let binding = HandlerBinding::new(
            existing.map_or_else(new_id, |b| b.id.clone()),
            file.name.clone(),
            file.events.clone(),
            file.module.clone(),
            file.action.clone(),
        )
        .with_options(file.options.clone())
        .with_conditions(file.conditions.clone())
        .with_position(file.position)
        .with_ordering(file.ordering)
        .with_active(file.active)
        .with_abort_on_error(file.abort_on_error);
        dispatcher.validate(&binding).map_err(|e| {
            ServerError::Config(format!("[[events.bindings]] '{}': {e}", file.name))
        })?;
        match existing {
            Some(_) => storage.update_binding(&binding).await?,
            None => storage.create_binding(&binding).await?,
        }
    }
    for (binding, error) in dispatcher.set_valid_bindings(storage.list_bindings().await?) {
        tracing::warn!(binding = %binding.name, %error, "event-handler binding left out");
    }
    Ok(dispatcher)
}

/// Connects to the configured database with the driver registered for its
/// scheme, applying migrations.
pub async fn connect(config: &Config) -> Result<Arc<dyn Storage>, ServerError> {
    let credential_keys = keys::credential_keys(&config.keys.dir)?;
    connect_with(config, credential_keys, true).await
}

/// Connects without applying migrations and with the given credential
/// keys, so nothing is created (for `doctor`, which only looks).
pub async fn connect_without_migrating(
    config: &Config,
    credential_keys: KeySet,
) -> Result<Arc<dyn Storage>, ServerError> {
    connect_with(config, credential_keys, false).await
}

/// Connects with `credential_keys` sealing the store's credential blobs.
async fn connect_with(
    config: &Config,
    credential_keys: KeySet,
    migrate: bool,
) -> Result<Arc<dyn Storage>, ServerError> {
    auth_plugins::link();
    let mut storage_config = StorageConfig::new(
        config.database.url.clone(),
        Arc::new(KeyRing::new(credential_keys)),
    );
    storage_config.max_connections = config.database.max_connections;
    storage_config.migrate = migrate;
    storage_config.connect_timeout =
        std::time::Duration::from_secs(config.database.connect_timeout);
    let registry = Registry::<StorageRegistration>::from_inventory()?;
    Ok(auth_core::store::connect(&registry, storage_config).await?)
}
