//! The session cookie: how it is written, read and slid.
//!
//! Its value is a token of this server, so `X-Auth-Token: <it>` works on
//! the Keystone API too, and revocation, disabling a user and every node's
//! validation cache apply to it unchanged. It is written `Path=/` (the
//! cookie must cover every URL of the upstream: dicomtrolley drops a
//! cookie whose path does not, see the shared DICOM notes), `HttpOnly`,
//! `SameSite=Lax`, and `Secure` when the gateway's public URL is https
//! (only then: a `Secure` cookie is never sent over http).
//!
//! It carries no `Max-Age`: the token's own expiry ends it, and a session
//! slides (see [`crate::services::sessions`]), so the browser keeps it for the session.

use crate::config::GatewaySection;

/// The `Set-Cookie` value that gives the client `token`.
pub fn set_cookie(section: &GatewaySection, token: &str) -> String {
    let secure = if section.is_https() { "; Secure" } else { "" };
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax{secure}",
        section.cookie_name
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(section: &GatewaySection) -> String {
    let secure = if section.is_https() { "; Secure" } else { "" };
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
            set_cookie(&section, "tok"),
            "session=tok; Path=/; HttpOnly; SameSite=Lax"
        );
        section.public_url = Some("HTTPS://pacs.example".into());
        section.cookie_name = "JSESSIONID".into();
        assert_eq!(
            set_cookie(&section, "tok"),
            "JSESSIONID=tok; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(clear_cookie(&section).contains("Max-Age=0"));
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
