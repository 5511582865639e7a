//! Who a request is from when reverse proxies stand in between:
//! `[server] trusted_proxies`.
//!
//! Behind a proxy, every connection comes from the proxy, which names the
//! client in `X-Forwarded-For` and the URL the client used in
//! `X-Forwarded-Proto` and `X-Forwarded-Host`. Anyone can send those
//! headers, so they are believed only from a peer listed in
//! `trusted_proxies` (addresses or CIDR networks; empty, the default,
//! believes none). The rule is nginx's `real_ip_recursive on` (Rails' and
//! Keycloak's too):
//!
//! - The TCP peer is not trusted: it is the client, and no forwarded
//!   header counts.
//! - It is trusted: `X-Forwarded-For` (every instance of the header, in
//!   order, each a comma-separated list) is read from right to left,
//!   skipping the addresses that are themselves trusted proxies; the first
//!   one that is not is the client. If every one is trusted, the left-most
//!   is. An entry that is not an address stops the walk, and the last
//!   address reached (the peer or a trusted proxy) is the client: garbage
//!   is never believed, and a client can never choose its address by
//!   sending the header, since the proxy appends the address it saw.
//! - `X-Forwarded-Proto` (`http` or `https`) and `X-Forwarded-Host` (a
//!   host, with an optional port) count only from a trusted peer, and only
//!   their right-most value, the one the nearest proxy set; anything else
//!   is ignored.
//!
//! [`resolve`] computes this once per request, for every HTTP listener
//! (the API, the management listener, the gateway), and puts the answer,
//! a [`ClientOrigin`], in the request's extensions; everything that wants
//! the client's address (events and their audit rows, the lockout, event
//! conditions, the failed-login log line) or the public URL the client
//! used reads it from there. `Forwarded` (RFC 7239) is not read.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

use crate::state::AppState;

/// The header naming the client and the proxies a request went through.
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";
/// The header naming the scheme the client used.
pub const X_FORWARDED_PROTO: &str = "x-forwarded-proto";
/// The header naming the host (and port) the client asked for.
pub const X_FORWARDED_HOST: &str = "x-forwarded-host";

/// `[server] trusted_proxies`: the reverse proxies whose forwarded headers
/// are believed, as networks (a single address is a /32 or /128).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// The proxies `entries` name, each an IP address or a CIDR network
    /// (`10.0.0.0/8`, `::1`); the error names the first entry that is
    /// neither.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        entries
            .into_iter()
            .map(|entry| {
                let entry = entry.trim();
                IpNet::from_str(entry)
                    .map(|net| net.trunc())
                    .or_else(|_| IpAddr::from_str(entry).map(|ip| IpNet::from(ip.to_canonical())))
                    .map_err(|_| {
                        format!(
                            "{entry:?} is not an IP address or a CIDR network (such as 10.0.0.0/8 or ::1)"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `addr` is a trusted proxy's (an IPv4-mapped IPv6 address
    /// counts as the IPv4 one).
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// Whether no proxy is trusted (the default).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    /// A list of strings, each checked by [`TrustedProxies::parse`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(deserializer)?;
        Self::parse(entries.iter().map(String::as_str))
            .map_err(|e| serde::de::Error::custom(format!("[server] trusted_proxies: {e}")))
    }
}

/// A scheme a trusted proxy may say the client used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `http`.
    Http,
    /// `https`.
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        if value.eq_ignore_ascii_case("https") {
            Some(Self::Https)
        } else if value.eq_ignore_ascii_case("http") {
            Some(Self::Http)
        } else {
            None
        }
    }
}

/// The scheme this server's listeners serve: `https` with `[tls]`, else
/// `http`. What a request came with when no trusted proxy says otherwise.
pub fn listener_scheme(state: &AppState) -> Scheme {
    if state.tls().is_some() {
        Scheme::Https
    } else {
        Scheme::Http
    }
}

/// Where a request comes from, as far as this server can tell (see the
/// module documentation): the client's address, the trusted proxies it
/// came through, and the scheme and host it asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOrigin {
    /// The client's address first, then each trusted proxy it went through,
    /// the TCP peer last; empty for a request that came on no connection
    /// (one a test hands to the router).
    chain: Vec<IpAddr>,
    /// The scheme a trusted proxy said the client used.
    scheme: Option<Scheme>,
    /// A trusted proxy's `X-Forwarded-Host`, else the request's `Host`.
    host: Option<String>,
}

