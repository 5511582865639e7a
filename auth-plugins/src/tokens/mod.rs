//! Token providers.

pub mod jws;
