//! Auth methods, one folder each.

pub mod publickey;

/// One function per method module, referenced by [`crate::link`].
pub(crate) const ANCHORS: &[fn()] = &[publickey::anchor];
