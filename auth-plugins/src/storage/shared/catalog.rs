//! [`CatalogStore`](auth_core::store::CatalogStore) for both drivers.

/// Implements `CatalogStore` for a driver type with a `core: SqlCore<_>`
/// field.
macro_rules! catalog_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            #[async_trait]
            impl CatalogStore for $store {
                async fn create_service(&self, service: &Service) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO services (id, kind, name, enabled) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&service.id)
                    .bind(&service.kind)
                    .bind(&service.name)
                    .bind(service.enabled)
                    .execute_revised(&self.core)
                    .await
                    .map_err(write_failed("create_service", "service", || {
                        format!("service {}", service.id)
                    }))?;
                    Ok(())
                }

                async fn list_services(&self) -> Result<Vec<Service>, AuthError> {
                    let rows = sqlx::query_as::<_, ServiceRow>(
                        "SELECT id, kind, name, enabled FROM services ORDER BY kind, name, id",
                    )
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_services"))?;
                    Ok(rows.into_iter().map(Service::from).collect())
                }

                async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO endpoints (id, service_id, interface, region, url, enabled) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&endpoint.id)
                    .bind(&endpoint.service_id)
                    .bind(&endpoint.interface)
                    .bind(&endpoint.region)
                    .bind(&endpoint.url)
                    .bind(endpoint.enabled)
                    .execute_revised(&self.core)
                    .await
                    .map_err(write_failed(
                        "create_endpoint",
                        "service of the endpoint",
                        || format!("endpoint {}", endpoint.id),
                    ))?;
                    Ok(())
                }

                async fn list_endpoints(&self) -> Result<Vec<Endpoint>, AuthError> {
                    let rows = sqlx::query_as::<_, EndpointRow>(
                        "SELECT id, service_id, interface, region, url, enabled FROM endpoints \
                         ORDER BY service_id, interface, id",
                    )
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_endpoints"))?;
                    Ok(rows.into_iter().map(Endpoint::from).collect())
                }
            }
        };
    };
}

pub(crate) use catalog_store;
