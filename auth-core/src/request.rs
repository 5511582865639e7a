//! Parsing and validating `POST /v3/auth/tokens` bodies.
//!
//! The engine never trusts the body's shape: it is size-limited before
//! parsing, depth-limited after, and every member the engine reads is type
//! checked here, so a method only ever sees its own `identity.<method>`
//! object and the engine never panics on odd input.

use serde_json::{Map, Value};

use crate::AuthError;
use crate::store::{DomainRef, UserRef};

/// Limits applied to every request before any method runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Largest accepted body, in bytes.
    pub max_body_bytes: usize,
    /// Deepest accepted nesting of JSON arrays and objects.
    pub max_depth: usize,
    /// Most methods one request may list (after de-duplication).
    pub max_methods: usize,
}

impl Default for RequestLimits {
    /// 64 KiB, depth 32 and 8 methods: far above any real client, far below
    /// anything that costs the server.
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            max_depth: 32,
            max_methods: 8,
        }
    }
}

/// The longest method name, id or name accepted in a request.
const MAX_NAME_LEN: usize = 255;

/// A validated authentication request.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthRequest {
    methods: Vec<String>,
    payloads: Map<String, Value>,
    scope: ScopeRequest,
}

/// The scope a request asks for (`auth.scope`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeRequest {
    /// No scope member: the user's default project, if usable, else unscoped.
    Default,
    /// `"scope": "unscoped"`: explicitly unscoped.
    Unscoped,
    /// A project, by id or by name within a domain.
    Project(ProjectRef),
    /// A domain.
    Domain(DomainRef),
    /// The whole deployment (`{"system": {"all": true}}`).
    System,
    /// A trust (`{"OS-TRUST:trust": {"id": ...}}`).
    Trust {
        /// The trust id.
        id: String,
    },
}

/// A project named in a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectRef {
    /// By id.
    Id(String),
    /// By name within a domain.
    Name {
        /// The project name.
        name: String,
        /// Its domain.
        domain: DomainRef,
    },
}

impl AuthRequest {
    /// Parses a raw body, enforcing `limits`.
    pub fn from_slice(body: &[u8], limits: &RequestLimits) -> Result<Self, AuthError> {
        if body.len() > limits.max_body_bytes {
            return Err(AuthError::PayloadTooLarge {
                size: body.len(),
                limit: limits.max_body_bytes,
            });
        }
        // serde_json stops at 128 levels of nesting on its own, so even a
        // hostile body cannot exhaust the stack here.
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| AuthError::bad_request(format!("the body is not valid JSON: {e}")))?;
        Self::from_value(value, limits)
    }

    /// Validates an already parsed body, enforcing the depth and method
    /// limits (the size limit applies to raw bodies only).
    pub fn from_value(value: Value, limits: &RequestLimits) -> Result<Self, AuthError> {
        if depth_exceeds(&value, limits.max_depth) {
            return Err(AuthError::bad_request(format!(
                "the body is nested deeper than {} levels",
                limits.max_depth
            )));
        }
        let Value::Object(mut root) = value else {
            return Err(AuthError::bad_request("the body must be a JSON object"));
        };
        let Some(Value::Object(mut auth)) = root.remove("auth") else {
            return Err(AuthError::bad_request("'auth' is a required object"));
        };
        let Some(Value::Object(mut identity)) = auth.remove("identity") else {
            return Err(AuthError::bad_request(
                "'auth.identity' is a required object",
            ));
        };
        let methods = parse_methods(identity.remove("methods"), limits)?;
        let mut payloads = Map::new();
        for method in &methods {
            match identity.remove(method) {
                Some(Value::Object(payload)) => {
                    payloads.insert(method.clone(), Value::Object(payload));
                }
                Some(_) => {
                    return Err(AuthError::bad_request(format!(
                        "'auth.identity.{method}' must be an object"
                    )));
                }
                None => {
                    return Err(AuthError::MissingMethodPayload {
                        method: method.clone(),
                    });
                }
            }
        }
        let scope = parse_scope(auth.remove("scope"))?;
        Ok(Self {
            methods,
            payloads,
            scope,
        })
    }

    /// The requested methods, de-duplicated, in request order.
    pub fn methods(&self) -> &[String] {
        &self.methods
    }

    /// The `identity.<method>` object of one requested method.
    pub fn payload(&self, method: &str) -> Option<&Value> {
        self.payloads.get(method)
    }

    /// The requested scope.
    pub fn scope(&self) -> &ScopeRequest {
        &self.scope
    }
}

