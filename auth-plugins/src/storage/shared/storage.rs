//! The whole [`Storage`](auth_core::store::Storage) for a driver: every role
//! trait plus migration and health.

/// Implements every store trait and `Storage` for a driver type with a
/// `core: SqlCore<$db>` field, whose migrations are `$migrator`.
macro_rules! sql_store {
    ($store:ty, $db:ty, backend = $backend:literal, migrator = $migrator:expr) => {
        $crate::storage::shared::user_store!($store, $db);
        $crate::storage::shared::password_store!($store, $db);
        $crate::storage::shared::assignment_store!($store, $db);
        $crate::storage::shared::credential_store!($store, $db);
        $crate::storage::shared::catalog_store!($store, $db);
        $crate::storage::shared::revocation_store!($store, $db);
        $crate::storage::shared::key_store!($store, $db);
        $crate::storage::shared::audit_store!($store, $db);
        $crate::storage::shared::handler_store!($store, $db);
        $crate::storage::shared::counter_store!($store, $db);
        $crate::storage::shared::imaging_store!($store, $db);
        $crate::storage::shared::document_store!($store, $db);
        $crate::storage::shared::trust_store!($store, $db);
        $crate::storage::shared::oauth1_store!($store, $db);

        const _: () = {
            use $crate::storage::shared::prelude::*;

            impl $store {
                /// Deletes the row `sql` (a `DELETE … WHERE id = $1`) names;
                /// not-found, naming `kind` and `id`, if there was none. Every
                /// delete moves the token revision: most deleted things
                /// (users, projects, roles, groups, application credentials)
                /// change validations, and the rest are rare.
                async fn delete_row(
                    &self,
                    operation: &'static str,
                    sql: &'static str,
                    kind: &str,
                    id: &str,
                ) -> Result<(), AuthError> {
                    let done = sqlx::query(sql)
                        .bind(id)
                        .execute_revised(&self.core)
                        .await
                        .map_err(failed(operation))?;
                    found(done.rows_affected(), || not_found(kind, id))
                }

                /// Closes every connection (on SQLite, checkpointing the WAL
                /// into the main file).
                pub async fn close(&self) {
                    self.core.close().await;
                }
            }

            impl<'q> ExecuteRevised<$db>
                for sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>
            {
                async fn execute_revised(
                    self,
                    core: &SqlCore<$db>,
                ) -> Result<<$db as sqlx::Database>::QueryResult, sqlx::Error> {
                    let mut tx = core.write.begin_with(core.begin_write).await?;
                    let done = self.execute(&mut *tx).await?;
                    if done.rows_affected() > 0 {
                        sqlx::query(BUMP_TOKEN_REVISION).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(done)
                }
            }

            #[async_trait]
            impl Storage for $store {
                fn backend(&self) -> &'static str {
                    $backend
                }

                async fn migrate(&self) -> Result<(), AuthError> {
                    // sqlx records applied versions and runs only the rest,
                    // each in a transaction, so this is idempotent.
                    $migrator
                        .run(&self.core.write)
                        .await
                        .map_err(migration_failed)?;
                    sqlx::query(
                        "INSERT INTO domains (id, name, description, enabled) \
                         VALUES ($1, $2, $3, TRUE) ON CONFLICT DO NOTHING",
                    )
                    .bind(DEFAULT_DOMAIN_ID)
                    .bind(DEFAULT_DOMAIN_NAME)
                    .bind("The default domain")
                    .execute(&self.core.write)
                    .await
                    .map_err(failed("migrate"))?;
                    Ok(())
                }

                async fn health(&self) -> Result<(), AuthError> {
                    let applied: Vec<i64> =
                        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                            .fetch_all(&self.core.read)
                            .await
                            .map_err(failed("health"))?;
                    sqlx::query("SELECT 1")
                        .execute(&self.core.write)
                        .await
                        .map_err(failed("health"))?;
                    let known: Vec<i64> = $migrator.iter().map(|m| m.version).collect();
                    let applied: Vec<i64> =
                        applied.into_iter().filter(|v| known.contains(v)).collect();
                    schema_state(&applied, &known)
                }

                async fn schema(&self) -> Result<(), AuthError> {
                    let applied: Vec<i64> = match sqlx::query_scalar(
                        "SELECT version FROM _sqlx_migrations WHERE success",
                    )
                    .fetch_all(&self.core.read)
                    .await
                    {
                        Ok(applied) => applied,
                        // No migration table (SQLite's generic error, or
                        // PostgreSQL's undefined_table): nothing applied.
                        Err(sqlx::Error::Database(e))
                            if matches!(e.code().as_deref(), Some("1" | "42P01")) =>
                        {
                            Vec::new()
                        }
                        Err(e) => return Err(failed("schema")(e)),
                    };
                    let known: Vec<i64> = $migrator.iter().map(|m| m.version).collect();
                    schema_state(&applied, &known)
                }
            }
        };
    };
}

pub(crate) use sql_store;

/// Compares the applied migration versions with the ones this binary
/// embeds, so `doctor` (and `/healthz`) name which of the two is behind: a
/// schema the binary does not know means the binary is the older one, and
/// only upgrading it helps (`migrate` cannot go back).
pub(crate) fn schema_state(applied: &[i64], known: &[i64]) -> Result<(), auth_core::AuthError> {
    if let Some(unknown) = applied.iter().filter(|v| !known.contains(v)).max() {
        return Err(auth_core::AuthError::StoreUnavailable(format!(
            "the database schema is at version {unknown}, which this binary does not know: \
             this binary is older than the database: upgrade it"
        )));
    }
    let missing = known.iter().filter(|v| !applied.contains(v)).count();
    if missing > 0 {
        let at = applied.iter().max().copied().unwrap_or(0);
        let needed = known.iter().max().copied().unwrap_or(0);
        return Err(auth_core::AuthError::StoreUnavailable(format!(
            "the database schema is at version {at}, this binary needs {needed} \
             ({missing} migration(s) to apply): run `auth-server migrate`"
        )));
    }
    Ok(())
}

/// The name `migrate` gives the default domain (Keystone's).
pub(crate) const DEFAULT_DOMAIN_NAME: &str = "Default";

/// The 503 of a failed migration. Version problems are named (an operator
/// needs them); anything else is classed like any other failure, since a
/// failed statement's message could quote data.
pub(crate) fn migration_failed(e: sqlx::migrate::MigrateError) -> auth_core::AuthError {
    use sqlx::migrate::MigrateError;
    match e {
        MigrateError::VersionMissing(v) => auth_core::AuthError::StoreUnavailable(format!(
            "the database schema has version {v}, which this binary does not know (a newer \
             build migrated it): this binary is older than the database: upgrade it"
        )),
        MigrateError::VersionMismatch(v) => auth_core::AuthError::StoreUnavailable(format!(
            "migrate failed: version {v} was applied from a different file"
        )),
        MigrateError::Dirty(v) => auth_core::AuthError::StoreUnavailable(format!(
            "migrate failed: version {v} was left partly applied"
        )),
        MigrateError::Execute(e) => super::error::unavailable("migrate", &e),
        _ => auth_core::AuthError::StoreUnavailable("migrate failed".to_owned()),
    }
}
