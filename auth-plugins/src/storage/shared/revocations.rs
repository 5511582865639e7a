//! [`RevocationStore`](auth_core::store::RevocationStore) for both drivers.

/// Implements `RevocationStore` for a driver type with a `core:
/// SqlCore<_>` field.
macro_rules! revocation_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            #[async_trait]
            impl RevocationStore for $store {
                async fn add_revocation(&self, event: &RevocationEvent) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO revocation_events (audit_id, audit_chain_id, user_id, \
                         project_id, domain_id, role_id, issued_before, revoked_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&event.audit_id)
                    .bind(&event.audit_chain_id)
                    .bind(&event.user_id)
                    .bind(&event.project_id)
                    .bind(&event.domain_id)
                    .bind(&event.role_id)
                    .bind(to_micros(event.issued_before))
                    .bind(to_micros(event.revoked_at))
                    .execute_revised(&self.core)
                    .await
                    .map_err(failed("add_revocation"))?;
                    Ok(())
                }

                async fn list_revocations(
                    &self,
                    since: DateTime<Utc>,
                ) -> Result<Vec<RevocationEvent>, AuthError> {
                    sqlx::query_as::<_, RevocationRow>(
                        "SELECT audit_id, audit_chain_id, user_id, project_id, domain_id, role_id, \
                         issued_before, revoked_at FROM revocation_events \
                         WHERE revoked_at >= $1 ORDER BY revoked_at, id",
                    )
                    .bind(to_micros(since))
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_revocations"))?
                    .into_iter()
                    .map(RevocationEvent::try_from)
                    .collect()
                }

                async fn token_revision(&self) -> Result<Option<i64>, AuthError> {
                    sqlx::query_scalar::<_, i64>("SELECT value FROM token_revision WHERE id = 1")
                        .fetch_one(&self.core.read)
                        .await
                        .map(Some)
                        .map_err(failed("token_revision"))
                }

                fn revision_reader(&self) -> Option<std::sync::Arc<dyn RevisionReader>> {
                    self.core.revision_reader.clone()
                }

                async fn prune_revocations(&self, before: DateTime<Utc>) -> Result<u64, AuthError> {
                    let done = sqlx::query("DELETE FROM revocation_events WHERE revoked_at < $1")
                        .bind(to_micros(before))
                        .execute(&self.core.write)
                        .await
                        .map_err(failed("prune_revocations"))?;
                    Ok(done.rows_affected())
                }
            }
        };
    };
}

pub(crate) use revocation_store;
