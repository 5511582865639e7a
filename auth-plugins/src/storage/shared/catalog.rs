//! [`CatalogStore`](auth_core::store::CatalogStore) for both drivers.
//!
//! Every write moves the token revision in its transaction (the catalog is
//! in token bodies). A write whose validity depends on other rows (an
//! endpoint's region, a region's parent, the regions below a deleted one)
//! writes first, then moves the revision, then checks: the order every
//! write takes its locks in, and holding the revision row serializes
//! catalog writers, so the check sees every write committed before.

/// The columns of a service, an endpoint, a region and an endpoint group.
macro_rules! catalog_select {
    (service) => {
        "SELECT id, kind, name, enabled, extra FROM services"
    };
    (endpoint) => {
        "SELECT id, service_id, interface, region, url, enabled, extra FROM endpoints"
    };
    (region) => {
        "SELECT id, description, parent_region_id, extra FROM regions"
    };
    (group) => {
        "SELECT id, name, description, filters FROM endpoint_groups"
    };
}

pub(crate) use catalog_select;

/// Implements `CatalogStore` for a driver type with a `core: SqlCore<_>`
/// field.
macro_rules! catalog_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            type Tx = sqlx::Transaction<'static, $db>;

            async fn bump(tx: &mut Tx, operation: &'static str) -> Result<(), AuthError> {
                sqlx::query(BUMP_TOKEN_REVISION)
                    .execute(&mut **tx)
                    .await
                    .map_err(failed(operation))?;
                Ok(())
            }

            async fn regions_in(
                tx: &mut Tx,
                operation: &'static str,
            ) -> Result<Vec<Region>, AuthError> {
                sqlx::query_as::<_, RegionRow>(catalog_select!(region))
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(failed(operation))?
                    .into_iter()
                    .map(Region::try_from)
                    .collect()
            }

            /// That `region_id` (if any) names a region, read in `tx`.
            async fn region_exists(
                tx: &mut Tx,
                operation: &'static str,
                region_id: Option<&str>,
            ) -> Result<(), AuthError> {
                let Some(region_id) = region_id else {
                    return Ok(());
                };
                let found: Option<(String,)> =
                    sqlx::query_as("SELECT id FROM regions WHERE id = $1")
                        .bind(region_id)
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(failed(operation))?;
                match found {
                    Some(_) => Ok(()),
                    None => Err(not_found("region", region_id)),
                }
            }

            #[async_trait]
            impl CatalogStore for $store {
                async fn create_service(&self, service: &Service) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO services (id, kind, name, enabled, extra) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&service.id)
                    .bind(&service.kind)
                    .bind(&service.name)
                    .bind(service.enabled)
                    .bind(extra_json(&service.extra))
                    .execute_revised(&self.core)
                    .await
                    .map_err(write_failed("create_service", "service", || {
                        format!("service {}", service.id)
                    }))?;
                    Ok(())
                }

                async fn list_services(&self) -> Result<Vec<Service>, AuthError> {
                    sqlx::query_as::<_, ServiceRow>(concat!(
                        catalog_select!(service),
                        " ORDER BY kind, name, id"
                    ))
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_services"))?
                    .into_iter()
                    .map(Service::try_from)
                    .collect()
                }

                async fn get_service(&self, id: &str) -> Result<Service, AuthError> {
                    sqlx::query_as::<_, ServiceRow>(concat!(
                        catalog_select!(service),
                        " WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("get_service"))?
                    .ok_or_else(|| not_found("service", id))
                    .and_then(Service::try_from)
                }

                async fn update_service(&self, service: &Service) -> Result<(), AuthError> {
                    let done = sqlx::query(
                        "UPDATE services SET kind = $2, name = $3, enabled = $4, extra = $5 \
                         WHERE id = $1",
                    )
                    .bind(&service.id)
                    .bind(&service.kind)
                    .bind(&service.name)
                    .bind(service.enabled)
                    .bind(extra_json(&service.extra))
                    .execute_revised(&self.core)
                    .await
                    .map_err(failed("update_service"))?;
                    found(done.rows_affected(), || not_found("service", &service.id))
                }

                async fn delete_service(&self, id: &str) -> Result<(), AuthError> {
                    // Its endpoints go with it (ON DELETE CASCADE), and
                    // their project associations with them.
                    let done = sqlx::query("DELETE FROM services WHERE id = $1")
                        .bind(id)
                        .execute_revised(&self.core)
                        .await
                        .map_err(failed("delete_service"))?;
                    found(done.rows_affected(), || not_found("service", id))
                }

                async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), AuthError> {
                    const OPERATION: &str = "create_endpoint";
                    let mut tx = self.core.begin(OPERATION).await?;
                    sqlx::query(
                        "INSERT INTO endpoints \
                         (id, service_id, interface, region, url, enabled, extra) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&endpoint.id)
                    .bind(&endpoint.service_id)
                    .bind(&endpoint.interface)
                    .bind(&endpoint.region)
                    .bind(&endpoint.url)
                    .bind(endpoint.enabled)
                    .bind(extra_json(&endpoint.extra))
                    .execute(&mut *tx)
                    .await
                    .map_err(write_failed(OPERATION, "service", || {
                        format!("endpoint {}", endpoint.id)
                    }))?;
                    bump(&mut tx, OPERATION).await?;
                    region_exists(&mut tx, OPERATION, endpoint.region.as_deref()).await?;
                    tx.commit().await.map_err(failed(OPERATION))
                }

                async fn list_endpoints(&self) -> Result<Vec<Endpoint>, AuthError> {
                    sqlx::query_as::<_, EndpointRow>(concat!(
                        catalog_select!(endpoint),
                        " ORDER BY service_id, interface, id"
                    ))
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_endpoints"))?
                    .into_iter()
                    .map(Endpoint::try_from)
                    .collect()
                }

                async fn get_endpoint(&self, id: &str) -> Result<Endpoint, AuthError> {
                    sqlx::query_as::<_, EndpointRow>(concat!(
                        catalog_select!(endpoint),
                        " WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("get_endpoint"))?
                    .ok_or_else(|| not_found("endpoint", id))
                    .and_then(Endpoint::try_from)
                }

                async fn update_endpoint(&self, endpoint: &Endpoint) -> Result<(), AuthError> {
                    const OPERATION: &str = "update_endpoint";
                    let mut tx = self.core.begin(OPERATION).await?;
                    let done = sqlx::query(
                        "UPDATE endpoints SET service_id = $2, interface = $3, region = $4, \
                         url = $5, enabled = $6, extra = $7 WHERE id = $1",
                    )
                    .bind(&endpoint.id)
                    .bind(&endpoint.service_id)
                    .bind(&endpoint.interface)
                    .bind(&endpoint.region)
                    .bind(&endpoint.url)
                    .bind(endpoint.enabled)
                    .bind(extra_json(&endpoint.extra))
                    .execute(&mut *tx)
                    .await
                    .map_err(write_failed(OPERATION, "service", || {
                        format!("endpoint {}", endpoint.id)
                    }))?;
                    found(done.rows_affected(), || not_found("endpoint", &endpoint.id))?;
                    bump(&mut tx, OPERATION).await?;
                    region_exists(&mut tx, OPERATION, endpoint.region.as_deref()).await?;
                    tx.commit().await.map_err(failed(OPERATION))
                }

                async fn delete_endpoint(&self, id: &str) -> Result<(), AuthError> {
                    let done = sqlx::query("DELETE FROM endpoints WHERE id = $1")
                        .bind(id)
                        .execute_revised(&self.core)
                        .await
                        .map_err(failed("delete_endpoint"))?;
                    found(done.rows_affected(), || not_found("endpoint", id))
                }

                async fn create_region(&self, region: &Region) -> Result<(), AuthError> {
                    const OPERATION: &str = "create_region";
                    let mut tx = self.core.begin(OPERATION).await?;
                    sqlx::query(
                        "INSERT INTO regions (id, description, parent_region_id, extra) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&region.id)
                    .bind(&region.description)
                    .bind(&region.parent_region_id)
                    .bind(extra_json(&region.extra))
                    .execute(&mut *tx)
                    .await
                    .map_err(write_failed(OPERATION, "region", || {
                        format!("region {}", region.id)
                    }))?;
                    bump(&mut tx, OPERATION).await?;
                    // A region cannot be its own parent: it did not exist.
                    if let Some(parent) = &region.parent_region_id {
                        if *parent == region.id {
                            return Err(not_found("region", parent));
                        }
                        region_exists(&mut tx, OPERATION, Some(parent)).await?;
                    }
                    tx.commit().await.map_err(failed(OPERATION))
                }

                async fn get_region(&self, id: &str) -> Result<Region, AuthError> {
                    sqlx::query_as::<_, RegionRow>(concat!(
                        catalog_select!(region),
                        " WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("get_region"))?
                    .ok_or_else(|| not_found("region", id))
                    .and_then(Region::try_from)
                }

                async fn list_regions(&self) -> Result<Vec<Region>, AuthError> {
                    sqlx::query_as::<_, RegionRow>(concat!(catalog_select!(region), " ORDER BY id"))
                        .fetch_all(&self.core.read)
                        .await
                        .map_err(failed("list_regions"))?
                        .into_iter()
                        .map(Region::try_from)
                        .collect()
                }

                async fn update_region(&self, region: &Region) -> Result<(), AuthError> {
                    const OPERATION: &str = "update_region";
                    let mut tx = self.core.begin(OPERATION).await?;
                    let done = sqlx::query(
                        "UPDATE regions SET description = $2, parent_region_id = $3, \
                         extra = $4 WHERE id = $1",
                    )
                    .bind(&region.id)
                    .bind(&region.description)
                    .bind(&region.parent_region_id)
                    .bind(extra_json(&region.extra))
                    .execute(&mut *tx)
                    .await
                    .map_err(failed(OPERATION))?;
                    found(done.rows_affected(), || not_found("region", &region.id))?;
                    bump(&mut tx, OPERATION).await?;
                    if let Some(parent) = &region.parent_region_id {
                        let regions = regions_in(&mut tx, OPERATION).await?;
                        auth_core::store::check_region_parent(&regions, &region.id, parent)?;
                    }
                    tx.commit().await.map_err(failed(OPERATION))
                }

                async fn delete_region(&self, id: &str) -> Result<(), AuthError> {
                    const OPERATION: &str = "delete_region";
                    let mut tx = self.core.begin(OPERATION).await?;
                    // Taking the revision row first serializes catalog
                    // writers, so the tree read next is current.
                    bump(&mut tx, OPERATION).await?;
                    let regions = regions_in(&mut tx, OPERATION).await?;
                    if !regions.iter().any(|r| r.id == id) {
                        return Err(not_found("region", id));
                    }
                    let subtree = auth_core::store::region_subtree(&regions, id);
                    let used: Vec<(Option<String>,)> = sqlx::query_as(
                        "SELECT DISTINCT region FROM endpoints WHERE region IS NOT NULL",
                    )
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(failed(OPERATION))?;
                    if used
                        .iter()
                        .filter_map(|(r,)| r.as_deref())
                        .any(|r| subtree.iter().any(|s| s == r))
                    {
                        return Err(AuthError::Forbidden(format!(
                            "Unable to delete region {id} because it or its child regions \
                             have associated endpoints."
                        )));
                    }
                    for region_id in &subtree {
                        sqlx::query("DELETE FROM regions WHERE id = $1")
                            .bind(region_id)
                            .execute(&mut *tx)
                            .await
                            .map_err(failed(OPERATION))?;
                    }
                    tx.commit().await.map_err(failed(OPERATION))
                }

                async fn add_project_endpoint(
                    &self,
                    link: &ProjectAssociation,
                ) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO project_endpoints (endpoint_id, project_id) VALUES ($1, $2)",
                    )
                    .bind(&link.id)
                    .bind(&link.project_id)
                    .execute_revised(&self.core)
                    .await
                    .map_err(write_failed(
                        "add_project_endpoint",
                        "endpoint or project",
                        || format!("project_endpoint {} {}", link.id, link.project_id),
                    ))?;
                    Ok(())
                }

                async fn remove_project_endpoint(
                    &self,
                    link: &ProjectAssociation,
                ) -> Result<(), AuthError> {
                    let done = sqlx::query(
                        "DELETE FROM project_endpoints WHERE endpoint_id = $1 AND project_id = $2",
                    )
                    .bind(&link.id)
                    .bind(&link.project_id)
                    .execute_revised(&self.core)
                    .await
                    .map_err(failed("remove_project_endpoint"))?;
                    found(done.rows_affected(), || AuthError::NotFound {
                        what: format!("endpoint {} in project {}", link.id, link.project_id),
                    })
                }

                async fn list_project_endpoints(
                    &self,
                ) -> Result<Vec<ProjectAssociation>, AuthError> {
                    let rows = sqlx::query_as::<_, AssociationRow>(
                        "SELECT endpoint_id AS id, project_id FROM project_endpoints \
                         ORDER BY project_id, endpoint_id",
                    )
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_project_endpoints"))?;
                    Ok(rows.into_iter().map(ProjectAssociation::from).collect())
                }

                async fn create_endpoint_group(
                    &self,
                    group: &EndpointGroup,
                ) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO endpoint_groups (id, name, description, filters) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&group.id)
                    .bind(&group.name)
                    .bind(&group.description)
                    .bind(extra_json(&group.filters))
                    .execute_revised(&self.core)
                    .await
                    .map_err(write_failed(
                        "create_endpoint_group",
                        "endpoint group",
                        || format!("endpoint_group {}", group.id),
                    ))?;
                    Ok(())
                }

                async fn get_endpoint_group(&self, id: &str) -> Result<EndpointGroup, AuthError> {
                    sqlx::query_as::<_, EndpointGroupRow>(concat!(
                        catalog_select!(group),
                        " WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("get_endpoint_group"))?
                    .ok_or_else(|| not_found("endpoint group", id))
                    .and_then(EndpointGroup::try_from)
                }

                async fn list_endpoint_groups(&self) -> Result<Vec<EndpointGroup>, AuthError> {
                    sqlx::query_as::<_, EndpointGroupRow>(concat!(
                        catalog_select!(group),
                        " ORDER BY name, id"
                    ))
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_endpoint_groups"))?
                    .into_iter()
                    .map(EndpointGroup::try_from)
                    .collect()
                }

                async fn update_endpoint_group(
                    &self,
                    group: &EndpointGroup,
                ) -> Result<(), AuthError> {
                    let done = sqlx::query(
                        "UPDATE endpoint_groups SET name = $2, description = $3, filters = $4 \
                         WHERE id = $1",
                    )
                    .bind(&group.id)
                    .bind(&group.name)
                    .bind(&group.description)
                    .bind(extra_json(&group.filters))
                    .execute_revised(&self.core)
                    .await
                    .map_err(failed("update_endpoint_group"))?;
                    found(done.rows_affected(), || {
                        not_found("endpoint group", &group.id)
                    })
                }

                async fn delete_endpoint_group(&self, id: &str) -> Result<(), AuthError> {
                    let done = sqlx::query("DELETE FROM endpoint_groups WHERE id = $1")
                        .bind(id)
                        .execute_revised(&self.core)
                        .await
                        .map_err(failed("delete_endpoint_group"))?;
                    found(done.rows_affected(), || not_found("endpoint group", id))
                }

                async fn add_project_endpoint_group(
                    &self,
                    link: &ProjectAssociation,
                ) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO project_endpoint_groups (endpoint_group_id, project_id) \
                         VALUES ($1, $2)",
                    )
                    .bind(&link.id)
                    .bind(&link.project_id)
                    .execute_revised(&self.core)
                    .await
                    .map_err(write_failed(
                        "add_project_endpoint_group",
                        "endpoint group or project",
                        || format!("project_endpoint_group {} {}", link.id, link.project_id),
                    ))?;
                    Ok(())
                }

                async fn remove_project_endpoint_group(
                    &self,
                    link: &ProjectAssociation,
                ) -> Result<(), AuthError> {
                    let done = sqlx::query(
                        "DELETE FROM project_endpoint_groups \
                         WHERE endpoint_group_id = $1 AND project_id = $2",
                    )
                    .bind(&link.id)
                    .bind(&link.project_id)
                    .execute_revised(&self.core)
                    .await
                    .map_err(failed("remove_project_endpoint_group"))?;
                    found(done.rows_affected(), || AuthError::NotFound {
                        what: "Endpoint Group Project Association".to_owned(),
                    })
                }

                async fn list_project_endpoint_groups(
                    &self,
                ) -> Result<Vec<ProjectAssociation>, AuthError> {
                    let rows = sqlx::query_as::<_, AssociationRow>(
                        "SELECT endpoint_group_id AS id, project_id FROM project_endpoint_groups \
                         ORDER BY project_id, endpoint_group_id",
                    )
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_project_endpoint_groups"))?;
                    Ok(rows.into_iter().map(ProjectAssociation::from).collect())
                }
            }
        };
    };
}

pub(crate) use catalog_store;
