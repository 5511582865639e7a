//! The service catalog as tokens and `GET /v3/auth/catalog` show it, built
//! from the catalog tables as Keystone's SQL catalog driver builds it
//! (`get_v3_catalog`): enabled services, each with its enabled endpoints,
//! their URLs' `$(project_id)s`, `$(tenant_id)s` and `$(user_id)s`
//! substituted (an endpoint whose URL needs a project is left out of a
//! token without one, and one whose URL cannot be formatted is left out
//! always). For a project with OS-EP-FILTER associations (endpoints, or
//! endpoint groups matching endpoints), only those endpoints, and only the
//! services left with one; without any, the whole catalog (Keystone's
//! `return_all_endpoints_if_no_filter`, on by default).
//!
//! What the catalog is built from is read once per token revision
//! ([`CatalogData`], kept by the validation cache); the per-token catalog
//! is computed from it in memory.

use std::collections::BTreeMap;

use auth_core::AuthError;
use auth_core::store::{Endpoint, EndpointGroup, ProjectAssociation, Service, Storage};
use serde_json::{Map, Value, json};

/// Everything a catalog is built from.
#[derive(Debug, Default)]
pub struct CatalogData {
    services: Vec<Service>,
    endpoints: Vec<Endpoint>,
    project_endpoints: Vec<ProjectAssociation>,
    groups: Vec<EndpointGroup>,
    project_groups: Vec<ProjectAssociation>,
}

impl CatalogData {
    /// Reads the catalog tables.
    pub async fn read(storage: &dyn Storage) -> Result<Self, AuthError> {
        Ok(Self {
            services: storage.list_services().await?,
            endpoints: storage.list_endpoints().await?,
            project_endpoints: storage.list_project_endpoints().await?,
            groups: storage.list_endpoint_groups().await?,
            project_groups: storage.list_project_endpoint_groups().await?,
        })
    }

    /// The endpoints OS-EP-FILTER associates with `project_id`, directly or
    /// through its endpoint groups, by id (Keystone's
    /// `list_endpoints_for_project`; disabled ones included).
    pub fn endpoints_for_project(&self, project_id: &str) -> BTreeMap<&str, &Endpoint> {
        let mut found = BTreeMap::new();
        for link in self
            .project_endpoints
            .iter()
            .filter(|l| l.project_id == project_id)
        {
            if let Some(e) = self.endpoints.iter().find(|e| e.id == link.id) {
                found.insert(e.id.as_str(), e);
            }
        }
        for link in self
            .project_groups
            .iter()
            .filter(|l| l.project_id == project_id)
        {
            if let Some(group) = self.groups.iter().find(|g| g.id == link.id) {
                for e in self.endpoints.iter().filter(|e| group.matches(e)) {
                    found.insert(e.id.as_str(), e);
                }
            }
        }
        found
    }

    /// The catalog of a token of `user_id` scoped to `project_id` (`None`:
    /// a domain or system token). `public_endpoint` is what
    /// `$(public_endpoint)s` stands for, if configured; `all_if_no_filter`
    /// is `[endpoint_filter] return_all_endpoints_if_no_filter` (false: a
    /// token without associations gets an empty catalog).
    pub fn render(
        &self,
        user_id: &str,
        project_id: Option<&str>,
        public_endpoint: Option<&str>,
        all_if_no_filter: bool,
    ) -> Value {
        let filtered = project_id
            .map(|p| self.endpoints_for_project(p))
            .filter(|f| !f.is_empty());
        if filtered.is_none() && !all_if_no_filter {
            return Value::Array(Vec::new());
        }
        let substitutions = Substitutions {
            user_id,
            project_id,
            public_endpoint,
        };
        let services = self.services.iter().filter(|s| s.enabled).filter_map(|s| {
            let endpoints: Vec<Value> = self
                .endpoints
                .iter()
                .filter(|e| e.enabled && e.service_id == s.id)
                .filter(|e| {
                    filtered
                        .as_ref()
                        .is_none_or(|f| f.contains_key(e.id.as_str()))
                })
                .filter_map(|e| {
                    let url = format_url(&e.url, &substitutions).ok().flatten()?;
                    let mut entry = e.extra.clone();
                    entry.insert("id".into(), json!(e.id));
                    entry.insert("interface".into(), json!(e.interface));
                    entry.insert("region".into(), json!(e.region));
                    entry.insert("region_id".into(), json!(e.region));
                    entry.insert("url".into(), json!(url));
                    Some(Value::Object(entry))
                })
                .collect();
            // With a filter, a service left without endpoints is left out.
            if filtered.is_some() && endpoints.is_empty() {
                return None;
            }
            Some(json!({"endpoints": endpoints, "id": s.id, "type": s.kind, "name": s.name}))
        });
        Value::Array(services.collect())
    }
}

/// What an endpoint URL's `$(name)s` may stand for.
struct Substitutions<'a> {
    user_id: &'a str,
    project_id: Option<&'a str>,
    public_endpoint: Option<&'a str>,
}

/// The names Keystone allows in an endpoint URL.
const ALLOWED: [&str; 5] = [
    "tenant_id",
    "project_id",
    "user_id",
    "compute_host",
    "public_endpoint",
];

/// A URL that cannot be formatted (Keystone's `MalformedEndpoint`).
#[derive(Debug)]
pub struct Malformed;

