//! [`HandlerStore`](auth_core::store::HandlerStore) for both drivers.

/// Implements `HandlerStore` for a driver type with a `core: SqlCore<_>`
/// field.
macro_rules! handler_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            macro_rules! select_binding {
                () => {
                    "SELECT id, name, events, module, action, options, conditions, position, \
                     ordering, active, abort_on_error FROM handler_bindings"
                };
            }

            /// Binds a binding's fields as `$1` (id) to `$11`, the order
            /// both the insert and the update use.
            fn bind_binding<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
                binding: &'q HandlerBinding,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                query
                    .bind(&binding.id)
                    .bind(&binding.name)
                    .bind(events_json(&binding.events))
                    .bind(&binding.module)
                    .bind(&binding.action)
                    .bind(json_text(&binding.options))
                    .bind(json_text(&binding.conditions))
                    .bind(position_str(binding.position))
                    .bind(i64::from(binding.ordering))
                    .bind(binding.active)
                    .bind(binding.abort_on_error)
            }

            #[async_trait]
            impl HandlerStore for $store {
                async fn create_binding(&self, binding: &HandlerBinding) -> Result<(), AuthError> {
                    bind_binding(
                        sqlx::query(
                            "INSERT INTO handler_bindings (id, name, events, module, action, \
                             options, conditions, position, ordering, active, abort_on_error) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                        ),
                        binding,
                    )
                    .execute(&self.core.write)
                    .await
                    .map_err(write_failed("create_binding", "binding", || {
                        format!("handler binding '{}'", binding.name)
                    }))?;
                    Ok(())
                }

                async fn get_binding(&self, id: &str) -> Result<HandlerBinding, AuthError> {
                    sqlx::query_as::<_, BindingRow>(concat!(select_binding!(), " WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.core.read)
                        .await
                        .map_err(failed("get_binding"))?
                        .ok_or_else(|| not_found("handler binding", id))?
                        .try_into()
                }

                async fn list_bindings(&self) -> Result<Vec<HandlerBinding>, AuthError> {
                    sqlx::query_as::<_, BindingRow>(concat!(
                        select_binding!(),
                        " ORDER BY ordering, name"
                    ))
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_bindings"))?
                    .into_iter()
                    .map(HandlerBinding::try_from)
                    .collect()
                }

                async fn update_binding(&self, binding: &HandlerBinding) -> Result<(), AuthError> {
                    let done = bind_binding(
                        sqlx::query(
                            "UPDATE handler_bindings SET name = $2, events = $3, module = $4, \
                             action = $5, options = $6, conditions = $7, position = $8, \
                             ordering = $9, active = $10, abort_on_error = $11 WHERE id = $1",
                        ),
                        binding,
                    )
                    .execute(&self.core.write)
                    .await
                    .map_err(write_failed("update_binding", "binding", || {
                        format!("handler binding '{}'", binding.name)
                    }))?;
                    found(done.rows_affected(), || not_found("handler binding", &binding.id))
                }

                async fn delete_binding(&self, id: &str) -> Result<(), AuthError> {
                    self.delete_row(
                        "delete_binding",
                        "DELETE FROM handler_bindings WHERE id = $1",
                        "handler binding",
                        id,
                    )
                    .await
                }
            }
        };
    };
}

pub(crate) use handler_store;
