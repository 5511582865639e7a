//! Imaging: the Orthanc role map and share tokens.

use auth_core::AuthError;
use auth_core::imaging::{RoleMap, SharedResource};
use auth_core::store::{ShareToken, new_id};
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::Context;
use crate::events;
use crate::imaging::share_tokens;

/// The setting the role map is stored under.
pub const ROLE_MAP_SETTING: &str = "orthanc.roles";

/// Stores `map` as the role map every node uses from its next call (the
/// store moves the token revision with it).
pub async fn set_role_map(cx: &Context<'_>, map: &RoleMap) -> Result<(), AuthError> {
    let value = serde_json::to_value(map)
        .map_err(|e| AuthError::Internal(format!("serializing the role map: {e}")))?;
    cx.storage()
        .put_setting(ROLE_MAP_SETTING, &value, cx.now())
        .await
}

/// A share token to create.
#[derive(Debug)]
pub struct NewShareToken {
    /// Its type, as Orthanc names it (`stone-viewer-publication`, …).
    pub token_type: String,
    /// What it opens.
    pub resources: Vec<SharedResource>,
    /// When it stops opening them.
    pub expires_at: DateTime<Utc>,
    /// The Orthanc that asked for it.
    pub server_id: Option<String>,
    /// The user who asked for it, when known.
    pub created_by: Option<String>,
}

/// Creates a share token: the token itself (shown once, never stored) and
/// its record.
pub async fn create_share_token(
    cx: &Context<'_>,
    new: NewShareToken,
) -> Result<(SecretString, ShareToken), AuthError> {
    if new.resources.is_empty() {
        return Err(AuthError::bad_request("a share token needs resources"));
    }
    if new.expires_at <= cx.now() {
        return Err(AuthError::bad_request(
            "a share token's expiration must be in the future",
        ));
    }
    let resources = serde_json::to_value(&new.resources)
        .map_err(|e| AuthError::Internal(format!("serializing share-token resources: {e}")))?;
    let (token, digest) = share_tokens::generate();
    let mut record = ShareToken::new(new_id(), digest, new.token_type, resources, cx.now())
        .with_expires_at(new.expires_at);
    record.server_id = new.server_id;
    record.created_by = new.created_by;
    cx.storage().create_share_token(&record).await?;
    note_share_token(&record);
    Ok((token, record))
}

/// Every share token, oldest first.
pub async fn list_share_tokens(cx: &Context<'_>) -> Result<Vec<ShareToken>, AuthError> {
    cx.storage().list_share_tokens().await
}

/// Revokes (deletes) a share token: every node refuses it from its next
/// call (the store moves the token revision), and a client that kept a
/// decision about it refuses it once that decision's validity lapses.
pub async fn revoke_share_token(cx: &Context<'_>, id: &str) -> Result<(), AuthError> {
    let record = cx.storage().get_share_token(id).await?;
    cx.storage().delete_share_token(id).await?;
    note_share_token(&record);
    Ok(())
}

/// Notes the share token a call was about, for its event.
fn note_share_token(record: &ShareToken) {
    events::note(|facts| facts.user_id.clone_from(&record.created_by));
    events::note_request("share_token_id", serde_json::json!(record.id));
    events::note_request("token_type", serde_json::json!(record.token_type));
}
