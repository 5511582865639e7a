//! Where a gateway request carries its token, and which one counts.
//!
//! In order: `X-Auth-Token`, `Authorization: Bearer`, a share token's
//! `token` header, `?token=`, then the session cookie. The first present
//! is the one validated; a request carrying a wrong token is refused even
//! if a later place holds a good one (no guessing which the client meant).
//! None of them ever reaches the upstream (see [`super::proxy`]).

use std::fmt;

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};

use super::session;

/// The header a share token comes in, as Orthanc's plugin reads it.
pub const TOKEN_HEADER: &str = "token";

/// The query argument a share token comes in.
pub const TOKEN_ARG: &str = "token";

/// Where a credential came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `X-Auth-Token`.
    AuthToken,
    /// `Authorization: Bearer`.
    Bearer,
    /// The `token` header.
    TokenHeader,
    /// `?token=`.
    TokenArg,
    /// The session cookie: the only one the gateway renews.
    Cookie,
}

/// A token and where it came from (never shown in `Debug`).
#[derive(Clone)]
pub struct Credential {
    /// Where.
    pub source: Source,
    /// The token.
    pub token: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// The request's credential, if it carries one.
pub fn find(headers: &HeaderMap, query: Option<&str>, cookie_name: &str) -> Option<Credential> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let found = |source, token: &str| {
        Some(Credential {
            source,
            token: token.to_owned(),
        })
    };
    if let Some(token) = header("x-auth-token") {
        return found(Source::AuthToken, token);
    }
    if let Some(value) = header(AUTHORIZATION.as_str())
        && let Some((scheme, token)) = value.split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
        && !token.trim().is_empty()
    {
        return found(Source::Bearer, token.trim());
    }
    if let Some(token) = header(TOKEN_HEADER) {
        return found(Source::TokenHeader, token);
    }
    if let Some(token) = query.and_then(token_arg) {
        return found(Source::TokenArg, token);
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| session::from_cookie_header(v, cookie_name))
        .and_then(|token| found(Source::Cookie, token))
}

/// The value of `token=` in a query string.
fn token_arg(query: &str) -> Option<&str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == TOKEN_ARG)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn each_place_in_its_order() {
        let all = headers(&[
            ("x-auth-token", "a"),
            ("authorization", "Bearer b"),
            ("token", "c"),
            ("cookie", "other=1; session=e"),
        ]);
        let source = |h: &HeaderMap, q| find(h, q, "session").map(|c| (c.source, c.token));
        assert_eq!(
            source(&all, Some("token=d")),
            Some((Source::AuthToken, "a".into()))
        );
        let rest = headers(&[("authorization", "bearer  b "), ("cookie", "session=e")]);
        assert_eq!(source(&rest, None), Some((Source::Bearer, "b".into())));
        let basic = headers(&[("authorization", "Basic eDp5"), ("token", "c")]);
        assert_eq!(
            source(&basic, None),
            Some((Source::TokenHeader, "c".into()))
        );
        assert_eq!(
            source(&HeaderMap::new(), Some("a=1&token=d")),
            Some((Source::TokenArg, "d".into()))
        );
        let cookie = headers(&[("cookie", "a=1"), ("cookie", "x=2; session=e")]);
        assert_eq!(
            source(&cookie, Some("token=")),
            Some((Source::Cookie, "e".into()))
        );
        assert_eq!(source(&headers(&[("cookie", "sessionx=1")]), None), None);
        let shown = format!("{:?}", find(&all, None, "session").unwrap());
        assert!(!shown.contains("\"a\""), "{shown}");
    }
}
