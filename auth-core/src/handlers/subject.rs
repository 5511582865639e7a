//! The user an event is about, loaded at most once per event and only when
//! something asks.
//!
//! An event names its user by id only. Conditions on the user's name or
//! attributes, on its failure count or last login, and templates that
//! address the user need more; the first of them to ask loads the user (or
//! its [`UserAuthState`]) from the stores and every later binding of the
//! same event reuses it. A user that cannot be loaded (no user in the
//! event, no such user, no user store, a store failure) is missing data:
//! conditions treat it by their `on_missing`, never as a match.

use std::fmt;

use tokio::sync::OnceCell;

use crate::store::{Stores, User, UserAuthState};

/// The lazily loaded user of one event.
pub(crate) struct Subject {
    user_id: Option<String>,
    stores: Stores,
    user: OnceCell<Option<User>>,
    auth_state: OnceCell<Option<UserAuthState>>,
}

impl Subject {
    /// The subject of an event naming `user_id`.
    pub(crate) fn new(user_id: Option<String>, stores: Stores) -> Self {
        Self {
            user_id,
            stores,
            user: OnceCell::new(),
            auth_state: OnceCell::new(),
        }
    }

    /// The user, loaded on first use.
    pub(crate) async fn user(&self) -> Option<&User> {
        self.user
            .get_or_init(|| async {
                let id = self.user_id.as_deref()?;
                self.stores.users().ok()?.get_user(id).await.ok()
            })
            .await
            .as_ref()
    }

    /// The user's failure count and last login, loaded on first use.
    pub(crate) async fn auth_state(&self) -> Option<&UserAuthState> {
        self.auth_state
            .get_or_init(|| async {
                let id = self.user_id.as_deref()?;
                self.stores.passwords().ok()?.auth_state(id).await.ok()
            })
            .await
            .as_ref()
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subject")
            .field("user_id", &self.user_id)
            .field("user_loaded", &self.user.initialized())
            .field("auth_state_loaded", &self.auth_state.initialized())
            .finish()
    }
}
