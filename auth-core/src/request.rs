//! Parsing and validating `POST /v3/auth/tokens` bodies.
//!
//! The engine never trusts the body's shape: it is size-limited before
//! parsing, depth-limited after, and every member the engine reads is type
//! checked here, so a method only ever sees its own `identity.<method>`
//! object and the engine never panics on odd input.

use std::borrow::Cow;

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::AuthError;
use crate::payload::{Payload, describe_without_values};
use crate::store::{DomainRef, User, UserRef, UserStore, resolve_user};

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
    payloads: Vec<Payload>,
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

/// What one pass over the body keeps: borrowed slices of the members the
/// engine reads, nothing else.
#[derive(Default)]
struct BodyParts<'a> {
    auth_seen: bool,
    identity_seen: bool,
    methods: Option<Value>,
    members: Vec<(Cow<'a, str>, &'a RawValue)>,
    scope: Option<&'a RawValue>,
}

impl AuthRequest {
    /// Parses a raw body, enforcing `limits`.
    ///
    /// Only the structure the engine needs is parsed; each method's payload
    /// is kept as raw JSON (see [`Payload`]).
    pub fn from_slice(body: &[u8], limits: &RequestLimits) -> Result<Self, AuthError> {
        if body.len() > limits.max_body_bytes {
            return Err(AuthError::PayloadTooLarge {
                size: body.len(),
                limit: limits.max_body_bytes,
            });
        }
        if nesting_exceeds(body, limits.max_depth) {
            return Err(AuthError::bad_request(format!(
                "the body is nested deeper than {} levels",
                limits.max_depth
            )));
        }
        let mut parts = BodyParts::default();
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        Root(&mut parts)
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end())
            .map_err(|e| {
                AuthError::bad_request(format!("invalid body: {}", describe_without_values(&e)))
            })?;
        if !parts.auth_seen {
            return Err(AuthError::bad_request("'auth' is a required object"));
        }
        if !parts.identity_seen {
            return Err(AuthError::bad_request(
                "'auth.identity' is a required object",
            ));
        }
        let methods = parse_methods(parts.methods, limits)?;
        let mut payloads = Vec::with_capacity(methods.len());
        for method in &methods {
            let raw = parts
                .members
                .iter()
                .rev() // the last duplicate key wins, as in serde_json's maps
                .find(|(key, _)| key == method)
                .map(|(_, raw)| *raw)
                .ok_or_else(|| AuthError::MissingMethodPayload {
                    method: method.clone(),
                })?;
            payloads.push(Payload::from_raw(method.clone(), raw.to_owned())?);
        }
        let scope = match parts.scope {
            Some(raw) => parse_scope(serde_json::from_str(raw.get()).ok())?,
            None => ScopeRequest::Default,
        };
        Ok(Self {
            methods,
            payloads,
            scope,
        })
    }

    /// Validates an already parsed body, with the same limits.
    pub fn from_value(value: &Value, limits: &RequestLimits) -> Result<Self, AuthError> {
        // Checked before serializing, which recurses.
        if depth_exceeds(value, limits.max_depth) {
            return Err(AuthError::bad_request(format!(
                "the body is nested deeper than {} levels",
                limits.max_depth
            )));
        }
        let body = serde_json::to_vec(value)
            .map_err(|e| AuthError::bad_request(format!("the body cannot be encoded: {e}")))?;
        Self::from_slice(&body, limits)
    }

    /// The requested methods, de-duplicated, in request order.
    pub fn methods(&self) -> &[String] {
        &self.methods
    }

    /// The `identity.<method>` object of one requested method.
    pub fn payload(&self, method: &str) -> Option<&Payload> {
        self.payloads.iter().find(|p| p.method() == method)
    }

    /// The requested scope.
    pub fn scope(&self) -> &ScopeRequest {
        &self.scope
    }
}

// One pass over the body with serde visitors that descend only into
// `auth` and `auth.identity`, borrow every method payload as raw JSON and
// skip everything else without allocating. Each visitor accepts only a JSON
// object (serde's derived structs would also take arrays).

