//! The engine: runs the methods of a request and decides the outcome.
//!
//! ```text
//!  body ──parse/limits──▶ AuthRequest ──▶ every method enabled? ──▶ open receipt (if any)
//!                                                                          │
//!        ┌──────────────── for each method, in request order ◀─────────────┘
//!        │   Err            → Failed
//!        │   Success        → reconcile into the Identity (conflicts fail)
//!        │   Challenge      → collect the challenge and its continuation state
//!        ▼
//!  challenges? ──yes──▶ Continue (receipt with passed methods + pending state)
//!        │no
//!  user named, exists, enabled? ──no──▶ Failed
//!        │
//!  MFA rules satisfied? ──no──▶ Continue (receipt with passed methods)
//!        │yes
//!  Authenticated
//! ```
//!
//! One mechanism serves both kinds of continuation, a method's challenge and
//! unmet MFA rules: a sealed [`Receipt`](crate::Receipt) that the client
//! sends back with the remaining methods. Receipts are stateless, so any
//! engine holding the same receipt [`KeySet`] can resume.

mod attempt;
mod events;
mod outcome;
mod run;

use std::sync::Arc;

use chrono::Duration;

pub use attempt::AuthAttempt;
pub use outcome::{AuthOutcome, Authenticated, Continuation};

use crate::clock::{Clock, SystemClock};
use crate::events::{EventSink, NoopSink};
use crate::keys::{KeyRing, KeySet};
use crate::registry::MethodSet;
use crate::request::RequestLimits;
use crate::store::Stores;
use crate::token::TokenProvider;
use crate::{AuthError, AuthMethodHandler};

/// The default receipt lifetime: 300 s, as Keystone.
pub const DEFAULT_RECEIPT_TTL_SECS: i64 = 300;
/// The longest receipt lifetime accepted: one day, as Keystone.
pub const MAX_RECEIPT_TTL_SECS: i64 = 86_400;

/// Runs authentication requests. Cheap to share: wrap it in an `Arc`.
#[derive(Debug)]
pub struct Engine {
    methods: MethodSet,
    receipt_keys: Arc<KeyRing>,
    clock: Arc<dyn Clock>,
    stores: Stores,
    events: Arc<dyn EventSink>,
    limits: RequestLimits,
    receipt_ttl: Duration,
    tokens: Option<Arc<dyn TokenProvider>>,
}

impl Engine {
    /// Starts building an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The enabled methods.
    pub fn methods(&self) -> &MethodSet {
        &self.methods
    }

    /// The store handles.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The receipt key ring (for rotation).
    pub fn receipt_keys(&self) -> &Arc<KeyRing> {
        &self.receipt_keys
    }
}

/// Configures an [`Engine`].
#[derive(Debug)]
pub struct EngineBuilder {
    methods: MethodSet,
    receipt_keys: Option<Arc<KeyRing>>,
    clock: Arc<dyn Clock>,
    stores: Stores,
    events: Arc<dyn EventSink>,
    limits: RequestLimits,
    receipt_ttl: Duration,
    tokens: Option<Arc<dyn TokenProvider>>,
    duplicate: Option<AuthError>,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        Self {
            methods: MethodSet::new(),
            receipt_keys: None,
            clock: Arc::new(SystemClock),
            stores: Stores::new(),
            events: Arc::new(NoopSink),
            limits: RequestLimits::default(),
            receipt_ttl: Duration::seconds(DEFAULT_RECEIPT_TTL_SECS),
            tokens: None,
            duplicate: None,
        }
    }
}

impl EngineBuilder {
    /// Enables every method of `methods` (typically from
    /// [`Registry::instantiate`](crate::Registry::instantiate)).
    pub fn methods(mut self, methods: MethodSet) -> Self {
        self.methods = methods;
        self
    }

    /// Enables one method under `name`, without any registry.
    pub fn method(mut self, name: impl Into<String>, handler: Arc<dyn AuthMethodHandler>) -> Self {
        if let Err(e) = self.methods.insert(name, handler) {
            self.duplicate.get_or_insert(e);
        }
        self
    }

    /// The stores; a user store is required.
    pub fn stores(mut self, stores: Stores) -> Self {
        self.stores = stores;
        self
    }

    /// The receipt keys. Nodes that resume each other's logins must share
    /// them. Without this, the engine generates a key set of its own, which
    /// only suits a single node.
    pub fn receipt_keys(mut self, keys: Arc<KeyRing>) -> Self {
        self.receipt_keys = Some(keys);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where events go (default: nowhere).
    pub fn events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.events = sink;
        self
    }

    /// Request limits (default: [`RequestLimits::default`]).
    pub fn limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The token provider methods like `token` verify tokens with.
    pub fn token_provider(mut self, tokens: Arc<dyn TokenProvider>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Receipt lifetime (default 300 s; 1 s to 1 day).
    pub fn receipt_ttl(mut self, ttl: Duration) -> Self {
        self.receipt_ttl = ttl;
        self
    }

    /// The engine, or an error if it cannot work: no method enabled, no user
    /// store, a method enabled twice, or a receipt lifetime out of range.
    pub fn build(self) -> Result<Engine, AuthError> {
        if let Some(e) = self.duplicate {
            return Err(e);
        }
        if self.methods.is_empty() {
            return Err(AuthError::invalid_config(
                "engine",
                "no auth method is enabled",
            ));
        }
        if !self.stores.has_users() {
            return Err(AuthError::invalid_config(
                "engine",
                "a user store is required (the engine checks that the user is enabled and reads their MFA rules)",
            ));
        }
        let ttl = self.receipt_ttl.num_seconds();
        if !(1..=MAX_RECEIPT_TTL_SECS).contains(&ttl) {
            return Err(AuthError::invalid_config(
                "engine",
                format!("the receipt lifetime must be 1 to {MAX_RECEIPT_TTL_SECS} seconds"),
            ));
        }
        Ok(Engine {
            methods: self.methods,
            receipt_keys: self
                .receipt_keys
                .unwrap_or_else(|| Arc::new(KeyRing::new(KeySet::generate()))),
            clock: self.clock,
            stores: self.stores,
            events: self.events,
            limits: self.limits,
            receipt_ttl: self.receipt_ttl,
            tokens: self.tokens,
        })
    }
}

#[cfg(test)]
mod tests;
