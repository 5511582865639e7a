//! [`DocumentStore`](auth_core::store::DocumentStore) for both drivers.

/// Implements `DocumentStore` for a driver type with a `core: SqlCore<_>`
/// field.
macro_rules! document_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            #[async_trait]
            impl DocumentStore for $store {
                async fn put_document(
                    &self,
                    collection: &str,
                    id: &str,
                    body: &serde_json::Value,
                    at: DateTime<Utc>,
                ) -> Result<bool, AuthError> {
                    // `xmax = 0`-style tricks differ between the two
                    // databases; an insert that does nothing tells as well.
                    let inserted = sqlx::query(
                        "INSERT INTO documents (collection, id, body, updated_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (collection, id) DO NOTHING",
                    )
                    .bind(collection)
                    .bind(id)
                    .bind(json_text(body))
                    .bind(to_micros(at))
                    .execute(&self.core.write)
                    .await
                    .map_err(failed("put_document"))?
                    .rows_affected();
                    if inserted == 1 {
                        return Ok(true);
                    }
                    sqlx::query(
                        "UPDATE documents SET body = $3, updated_at = $4 \
                         WHERE collection = $1 AND id = $2",
                    )
                    .bind(collection)
                    .bind(id)
                    .bind(json_text(body))
                    .bind(to_micros(at))
                    .execute(&self.core.write)
                    .await
                    .map_err(failed("put_document"))?;
                    Ok(false)
                }

                async fn get_document(
                    &self,
                    collection: &str,
                    id: &str,
                ) -> Result<Option<serde_json::Value>, AuthError> {
                    sqlx::query_scalar::<_, String>(
                        "SELECT body FROM documents WHERE collection = $1 AND id = $2",
                    )
                    .bind(collection)
                    .bind(id)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("get_document"))?
                    .map(|text| json_value(&text, "document"))
                    .transpose()
                }

                async fn list_documents(
                    &self,
                    collection: &str,
                ) -> Result<Vec<(String, serde_json::Value)>, AuthError> {
                    let rows = sqlx::query_as::<_, (String, String)>(
                        "SELECT id, body FROM documents WHERE collection = $1 ORDER BY id",
                    )
                    .bind(collection)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_documents"))?;
                    rows.into_iter()
                        .map(|(id, text)| Ok((id, json_value(&text, "document")?)))
                        .collect()
                }

                async fn delete_document(
                    &self,
                    collection: &str,
                    id: &str,
                ) -> Result<bool, AuthError> {
                    let done =
                        sqlx::query("DELETE FROM documents WHERE collection = $1 AND id = $2")
                            .bind(collection)
                            .bind(id)
                            .execute(&self.core.write)
                            .await
                            .map_err(failed("delete_document"))?;
                    Ok(done.rows_affected() > 0)
                }
            }
        };
    };
}

pub(crate) use document_store;