struct Root<'p, 'a>(&'p mut BodyParts<'a>);
struct AuthMember<'p, 'a>(&'p mut BodyParts<'a>);
struct IdentityMember<'p, 'a>(&'p mut BodyParts<'a>);

/// A map key, borrowed from the body unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> DeserializeSeed<'de> for Root<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Root<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the body to be a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            if key == "auth" {
                map.next_value_seed(AuthMember(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for AuthMember<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for AuthMember<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("'auth' to be an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.auth_seen = true;
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                "identity" => map.next_value_seed(IdentityMember(&mut *self.0))?,
                "scope" => self.0.scope = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for IdentityMember<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for IdentityMember<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("'auth.identity' to be an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.identity_seen = true;
        while let Some(Key(key)) = map.next_key()? {
            if key == "methods" {
                self.0.methods = Some(map.next_value()?);
            } else {
                let raw: &'de RawValue = map.next_value()?;
                self.0.members.push((key, raw));
            }
        }
        Ok(())
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

/// The `user` object Keystone's methods share:
/// `{"id": ...}` or `{"name": ..., "domain": {"id"|"name": ...}}`.
///
/// Methods embed it in their typed payloads (with `#[serde(flatten)]` or as
/// a field) and turn it into a [`UserRef`] with [`UserSelector::to_ref`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct UserSelector {
    /// The user id.
    #[serde(default)]
    pub id: Option<String>,
    /// The user name (needs a domain).
    #[serde(default)]
    pub name: Option<String>,
    /// The domain of a user named by name.
    #[serde(default)]
    pub domain: Option<DomainSelector>,
}

/// `{"id": ...}` or `{"name": ...}` naming a domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DomainSelector {
    /// The domain id.
    #[serde(default)]
    pub id: Option<String>,
    /// The domain name.
    #[serde(default)]
    pub name: Option<String>,
}

impl UserSelector {
    /// The user this selects; `at` names the member in error messages.
    pub fn to_ref(&self, at: &str) -> Result<UserRef, AuthError> {
        if let Some(id) = &self.id {
            return Ok(UserRef::Id(bounded(id, at, "id")?));
        }
        let Some(name) = &self.name else {
            return Err(AuthError::bad_request(format!(
                "'{at}' needs an 'id', or a 'name' and a 'domain'"
            )));
        };
        let Some(domain) = &self.domain else {
            return Err(AuthError::bad_request(format!(
                "'{at}' names a user by name, so it needs 'domain' with an id or a name"
            )));
        };
        Ok(UserRef::Name {
            name: bounded(name, at, "name")?,
            domain: domain.to_ref(&format!("{at}.domain"))?,
        })
    }
}

impl UserSelector {
    /// The user this selects, or `None` when there is none to find (an
    /// unknown user, an unknown or disabled domain). A method that gets
    /// `None` should still spend what checking a real secret costs before
    /// it fails, so that timing does not reveal which accounts exist.
    pub async fn find(&self, users: &dyn UserStore, at: &str) -> Result<Option<User>, AuthError> {
        match resolve_user(users, &self.to_ref(at)?).await {
            Ok(user) => Ok(Some(user)),
            Err(AuthError::InvalidCredentials) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl DomainSelector {
    /// The domain this selects.
    pub fn to_ref(&self, at: &str) -> Result<DomainRef, AuthError> {
        match (&self.id, &self.name) {
            (Some(id), _) => Ok(DomainRef::Id(bounded(id, at, "id")?)),
            (None, Some(name)) => Ok(DomainRef::Name(bounded(name, at, "name")?)),
            (None, None) => Err(AuthError::bad_request(format!(
                "'{at}' needs an 'id' or a 'name'"
            ))),
        }
    }
}

fn bounded(value: &str, at: &str, key: &str) -> Result<String, AuthError> {
    if value.is_empty() || value.len() > MAX_NAME_LEN {
        return Err(AuthError::bad_request(format!(
            "'{at}.{key}' must be 1 to {MAX_NAME_LEN} characters"
        )));
    }
    Ok(value.to_owned())
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

/// Whether the JSON text `bytes` nests arrays/objects deeper than `max`
/// levels. One pass that jumps over string contents with `memchr` (most of
/// a body is strings); malformed JSON is left for the parser to refuse.
fn nesting_exceeds(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(offset) = memchr::memchr3(b'"', b'[', b'{', &bytes[i..]) {
        // Closing brackets between here and the next opener or quote.
        depth = depth.saturating_sub(count_closers(&bytes[i..i + offset]));
        i += offset;
        match bytes[i] {
            b'"' => match end_of_string(bytes, i + 1) {
                Some(end) => i = end + 1,
                None => return false,
            },
            _ => {
                depth += 1;
                if depth > max {
                    return true;
                }
                i += 1;
            }
        }
    }
    false
}

fn count_closers(bytes: &[u8]) -> usize {
    memchr::memchr2_iter(b']', b'}', bytes).count()
}

/// The index of the quote that closes the string starting at `start`.
fn end_of_string(bytes: &[u8], mut start: usize) -> Option<usize> {
    loop {
        let offset = memchr::memchr2(b'"', b'\\', &bytes[start..])?;
        let at = start + offset;
        if bytes[at] == b'"' {
            return Some(at);
        }
        start = at + 2; // skip the escaped character
        if start > bytes.len() {
            return None;
        }
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
        AuthRequest::from_value(&value, &RequestLimits::default())
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
    fn user_selectors_resolve_to_refs() {
        let sel = |v: Value| {
            serde_json::from_value::<UserSelector>(v)
                .unwrap()
                .to_ref("p")
        };
        assert_eq!(sel(json!({"id": "u"})).unwrap(), UserRef::Id("u".into()));
        assert_eq!(
            sel(json!({"name": "alice", "domain": {"id": "default"}})).unwrap(),
            UserRef::Name {
                name: "alice".into(),
                domain: DomainRef::Id("default".into())
            }
        );
        assert!(sel(json!({"name": "alice"})).is_err());
        assert!(sel(json!({"name": "alice", "domain": {}})).is_err());
        assert!(sel(json!({"id": ""})).is_err());
        assert!(sel(json!({})).is_err());
    }

    #[test]
    fn payloads_are_the_raw_objects() {
        let r =
            parse(json!({"auth": {"identity": {"methods": ["m"], "m": {"k": [1, 2]}}}})).unwrap();
        assert_eq!(r.payload("m").unwrap().to_value(), json!({"k": [1, 2]}));
        assert!(r.payload("other").is_none());
    }

    #[test]
    fn arrays_are_not_bodies_even_if_serde_would_take_them() {
        let e = AuthRequest::from_slice(br#"[{"identity": {}}]"#, &RequestLimits::default());
        assert_eq!(e.unwrap_err().http_status(), 400);
    }

    #[test]
    fn the_nesting_scan_counts_like_a_parser() {
        let cases: &[(&str, usize)] = &[
            ("{}", 1),
            ("[[]]", 2),
            ("[[],[[]]]", 3),
            (r#"{"a": "[[[[", "b": [{}]}"#, 3),
            (r#"{"a": "\\", "b": [[]]}"#, 3),
            (r#"{"a": "\"[[[[", "b": 1}"#, 1),
            (r#"{"a": "unterminated [[[["#, 1),
        ];
        for (text, depth) in cases {
            assert!(
                !nesting_exceeds(text.as_bytes(), *depth),
                "{text} within {depth}"
            );
            assert!(
                nesting_exceeds(text.as_bytes(), depth - 1),
                "{text} deeper than {}",
                depth - 1
            );
        }
    }

    #[test]
    fn the_nesting_scan_ignores_brackets_in_strings() {
        let inner = "[".repeat(40);
        let body =
            json!({"auth": {"identity": {"methods": ["m"], "m": {"s": inner, "q": "a\\\"[["}}}});
        assert!(
            AuthRequest::from_slice(body.to_string().as_bytes(), &RequestLimits::default()).is_ok()
        );
    }
}
