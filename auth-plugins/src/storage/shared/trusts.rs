//! [`TrustStore`](auth_core::store::TrustStore) for both drivers: trusts
//! and their delegated roles.

/// Implements `TrustStore` for a driver type with a `core: SqlCore<_>`
/// field.
macro_rules! trust_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            /// The two queries that read the trusts chosen by `$cond` (on
            /// `trusts`, with `$1` and `$2` bound): the trusts, their roles.
            macro_rules! trust_queries {
                ($cond:literal) => {
                    [
                        concat!(
                            "SELECT id, trustor_user_id, trustee_user_id, project_id, \
                             impersonation, expires_at, remaining_uses, redelegated_trust_id, \
                             redelegation_count, created_at FROM trusts WHERE ",
                            $cond,
                            " ORDER BY id"
                        ),
                        concat!(
                            "SELECT trust_id, role_id FROM trust_roles WHERE trust_id \
                             IN (SELECT id FROM trusts WHERE ",
                            $cond,
                            ") ORDER BY trust_id, position"
                        ),
                    ]
                };
            }

            impl $store {
                /// The trusts `queries` select, with `$1` and `$2` bound,
                /// read in one transaction so that a concurrent delete
                /// cannot leave roles missing.
                async fn load_trusts(
                    &self,
                    operation: &'static str,
                    queries: [&'static str; 2],
                    first: Option<&str>,
                    second: Option<&str>,
                ) -> Result<Vec<Trust>, AuthError> {
                    let mut tx = self.core.read.begin().await.map_err(failed(operation))?;
                    let [trusts, roles] = queries;
                    let trusts = sqlx::query_as::<_, TrustRow>(trusts)
                        .bind(first)
                        .bind(second)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(failed(operation))?;
                    if trusts.is_empty() {
                        return Ok(Vec::new());
                    }
                    let roles = sqlx::query_as::<_, TrustRoleRow>(roles)
                        .bind(first)
                        .bind(second)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(failed(operation))?;
                    assemble_trusts(trusts, roles)
                }
            }

            #[async_trait]
            impl TrustStore for $store {
                async fn create_trust(&self, trust: &Trust) -> Result<(), AuthError> {
                    let what = || format!("trust {}", trust.id);
                    let refers = "trustor, trustee, project or redelegated trust";
                    let mut tx = self.core.begin("create_trust").await?;
                    sqlx::query(
                        "INSERT INTO trusts (id, trustor_user_id, trustee_user_id, project_id, \
                         impersonation, expires_at, remaining_uses, redelegated_trust_id, \
                         redelegation_count, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(&trust.id)
                    .bind(&trust.trustor_user_id)
                    .bind(&trust.trustee_user_id)
                    .bind(trust.project_id.as_deref())
                    .bind(trust.impersonation)
                    .bind(to_micros_opt(trust.expires_at))
                    .bind(trust.remaining_uses)
                    .bind(trust.redelegated_trust_id.as_deref())
                    .bind(trust.redelegation_count)
                    .bind(to_micros(trust.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(write_failed("create_trust", refers, what))?;
                    for (position, role_id) in (0_i64..).zip(&trust.role_ids) {
                        sqlx::query(
                            "INSERT INTO trust_roles (trust_id, role_id, position) \
                             VALUES ($1, $2, $3) ON CONFLICT (trust_id, role_id) DO NOTHING",
                        )
                        .bind(&trust.id)
                        .bind(role_id)
                        .bind(position)
                        .execute(&mut *tx)
                        .await
                        .map_err(write_failed("create_trust", refers, what))?;
                    }
                    tx.commit().await.map_err(failed("create_trust"))
                }

                async fn get_trust(&self, id: &str) -> Result<Trust, AuthError> {
                    self.load_trusts(
                        "get_trust",
                        trust_queries!("id = $1 AND ($2 IS NULL OR id = $2)"),
                        Some(id),
                        None,
                    )
                    .await?
                    .pop()
                    .ok_or_else(|| not_found("trust", id))
                }

                async fn list_trusts(
                    &self,
                    trustor_user_id: Option<&str>,
                    trustee_user_id: Option<&str>,
                ) -> Result<Vec<Trust>, AuthError> {
                    self.load_trusts(
                        "list_trusts",
                        trust_queries!(
                            "($1 IS NULL OR trustor_user_id = $1) \
                             AND ($2 IS NULL OR trustee_user_id = $2)"
                        ),
                        trustor_user_id,
                        trustee_user_id,
                    )
                    .await
                }

                async fn delete_trust(&self, id: &str) -> Result<(), AuthError> {
                    // The trusts redelegated from it go by their foreign key.
                    self.delete_row(
                        "delete_trust",
                        "DELETE FROM trusts WHERE id = $1",
                        "trust",
                        id,
                    )
                    .await
                }

                async fn consume_trust_use(&self, id: &str) -> Result<(), AuthError> {
                    // One statement: two nodes cannot both take the last use.
                    let done = sqlx::query(
                        "UPDATE trusts SET remaining_uses = remaining_uses - 1 \
                         WHERE id = $1 AND remaining_uses > 0",
                    )
                    .bind(id)
                    .execute(&self.core.write)
                    .await
                    .map_err(failed("consume_trust_use"))?;
                    if done.rows_affected() == 1 {
                        return Ok(());
                    }
                    // Unlimited (nothing to take), or missing, or used up.
                    let unlimited = sqlx::query_scalar::<_, i64>(
                        "SELECT COUNT(*) FROM trusts WHERE id = $1 AND remaining_uses IS NULL",
                    )
                    .bind(id)
                    .fetch_one(&self.core.write)
                    .await
                    .map_err(failed("consume_trust_use"))?;
                    found(u64::try_from(unlimited).unwrap_or(0), || not_found("trust", id))
                }
            }
        };
    };
}

pub(crate) use trust_store;