impl ClientOrigin {
    /// The origin of a request with `headers` on a connection from `peer`,
    /// believing forwarded headers only as far as `trusted` allows.
    pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &TrustedProxies) -> Self {
        let own_host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let peer = peer.map(|ip| ip.to_canonical());
        let Some(peer) = peer.filter(|&ip| trusted.contains(ip)) else {
            return Self {
                chain: peer.into_iter().collect(),
                scheme: None,
                host: own_host,
            };
        };
        let mut chain = vec![peer];
        let mut hops = forwarded_for(headers).into_iter().rev();
        let mut last = peer;
        while trusted.contains(last) {
            let Some(Some(hop)) = hops.next() else {
                break;
            };
            last = hop.to_canonical();
            chain.push(last);
        }
        chain.reverse();
        Self {
            chain,
            scheme: right_most(headers, X_FORWARDED_PROTO).and_then(Scheme::parse),
            host: right_most(headers, X_FORWARDED_HOST)
                .filter(|host| is_host(host))
                .map(str::to_owned)
                .or(own_host),
        }
    }

    /// The origin in a request's `extensions` (put there by [`resolve`]),
    /// or, for a request that did not pass that middleware, its TCP peer
    /// and `Host` alone, no forwarded header believed.
    pub fn of(extensions: &Extensions, headers: &HeaderMap) -> Self {
        if let Some(origin) = extensions.get::<Self>() {
            return origin.clone();
        }
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Self::resolve(peer, headers, &TrustedProxies::default())
    }

    /// The client's address (none for a request on no connection).
    pub fn client_addr(&self) -> Option<IpAddr> {
        self.chain.first().copied()
    }

    /// The client's address, then each trusted proxy's it came through,
    /// the TCP peer's last: what a proxy passing the request on sends as
    /// `X-Forwarded-For`.
    pub fn chain(&self) -> &[IpAddr] {
        &self.chain
    }

    /// The scheme a trusted proxy said the client used, if one did.
    pub fn forwarded_scheme(&self) -> Option<Scheme> {
        self.scheme
    }

    /// The host (and port) the client asked for: a trusted proxy's
    /// `X-Forwarded-Host`, else the request's `Host`.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientOrigin {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::of(&parts.extensions, &parts.headers))
    }
}

/// The middleware every HTTP router runs first: the request's
/// [`ClientOrigin`] under `[server] trusted_proxies`, into its extensions.
/// The raw peer stays in `ConnectInfo`.
pub async fn resolve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let origin = ClientOrigin::resolve(
        peer,
        request.headers(),
        &state.config().server.trusted_proxies,
    );
    request.extensions_mut().insert(origin);
    next.run(request).await
}

/// Every `X-Forwarded-For` entry, left to right across the header's
/// instances: an address, or `None` for one that is not (a value that is
/// not text counts as one such entry).
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(text) => text
                .split(',')
                .map(|entry| IpAddr::from_str(entry.trim()).ok())
                .collect(),
            Err(_) => vec![None],
        })
        .collect()
}

/// The right-most value of the header `name` (the last comma-separated
/// entry of its last instance), trimmed; none when it is absent, empty or
/// not text.
fn right_most<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let last = headers.get_all(name).iter().next_back()?.to_str().ok()?;
    let value = last.rsplit(',').next().unwrap_or_default().trim();
    (!value.is_empty()).then_some(value)
}

