//! The service catalog: services, endpoints, regions, and OS-EP-FILTER's
//! project associations and endpoint groups, as Keystone's catalog manager
//! keeps them.
//!
//! Every write moves the token revision in the store (the catalog is in
//! token bodies), which is all a catalog change needs: every node reads
//! the catalog again at its next login or validation. Keystone writes no
//! revocation event for it either. The call's event notes the object's id
//! in its `request` attribute, and so in its audit row (`service_id`,
//! `endpoint_id`, `region_id` or `endpoint_group_id`; an association's
//! project is the event's project).

use auth_core::AuthError;
use auth_core::store::{Endpoint, EndpointGroup, ProjectAssociation, Region, Service};
use serde_json::Value;

use super::Context;

/// Notes `key: id` in the call's `request` attribute (and so in its audit
/// row).
fn note(key: &'static str, id: &str) {
    crate::events::note_request(key, Value::from(id));
}

/// Keystone's `ValidationError` for a reference to a missing row.
fn missing(attribute: &str, table: &str) -> AuthError {
    AuthError::bad_request(format!(
        "Expecting to find {attribute} in {table}. The server could not comply with the \
         request since it is either malformed or otherwise incorrect. The client is assumed \
         to be in error."
    ))
}

/// Adds a service.
pub async fn create_service(cx: &Context<'_>, service: &Service) -> Result<(), AuthError> {
    note("service_id", &service.id);
    cx.storage().create_service(service).await
}

/// Replaces a service's fields.
pub async fn update_service(cx: &Context<'_>, service: &Service) -> Result<(), AuthError> {
    note("service_id", &service.id);
    cx.storage().update_service(service).await
}

/// Deletes a service with its endpoints (and their project associations).
pub async fn delete_service(cx: &Context<'_>, id: &str) -> Result<(), AuthError> {
    note("service_id", id);
    cx.storage().delete_service(id).await
}

/// How an endpoint's region was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionGiven {
    /// As `region_id` (or not at all): it must exist.
    Id,
    /// As the legacy `region` alone: created if missing, as Keystone does
    /// for clients of the v2 habit.
    Legacy,
}

