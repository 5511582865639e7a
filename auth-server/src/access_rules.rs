//! Access rules of restricted application credentials, as
//! keystonemiddleware applies them (`validate_allowed_request`): a token
//! from a credential with access rules may make only the requests a rule
//! names, by service type, HTTP method and path pattern. This server is
//! the `identity` service, so its own API applies them too; validating a
//! token (`GET /v3/auth/tokens`) is always allowed.

use auth_core::store::AccessRule;

/// This server's service type, as access rules name it.
pub const IDENTITY: &str = "identity";

/// Whether `rules` let a token make `method` `path` on `service`. No rules
/// at all means no restriction (Keystone leaves `access_rules` out of such
/// a credential).
pub fn allows(rules: &[AccessRule], service: &str, method: &str, path: &str) -> bool {
    if rules.is_empty() {
        return true;
    }
    if service == IDENTITY && method == "GET" && path.ends_with("/v3/auth/tokens") {
        return true;
    }
    rules.iter().any(|rule| {
        rule.service == service && rule.method == method && path_matches(&rule.path, path)
    })
}

/// One piece of a path pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Piece {
    /// This character.
    Literal(char),
    /// `*` or `{tag}`: one or more characters other than `/`.
    Segment,
    /// `**`: anything, `/` included, possibly nothing.
    Anything,
}

/// keystonemiddleware's `_path_matches`: `*` and `{name}` stand for one
/// path segment (at least one character, no `/`), `**` for any run of
/// characters, a stray brace for nothing, everything else for itself; the
/// whole path must match.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let pieces = pieces(pattern);
    let path: Vec<char> = path.chars().collect();
    matches_from(&pieces, &path)
}

fn pieces(pattern: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                pieces.push(Piece::Anything);
            }
            '*' => pieces.push(Piece::Segment),
            '{' => {
                // A tag runs to the next `}`. The middleware's regex
                // matches no token at a stray `{` or `}` and so drops it.
                let rest: String = chars.clone().collect();
                if let Some(end) = rest.find('}') {
                    for _ in 0..=rest[..end].chars().count() {
                        chars.next();
                    }
                    pieces.push(Piece::Segment);
                }
            }
            '}' => {}
            other => pieces.push(Piece::Literal(other)),
        }
    }
    pieces
}

fn matches_from(pieces: &[Piece], path: &[char]) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return path.is_empty();
    };
    match first {
        Piece::Literal(c) => path.first() == Some(c) && matches_from(rest, &path[1..]),
        Piece::Segment => {
            let run = path.iter().take_while(|c| **c != '/').count();
            (1..=run).any(|taken| matches_from(rest, &path[taken..]))
        }
        Piece::Anything => (0..=path.len()).any(|taken| matches_from(rest, &path[taken..])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(service: &str, method: &str, path: &str) -> AccessRule {
        AccessRule::new("r", service, path, method)
    }

    #[test]
    fn patterns_match_as_the_middleware_matches_them() {
        assert!(path_matches("/v3/users", "/v3/users"));
        assert!(!path_matches("/v3/users", "/v3/users/"));
        assert!(path_matches("/v3/users/*", "/v3/users/abc"));
        assert!(!path_matches("/v3/users/*", "/v3/users/abc/groups"));
        assert!(!path_matches("/v3/users/*", "/v3/users/"));
        assert!(path_matches(
            "/v3/users/{user_id}/groups",
            "/v3/users/abc/groups"
        ));
        assert!(path_matches("/v3/**", "/v3/users/abc/groups"));
        assert!(path_matches("/v3/**", "/v3/"));
        assert!(path_matches("/v3/*/x/**", "/v3/a/x/b/c"));
        assert!(!path_matches("/v3/*/x/**", "/v3/a/b/x/c"));
        assert!(path_matches("/v3/{open", "/v3/open"));
    }

    #[test]
    fn a_request_needs_a_rule_of_its_service_method_and_path() {
        let rules = [rule("identity", "GET", "/v3/users/*")];
        assert!(allows(&rules, IDENTITY, "GET", "/v3/users/u1"));
        assert!(!allows(&rules, IDENTITY, "DELETE", "/v3/users/u1"));
        assert!(!allows(&rules, "compute", "GET", "/v3/users/u1"));
        assert!(!allows(&rules, IDENTITY, "GET", "/v3/projects"));
        // Validating a token is always allowed; no rules, no restriction.
        assert!(allows(&rules, IDENTITY, "GET", "/v3/auth/tokens"));
        assert!(allows(&[], IDENTITY, "DELETE", "/v3/users/u1"));
    }
}
