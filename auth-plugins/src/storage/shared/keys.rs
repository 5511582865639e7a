//! [`KeyStore`](auth_core::store::KeyStore) for both drivers.
//!
//! Saving is compare-and-set on `version`: an insert when the caller saw no
//! set (the primary key refuses a second first save), an update guarded by
//! the version the caller read otherwise. Of two nodes rotating at once,
//! one wins and the other gets a conflict and reloads.

/// Implements `KeyStore` for a driver type with a `core: SqlCore<_>` field.
macro_rules! key_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            #[async_trait]
            impl KeyStore for $store {
                async fn load_key_set(
                    &self,
                    purpose: &str,
                ) -> Result<Option<StoredKeySet>, AuthError> {
                    let row: Option<(String, i64)> =
                        sqlx::query_as("SELECT material, version FROM key_sets WHERE purpose = $1")
                            .bind(purpose)
                            .fetch_optional(&self.core.read)
                            .await
                            .map_err(failed("load_key_set"))?;
                    Ok(row.map(|(material, version)| {
                        StoredKeySet::new(SecretString::from(material), version)
                    }))
                }

                async fn save_key_set(
                    &self,
                    purpose: &str,
                    material: &SecretString,
                    expected_version: Option<i64>,
                ) -> Result<i64, AuthError> {
                    let changed = || AuthError::Conflict {
                        what: format!("key set '{purpose}' (it was changed concurrently)"),
                    };
                    let now = to_micros(Utc::now());
                    let Some(expected) = expected_version else {
                        sqlx::query(
                            "INSERT INTO key_sets (purpose, material, version, updated_at) \
                             VALUES ($1, $2, 1, $3)",
                        )
                        .bind(purpose)
                        .bind(material.expose_secret())
                        .bind(now)
                        .execute(&self.core.write)
                        .await
                        .map_err(|e| {
                            match write_failed("save_key_set", "key set", String::new)(e) {
                                AuthError::Conflict { .. } => changed(),
                                other => other,
                            }
                        })?;
                        return Ok(1);
                    };
                    sqlx::query_scalar::<_, i64>(
                        "UPDATE key_sets SET material = $2, version = version + 1, updated_at = $4 \
                         WHERE purpose = $1 AND version = $3 RETURNING version",
                    )
                    .bind(purpose)
                    .bind(material.expose_secret())
                    .bind(expected)
                    .bind(now)
                    .fetch_optional(&self.core.write)
                    .await
                    .map_err(failed("save_key_set"))?
                    .ok_or_else(changed)
                }
            }
        };
    };
}

pub(crate) use key_store;
