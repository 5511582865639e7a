//! The route table: every routed method and path, each registered with the
//! name of the event its calls raise.
//!
//! Registering a route names its event, so the table is the one place that
//! does: the events middleware ([`crate::events::around_call`]) reads the
//! name from here, and a route cannot be added without saying what its
//! event is, or that it has none ([`ApiRoutes::without_event`], for what is
//! not an API call: discovery, health, metrics). Event names are stable:
//! users' event-handler bindings and audit queries depend on them.
//!
//! `HEAD` is answered by a path's `GET` handler (axum does that) and raises
//! the `GET`'s event.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, on};

use crate::state::AppState;

/// One routed method and path, with its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The HTTP method.
    pub method: Method,
    /// The route template, e.g. `/v3/users/{id}`: static, or built at
    /// start-up under a configured prefix ([`ApiRoutes::nest`]).
    pub path: Cow<'static, str>,
    /// The event its calls raise; `None` for what is not an API call.
    pub event: Option<&'static str>,
}

/// The table being built: the router and, beside it, each call's event.
#[derive(Debug, Default)]
pub struct ApiRoutes {
    router: Router<AppState>,
    calls: Vec<Call>,
}

impl ApiRoutes {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes `GET` (and so `HEAD`) on `path` to `handler`; its calls raise
    /// `event`.
    pub fn get<H, T>(self, path: &'static str, handler: H, event: &'static str) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add((Method::GET, MethodFilter::GET), path, handler, Some(event))
    }

    /// Routes `POST` on `path` to `handler`; its calls raise `event`.
    pub fn post<H, T>(self, path: &'static str, handler: H, event: &'static str) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(
            (Method::POST, MethodFilter::POST),
            path,
            handler,
            Some(event),
        )
    }

    /// Routes `PUT` on `path` to `handler`; its calls raise `event`.
    pub fn put<H, T>(self, path: &'static str, handler: H, event: &'static str) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add((Method::PUT, MethodFilter::PUT), path, handler, Some(event))
    }

    /// Routes `PATCH` on `path` to `handler`; its calls raise `event`.
    pub fn patch<H, T>(self, path: &'static str, handler: H, event: &'static str) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(
            (Method::PATCH, MethodFilter::PATCH),
            path,
            handler,
            Some(event),
        )
    }

    /// Routes `DELETE` on `path` to `handler`; its calls raise `event`.
    pub fn delete<H, T>(self, path: &'static str, handler: H, event: &'static str) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(
            (Method::DELETE, MethodFilter::DELETE),
            path,
            handler,
            Some(event),
        )
    }

    /// Routes `POST` on `path`, a path from the configuration (the
    /// gateway's login path, say), to `handler`; its calls raise `event`.
    pub fn post_at<H, T>(mut self, path: String, handler: H, event: &'static str) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(&path, on(MethodFilter::POST, handler));
        self.calls.push(Call {
            method: Method::POST,
            path: Cow::Owned(path),
            event: Some(event),
        });
        self
    }

    /// Routes `GET` on `path` to `handler`, which is not an API call
    /// (discovery, health, metrics): no event, no audit row, no binding.
    pub fn without_event<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add((Method::GET, MethodFilter::GET), path, handler, None)
    }

    fn add<H, T>(
        mut self,
        (method, filter): (Method, MethodFilter),
        path: &'static str,
        handler: H,
        event: Option<&'static str>,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        // axum merges a path's methods (and panics on one registered twice).
        self.router = self.router.route(path, on(filter, handler));
        self.calls.push(Call {
            method,
            path: Cow::Borrowed(path),
            event,
        });
        self
    }

    /// Serves `inner`'s routes under `prefix` (e.g. `/orthanc`, from the
    /// configuration), their events with them. `prefix` starts with `/`
    /// and does not end with one (the configuration checks it).
    pub fn nest(mut self, prefix: &str, inner: ApiRoutes) -> Self {
        self.router = self.router.nest(prefix, inner.router);
        self.calls.extend(inner.calls.into_iter().map(|call| Call {
            path: Cow::Owned(format!("{prefix}{}", call.path)),
            ..call
        }));
        self
    }

    /// Every routed call, in registration order.
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// The router, and the events its calls raise (for the events
    /// middleware).
    pub fn into_parts(self) -> (Router<AppState>, Arc<EventNames>) {
        let mut by_path: HashMap<Cow<'static, str>, Vec<(Method, Option<&'static str>)>> =
            HashMap::new();
        for call in self.calls {
            by_path
                .entry(call.path)
                .or_default()
                .push((call.method, call.event));
        }
        (self.router, Arc::new(EventNames { by_path }))
    }
}

/// The event of each routed call, by route template and method.
#[derive(Debug, Default)]
pub struct EventNames {
    by_path: HashMap<Cow<'static, str>, Vec<(Method, Option<&'static str>)>>,
}

