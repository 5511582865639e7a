//! Auth receipts: the stateless record of a login in progress.
//!
//! A receipt is what makes multi-step authentication work across stateless
//! nodes (Keystone's `Openstack-Auth-Receipt`). It records the user, the
//! methods already passed, and the continuation state of every method that
//! asked for another round trip, sealed with the receipt [`KeySet`] so the
//! client can carry it but neither read nor alter it. Any node holding the
//! key set can resume the login.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AuthError;
use crate::identity::Identity;
use crate::keys::KeySet;

/// The associated-data purpose receipts are sealed under.
const PURPOSE: &[u8] = b"auth-core/receipt/v1";

/// Sealed receipts longer than this are refused before any work.
pub const MAX_RECEIPT_LEN: usize = 16 * 1024;

/// A login in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// What the methods passed so far resolved, including the user.
    pub identity: Identity,
    /// The continuation state of each method that challenged the client.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<String, Value>,
    /// When the receipt was issued (second precision, as Keystone).
    #[serde(with = "chrono::serde::ts_seconds")]
    pub issued_at: DateTime<Utc>,
    /// When it stops being accepted.
    #[serde(with = "chrono::serde::ts_seconds")]
    pub expires_at: DateTime<Utc>,
}

impl Receipt {
    /// Seals the receipt into a header-safe string.
    pub fn seal(&self, keys: &KeySet) -> Result<String, AuthError> {
        let plaintext = serde_json::to_vec(self)
            .map_err(|e| AuthError::Internal(format!("receipt encoding failed: {e}")))?;
        keys.seal_to_string(PURPOSE, &plaintext)
    }

    /// Opens a sealed receipt and checks that it has not expired at `now`.
    ///
    /// Malformed, altered, foreign-key and expired receipts all give
    /// [`AuthError::ReceiptInvalid`].
    pub fn open(sealed: &str, keys: &KeySet, now: DateTime<Utc>) -> Result<Self, AuthError> {
        if sealed.len() > MAX_RECEIPT_LEN {
            return Err(AuthError::ReceiptInvalid);
        }
        let plaintext = keys
            .open_str(PURPOSE, sealed)
            .map_err(|_| AuthError::ReceiptInvalid)?;
        let receipt: Receipt =
            serde_json::from_slice(&plaintext).map_err(|_| AuthError::ReceiptInvalid)?;
        if now >= receipt.expires_at {
            return Err(AuthError::ReceiptInvalid);
        }
        Ok(receipt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use serde_json::json;

    fn receipt(now: DateTime<Utc>) -> Receipt {
        let mut identity = Identity {
            user_id: Some("u1".into()),
            ..Identity::default()
        };
        identity.record_method("password");
        Receipt {
            identity,
            pending: BTreeMap::from([("publickey".to_owned(), json!({"nonce": "n"}))]),
            issued_at: now,
            expires_at: now + Duration::seconds(300),
        }
    }

    #[test]
    fn round_trip_until_expiry() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let keys = KeySet::generate();
        let r = receipt(now);
        let sealed = r.seal(&keys).unwrap();
        assert_eq!(Receipt::open(&sealed, &keys, now).unwrap(), r);
        let almost = now + Duration::seconds(299);
        assert!(Receipt::open(&sealed, &keys, almost).is_ok());
        let expired = now + Duration::seconds(300);
        assert!(matches!(
            Receipt::open(&sealed, &keys, expired),
            Err(AuthError::ReceiptInvalid)
        ));
    }

    #[test]
    fn garbage_and_huge_receipts_are_invalid() {
        let keys = KeySet::generate();
        let now = Utc::now();
        for bad in ["", "x", "!!!!", &"A".repeat(MAX_RECEIPT_LEN + 1)] {
            assert!(matches!(
                Receipt::open(bad, &keys, now),
                Err(AuthError::ReceiptInvalid)
            ));
        }
    }

    #[test]
    fn a_receipt_cannot_be_opened_as_anything_else() {
        let keys = KeySet::generate();
        let sealed = receipt(Utc::now()).seal(&keys).unwrap();
        assert!(keys.open_str(b"credential", &sealed).is_err());
    }
}
