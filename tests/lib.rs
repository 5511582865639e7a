//! Workspace integration tests live in `integration/`; this library is
//! empty and exists only so the package has a target besides its tests.
