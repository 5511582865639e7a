//! [`ImagingStore`](auth_core::store::ImagingStore) for both drivers.
//!
//! Settings are upserts; a share token is found by the hex of its digest
//! (a unique column, so an index lookup). The two writes that change what
//! a token may do (a setting replaced, a share token deleted) move the
//! token revision in their own transaction.

/// Implements `ImagingStore` for a driver type with a `core: SqlCore<_>`
/// field.
macro_rules! imaging_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            macro_rules! select_share_token {
                () => {
                    "SELECT id, digest, token_type, resources, server_id, created_by, \
                     created_at, expires_at FROM share_tokens"
                };
            }

            #[async_trait]
            impl ImagingStore for $store {
                async fn get_setting(
                    &self,
                    key: &str,
                ) -> Result<Option<serde_json::Value>, AuthError> {
                    sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1")
                        .bind(key)
                        .fetch_optional(&self.core.read)
                        .await
                        .map_err(failed("get_setting"))?
                        .map(|text| json_value(&text, "setting"))
                        .transpose()
                }

                async fn put_setting(
                    &self,
                    key: &str,
                    value: &serde_json::Value,
                    at: DateTime<Utc>,
                ) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (key) DO UPDATE SET value = $2, updated_at = $3",
                    )
                    .bind(key)
                    .bind(json_text(value))
                    .bind(to_micros(at))
                    .execute_revised(&self.core)
                    .await
                    .map_err(failed("put_setting"))?;
                    Ok(())
                }

                async fn create_share_token(&self, token: &ShareToken) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO share_tokens (id, digest, token_type, resources, server_id, \
                         created_by, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&token.id)
                    .bind(digest_hex(&token.digest))
                    .bind(&token.token_type)
                    .bind(json_text(&token.resources))
                    .bind(&token.server_id)
                    .bind(&token.created_by)
                    .bind(to_micros(token.created_at))
                    .bind(to_micros_opt(token.expires_at))
                    .execute(&self.core.write)
                    .await
                    .map_err(write_failed(
                        "create_share_token",
                        "share token",
                        || format!("share token {}", token.id),
                    ))?;
                    Ok(())
                }

                async fn find_share_token(
                    &self,
                    digest: &[u8; 32],
                ) -> Result<ShareToken, AuthError> {
                    sqlx::query_as::<_, ShareTokenRow>(concat!(
                        select_share_token!(),
                        " WHERE digest = $1"
                    ))
                    .bind(digest_hex(digest))
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("find_share_token"))?
                    // The digest is no secret, but it is no name either.
                    .ok_or_else(|| AuthError::NotFound {
                        what: "share token".to_owned(),
                    })?
                    .try_into()
                }

                async fn get_share_token(&self, id: &str) -> Result<ShareToken, AuthError> {
                    sqlx::query_as::<_, ShareTokenRow>(concat!(
                        select_share_token!(),
                        " WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("get_share_token"))?
                    .ok_or_else(|| not_found("share token", id))?
                    .try_into()
                }

                async fn list_share_tokens(&self) -> Result<Vec<ShareToken>, AuthError> {
                    sqlx::query_as::<_, ShareTokenRow>(concat!(
                        select_share_token!(),
                        " ORDER BY created_at, id"
                    ))
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_share_tokens"))?
                    .into_iter()
                    .map(ShareToken::try_from)
                    .collect()
                }

                async fn delete_share_token(&self, id: &str) -> Result<(), AuthError> {
                    self.delete_row(
                        "delete_share_token",
                        "DELETE FROM share_tokens WHERE id = $1",
                        "share token",
                        id,
                    )
                    .await
                }

                async fn prune_share_tokens(
                    &self,
                    before: DateTime<Utc>,
                ) -> Result<u64, AuthError> {
                    // An expired token is refused by its `expires_at`
                    // already, so removing it changes no answer: no
                    // revision move.
                    let done = sqlx::query(
                        "DELETE FROM share_tokens \
                         WHERE expires_at IS NOT NULL AND expires_at < $1",
                    )
                    .bind(to_micros(before))
                    .execute(&self.core.write)
                    .await
                    .map_err(failed("prune_share_tokens"))?;
                    Ok(done.rows_affected())
                }
            }
        };
    };
}

pub(crate) use imaging_store;