fn parse_methods(value: Option<Value>, limits: &RequestLimits) -> Result<Vec<String>, AuthError> {
    let Some(Value::Array(items)) = value else {
        return Err(AuthError::bad_request(
            "'auth.identity.methods' is a required list of method names",
        ));
    };
    let mut methods: Vec<String> = Vec::with_capacity(items.len().min(limits.max_methods));
    for item in items {
        let Value::String(name) = item else {
            return Err(AuthError::bad_request(
                "'auth.identity.methods' must contain only strings",
            ));
        };
        if !is_valid_method_name(&name) {
            return Err(AuthError::bad_request(
                "a method name must be 1 to 64 characters of letters, digits, '_', '-', '.' or ':'",
            ));
        }
        // De-duplicate keeping the first occurrence, as Keystone does.
        if !methods.contains(&name) {
            if methods.len() == limits.max_methods {
                return Err(AuthError::bad_request(format!(
                    "at most {} methods may be combined in one request",
                    limits.max_methods
                )));
            }
            methods.push(name);
        }
    }
    if methods.is_empty() {
        return Err(AuthError::bad_request(
            "'auth.identity.methods' must name at least one method",
        ));
    }
    Ok(methods)
}

fn is_valid_method_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

fn parse_scope(value: Option<Value>) -> Result<ScopeRequest, AuthError> {
    let object = match value {
        None | Some(Value::Null) => return Ok(ScopeRequest::Default),
        Some(Value::String(s)) if s == "unscoped" => return Ok(ScopeRequest::Unscoped),
        Some(Value::Object(object)) => object,
        Some(_) => {
            return Err(AuthError::bad_request(
                "'auth.scope' must be an object or the string \"unscoped\"",
            ));
        }
    };
    if object.len() != 1 {
        return Err(AuthError::bad_request(
            "'auth.scope' must name exactly one of project, domain, system or OS-TRUST:trust",
        ));
    }
    let Some((kind, target)) = object.into_iter().next() else {
        return Err(AuthError::bad_request("'auth.scope' is empty"));
    };
    let Value::Object(target) = target else {
        return Err(AuthError::bad_request(format!(
            "'auth.scope.{kind}' must be an object"
        )));
    };
    match kind.as_str() {
        "project" => parse_project_ref(&target).map(ScopeRequest::Project),
        "domain" => parse_domain_ref(&target, "auth.scope.domain").map(ScopeRequest::Domain),
        "system" => match target.get("all") {
            Some(Value::Bool(true)) => Ok(ScopeRequest::System),
            _ => Err(AuthError::bad_request(
                "'auth.scope.system' must be {\"all\": true}",
            )),
        },
        "OS-TRUST:trust" => Ok(ScopeRequest::Trust {
            id: required_str(&target, "id", "auth.scope.OS-TRUST:trust")?,
        }),
        // Older clients send {"unscoped": {}} (LP#1637682).
        "unscoped" => Ok(ScopeRequest::Unscoped),
        other => Err(AuthError::bad_request(format!(
            "unknown scope '{}'",
            truncate(other)
        ))),
    }
}

fn parse_project_ref(target: &Map<String, Value>) -> Result<ProjectRef, AuthError> {
    if target.contains_key("id") {
        return Ok(ProjectRef::Id(required_str(
            target,
            "id",
            "auth.scope.project",
        )?));
    }
    let name = required_str(target, "name", "auth.scope.project")?;
    let Some(Value::Object(domain)) = target.get("domain") else {
        return Err(AuthError::bad_request(
            "a project named by name needs 'domain' with an id or a name",
        ));
    };
    let domain = parse_domain_ref(domain, "auth.scope.project.domain")?;
    Ok(ProjectRef::Name { name, domain })
}

