//! [`AuditStore`](auth_core::store::AuditStore) for both drivers.
//!
//! Rows come newest first by id; a page ends where `before_id` says, so
//! paging stays stable while rows are appended. The query is built with
//! only the filters given, so each shape can use its index (`at`,
//! `(user_id, id)`, `(event, id)`) instead of a generic plan of
//! `$1 IS NULL OR …` terms over a table that grows.

/// Rows per INSERT statement: 10 parameters each, far below SQLite's and
/// PostgreSQL's parameter limits.
pub(crate) const AUDIT_ROWS_PER_INSERT: usize = 200;

/// Implements `AuditStore` for a driver type with a `core: SqlCore<$db>`
/// field.
macro_rules! audit_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            #[async_trait]
            impl AuditStore for $store {
                async fn append_audit(&self, records: &[AuditRecord]) -> Result<(), AuthError> {
                    if records.is_empty() {
                        return Ok(());
                    }
                    // Multi-row INSERTs: one statement (one round trip to
                    // the driver) per chunk rather than per row.
                    let mut tx = self.core.begin("append_audit").await?;
                    for chunk in records.chunks(AUDIT_ROWS_PER_INSERT) {
                        let mut insert = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO audit_log (at, kind, event, success, duration_us, \
                             client_addr, user_id, project_id, request_id, detail) ",
                        );
                        insert.push_values(chunk, |mut row, r| {
                            row.push_bind(to_micros(r.at))
                                .push_bind(audit_kind_str(r.kind))
                                .push_bind(r.event.clone())
                                .push_bind(r.success)
                                .push_bind(r.duration_us)
                                .push_bind(r.client_addr.clone())
                                .push_bind(r.user_id.clone())
                                .push_bind(r.project_id.clone())
                                .push_bind(r.request_id.clone())
                                .push_bind(json_text(&r.detail));
                        });
                        insert
                            .build()
                            .execute(&mut *tx)
                            .await
                            .map_err(failed("append_audit"))?;
                    }
                    tx.commit().await.map_err(failed("append_audit"))
                }

                async fn query_audit(
                    &self,
                    query: &AuditQuery,
                ) -> Result<Vec<AuditRecord>, AuthError> {
                    let mut sql = sqlx::QueryBuilder::<$db>::new(
                        "SELECT id, at, kind, event, success, duration_us, client_addr, user_id, \
                         project_id, request_id, detail FROM audit_log WHERE 1 = 1",
                    );
                    if let Some(since) = query.since {
                        sql.push(" AND at >= ").push_bind(to_micros(since));
                    }
                    if let Some(until) = query.until {
                        sql.push(" AND at < ").push_bind(to_micros(until));
                    }
                    if let Some(user_id) = &query.user_id {
                        sql.push(" AND user_id = ").push_bind(user_id.as_str());
                    }
                    if let Some(event) = &query.event {
                        sql.push(" AND event = ").push_bind(event.as_str());
                    }
                    if let Some(success) = query.success {
                        sql.push(" AND success = ").push_bind(success);
                    }
                    if let Some(before_id) = query.before_id {
                        sql.push(" AND id < ").push_bind(before_id);
                    }
                    sql.push(" ORDER BY id DESC LIMIT ")
                        .push_bind(i64::from(query.limit));
                    sql.build_query_as::<AuditRow>()
                        .fetch_all(&self.core.read)
                        .await
                        .map_err(failed("query_audit"))?
                        .into_iter()
                        .map(AuditRecord::try_from)
                        .collect()
                }

                async fn prune_audit(&self, before: DateTime<Utc>) -> Result<u64, AuthError> {
                    let done = sqlx::query("DELETE FROM audit_log WHERE at < $1")
                        .bind(to_micros(before))
                        .execute(&self.core.write)
                        .await
                        .map_err(failed("prune_audit"))?;
                    Ok(done.rows_affected())
                }
            }
        };
    };
}

pub(crate) use audit_store;
