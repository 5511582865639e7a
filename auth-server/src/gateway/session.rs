//! The session cookie: how it is written, read and slid.
//!
//! Its value is a token of this server, so `X-Auth-Token: <it>` works on
//! the Keystone API too, and revocation, disabling a user and every node's
//! validation cache apply to it unchanged. It is written `Path=/` (the
//! cookie must cover every URL of the upstream: dicomtrolley drops a
//! cookie whose path does not, see the shared DICOM notes), `HttpOnly`,
//! `SameSite=Lax`, and `Secure` when the gateway's clients use https
//! ([`super::client_scheme`]: its public URL, or a trusted proxy's
//! `X-Forwarded-Proto`, or the gateway's own TLS; only then: a `Secure`
//! cookie is never sent over http).
//!
//! It carries no `Max-Age`: the token's own expiry ends it, and a session
//! slides (see [`crate::services::sessions`]), so the browser keeps it for the session.

use crate::config::GatewaySection;
use crate::forwarded::Scheme;

/// The `Set-Cookie` value that gives the client `token`, for a client
/// using `scheme`.
pub fn set_cookie(section: &GatewaySection, scheme: Scheme, token: &str) -> String {
    let secure = if scheme == Scheme::Https {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax{secure}",
        section.cookie_name
    )
}

/// The `Set-Cookie` value that removes the session cookie, for a client
/// using `scheme`.
pub fn clear_cookie(section: &GatewaySection, scheme: Scheme) -> String {
    let secure = if scheme == Scheme::Https {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
        section.cookie_name
    )
}

/// The session token in one `Cookie` header's value, if it has one.
pub fn from_cookie_header<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, token)| token.trim().trim_matches('"'))
        .filter(|token| !token.is_empty())
}

/// The `Cookie` header value without the session cookie (`None` when
/// nothing else is left), for the upstream.
pub fn without_session(value: &str, name: &str) -> Option<String> {
    let kept: Vec<&str> = value
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .filter(|pair| pair.split_once('=').map_or(*pair, |(key, _)| key) != name)
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_has_the_attributes_clients_need() {
        let mut section = GatewaySection::default();
        assert_eq!(
            set_cookie(&section, Scheme::Http, "tok"),
            "session=tok; Path=/; HttpOnly; SameSite=Lax"
        );
        section.cookie_name = "JSESSIONID".into();
        assert_eq!(
            set_cookie(&section, Scheme::Https, "tok"),
            "JSESSIONID=tok; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(clear_cookie(&section, Scheme::Http).contains("Max-Age=0"));
        assert!(clear_cookie(&section, Scheme::Https).ends_with("; Secure"));
    }

    #[test]
    fn the_public_url_decides_the_scheme_else_a_trusted_proxy_else_the_listener() {
        use crate::forwarded::{ClientOrigin, TrustedProxies};
        use axum::http::{HeaderMap, HeaderValue};
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let peer = Some("127.0.0.1".parse().unwrap());
        let trusted = TrustedProxies::parse(["127.0.0.1"]).unwrap();
        let proxied = ClientOrigin::resolve(peer, &headers, &trusted);
        let direct = ClientOrigin::resolve(peer, &headers, &TrustedProxies::default());
        let scheme = |section: &GatewaySection, origin, own| {
            super::super::client_scheme(section, origin, own)
        };
        let mut section = GatewaySection::default();
        assert_eq!(scheme(&section, &direct, Scheme::Http), Scheme::Http);
        assert_eq!(scheme(&section, &proxied, Scheme::Http), Scheme::Https);
        // A listener serving TLS itself.
        assert_eq!(scheme(&section, &direct, Scheme::Https), Scheme::Https);
        section.public_url = Some("HTTPS://pacs.example".into());
        assert_eq!(scheme(&section, &direct, Scheme::Http), Scheme::Https);
        section.public_url = Some("http://pacs.example".into());
        assert_eq!(scheme(&section, &proxied, Scheme::Https), Scheme::Http);
    }

    #[test]
    fn reading_and_removing_the_session_cookie() {
        assert_eq!(
            from_cookie_header("a=1; session=tok", "session"),
            Some("tok")
        );
        assert_eq!(
            from_cookie_header("session=\"tok\"", "session"),
            Some("tok")
        );
        assert_eq!(from_cookie_header("mysession=tok", "session"), None);
        assert_eq!(from_cookie_header("session=", "session"), None);
        assert_eq!(
            without_session("a=1; session=tok; b=2", "session").as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(without_session("session=tok", "session"), None);
    }
}