/// Parses `{"id": ...}` or `{"name": ...}` naming a domain.
pub fn parse_domain_ref(target: &Map<String, Value>, at: &str) -> Result<DomainRef, AuthError> {
    if target.contains_key("id") {
        Ok(DomainRef::Id(required_str(target, "id", at)?))
    } else if target.contains_key("name") {
        Ok(DomainRef::Name(required_str(target, "name", at)?))
    } else {
        Err(AuthError::bad_request(format!(
            "'{at}' needs an 'id' or a 'name'"
        )))
    }
}

/// Parses the `user` object Keystone's methods share:
/// `{"id": ...}` or `{"name": ..., "domain": {"id"|"name": ...}}`.
pub fn parse_user_ref(user: &Value, at: &str) -> Result<UserRef, AuthError> {
    let Value::Object(user) = user else {
        return Err(AuthError::bad_request(format!("'{at}' must be an object")));
    };
    if user.contains_key("id") {
        return Ok(UserRef::Id(required_str(user, "id", at)?));
    }
    let name = required_str(user, "name", at)?;
    let Some(Value::Object(domain)) = user.get("domain") else {
        return Err(AuthError::bad_request(format!(
            "'{at}' names a user by name, so it needs 'domain' with an id or a name"
        )));
    };
    let domain = parse_domain_ref(domain, &format!("{at}.domain"))?;
    Ok(UserRef::Name { name, domain })
}

/// Reads a required, non-empty string member of at most 255 characters.
pub fn required_str(object: &Map<String, Value>, key: &str, at: &str) -> Result<String, AuthError> {
    match object.get(key) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_NAME_LEN => Ok(s.clone()),
        Some(Value::String(_)) => Err(AuthError::bad_request(format!(
            "'{at}.{key}' must be 1 to {MAX_NAME_LEN} characters"
        ))),
        Some(_) => Err(AuthError::bad_request(format!(
            "'{at}.{key}' must be a string"
        ))),
        None => Err(AuthError::bad_request(format!("'{at}.{key}' is required"))),
    }
}

/// Whether `value` nests arrays/objects deeper than `max` levels. Iterative,
/// so it cannot itself overflow the stack.
fn depth_exceeds(value: &Value, max: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = vec![(value, 1)];
    while let Some((value, depth)) = stack.pop() {
        match value {
            Value::Array(_) | Value::Object(_) if depth > max => return true,
            Value::Array(items) => stack.extend(items.iter().map(|child| (child, depth + 1))),
            Value::Object(members) => {
                stack.extend(members.values().map(|child| (child, depth + 1)));
            }
            _ => {}
        }
    }
    false
}

