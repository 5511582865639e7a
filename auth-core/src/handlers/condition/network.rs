//! Client networks with exclusions: `"10.0.0.0/8, !10.0.0.7"`.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde_json::Value;

/// Networks an address must be in, and networks it must not be in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Networks {
    include: Vec<IpNet>,
    exclude: Vec<IpNet>,
}

impl Networks {
    /// Parses a string of comma-separated entries, or an array of such
    /// strings. An entry is a network (`10.0.0.0/8`) or an address
    /// (`10.0.0.7`), and `!` in front excludes it. Without any included
    /// entry, every address not excluded is in.
    pub(crate) fn parse(value: &Value) -> Result<Self, String> {
        let texts: Vec<&str> = match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().ok_or("networks must be strings"))
                .collect::<Result<_, _>>()?,
            _ => return Err("networks must be a string or an array of strings".to_owned()),
        };
        let mut networks = Self {
            include: Vec::new(),
            exclude: Vec::new(),
        };
        for entry in texts.iter().flat_map(|t| t.split(',')).map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            let (list, text) = match entry.strip_prefix('!') {
                Some(text) => (&mut networks.exclude, text.trim()),
                None => (&mut networks.include, entry),
            };
            let net = IpNet::from_str(text)
                .or_else(|_| IpAddr::from_str(text).map(IpNet::from))
                .map_err(|_| format!("'{text}' is not a network or an address"))?;
            list.push(net.trunc());
        }
        if networks.include.is_empty() && networks.exclude.is_empty() {
            return Err("no network given".to_owned());
        }
        Ok(networks)
    }

    /// Whether `addr` is in an included network (or none is listed) and in
    /// no excluded one. IPv4-mapped IPv6 addresses count as IPv4.
    pub(crate) fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        (self.include.is_empty() || self.include.iter().any(|n| n.contains(&addr)))
            && !self.exclude.iter().any(|n| n.contains(&addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_with_exclusions() {
        let n = Networks::parse(&json!("10.0.0.0/8, !10.0.0.7, 192.168.1.5")).unwrap();
        assert!(n.contains(ip("10.1.2.3")));
        assert!(!n.contains(ip("10.0.0.7")));
        assert!(n.contains(ip("192.168.1.5")));
        assert!(!n.contains(ip("192.168.1.6")));
        assert!(n.contains(ip("::ffff:10.9.9.9")));
        let only_excluded = Networks::parse(&json!(["!127.0.0.0/8", "!::1"])).unwrap();
        assert!(only_excluded.contains(ip("8.8.8.8")));
        assert!(!only_excluded.contains(ip("127.0.0.1")));
        assert!(!only_excluded.contains(ip("::1")));
        let v6 = Networks::parse(&json!("2001:db8::/32")).unwrap();
        assert!(v6.contains(ip("2001:db8::1")) && !v6.contains(ip("10.0.0.1")));
    }

    #[test]
    fn bad_networks_are_named() {
        for bad in [
            json!("10.0.0.0/33"),
            json!("ten"),
            json!(" , "),
            json!(5),
            json!([1]),
        ] {
            assert!(Networks::parse(&bad).is_err(), "{bad}");
        }
        let e = Networks::parse(&json!("10.0.0.0/8, !nope")).unwrap_err();
        assert!(e.contains("'nope'"), "{e}");
    }
}
