//! Event-handler bindings: each change is checked by the dispatcher before
//! it is saved (400 naming the problem), then this node reloads every
//! binding; other nodes reload theirs every `[keys] refresh_interval`
//! seconds.

use auth_core::AuthError;
use auth_core::store::HandlerBinding;

use crate::state::AppState;

/// Checks and saves a new binding (its name is the door's to check, as
/// every name in a request body).
pub async fn create(state: &AppState, binding: &HandlerBinding) -> Result<(), AuthError> {
    check(state, binding)?;
    state.storage().create_binding(binding).await?;
    state.reload_bindings().await
}

/// Checks and saves a changed binding.
pub async fn update(state: &AppState, binding: &HandlerBinding) -> Result<(), AuthError> {
    check(state, binding)?;
    state.storage().update_binding(binding).await?;
    state.reload_bindings().await
}

/// Deletes a binding.
pub async fn delete(state: &AppState, id: &str) -> Result<(), AuthError> {
    state.storage().delete_binding(id).await?;
    state.reload_bindings().await
}

fn check(state: &AppState, binding: &HandlerBinding) -> Result<(), AuthError> {
    state.dispatcher().validate(binding)
}
