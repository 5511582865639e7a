//! [`CounterStore`](auth_core::store::CounterStore) for both drivers.
//!
//! Each change is one upsert whose arithmetic happens in the database, so
//! concurrent changes from any number of nodes never overwrite each other.
//! The floor is applied in the same statement with a portable `CASE`
//! (SQLite's scalar `MAX` and PostgreSQL's `GREATEST` differ).

/// Implements `CounterStore` for a driver type with a `core: SqlCore<_>`
/// field.
macro_rules! counter_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            #[async_trait]
            impl CounterStore for $store {
                async fn adjust_counter(
                    &self,
                    name: &str,
                    delta: i64,
                    floor: Option<i64>,
                ) -> Result<i64, AuthError> {
                    sqlx::query_scalar(
                        "INSERT INTO counters (name, value) \
                         VALUES ($1, CASE WHEN $3 IS NOT NULL AND $2 < $3 THEN $3 ELSE $2 END) \
                         ON CONFLICT (name) DO UPDATE SET value = \
                         CASE WHEN $3 IS NOT NULL AND counters.value + $2 < $3 THEN $3 \
                         ELSE counters.value + $2 END \
                         RETURNING value",
                    )
                    .bind(name)
                    .bind(delta)
                    .bind(floor)
                    .fetch_one(&self.core.write)
                    .await
                    .map_err(failed("adjust_counter"))
                }

                async fn reset_counter(&self, name: &str) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO counters (name, value) VALUES ($1, 0) \
                         ON CONFLICT (name) DO UPDATE SET value = 0",
                    )
                    .bind(name)
                    .execute(&self.core.write)
                    .await
                    .map_err(failed("reset_counter"))?;
                    Ok(())
                }

                async fn list_counters(&self) -> Result<Vec<Counter>, AuthError> {
                    let rows: Vec<(String, i64)> =
                        sqlx::query_as("SELECT name, value FROM counters ORDER BY name")
                            .fetch_all(&self.core.read)
                            .await
                            .map_err(failed("list_counters"))?;
                    Ok(rows
                        .into_iter()
                        .map(|(name, value)| Counter::new(name, value))
                        .collect())
                }
            }
        };
    };
}

pub(crate) use counter_store;