/// Whether `value` is a host with an optional port: a name of letters,
/// digits, `-`, `.` and `_`, an IPv4 address, or a bracketed IPv6 one,
/// then `:` and a port number or nothing.
fn is_host(value: &str) -> bool {
    let (host_ok, port) = match value.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((ip, port)) => (Ipv6Addr::from_str(ip).is_ok(), port),
            None => return false,
        },
        None => {
            let (name, port) = value.split_at(value.find(':').unwrap_or(value.len()));
            let name_ok = !name.is_empty()
                && name.len() <= 253
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            (name_ok, port)
        }
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|digits| {
            !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && digits.parse::<u16>().is_ok()
        });
    host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn trusted(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(entries.iter().copied()).unwrap()
    }

    /// Headers from `(name, value)` pairs, repeated names as separate
    /// instances, in order.
    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn origin(peer: &str, proxies: &[&str], pairs: &[(&str, &str)]) -> ClientOrigin {
        ClientOrigin::resolve(Some(ip(peer)), &headers(pairs), &trusted(proxies))
    }

    fn client(peer: &str, proxies: &[&str], pairs: &[(&str, &str)]) -> IpAddr {
        origin(peer, proxies, pairs).client_addr().unwrap()
    }

    #[test]
    fn entries_are_addresses_or_networks_and_nothing_else() {
        let t = trusted(&[
            "10.0.0.0/8",
            " 127.0.0.1 ",
            "::1",
            "fd00::/8",
            "192.168.1.77/24",
        ]);
        assert!(t.contains(ip("10.200.0.1")));
        assert!(t.contains(ip("127.0.0.1")) && !t.contains(ip("127.0.0.2")));
        assert!(t.contains(ip("::1")) && t.contains(ip("fd12::5")));
        assert!(
            t.contains(ip("::ffff:10.1.1.1")),
            "IPv4-mapped counts as IPv4"
        );
        assert!(
            t.contains(ip("192.168.1.3")),
            "host bits of a network are dropped"
        );
        assert!(!t.contains(ip("11.0.0.1")) && !t.contains(ip("fe80::1")));
        assert!(TrustedProxies::default().is_empty());
        for bad in [
            "10.0.0.0/33",
            "localhost",
            "",
            "10.0.0.1-10.0.0.9",
            "::1/129",
        ] {
            let error = TrustedProxies::parse([bad]).unwrap_err();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
    }

    #[test]
    fn the_configuration_names_the_setting_and_the_bad_entry() {
        let config = crate::Config::from_toml(
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"proxy.local\"]",
        );
        let error = config.unwrap_err().to_string();
        assert!(
            error.contains("trusted_proxies") && error.contains("\"proxy.local\""),
            "{error}"
        );
        let config =
            crate::Config::from_toml("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]")
                .unwrap();
        assert!(config.server.trusted_proxies.contains(ip("::1")));
    }

    #[test]
    fn the_environment_variable_is_a_comma_separated_list() {
        let env = |value: &'static str| {
            move |name: &str| (name == "AUTH_TRUSTED_PROXIES").then(|| value.to_owned())
        };
        let mut config = crate::Config::default();
        config.apply_env(env(" 10.0.0.0/8, ::1 ,")).unwrap();
        assert!(config.server.trusted_proxies.contains(ip("10.9.9.9")));
        assert!(config.server.trusted_proxies.contains(ip("::1")));
        config.apply_env(env("")).unwrap();
        assert!(config.server.trusted_proxies.is_empty());
        let error = config
            .apply_env(env("10.0.0.0/8,nope"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("AUTH_TRUSTED_PROXIES") && error.contains("\"nope\""),
            "{error}"
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let spoofed = [
            (X_FORWARDED_FOR, "203.0.113.9"),
            (X_FORWARDED_PROTO, "https"),
            (X_FORWARDED_HOST, "evil.example"),
            ("host", "auth.internal:5000"),
        ];
        for proxies in [&[][..], &["10.0.0.0/8"][..]] {
            let o = origin("192.0.2.1", proxies, &spoofed);
            assert_eq!(o.client_addr(), Some(ip("192.0.2.1")));
            assert_eq!(o.chain(), [ip("192.0.2.1")]);
            assert_eq!(o.forwarded_scheme(), None);
            assert_eq!(o.host(), Some("auth.internal:5000"));
        }
    }

    #[test]
    fn a_trusted_peer_names_the_client() {
        let o = origin(
            "127.0.0.1",
            &["127.0.0.1"],
            &[(X_FORWARDED_FOR, "198.51.100.7")],
        );
        assert_eq!(o.client_addr(), Some(ip("198.51.100.7")));
        assert_eq!(o.chain(), [ip("198.51.100.7"), ip("127.0.0.1")]);
        // No header: the peer itself.
        assert_eq!(client("127.0.0.1", &["127.0.0.1"], &[]), ip("127.0.0.1"));
    }

    #[test]
    fn trusted_hops_are_skipped_from_the_right_and_the_spoofed_part_dropped() {
        let proxies = ["10.0.0.0/8", "127.0.0.1"];
        // The client sent "1.2.3.4" itself; the first proxy appended its
        // address, the second proxy's own.
        let pairs = [(X_FORWARDED_FOR, "1.2.3.4, 198.51.100.7, 10.0.0.5")];
        let o = origin("127.0.0.1", &proxies, &pairs);
        assert_eq!(o.client_addr(), Some(ip("198.51.100.7")));
        assert_eq!(
            o.chain(),
            [ip("198.51.100.7"), ip("10.0.0.5"), ip("127.0.0.1")]
        );
        // Every hop trusted: the left-most.
        let pairs = [(X_FORWARDED_FOR, "10.1.1.1,10.0.0.5")];
        assert_eq!(client("127.0.0.1", &proxies, &pairs), ip("10.1.1.1"));
    }

    #[test]
    fn every_instance_of_the_header_counts_in_order() {
        let proxies = ["10.0.0.0/8"];
        let pairs = [
            (X_FORWARDED_FOR, "203.0.113.1, 198.51.100.7"),
            (X_FORWARDED_FOR, "10.0.0.9"),
        ];
        let o = origin("10.0.0.1", &proxies, &pairs);
        assert_eq!(o.client_addr(), Some(ip("198.51.100.7")));
        assert_eq!(o.chain().len(), 3);
    }

    #[test]
    fn ipv6_clients_and_proxies() {
        let proxies = ["::1", "fd00::/8"];
        let pairs = [(X_FORWARDED_FOR, "2001:db8::7, fd00::2")];
        let o = origin("::1", &proxies, &pairs);
        assert_eq!(o.client_addr(), Some(ip("2001:db8::7")));
        assert_eq!(o.chain(), [ip("2001:db8::7"), ip("fd00::2"), ip("::1")]);
        // A dual-stack listener's IPv4-mapped peer is the IPv4 proxy.
        let pairs = [(X_FORWARDED_FOR, "::ffff:198.51.100.7")];
        let o = origin("::ffff:127.0.0.1", &["127.0.0.1"], &pairs);
        assert_eq!(o.chain(), [ip("198.51.100.7"), ip("127.0.0.1")]);
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_good_address() {
        let proxies = ["10.0.0.0/8"];
        for garbage in [
            "unknown",
            "198.51.100.7:4711",
            "[2001:db8::1]",
            "",
            "_hidden",
        ] {
            let value = format!("203.0.113.1, {garbage}, 10.0.0.5");
            let o = origin("10.0.0.1", &proxies, &[(X_FORWARDED_FOR, &value)]);
            assert_eq!(o.client_addr(), Some(ip("10.0.0.5")), "{garbage:?}");
            assert_eq!(o.chain(), [ip("10.0.0.5"), ip("10.0.0.1")]);
        }
        // Garbage right at the peer: the peer.
        let pairs = [(X_FORWARDED_FOR, "198.51.100.7, nonsense")];
        assert_eq!(client("10.0.0.1", &proxies, &pairs), ip("10.0.0.1"));
        // A value that is not text is garbage too.
        let mut headers = HeaderMap::new();
        headers.append(X_FORWARDED_FOR, HeaderValue::from_static("198.51.100.7"));
        headers.append(X_FORWARDED_FOR, HeaderValue::from_bytes(b"\xff").unwrap());
        let o = ClientOrigin::resolve(Some(ip("10.0.0.1")), &headers, &trusted(&proxies));
        assert_eq!(o.client_addr(), Some(ip("10.0.0.1")));
        // Garbage left of the client is never reached.
        let pairs = [(X_FORWARDED_FOR, "nonsense, 198.51.100.7")];
        assert_eq!(client("10.0.0.1", &proxies, &pairs), ip("198.51.100.7"));
    }

    #[test]
    fn scheme_and_host_from_a_trusted_peer_right_most_and_valid_only() {
        let proxies = ["127.0.0.1"];
        let own = ("host", "127.0.0.1:5000");
        let o = origin(
            "127.0.0.1",
            &proxies,
            &[
                own,
                (X_FORWARDED_PROTO, "http, https"),
                (X_FORWARDED_HOST, "client-chosen.example"),
                (X_FORWARDED_HOST, "keystone.example.com"),
            ],
        );
        assert_eq!(o.forwarded_scheme(), Some(Scheme::Https));
        assert_eq!(o.host(), Some("keystone.example.com"));
        for (host, expected) in [
            ("keystone.example.com:8443", "keystone.example.com:8443"),
            ("[2001:db8::1]:443", "[2001:db8::1]:443"),
            ("203.0.113.5", "203.0.113.5"),
            ("evil.example/path", "127.0.0.1:5000"),
            ("user@evil.example", "127.0.0.1:5000"),
            ("evil.example:99999", "127.0.0.1:5000"),
            ("evil.example:", "127.0.0.1:5000"),
            ("[::1", "127.0.0.1:5000"),
            ("a b", "127.0.0.1:5000"),
        ] {
            let o = origin("127.0.0.1", &proxies, &[own, (X_FORWARDED_HOST, host)]);
            assert_eq!(o.host(), Some(expected), "{host}");
        }
        for (proto, expected) in [
            ("HTTPS", Some(Scheme::Https)),
            ("http", Some(Scheme::Http)),
            ("ftp", None),
            ("https, gopher", None),
        ] {
            let o = origin("127.0.0.1", &proxies, &[(X_FORWARDED_PROTO, proto)]);
            assert_eq!(o.forwarded_scheme(), expected, "{proto}");
        }
        // No host at all.
        assert_eq!(origin("127.0.0.1", &proxies, &[]).host(), None);
    }

    #[test]
    fn a_request_that_skipped_the_middleware_believes_nothing() {
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))));
        let headers = headers(&[
            (X_FORWARDED_FOR, "198.51.100.7"),
            (X_FORWARDED_PROTO, "https"),
        ]);
        let o = ClientOrigin::of(&extensions, &headers);
        assert_eq!(o.client_addr(), Some(ip("127.0.0.1")));
        assert_eq!(o.forwarded_scheme(), None);
        let resolved =
            ClientOrigin::resolve(Some(ip("127.0.0.1")), &headers, &trusted(&["127.0.0.1"]));
        extensions.insert(resolved.clone());
        assert_eq!(ClientOrigin::of(&extensions, &headers), resolved);
        assert_eq!(
            ClientOrigin::of(&Extensions::new(), &headers).client_addr(),
            None
        );
    }
}