/// Formats `url` as Keystone does (`$(` becomes `%(`, then Python's `%`
/// with the allowed names): `Ok(None)` when it needs a project the token
/// has none of; `Err` when it names anything else, or holds a `%` that is
/// not `%%`.
fn format_url(url: &str, with: &Substitutions<'_>) -> Result<Option<String>, Malformed> {
    let mut out = String::with_capacity(url.len());
    let mut needs_project = false;
    let text = url.replace("$(", "%(");
    let mut rest = text.as_str();
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
            continue;
        }
        let Some(named) = after.strip_prefix('(') else {
            return Err(Malformed);
        };
        let close = named.find(')').ok_or(Malformed)?;
        let name = &named[..close];
        let tail = named[close + 1..].strip_prefix('s').ok_or(Malformed)?;
        let value = match name {
            "user_id" => Some(with.user_id),
            "project_id" | "tenant_id" => match with.project_id {
                Some(p) => Some(p),
                None => {
                    needs_project = true;
                    None
                }
            },
            "public_endpoint" => Some(with.public_endpoint.ok_or(Malformed)?),
            _ => return Err(Malformed),
        };
        if let Some(v) = value {
            out.push_str(v);
        }
        rest = tail;
    }
    out.push_str(rest);
    Ok((!needs_project).then_some(out))
}

/// Whether `url` is one Keystone accepts for an endpoint: every
/// substitution one of the allowed names (`URLValidationError` otherwise).
pub fn check_endpoint_url(url: &str) -> Result<(), AuthError> {
    let text = url.replace("$(", "%(");
    let mut rest = text.as_str();
    let invalid = || {
        AuthError::bad_request(format!(
            "Cannot create an endpoint with an invalid URL: {url}."
        ))
    };
    while let Some(at) = rest.find('%') {
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            rest = tail;
            continue;
        }
        let named = after.strip_prefix('(').ok_or_else(invalid)?;
        let close = named.find(')').ok_or_else(invalid)?;
        if !ALLOWED.contains(&&named[..close]) {
            return Err(invalid());
        }
        rest = named[close + 1..].strip_prefix('s').ok_or_else(invalid)?;
    }
    Ok(())
}

/// An endpoint as the catalog API shows it: its attributes, then
/// `region` and `region_id` (the same), without `links`.
pub fn endpoint_fields(e: &Endpoint) -> Map<String, Value> {
    let mut fields = e.extra.clone();
    fields.insert("id".into(), json!(e.id));
    fields.insert("interface".into(), json!(e.interface));
    fields.insert("region_id".into(), json!(e.region));
    fields.insert("region".into(), json!(e.region));
    fields.insert("service_id".into(), json!(e.service_id));
    fields.insert("url".into(), json!(e.url));
    fields.insert("enabled".into(), json!(e.enabled));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(project_id: Option<&'static str>) -> Substitutions<'static> {
        Substitutions {
            user_id: "u1",
            project_id,
            public_endpoint: None,
        }
    }

    #[test]
    fn urls_are_formatted_as_keystone_formats_them() {
        let url = "http://h:8774/v2.1/$(project_id)s/x";
        assert_eq!(
            format_url(url, &with(Some("p1"))).unwrap().as_deref(),
            Some("http://h:8774/v2.1/p1/x")
        );
        assert_eq!(format_url(url, &with(None)).unwrap(), None);
        assert_eq!(
            format_url("http://h/$(tenant_id)s/$(user_id)s", &with(Some("p")))
                .unwrap()
                .as_deref(),
            Some("http://h/p/u1")
        );
        assert_eq!(
            format_url("http://h/a%%b", &with(None)).unwrap().as_deref(),
            Some("http://h/a%b")
        );
        assert!(format_url("http://h/$(nope)s", &with(Some("p"))).is_err());
        assert!(format_url("http://h/a%20b", &with(Some("p"))).is_err());
        assert!(format_url("http://h/$(compute_host)s", &with(Some("p"))).is_err());
    }

    #[test]
    fn endpoint_urls_may_name_only_keystones_substitutions() {
        assert!(check_endpoint_url("http://h:8774/v2.1/$(project_id)s").is_ok());
        assert!(check_endpoint_url("http://h/$(compute_host)s").is_ok());
        assert!(check_endpoint_url("http://h/").is_ok());
        assert!(check_endpoint_url("http://h/$(admin_token)s").is_err());
        assert!(check_endpoint_url("http://h/$(project_id").is_err());
    }

    #[test]
    fn a_project_with_associations_sees_only_those_endpoints() {
        let public = Endpoint::new("e1", "s1", "public", "http://h/1");
        let admin = Endpoint::new("e2", "s1", "admin", "http://h/2");
        let other = Endpoint::new("e3", "s2", "public", "http://h/3");
        let mut filters = Map::new();
        filters.insert("interface".into(), json!("admin"));
        let data = CatalogData {
            services: vec![
                Service::new("s1", "identity", "keystone"),
                Service::new("s2", "image", "glance"),
            ],
            endpoints: vec![public, admin, other],
            project_endpoints: vec![ProjectAssociation::new("e1", "p1")],
            groups: vec![EndpointGroup::new("g1", "admins", filters)],
            project_groups: vec![ProjectAssociation::new("g1", "p2")],
        };
        let ids = |catalog: Value| -> Vec<String> {
            catalog
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s["endpoints"].as_array().unwrap().clone())
                .map(|e| e["id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(ids(data.render("u", Some("p1"), None, true)), ["e1"]);
        assert_eq!(
            data.render("u", Some("p1"), None, true)
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(ids(data.render("u", Some("p2"), None, true)), ["e2"]);
        assert_eq!(
            ids(data.render("u", Some("p3"), None, true)),
            ["e1", "e2", "e3"]
        );
        assert_eq!(ids(data.render("u", None, None, true)), ["e1", "e2", "e3"]);
        // [endpoint_filter] return_all_endpoints_if_no_filter = false
        assert_eq!(data.render("u", Some("p3"), None, false), json!([]));
        assert_eq!(data.render("u", None, None, false), json!([]));
        assert_eq!(ids(data.render("u", Some("p1"), None, false)), ["e1"]);
    }
}
