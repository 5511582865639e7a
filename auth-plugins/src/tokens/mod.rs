//! Token providers: [`jws`] (feature `jws`, on by default).

#[cfg(feature = "jws")]
pub mod jws;