/// Checks the endpoint's service and region exist (Keystone's 400s), and
/// creates a legacy `region` that does not.
async fn check_references(
    cx: &Context<'_>,
    endpoint: &Endpoint,
    given: RegionGiven,
) -> Result<(), AuthError> {
    let storage = cx.storage();
    if let Some(region_id) = &endpoint.region {
        match storage.get_region(region_id).await {
            Ok(_) => {}
            Err(AuthError::NotFound { .. }) if given == RegionGiven::Legacy => {
                match storage.create_region(&Region::new(region_id.clone())).await {
                    Ok(()) | Err(AuthError::Conflict { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(AuthError::NotFound { .. }) => {
                return Err(missing("endpoint region_id", "region table"));
            }
            Err(e) => return Err(e),
        }
    }
    match storage.get_service(&endpoint.service_id).await {
        Ok(_) => Ok(()),
        Err(AuthError::NotFound { .. }) => Err(missing("endpoint service_id", "service table")),
        Err(e) => Err(e),
    }
}

/// A missing service or region the store found in its transaction (a
/// concurrent delete) is the same 400.
fn reference_error(e: AuthError) -> AuthError {
    match e {
        AuthError::NotFound { what } if what.starts_with("region") => {
            missing("endpoint region_id", "region table")
        }
        AuthError::NotFound { what } if what.starts_with("service") => {
            missing("endpoint service_id", "service table")
        }
        e => e,
    }
}

/// Adds an endpoint (its service and region must exist; see
/// [`RegionGiven`]).
pub async fn create_endpoint(
    cx: &Context<'_>,
    endpoint: &Endpoint,
    given: RegionGiven,
) -> Result<(), AuthError> {
    note("endpoint_id", &endpoint.id);
    check_references(cx, endpoint, given).await?;
    cx.storage()
        .create_endpoint(endpoint)
        .await
        .map_err(reference_error)
}

/// Replaces an endpoint's fields (its service and region must exist).
pub async fn update_endpoint(
    cx: &Context<'_>,
    endpoint: &Endpoint,
    given: RegionGiven,
) -> Result<(), AuthError> {
    note("endpoint_id", &endpoint.id);
    check_references(cx, endpoint, given).await?;
    cx.storage()
        .update_endpoint(endpoint)
        .await
        .map_err(|e| match e {
            AuthError::NotFound { what } if what.starts_with("endpoint") => {
                AuthError::NotFound { what }
            }
            e => reference_error(e),
        })
}

/// Deletes an endpoint and its project associations.
pub async fn delete_endpoint(cx: &Context<'_>, id: &str) -> Result<(), AuthError> {
    note("endpoint_id", id);
    cx.storage().delete_endpoint(id).await
}

/// Adds a region: a taken id is a 409 (`Duplicate ID, {id}.`), a missing
/// parent a 404.
pub async fn create_region(cx: &Context<'_>, region: &Region) -> Result<(), AuthError> {
    note("region_id", &region.id);
    cx.storage()
        .create_region(region)
        .await
        .map_err(|e| match e {
            AuthError::Conflict { .. } => AuthError::Conflict {
                what: format!("region - Duplicate ID, {}", region.id),
            },
            e => e,
        })
}

/// Replaces a region's fields: a missing parent is a 404, a cycle a 400.
pub async fn update_region(cx: &Context<'_>, region: &Region) -> Result<(), AuthError> {
    note("region_id", &region.id);
    cx.storage().update_region(region).await
}

/// Deletes a region and the regions below it; 403 if any has endpoints.
pub async fn delete_region(cx: &Context<'_>, id: &str) -> Result<(), AuthError> {
    note("region_id", id);
    cx.storage().delete_region(id).await
}

/// Adds an endpoint group.
pub async fn create_endpoint_group(
    cx: &Context<'_>,
    group: &EndpointGroup,
) -> Result<(), AuthError> {
    note("endpoint_group_id", &group.id);
    cx.storage().create_endpoint_group(group).await
}

/// Replaces an endpoint group's fields.
pub async fn update_endpoint_group(
    cx: &Context<'_>,
    group: &EndpointGroup,
) -> Result<(), AuthError> {
    note("endpoint_group_id", &group.id);
    cx.storage().update_endpoint_group(group).await
}

/// Deletes an endpoint group and its project associations.
pub async fn delete_endpoint_group(cx: &Context<'_>, id: &str) -> Result<(), AuthError> {
    note("endpoint_group_id", id);
    cx.storage().delete_endpoint_group(id).await
}

/// Associates an endpoint with a project (both must exist: 404s, the
/// endpoint first, as Keystone checks); doing it twice is a 409.
pub async fn add_project_endpoint(
    cx: &Context<'_>,
    link: &ProjectAssociation,
) -> Result<(), AuthError> {
    note("endpoint_id", &link.id);
    super::note_project(&link.project_id);
    cx.storage().get_endpoint(&link.id).await?;
    cx.storage().get_project(&link.project_id).await?;
    cx.storage().add_project_endpoint(link).await
}

/// Removes an endpoint's association with a project (404 if none).
pub async fn remove_project_endpoint(
    cx: &Context<'_>,
    link: &ProjectAssociation,
) -> Result<(), AuthError> {
    note("endpoint_id", &link.id);
    super::note_project(&link.project_id);
    cx.storage().remove_project_endpoint(link).await
}

/// Associates an endpoint group with a project (both must exist: 404s,
/// the project first, as Keystone checks); doing it twice is a 409.
pub async fn add_project_endpoint_group(
    cx: &Context<'_>,
    link: &ProjectAssociation,
) -> Result<(), AuthError> {
    note("endpoint_group_id", &link.id);
    super::note_project(&link.project_id);
    cx.storage().get_project(&link.project_id).await?;
    cx.storage().get_endpoint_group(&link.id).await?;
    cx.storage().add_project_endpoint_group(link).await
}

/// Removes an endpoint group's association with a project (404s for a
/// missing project, group or association).
pub async fn remove_project_endpoint_group(
    cx: &Context<'_>,
    link: &ProjectAssociation,
) -> Result<(), AuthError> {
    note("endpoint_group_id", &link.id);
    super::note_project(&link.project_id);
    cx.storage().get_project(&link.project_id).await?;
    cx.storage().get_endpoint_group(&link.id).await?;
    cx.storage().remove_project_endpoint_group(link).await
}
