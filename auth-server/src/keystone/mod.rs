//! The Keystone v3 door: Keystone's Identity API, one file per API area.
//!
//! A handler only translates: it extracts the caller and the request,
//! asks the policy, calls a service, and renders Keystone's JSON.

pub mod application_credentials;
pub mod assignment_names;
pub mod audit;
pub mod auth_info;
pub mod body;
pub mod caller;
pub mod catalog;
pub mod credentials;
pub mod discovery;
pub mod domain_configs;
pub mod domains;
pub mod ec2_credentials;
pub mod ec2_tokens;
pub mod ep_filter;
pub mod event_handlers;
pub mod grants;
pub mod groups;
pub mod implied_roles;
pub mod oauth1;
pub mod oauth1_access_tokens;
pub mod oauth1_consumers;
pub mod os_inherit;
pub mod passwords;
pub mod policies;
pub mod projects;
pub mod role_assignments;
pub mod roles;
pub mod share_tokens;
pub mod targets;
pub mod tokens;
pub mod trusts;
pub mod user_access_rules;
pub mod users;

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ServerError;
use crate::forwarded::{ClientOrigin, listener_scheme};
use crate::policy::Target;
use crate::routes::ApiRoutes;
use crate::state::AppState;
use caller::Caller;

/// The Keystone door's routes, each with its event: Keystone's v3 API as
/// this server has it.
pub fn routes(table: ApiRoutes) -> ApiRoutes {
    let table = table
        .without_event("/", discovery::root)
        .without_event("/v3", discovery::v3)
        .without_event("/v3/", discovery::v3)
        .post("/v3/auth/tokens", tokens::create, "auth.tokens.create")
        .get("/v3/auth/tokens", tokens::validate, "auth.token.validate")
        .delete("/v3/auth/tokens", tokens::revoke, "auth.token.revoke")
        .post("/v3/ec2tokens", ec2_tokens::ec2, "ec2token.issue")
        .post("/v3/s3tokens", ec2_tokens::s3, "s3token.issue")
        .get(
            "/v3/auth/projects",
            auth_info::projects,
            "auth.projects.list",
        )
        .get("/v3/auth/domains", auth_info::domains, "auth.domains.list")
        .get("/v3/auth/system", auth_info::system, "auth.system.get")
        .get("/v3/auth/catalog", auth_info::catalog, "auth.catalog.get")
        .get("/v3/users", users::list, "user.list")
        .post("/v3/users", users::create, "user.create")
        .get("/v3/users/{id}", users::get, "user.get")
        .patch("/v3/users/{id}", users::update, "user.update")
        .delete("/v3/users/{id}", users::delete, "user.delete")
        .post(
            "/v3/users/{id}/password",
            passwords::change,
            "user.password.change",
        )
        .get(
            "/v3/users/{id}/groups",
            groups::list_for_user,
            "user.groups.list",
        )
        .get(
            "/v3/users/{id}/projects",
            projects::list_for_user,
            "user.projects.list",
        )
        .get(
            "/v3/users/{id}/application_credentials",
            application_credentials::list,
            "application_credential.list",
        )
        .post(
            "/v3/users/{id}/application_credentials",
            application_credentials::create,
            "application_credential.create",
        )
        .get(
            "/v3/users/{id}/application_credentials/{credential}",
            application_credentials::get,
            "application_credential.get",
        )
        .delete(
            "/v3/users/{id}/application_credentials/{credential}",
            application_credentials::delete,
            "application_credential.delete",
        )
        .get("/v3/groups", groups::list, "group.list")
        .post("/v3/groups", groups::create, "group.create")
        .get("/v3/groups/{id}", groups::get, "group.get")
        .patch("/v3/groups/{id}", groups::update, "group.update")
        .delete("/v3/groups/{id}", groups::delete, "group.delete")
        .get(
            "/v3/groups/{id}/users",
            groups::list_users,
            "group.users.list",
        )
        .put(
            "/v3/groups/{group}/users/{user}",
            groups::add_user,
            "group.user.add",
        )
        .get(
            "/v3/groups/{group}/users/{user}",
            groups::check_user,
            "group.user.check",
        )
        .delete(
            "/v3/groups/{group}/users/{user}",
            groups::remove_user,
            "group.user.remove",
        )
        .get("/v3/projects", projects::list, "project.list")
        .post("/v3/projects", projects::create, "project.create")
        .get("/v3/projects/{id}", projects::get, "project.get")
        .patch("/v3/projects/{id}", projects::update, "project.update")
        .delete("/v3/projects/{id}", projects::delete, "project.delete")
        .get(
            "/v3/projects/{id}/tags",
            projects::list_tags,
            "project.tags.list",
        )
        .put(
            "/v3/projects/{id}/tags",
            projects::update_tags,
            "project.tags.update",
        )
        .delete(
            "/v3/projects/{id}/tags",
            projects::delete_tags,
            "project.tags.delete",
        )
        .get(
            "/v3/projects/{id}/tags/{tag}",
            projects::check_tag_route,
            "project.tag.check",
        )
        .put(
            "/v3/projects/{id}/tags/{tag}",
            projects::add_tag,
            "project.tag.create",
        )
        .delete(
            "/v3/projects/{id}/tags/{tag}",
            projects::delete_tag,
            "project.tag.delete",
        )
        .get("/v3/domains", domains::list, "domain.list")
        .post("/v3/domains", domains::create, "domain.create")
        .get("/v3/domains/{id}", domains::get, "domain.get")
        .patch("/v3/domains/{id}", domains::update, "domain.update")
        .delete("/v3/domains/{id}", domains::delete, "domain.delete")
        .get("/v3/roles", roles::list, "role.list")
        .post("/v3/roles", roles::create, "role.create")
        .get("/v3/roles/{id}", roles::get, "role.get")
        .patch("/v3/roles/{id}", roles::update, "role.update")
        .delete("/v3/roles/{id}", roles::delete, "role.delete")
        .get(
            "/v3/roles/{id}/implies",
            implied_roles::list,
            "implied_role.list",
        )
        .put(
            "/v3/roles/{id}/implies/{implied}",
            implied_roles::create,
            "implied_role.create",
        )
        .get(
            "/v3/roles/{id}/implies/{implied}",
            implied_roles::get,
            "implied_role.get",
        )
        .delete(
            "/v3/roles/{id}/implies/{implied}",
            implied_roles::delete,
            "implied_role.delete",
        )
        .get(
            "/v3/role_inferences",
            implied_roles::list_inferences,
            "role_inference.list",
        )
        .get(
            "/v3/role_assignments",
            role_assignments::list,
            "role_assignment.list",
        )
        .get(
            "/v3/users/{id}/credentials/OS-EC2",
            ec2_credentials::list,
            "ec2_credential.list",
        )
        .post(
            "/v3/users/{id}/credentials/OS-EC2",
            ec2_credentials::create,
            "ec2_credential.create",
        )
        .get(
            "/v3/users/{id}/credentials/OS-EC2/{access}",
            ec2_credentials::get,
            "ec2_credential.get",
        )
        .delete(
            "/v3/users/{id}/credentials/OS-EC2/{access}",
            ec2_credentials::delete,
            "ec2_credential.delete",
        )
        .get(
            "/v3/domains/config/default",
            domain_configs::default,
            "domain_config.default",
        )
        .get(
            "/v3/domains/config/{group}/default",
            domain_configs::default,
            "domain_config.default",
        )
        .get(
            "/v3/domains/config/{group}/{option}/default",
            domain_configs::default,
            "domain_config.default",
        )
        .put(
            "/v3/domains/{id}/config",
            domain_configs::create,
            "domain_config.create",
        )
        .get(
            "/v3/domains/{id}/config",
            domain_configs::get,
            "domain_config.get",
        )
        .patch(
            "/v3/domains/{id}/config",
            domain_configs::update,
            "domain_config.update",
        )
        .delete(
            "/v3/domains/{id}/config",
            domain_configs::delete,
            "domain_config.delete",
        )
        .get(
            "/v3/domains/{id}/config/{group}",
            domain_configs::get,
            "domain_config.get",
        )
        .patch(
            "/v3/domains/{id}/config/{group}",
            domain_configs::update,
            "domain_config.update",
        )
        .delete(
            "/v3/domains/{id}/config/{group}",
            domain_configs::delete,
            "domain_config.delete",
        )
        .get(
            "/v3/domains/{id}/config/{group}/{option}",
            domain_configs::get,
            "domain_config.get",
        )
        .patch(
            "/v3/domains/{id}/config/{group}/{option}",
            domain_configs::update,
            "domain_config.update",
        )
        .delete(
            "/v3/domains/{id}/config/{group}/{option}",
            domain_configs::delete,
            "domain_config.delete",
        )
        .get(
            "/v3/users/{id}/access_rules",
            user_access_rules::list,
            "access_rule.list",
        )
        .get(
            "/v3/users/{id}/access_rules/{rule}",
            user_access_rules::get,
            "access_rule.get",
        )
        .delete(
            "/v3/users/{id}/access_rules/{rule}",
            user_access_rules::delete,
            "access_rule.delete",
        )
        .get(
            "/v3/OS-OAUTH1/consumers",
            oauth1_consumers::list,
            "oauth1_consumer.list",
        )
        .post(
            "/v3/OS-OAUTH1/consumers",
            oauth1_consumers::create,
            "oauth1_consumer.create",
        )
        .get(
            "/v3/OS-OAUTH1/consumers/{id}",
            oauth1_consumers::get,
            "oauth1_consumer.get",
        )
        .patch(
            "/v3/OS-OAUTH1/consumers/{id}",
            oauth1_consumers::update,
            "oauth1_consumer.update",
        )
        .delete(
            "/v3/OS-OAUTH1/consumers/{id}",
            oauth1_consumers::delete,
            "oauth1_consumer.delete",
        )
        .get("/v3/OS-TRUST/trusts", trusts::list, "trust.list")
        // tempest's trusts client lists with a trailing slash, which
        // Keystone's router accepts.
        .get("/v3/OS-TRUST/trusts/", trusts::list, "trust.list")
        .post("/v3/OS-TRUST/trusts", trusts::create, "trust.create")
        .get("/v3/OS-TRUST/trusts/{id}", trusts::get, "trust.get")
        .delete("/v3/OS-TRUST/trusts/{id}", trusts::delete, "trust.delete")
        .get(
            "/v3/OS-TRUST/trusts/{id}/roles",
            trusts::list_roles,
            "trust.roles.list",
        )
        .get(
            "/v3/OS-TRUST/trusts/{id}/roles/{role_id}",
            trusts::get_role,
            "trust.role.get",
        )
        .post(
            "/v3/OS-OAUTH1/request_token",
            oauth1::request_token,
            "oauth1_request_token.create",
        )
        .put(
            "/v3/OS-OAUTH1/authorize/{id}",
            oauth1::authorize,
            "oauth1_request_token.authorize",
        )
        .post(
            "/v3/OS-OAUTH1/access_token",
            oauth1::access_token,
            "oauth1_access_token.create",
        )
        .get(
            "/v3/users/{id}/OS-OAUTH1/access_tokens",
            oauth1_access_tokens::list,
            "oauth1_access_token.list",
        )
        .get(
            "/v3/users/{id}/OS-OAUTH1/access_tokens/{token}",
            oauth1_access_tokens::get,
            "oauth1_access_token.get",
        )
        .delete(
            "/v3/users/{id}/OS-OAUTH1/access_tokens/{token}",
            oauth1_access_tokens::delete,
            "oauth1_access_token.delete",
        )
        .get(
            "/v3/users/{id}/OS-OAUTH1/access_tokens/{token}/roles",
            oauth1_access_tokens::list_roles,
            "oauth1_access_token.list_roles",
        )
        .get(
            "/v3/users/{id}/OS-OAUTH1/access_tokens/{token}/roles/{role}",
            oauth1_access_tokens::get_role,
            "oauth1_access_token.get_role",
        )
        .get("/v3/policies", policies::list, "policy.list")
        .post("/v3/policies", policies::create, "policy.create")
        .get("/v3/policies/{id}", policies::get, "policy.get")
        .patch("/v3/policies/{id}", policies::update, "policy.update")
        .delete("/v3/policies/{id}", policies::delete, "policy.delete")
        .get("/v3/credentials", credentials::list, "credential.list")
        .post("/v3/credentials", credentials::create, "credential.create")
        .get("/v3/credentials/{id}", credentials::get, "credential.get")
        .patch(
            "/v3/credentials/{id}",
            credentials::update,
            "credential.update",
        )
        .delete(
            "/v3/credentials/{id}",
            credentials::delete,
            "credential.delete",
        )
        .get(
            "/v3/event-handlers",
            event_handlers::list,
            "event_handler.list",
        )
        .post(
            "/v3/event-handlers",
            event_handlers::create,
            "event_handler.create",
        )
        .get(
            "/v3/event-handlers/schema",
            event_handlers::schema,
            "event_handler.schema",
        )
        .get(
            "/v3/event-handlers/{id}",
            event_handlers::get,
            "event_handler.get",
        )
        .patch(
            "/v3/event-handlers/{id}",
            event_handlers::update,
            "event_handler.update",
        )
        .delete(
            "/v3/event-handlers/{id}",
            event_handlers::delete,
            "event_handler.delete",
        )
        .post(
            "/v3/event-handlers/{id}/enable",
            event_handlers::enable,
            "event_handler.enable",
        )
        .post(
            "/v3/event-handlers/{id}/disable",
            event_handlers::disable,
            "event_handler.disable",
        )
        .get("/v3/services", catalog::list_services, "service.list")
        .post("/v3/services", catalog::create_service, "service.create")
        .get("/v3/services/{id}", catalog::get_service, "service.get")
        .patch(
            "/v3/services/{id}",
            catalog::update_service,
            "service.update",
        )
        .delete(
            "/v3/services/{id}",
            catalog::delete_service,
            "service.delete",
        )
        .get("/v3/endpoints", catalog::list_endpoints, "endpoint.list")
        .post("/v3/endpoints", catalog::create_endpoint, "endpoint.create")
        .get("/v3/endpoints/{id}", catalog::get_endpoint, "endpoint.get")
        .patch(
            "/v3/endpoints/{id}",
            catalog::update_endpoint,
            "endpoint.update",
        )
        .delete(
            "/v3/endpoints/{id}",
            catalog::delete_endpoint,
            "endpoint.delete",
        )
        .get("/v3/regions", catalog::list_regions, "region.list")
        .post("/v3/regions", catalog::create_region, "region.create")
        .put("/v3/regions/{id}", catalog::put_region, "region.create")
        .get("/v3/regions/{id}", catalog::get_region, "region.get")
        .patch("/v3/regions/{id}", catalog::update_region, "region.update")
        .delete("/v3/regions/{id}", catalog::delete_region, "region.delete")
        .get(
            "/v3/OS-EP-FILTER/endpoint_groups",
            ep_filter::list_groups,
            "endpoint_group.list",
        )
        .post(
            "/v3/OS-EP-FILTER/endpoint_groups",
            ep_filter::create_group,
            "endpoint_group.create",
        )
        .get(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}",
            ep_filter::get_group,
            "endpoint_group.get",
        )
        .patch(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}",
            ep_filter::update_group,
            "endpoint_group.update",
        )
        .delete(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}",
            ep_filter::delete_group,
            "endpoint_group.delete",
        )
        .get(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}/endpoints",
            ep_filter::group_endpoints,
            "endpoint_group.endpoints.list",
        )
        .get(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}/projects",
            ep_filter::group_projects,
            "endpoint_group.projects.list",
        )
        .get(
            "/v3/OS-EP-FILTER/endpoint_groups/{group}/projects/{project}",
            ep_filter::get_group_project,
            "endpoint_group.project.get",
        )
        .put(
            "/v3/OS-EP-FILTER/endpoint_groups/{group}/projects/{project}",
            ep_filter::add_group_project,
            "endpoint_group.project.add",
        )
        .delete(
            "/v3/OS-EP-FILTER/endpoint_groups/{group}/projects/{project}",
            ep_filter::remove_group_project,
            "endpoint_group.project.remove",
        )
        .get(
            "/v3/OS-EP-FILTER/endpoints/{id}/projects",
            ep_filter::endpoint_projects,
            "endpoint.projects.list",
        )
        .get(
            "/v3/OS-EP-FILTER/projects/{project}/endpoints",
            ep_filter::project_endpoints,
            "project.endpoints.list",
        )
        .get(
            "/v3/OS-EP-FILTER/projects/{project}/endpoint_groups",
            ep_filter::project_groups,
            "project.endpoint_groups.list",
        )
        .get(
            "/v3/OS-EP-FILTER/projects/{project}/endpoints/{endpoint}",
            ep_filter::check_project_endpoint,
            "project.endpoint.check",
        )
        .put(
            "/v3/OS-EP-FILTER/projects/{project}/endpoints/{endpoint}",
            ep_filter::add_project_endpoint,
            "project.endpoint.add",
        )
        .delete(
            "/v3/OS-EP-FILTER/projects/{project}/endpoints/{endpoint}",
            ep_filter::remove_project_endpoint,
            "project.endpoint.remove",
        )
        .get("/v3/audit", audit::list, "audit.list")
        .get("/v3/audit/export", audit::export, "audit.export")
        .get(
            "/v3/imaging/share-tokens",
            share_tokens::list,
            "imaging.share_token.list",
        )
        .delete(
            "/v3/imaging/share-tokens/{id}",
            share_tokens::revoke,
            "imaging.share_token.revoke",
        );
    // Role grants: grant (PUT), check (GET or HEAD, as Keystone), revoke
    // (DELETE); the route template names the target and the actor (see
    // grants::GrantPath); and the list of an actor's roles on a target.
    let table = [
        "/v3/projects/{project}/users/{user}/roles",
        "/v3/projects/{project}/groups/{group}/roles",
        "/v3/domains/{domain}/users/{user}/roles",
        "/v3/domains/{domain}/groups/{group}/roles",
        "/v3/system/users/{user}/roles",
        "/v3/system/groups/{group}/roles",
    ]
    .into_iter()
    .fold(table, |table, path| {
        table.get(path, grants::list, "role_assignment.roles.list")
    });
    let table = [
        "/v3/projects/{project}/users/{user}/roles/{role}",
        "/v3/projects/{project}/groups/{group}/roles/{role}",
        "/v3/domains/{domain}/users/{user}/roles/{role}",
        "/v3/domains/{domain}/groups/{group}/roles/{role}",
        "/v3/system/users/{user}/roles/{role}",
        "/v3/system/groups/{group}/roles/{role}",
    ]
    .into_iter()
    .fold(table, |table, path| {
        table
            .put(path, grants::grant, "role_assignment.create")
            .get(path, grants::check_grant, "role_assignment.check")
            .delete(path, grants::revoke_grant, "role_assignment.delete")
    });
    // OS-INHERIT: the same, for roles inherited to the projects below a
    // domain or a project; listings on a domain only, as in Keystone.
    let table = [
        "/v3/OS-INHERIT/domains/{domain}/users/{user}/roles/inherited_to_projects",
        "/v3/OS-INHERIT/domains/{domain}/groups/{group}/roles/inherited_to_projects",
    ]
    .into_iter()
    .fold(table, |table, path| {
        table.get(
            path,
            os_inherit::list,
            "role_assignment.inherited.roles.list",
        )
    });
    [
        "/v3/OS-INHERIT/domains/{domain}/users/{user}/roles/{role}/inherited_to_projects",
        "/v3/OS-INHERIT/domains/{domain}/groups/{group}/roles/{role}/inherited_to_projects",
        "/v3/OS-INHERIT/projects/{project}/users/{user}/roles/{role}/inherited_to_projects",
        "/v3/OS-INHERIT/projects/{project}/groups/{group}/roles/{role}/inherited_to_projects",
    ]
    .into_iter()
    .fold(table, |table, path| {
        table
            .put(path, os_inherit::grant, "role_assignment.inherited.create")
            .get(path, os_inherit::check, "role_assignment.inherited.check")
            .delete(path, os_inherit::revoke, "role_assignment.inherited.delete")
    })
}