impl EventNames {
    /// The event a call of `method` on the route template `route` raises:
    /// `None` for what is not an API call, and for a method the route does
    /// not have (a 405). `HEAD` raises its `GET`'s event.
    pub fn of(&self, method: &Method, route: &str) -> Option<&'static str> {
        let methods = self.by_path.get(route)?;
        let find = |wanted: &Method| {
            methods
                .iter()
                .find(|(m, _)| m == wanted)
                .and_then(|(_, event)| *event)
        };
        match find(method) {
            None if *method == Method::HEAD => find(&Method::GET),
            found => found,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    async fn ok() -> &'static str {
        "ok"
    }

    #[test]
    fn a_calls_event_is_found_by_method_and_template_and_head_raises_gets() {
        let (_, names) = ApiRoutes::new()
            .get("/v3/users/{id}", ok, "user.get")
            .patch("/v3/users/{id}", ok, "user.update")
            .without_event("/healthz", ok)
            .into_parts();
        assert_eq!(names.of(&Method::GET, "/v3/users/{id}"), Some("user.get"));
        assert_eq!(names.of(&Method::HEAD, "/v3/users/{id}"), Some("user.get"));
        assert_eq!(
            names.of(&Method::PATCH, "/v3/users/{id}"),
            Some("user.update")
        );
        assert_eq!(names.of(&Method::DELETE, "/v3/users/{id}"), None);
        assert_eq!(names.of(&Method::GET, "/healthz"), None);
        assert_eq!(names.of(&Method::GET, "/v3/nowhere"), None);
    }

