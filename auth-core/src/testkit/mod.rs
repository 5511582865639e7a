//! Test support for plugin authors (feature `testkit`).
//!
//! - [`MemoryStore`]: an in-memory [`UserStore`](crate::store::UserStore)
//!   and [`CredentialStore`](crate::store::CredentialStore), so a method's
//!   tests need no database.

mod memory_store;

pub use memory_store::MemoryStore;