/// Asks the policy whether `caller` may do `action` (Keystone's name, such
/// as `identity:get_user`) on `target`: Keystone's 403 if not. The action
/// is noted for the call's event (attribute `policy`) and audit row, allowed
/// or refused, so an operator sees which rule decided a call.
pub fn authorize(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    target: &Target,
) -> Result<(), ServerError> {
    crate::events::note(|facts| facts.policy = Some(action));
    state
        .policy()
        .enforce(action, caller.credentials(), target)?;
    Ok(())
}

/// A read of the object a call acts on, for its policy target, with
/// Keystone's order: a missing object leaves the target without it (the
/// policy decides without it) and answers 404 only once the policy has
/// allowed the call, so a caller learns nothing of what it may not see.
/// Any other failure is answered at once.
pub fn deferred<T>(
    read: Result<T, auth_core::AuthError>,
) -> Result<Result<T, auth_core::AuthError>, auth_core::AuthError> {
    match read {
        Err(e @ auth_core::AuthError::NotFound { .. }) => Ok(Err(e)),
        Err(e) => Err(e),
        Ok(found) => Ok(Ok(found)),
    }
}

/// A call's policy target, and the object it was built from (or that
/// object's deferred 404).
pub type ObjectTarget<T> = (Target, Result<T, auth_core::AuthError>);