    /// Every routed method and path of the server names its event, except
    /// exactly what is not an API call.
    #[test]
    fn every_route_names_its_event_or_is_registered_as_having_none() {
        let table = crate::routes();
        let mut seen = HashSet::new();
        let mut without: Vec<String> = Vec::new();
        for call in table.calls() {
            assert!(
                seen.insert((call.method.clone(), call.path.clone())),
                "{} {} is registered twice",
                call.method,
                call.path
            );
            match call.event {
                Some(name) => assert!(
                    !name.is_empty()
                        && name.split('.').count() >= 2
                        && name.split('.').all(|part| !part.is_empty()
                            && part
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')),
                    "{} {}: a malformed event name {name:?}",
                    call.method,
                    call.path
                ),
                None => without.push(format!("{} {}", call.method, call.path)),
            }
        }
        without.sort();
        assert_eq!(
            without,
            [
                "GET /",
                "GET /healthz",
                "GET /metrics",
                "GET /v3",
                "GET /v3/"
            ],
            "only discovery, health and metrics go without an event"
        );
    }

    /// The names users' bindings and audit queries already use stay as
    /// they were (the table of `events::event_name` before the route table
    /// named them).
    #[test]
    fn todays_event_names_are_kept() {
        let (_, names) = crate::routes().into_parts();
        let grant_paths = [
            "/v3/projects/{project}/users/{user}/roles/{role}",
            "/v3/domains/{domain}/users/{user}/roles/{role}",
            "/v3/system/users/{user}/roles/{role}",
            "/v3/projects/{project}/groups/{group}/roles/{role}",
            "/v3/domains/{domain}/groups/{group}/roles/{role}",
            "/v3/system/groups/{group}/roles/{role}",
        ];
        let mut expected = vec![
            ("POST", "/v3/auth/tokens", "auth.tokens.create"),
            ("GET", "/v3/auth/tokens", "auth.token.validate"),
            ("HEAD", "/v3/auth/tokens", "auth.token.validate"),
            ("DELETE", "/v3/auth/tokens", "auth.token.revoke"),
            ("POST", "/v3/ec2tokens", "ec2token.issue"),
            ("POST", "/v3/s3tokens", "s3token.issue"),
            ("GET", "/v3/auth/projects", "auth.projects.list"),
            ("GET", "/v3/auth/domains", "auth.domains.list"),
            ("GET", "/v3/auth/catalog", "auth.catalog.get"),
            ("GET", "/v3/users", "user.list"),
            ("POST", "/v3/users", "user.create"),
            ("GET", "/v3/users/{id}", "user.get"),
            ("PATCH", "/v3/users/{id}", "user.update"),
            ("DELETE", "/v3/users/{id}", "user.delete"),
            ("POST", "/v3/users/{id}/password", "user.password.change"),
            (
                "GET",
                "/v3/users/{id}/application_credentials",
                "application_credential.list",
            ),
            (
                "POST",
                "/v3/users/{id}/application_credentials",
                "application_credential.create",
            ),
            (
                "GET",
                "/v3/users/{id}/application_credentials/{credential}",
                "application_credential.get",
            ),
            (
                "DELETE",
                "/v3/users/{id}/application_credentials/{credential}",
                "application_credential.delete",
            ),
            (
                "GET",
                "/v3/users/{id}/credentials/OS-EC2",
                "ec2_credential.list",
            ),
            (
                "POST",
                "/v3/users/{id}/credentials/OS-EC2",
                "ec2_credential.create",
            ),
            (
                "GET",
                "/v3/users/{id}/credentials/OS-EC2/{access}",
                "ec2_credential.get",
            ),
            (
                "DELETE",
                "/v3/users/{id}/credentials/OS-EC2/{access}",
                "ec2_credential.delete",
            ),
            ("GET", "/v3/domains/config/default", "domain_config.default"),
            (
                "GET",
                "/v3/domains/config/{group}/default",
                "domain_config.default",
            ),
            (
                "GET",
                "/v3/domains/config/{group}/{option}/default",
                "domain_config.default",
            ),
            ("PUT", "/v3/domains/{id}/config", "domain_config.create"),
            ("GET", "/v3/domains/{id}/config", "domain_config.get"),
            ("PATCH", "/v3/domains/{id}/config", "domain_config.update"),
            ("DELETE", "/v3/domains/{id}/config", "domain_config.delete"),
            (
                "GET",
                "/v3/domains/{id}/config/{group}",
                "domain_config.get",
            ),
            (
                "PATCH",
                "/v3/domains/{id}/config/{group}",
                "domain_config.update",
            ),
            (
                "DELETE",
                "/v3/domains/{id}/config/{group}",
                "domain_config.delete",
            ),
            (
                "GET",
                "/v3/domains/{id}/config/{group}/{option}",
                "domain_config.get",
            ),
            (
                "PATCH",
                "/v3/domains/{id}/config/{group}/{option}",
                "domain_config.update",
            ),
            (
                "DELETE",
                "/v3/domains/{id}/config/{group}/{option}",
                "domain_config.delete",
            ),
            ("GET", "/v3/users/{id}/access_rules", "access_rule.list"),
            (
                "GET",
                "/v3/users/{id}/access_rules/{rule}",
                "access_rule.get",
            ),
            (
                "DELETE",
                "/v3/users/{id}/access_rules/{rule}",
                "access_rule.delete",
            ),
            ("GET", "/v3/OS-OAUTH1/consumers", "oauth1_consumer.list"),
            ("POST", "/v3/OS-OAUTH1/consumers", "oauth1_consumer.create"),
            ("GET", "/v3/OS-OAUTH1/consumers/{id}", "oauth1_consumer.get"),
            (
                "PATCH",
                "/v3/OS-OAUTH1/consumers/{id}",
                "oauth1_consumer.update",
            ),
            (
                "DELETE",
                "/v3/OS-OAUTH1/consumers/{id}",
                "oauth1_consumer.delete",
            ),
            ("GET", "/v3/OS-TRUST/trusts", "trust.list"),
            ("GET", "/v3/OS-TRUST/trusts/", "trust.list"),
            ("POST", "/v3/OS-TRUST/trusts", "trust.create"),
            ("GET", "/v3/OS-TRUST/trusts/{id}", "trust.get"),
            ("DELETE", "/v3/OS-TRUST/trusts/{id}", "trust.delete"),
            ("GET", "/v3/OS-TRUST/trusts/{id}/roles", "trust.roles.list"),
            (
                "GET",
                "/v3/OS-TRUST/trusts/{id}/roles/{role_id}",
                "trust.role.get",
            ),
            (
                "POST",
                "/v3/OS-OAUTH1/request_token",
                "oauth1_request_token.create",
            ),
            (
                "PUT",
                "/v3/OS-OAUTH1/authorize/{id}",
                "oauth1_request_token.authorize",
            ),
            (
                "POST",
                "/v3/OS-OAUTH1/access_token",
                "oauth1_access_token.create",
            ),
            (
                "GET",
                "/v3/users/{id}/OS-OAUTH1/access_tokens",
                "oauth1_access_token.list",
            ),
            (
                "GET",
                "/v3/users/{id}/OS-OAUTH1/access_tokens/{token}",
                "oauth1_access_token.get",
            ),
            (
                "DELETE",
                "/v3/users/{id}/OS-OAUTH1/access_tokens/{token}",
                "oauth1_access_token.delete",
            ),
            (
                "GET",
                "/v3/users/{id}/OS-OAUTH1/access_tokens/{token}/roles",
                "oauth1_access_token.list_roles",
            ),
            (
                "GET",
                "/v3/users/{id}/OS-OAUTH1/access_tokens/{token}/roles/{role}",
                "oauth1_access_token.get_role",
            ),
            ("GET", "/v3/policies", "policy.list"),
            ("POST", "/v3/policies", "policy.create"),
            ("GET", "/v3/policies/{id}", "policy.get"),
            ("PATCH", "/v3/policies/{id}", "policy.update"),
            ("DELETE", "/v3/policies/{id}", "policy.delete"),
            ("GET", "/v3/credentials", "credential.list"),
            ("POST", "/v3/credentials", "credential.create"),
            ("GET", "/v3/credentials/{id}", "credential.get"),
            ("DELETE", "/v3/credentials/{id}", "credential.delete"),
            ("GET", "/v3/domains", "domain.list"),
            ("POST", "/v3/domains", "domain.create"),
            ("GET", "/v3/domains/{id}", "domain.get"),
            ("PATCH", "/v3/domains/{id}", "domain.update"),
            ("DELETE", "/v3/domains/{id}", "domain.delete"),
            ("GET", "/v3/projects", "project.list"),
            ("POST", "/v3/projects", "project.create"),
            ("GET", "/v3/projects/{id}", "project.get"),
            ("PATCH", "/v3/projects/{id}", "project.update"),
            ("DELETE", "/v3/projects/{id}", "project.delete"),
            ("GET", "/v3/roles", "role.list"),
            ("POST", "/v3/roles", "role.create"),
            ("GET", "/v3/roles/{id}", "role.get"),
            ("PATCH", "/v3/roles/{id}", "role.update"),
            ("DELETE", "/v3/roles/{id}", "role.delete"),
            ("GET", "/v3/role_assignments", "role_assignment.list"),
            ("GET", "/v3/groups", "group.list"),
            ("POST", "/v3/groups", "group.create"),
            ("GET", "/v3/groups/{id}", "group.get"),
            ("PATCH", "/v3/groups/{id}", "group.update"),
            ("DELETE", "/v3/groups/{id}", "group.delete"),
            ("GET", "/v3/groups/{id}/users", "group.users.list"),
            ("PUT", "/v3/groups/{group}/users/{user}", "group.user.add"),
            ("GET", "/v3/groups/{group}/users/{user}", "group.user.check"),
            (
                "HEAD",
                "/v3/groups/{group}/users/{user}",
                "group.user.check",
            ),
            (
                "DELETE",
                "/v3/groups/{group}/users/{user}",
                "group.user.remove",
            ),
            ("GET", "/v3/users/{id}/groups", "user.groups.list"),
            ("GET", "/v3/event-handlers", "event_handler.list"),
            ("POST", "/v3/event-handlers", "event_handler.create"),
            ("GET", "/v3/event-handlers/schema", "event_handler.schema"),
            ("GET", "/v3/event-handlers/{id}", "event_handler.get"),
            ("PATCH", "/v3/event-handlers/{id}", "event_handler.update"),
            ("DELETE", "/v3/event-handlers/{id}", "event_handler.delete"),
            (
                "POST",
                "/v3/event-handlers/{id}/enable",
                "event_handler.enable",
            ),
            (
                "POST",
                "/v3/event-handlers/{id}/disable",
                "event_handler.disable",
            ),
            ("GET", "/v3/audit", "audit.list"),
            ("GET", "/v3/audit/export", "audit.export"),
        ];
        for path in grant_paths {
            expected.push(("PUT", path, "role_assignment.create"));
            expected.push(("GET", path, "role_assignment.check"));
            expected.push(("HEAD", path, "role_assignment.check"));
            expected.push(("DELETE", path, "role_assignment.delete"));
        }
        for path in [
            "/v3/OS-INHERIT/domains/{domain}/users/{user}/roles/{role}/inherited_to_projects",
            "/v3/OS-INHERIT/domains/{domain}/groups/{group}/roles/{role}/inherited_to_projects",
            "/v3/OS-INHERIT/projects/{project}/users/{user}/roles/{role}/inherited_to_projects",
            "/v3/OS-INHERIT/projects/{project}/groups/{group}/roles/{role}/inherited_to_projects",
        ] {
            expected.push(("PUT", path, "role_assignment.inherited.create"));
            expected.push(("GET", path, "role_assignment.inherited.check"));
            expected.push(("HEAD", path, "role_assignment.inherited.check"));
            expected.push(("DELETE", path, "role_assignment.inherited.delete"));
        }
        for path in [
            "/v3/OS-INHERIT/domains/{domain}/users/{user}/roles/inherited_to_projects",
            "/v3/OS-INHERIT/domains/{domain}/groups/{group}/roles/inherited_to_projects",
        ] {
            expected.push(("GET", path, "role_assignment.inherited.roles.list"));
            expected.push(("HEAD", path, "role_assignment.inherited.roles.list"));
        }
        for (method, path, name) in expected {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert_eq!(names.of(&method, path), Some(name), "{method} {path}");
        }
    }
}
