//! Compile-time plugin registries.
//!
//! Plugins register themselves with [`inventory`] (`register_method!` and
//! friends), and a [`Registry`] gathers one kind of registration into a
//! name-keyed map once, at start-up. Duplicate names are an error, listings
//! are sorted, and asking for an unregistered name is an error that lists
//! what is registered.
//!
//! # The linker pitfall
//!
//! `inventory` registrations live in statics that only exist in the final
//! binary if the linker keeps the crate that defines them, and it drops a
//! crate nothing references. Every binary, test and example that expects
//! the built-in plugins must therefore reference `auth-plugins` explicitly
//! (`auth_plugins::link()`), and configuration naming an unregistered plugin
//! fails start-up instead of silently authenticating with fewer methods.
//!
//! Where constructors do not run at all (some targets), or to assemble a
//! registry by hand, [`RegistryBuilder::register`] adds registrations
//! explicitly.

mod methods;

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;

pub use methods::{MethodConstructor, MethodRegistration, MethodSet};

use crate::AuthError;

/// One kind of registration (auth method, storage driver, …).
pub trait Registration: Clone + Send + Sync + 'static {
    /// The kind, in words, for error messages (`"auth method"`).
    const KIND: &'static str;

    /// The name the plugin is registered under.
    fn name(&self) -> &'static str;
}

/// Every registration of one kind, by name.
pub struct Registry<R> {
    entries: BTreeMap<&'static str, R>,
}

impl<R: Registration> Registry<R> {
    /// An empty builder.
    pub fn builder() -> RegistryBuilder<R> {
        RegistryBuilder {
            entries: BTreeMap::new(),
            duplicate: None,
        }
    }

    /// The registration named `name`, or [`AuthError::UnknownPlugin`]
    /// listing every registered name.
    pub fn get(&self, name: &str) -> Result<&R, AuthError> {
        self.entries
            .get(name)
            .ok_or_else(|| AuthError::UnknownPlugin {
                kind: R::KIND,
                name: name.to_owned(),
                registered: self.names().into_iter().map(str::to_owned).collect(),
            })
    }

    /// Every registered name, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.keys().copied().collect()
    }

    /// How many registrations there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<R> Registry<R>
where
    R: Registration + inventory::Collect,
{
    /// Everything registered through `inventory` in this binary.
    pub fn from_inventory() -> Result<Self, AuthError> {
        Self::builder().with_inventory().build()
    }
}

impl<R: Registration> fmt::Debug for Registry<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("kind", &R::KIND)
            .field("names", &self.names())
            .finish()
    }
}

/// Assembles a [`Registry`] from inventory and explicit registrations.
pub struct RegistryBuilder<R> {
    entries: BTreeMap<&'static str, R>,
    duplicate: Option<&'static str>,
}

impl<R: Registration> RegistryBuilder<R> {
    /// Adds one registration. A second registration under a taken name makes
    /// [`RegistryBuilder::build`] fail.
    pub fn register(mut self, registration: R) -> Self {
        match self.entries.entry(registration.name()) {
            Entry::Vacant(slot) => {
                slot.insert(registration);
            }
            Entry::Occupied(taken) => {
                self.duplicate.get_or_insert(*taken.key());
            }
        }
        self
    }

    /// The registry, or [`AuthError::DuplicateRegistration`].
    pub fn build(self) -> Result<Registry<R>, AuthError> {
        match self.duplicate {
            Some(name) => Err(AuthError::DuplicateRegistration {
                kind: R::KIND,
                name: name.to_owned(),
            }),
            None => Ok(Registry {
                entries: self.entries,
            }),
        }
    }
}

impl<R> RegistryBuilder<R>
where
    R: Registration + inventory::Collect,
{
    /// Adds every registration submitted through `inventory`.
    pub fn with_inventory(self) -> Self {
        inventory::iter::<R>
            .into_iter()
            .cloned()
            .fold(self, Self::register)
    }
}

impl<R: Registration> fmt::Debug for RegistryBuilder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryBuilder")
            .field("kind", &R::KIND)
            .field("names", &self.entries.keys().collect::<Vec<_>>())
            .finish()
    }
}