/// The target of a call on one object, as Keystone's `build_target`
/// functions make it: the path argument under Keystone's name (`param`,
/// e.g. `("user_id", id)`) and, if the object exists, the object under
/// `key` (e.g. `"target.user"`) as `render` shapes it. The read's 404 is
/// deferred (see [`deferred`]).
pub fn object_target<T>(
    read: Result<T, auth_core::AuthError>,
    (param, id): (&str, &str),
    (key, render): (&str, fn(&T) -> serde_json::Value),
) -> Result<ObjectTarget<T>, auth_core::AuthError> {
    let found = deferred(read)?;
    let mut target = Target::new().with(param, id);
    if let Ok(object) = &found {
        target = target.with_object(key, &render(object));
    }
    Ok((target, found))
}

/// A required name of 1 to `max` characters, not all blank, as Keystone's
/// schemas demand of project, domain, role and similar names.
pub fn required_name(name: Option<String>, max: usize) -> Result<String, auth_core::AuthError> {
    match name {
        Some(n) if !n.trim().is_empty() && n.len() <= max => Ok(n),
        _ => Err(auth_core::AuthError::bad_request(format!(
            "'name' is required: 1 to {max} characters"
        ))),
    }
}

/// A collection's `links`, as Keystone sends them: `self` (the collection
/// at `path` under the public `base`), and no paging.
pub fn collection_links(base: &str, path: &str) -> serde_json::Value {
    serde_json::json!({"self": format!("{base}{path}"), "previous": null, "next": null})
}

/// Whether `name` passes a listing's `?name=` filter (exact, as Keystone;
/// no filter passes everything).
pub fn name_matches(filter: Option<&str>, name: &str) -> bool {
    filter.is_none_or(|wanted| wanted == name)
}

/// The public base URL, as a handler argument.
#[derive(Debug, Clone)]
pub struct PublicBase(pub String);

impl FromRequestParts<AppState> for PublicBase {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let origin = ClientOrigin::of(&parts.extensions, &parts.headers);
        Ok(Self(public_base(state, &origin)))
    }
}

/// The public base URL: configured, or the one the request was sent to
/// (its `Host`, or a trusted proxy's `X-Forwarded-Proto` and
/// `X-Forwarded-Host`; see [`crate::forwarded`]).
pub fn public_base(state: &AppState, origin: &ClientOrigin) -> String {
    if let Some(url) = &state.config().server.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = origin.host().unwrap_or("localhost");
    // A trusted proxy's word, else this listener's own scheme.
    let scheme = origin
        .forwarded_scheme()
        .unwrap_or_else(|| listener_scheme(state))
        .as_str();
    format!("{scheme}://{host}")
}