/// Shortens client-supplied text before it is echoed in an error message.
fn truncate(text: &str) -> String {
    const KEEP: usize = 64;
    match text.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<AuthRequest, AuthError> {
        AuthRequest::from_value(value, &RequestLimits::default())
    }

    fn password_body(scope: Value) -> Value {
        json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"id": "u1", "password": "s"}}}, "scope": scope}})
    }

    #[test]
    fn methods_are_deduplicated_keeping_order() {
        let r = parse(json!({"auth": {"identity": {
            "methods": ["totp", "password", "totp"], "totp": {}, "password": {}}}}))
        .unwrap();
        assert_eq!(r.methods(), ["totp", "password"]);
    }

    #[test]
    fn a_listed_method_without_payload_is_a_400() {
        let e = parse(json!({"auth": {"identity": {"methods": ["password"]}}})).unwrap_err();
        assert!(
            matches!(e, AuthError::MissingMethodPayload { ref method } if method == "password")
        );
        assert_eq!(e.http_status(), 400);
    }

    #[test]
    fn wrong_types_are_400s() {
        for body in [
            json!([]),
            json!({"auth": 1}),
            json!({"auth": {"identity": {"methods": "password", "password": {}}}}),
            json!({"auth": {"identity": {"methods": [1], "password": {}}}}),
            json!({"auth": {"identity": {"methods": [], "password": {}}}}),
            json!({"auth": {"identity": {"methods": ["password"], "password": "x"}}}),
            json!({"auth": {"identity": {"methods": ["pass word"], "pass word": {}}}}),
            password_body(json!(7)),
            password_body(json!({"project": {"id": 5}})),
            password_body(json!({"project": {"name": "p"}})),
            password_body(json!({"project": {"id": "p"}, "domain": {"id": "d"}})),
            password_body(json!({"system": {"all": false}})),
            password_body(json!({"galaxy": {}})),
        ] {
            let e = parse(body.clone()).unwrap_err();
            assert_eq!(e.http_status(), 400, "{body} gave {e}");
        }
    }

    #[test]
    fn scopes_parse() {
        let cases = [
            (Value::Null, ScopeRequest::Default),
            (json!("unscoped"), ScopeRequest::Unscoped),
            (json!({"unscoped": {}}), ScopeRequest::Unscoped),
            (json!({"system": {"all": true}}), ScopeRequest::System),
            (
                json!({"project": {"id": "p1"}}),
                ScopeRequest::Project(ProjectRef::Id("p1".into())),
            ),
            (
                json!({"project": {"name": "demo", "domain": {"name": "Default"}}}),
                ScopeRequest::Project(ProjectRef::Name {
                    name: "demo".into(),
                    domain: DomainRef::Name("Default".into()),
                }),
            ),
            (
                json!({"domain": {"id": "default"}}),
                ScopeRequest::Domain(DomainRef::Id("default".into())),
            ),
            (
                json!({"OS-TRUST:trust": {"id": "t"}}),
                ScopeRequest::Trust { id: "t".into() },
            ),
        ];
        for (scope, expected) in cases {
            assert_eq!(parse(password_body(scope)).unwrap().scope(), &expected);
        }
    }

    #[test]
    fn a_megabyte_string_is_refused_before_parsing() {
        let big = format!(
            r#"{{"auth":{{"identity":{{"methods":["password"],"password":{{"x":"{}"}}}}}}}}"#,
            "a".repeat(1 << 20)
        );
        let e = AuthRequest::from_slice(big.as_bytes(), &RequestLimits::default()).unwrap_err();
        assert_eq!(e.http_status(), 413);
    }

    #[test]
    fn a_megabyte_method_name_within_a_large_limit_is_a_400() {
        let limits = RequestLimits {
            max_body_bytes: 4 << 20,
            ..RequestLimits::default()
        };
        let name = "a".repeat(1 << 20);
        let body = json!({"auth": {"identity": {"methods": [name.clone()], name: {}}}});
        let e = AuthRequest::from_slice(body.to_string().as_bytes(), &limits).unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert!(e.to_string().len() < 200);
    }

    #[test]
    fn thousand_deep_nesting_is_a_400_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        let body = format!(r#"{{"auth":{{"identity":{{"methods":["m"],"m":{{"x":{deep}}}}}}}}}"#);
        let e = AuthRequest::from_slice(body.as_bytes(), &RequestLimits::default()).unwrap_err();
        assert_eq!(e.http_status(), 400);
        // Within serde_json's own limit, our depth limit answers.
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let body = format!(r#"{{"auth":{{"identity":{{"methods":["m"],"m":{{"x":{deep}}}}}}}}}"#);
        let e = AuthRequest::from_slice(body.as_bytes(), &RequestLimits::default()).unwrap_err();
        assert!(e.to_string().contains("nested deeper"));
    }

    #[test]
    fn too_many_methods_are_refused() {
        let names: Vec<String> = (0..9).map(|i| format!("m{i}")).collect();
        let mut identity = Map::new();
        for n in &names {
            identity.insert(n.clone(), json!({}));
        }
        identity.insert("methods".into(), json!(names));
        let e = parse(json!({"auth": {"identity": identity}})).unwrap_err();
        assert_eq!(e.http_status(), 400);
    }

    #[test]
    fn user_refs_parse() {
        assert_eq!(
            parse_user_ref(&json!({"id": "u"}), "p").unwrap(),
            UserRef::Id("u".into())
        );
        assert_eq!(
            parse_user_ref(&json!({"name": "alice", "domain": {"id": "default"}}), "p").unwrap(),
            UserRef::Name {
                name: "alice".into(),
                domain: DomainRef::Id("default".into())
            }
        );
        assert!(parse_user_ref(&json!({"name": "alice"}), "p").is_err());
        assert!(parse_user_ref(&json!("alice"), "p").is_err());
    }
}
