//! JSON documents the Keystone API keeps but nothing here interprets:
//! stored policy blobs (`/v3/policies`) and domain-specific configuration
//! (`/v3/domains/{d}/config`). Writes change no token, so they move no
//! revision; they only note what they touched for the call's event.

use auth_core::AuthError;
use serde_json::Value;

use super::Context;

/// The collection of `/v3/policies`.
pub const POLICIES: &str = "policy";

/// The collection of `/v3/OS-OAUTH1/consumers` (their secrets sealed;
/// the store opens them to check signatures).
pub use auth_core::store::OAUTH1_CONSUMERS;

/// The collection of `/v3/domains/{d}/config`, by domain id.
pub const DOMAIN_CONFIGS: &str = "domain_config";

/// Creates or replaces the document; whether it was created.
pub async fn put(
    cx: &Context<'_>,
    collection: &str,
    id: &str,
    body: &Value,
) -> Result<bool, AuthError> {
    cx.storage()
        .put_document(collection, id, body, cx.now())
        .await
}

/// Deletes the document: [`AuthError::NotFound`] if there was none.
pub async fn delete(
    cx: &Context<'_>,
    collection: &str,
    id: &str,
    what: &str,
) -> Result<(), AuthError> {
    if cx.storage().delete_document(collection, id).await? {
        Ok(())
    } else {
        Err(AuthError::NotFound {
            what: format!("{what}: {id}"),
        })
    }
}
