//! OAuth1 (`OS-OAUTH1`): consumers, so far.

use auth_core::store::new_id;
use auth_core::{AuthError, KeyRing};
use secrecy::SecretString;
use serde_json::{Value, json};

use super::Context;
use super::documents::{self, OAUTH1_CONSUMERS};

/// What a consumer's secret is sealed for: a sealed secret opens for this
/// purpose only.
const SECRET_PURPOSE: &[u8] = b"oauth1-consumer-secret";

/// Creates a consumer with `description` and a fresh secret, sealed with
/// `keys` before it is stored; its id, stored document and secret.
pub async fn create_consumer(
    cx: &Context<'_>,
    keys: &KeyRing,
    description: Option<String>,
) -> Result<(String, Value, SecretString), AuthError> {
    let id = new_id();
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let sealed = keys
        .current()
        .seal_to_string(SECRET_PURPOSE, secret.as_bytes())?;
    let stored = json!({"description": description, "secret_sealed": sealed});
    documents::put(cx, OAUTH1_CONSUMERS, &id, &stored).await?;
    Ok((id, stored, SecretString::from(secret)))
}
