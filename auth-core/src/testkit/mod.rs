//! Test support for plugin authors (feature `testkit`).
//!
//! - [`conformance`]: the checks every auth method must pass.
//! - [`MemoryStore`]: the store roles auth methods read, in memory, so a
//!   method's tests need no database.

pub mod conformance;
mod memory_store;

pub use memory_store::MemoryStore;
