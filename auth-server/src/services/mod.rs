//! The services: one function per operation, each owning its side effects.
//!
//! Every door (the Keystone API in [`crate::keystone`], the CLI in
//! [`crate::operations`] and [`crate::bootstrap`], and the doors to come)
//! changes identity data only through these functions, so an operation
//! has the same consequences whoever asks for it:
//!
//! - **revocation events**: disabling a user, a project or a domain,
//!   changing or resetting a password, removing a member from a group,
//!   revoking a user's role, revoking a token. Only this module writes them
//!   (see `revocations`, and `auth-server/clippy.toml`, which refuses a
//!   call to `add_revocation` anywhere else in the crate);
//! - **cascades**: a deleted group's members lose their tokens, a user who
//!   loses a role on a project loses their application credentials there;
//! - **the token revision**: every store write that can change a token
//!   validation moves it in the same transaction (see
//!   [`token_revision`](auth_core::store::RevocationStore::token_revision));
//!   a service only ever writes through those store calls;
//! - **the event's facts**: the user, domain and project the call was
//!   about, noted for the call's event and audit row ([`crate::events::note`]).
//!
//! A door decides nothing: it asks the policy before it calls a service.
//! The services check what the data demands (a domain exists, a name is
//! free), never who is asking.

pub mod application_credentials;
pub mod catalog;
pub mod credentials;
pub mod documents;
pub mod domains;
pub mod event_handlers;
pub mod grants;
pub mod groups;
pub mod imaging;
pub mod implied_roles;
pub mod oauth1;
pub mod passwords;
pub mod projects;
pub mod roles;
pub mod sessions;
pub mod tokens;
pub mod trusts;
pub mod users;

mod revocations;

use std::fmt;

use auth_core::Clock;
use auth_core::store::Storage;
use auth_plugins::compliance::SecurityCompliance;
use auth_plugins::hashing::PasswordHasher;
use chrono::{DateTime, Utc};

/// What an operation needs: the store, the hasher and the security
/// compliance rules for passwords and secrets, and the injected clock.
/// The operation's records carry the instant it began ([`Context::now`]);
/// its revocation events are stamped when they are written, after the
/// change that causes them ([`Context::clock`]), so that no token issued
/// against the old state can carry a later issue time.
///
/// A door takes one from [`AppState::services`](crate::AppState::services);
/// the CLI, which runs without a server, builds one with [`Context::new`].
#[derive(Clone, Copy)]
pub struct Context<'a> {
    storage: &'a dyn Storage,
    hasher: &'a PasswordHasher,
    compliance: &'a SecurityCompliance,
    clock: &'a dyn Clock,
    now: DateTime<Utc>,
}

impl<'a> Context<'a> {
    /// A context over these parts; the operation begins at the clock's
    /// now.
    pub fn new(
        storage: &'a dyn Storage,
        hasher: &'a PasswordHasher,
        compliance: &'a SecurityCompliance,
        clock: &'a dyn Clock,
    ) -> Self {
        Self {
            storage,
            hasher,
            compliance,
            clock,
            now: clock.now(),
        }
    }

    /// The store.
    pub fn storage(&self) -> &'a dyn Storage {
        self.storage
    }

    /// The hasher for new passwords and secrets.
    pub fn hasher(&self) -> &'a PasswordHasher {
        self.hasher
    }

    /// The security compliance rules.
    pub fn compliance(&self) -> &'a SecurityCompliance {
        self.compliance
    }

    /// The instant the operation began.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The injected clock, for what must be stamped when it happens.
    pub fn clock(&self) -> &'a dyn Clock {
        self.clock
    }
}

impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("storage", &self.storage.backend())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// Notes, for the call's event, the user an operation was about.
fn note_user(user_id: &str, domain_id: &str) {
    crate::events::note(|facts| {
        facts.user_id = Some(user_id.to_owned());
        facts.domain_id = Some(domain_id.to_owned());
    });
}

/// Notes, for the call's event, the project an operation involved.
fn note_project(project_id: &str) {
    crate::events::note(|facts| facts.project_id = Some(project_id.to_owned()));
}
