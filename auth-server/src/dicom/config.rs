//! `[dicom]`: the DICOM listener's configuration, and its checked form.
//!
//! ```toml
//! [dicom]
//! listen = "0.0.0.0:11112"          # none (default): no DICOM listener
//! ae_title = "AUTH_SCP"             # the called AE title answered; another: RJ (1,1,7)
//! mode = "required"                 # not_supported | supports | required
//! anonymous_role = "reader"         # supports mode: what an association without identity holds
//! calling_ae_titles = ["CT_1"]      # only these may call; another: RJ (1,1,3) (default: any)
//! default_domain = "default"        # the domain of type 1 and 2 users
//! upstream = "ORTHANC@10.0.0.5:4242" # the PACS guarded; none: C-ECHO answered here
//! reject = [2, 2, 1]                # the RJ of a failed identity (result, source, reason)
//! artim_timeout_secs = 30           # the association request must arrive within
//! idle_timeout_secs = 600           # an association silent both ways is aborted after
//! max_pdu_length = 1048576          # the largest PDU accepted and relayed
//! max_associations = 256            # more at once: RJ (2,3,2), local limit exceeded
//! connect_timeout_secs = 10         # reaching the upstream
//!
//! [dicom.domains]                   # calling AE title -> domain (id) of its users
//! CT_1 = "radiology"
//!
//! [dicom.identity_methods]          # User Identity type -> auth method
//! 3 = "kerberos"
//!
//! [dicom.called.OTHER_AE]           # another called AE title, with its own mode
//! mode = "supports"
//!
//! [dicom.commands]                  # DIMSE requests beyond the defaults
//! N-ACTION = "upload"               # -> the imaging permission they need
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use auth_core::imaging::Permission;
use dicom_ul::pdu::{
    AssociationRJ, AssociationRJResult, AssociationRJServiceProviderASCEReason,
    AssociationRJServiceProviderPresentationReason, AssociationRJServiceUserReason,
    AssociationRJSource,
};
use serde::Deserialize;

use super::dimse::Command;
use crate::error::ServerError;

/// The `[dicom]` section as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DicomSection {
    /// Where the listener listens; none (the default) serves no DICOM.
    pub listen: Option<SocketAddr>,
    /// The called AE title the listener answers to (default `AUTH_SCP`).
    pub ae_title: String,
    /// What User Identity Negotiation the listener asks for (default
    /// `required`).
    pub mode: Mode,
    /// In `supports` and `not_supported` modes, the role whose imaging
    /// permissions an association without identity holds; none: it may
    /// only echo.
    pub anonymous_role: Option<String>,
    /// The calling AE titles accepted; empty (the default): any.
    pub calling_ae_titles: Vec<String>,
    /// The domain (id) of type 1 and 2 users whose calling AE title
    /// [`domains`](Self::domains) does not name (default `default`).
    pub default_domain: String,
    /// Calling AE title -> the domain (id) its users log in to.
    pub domains: BTreeMap<String, String>,
    /// User Identity type (1 to 255) -> the auth method that checks it, in
    /// addition to (or instead of) the defaults: 1 `dicom_asserted`, 2
    /// `password`, 5 `jwt` for a JWT with an `iss` claim when `jwt` is
    /// enabled, else `token`.
    pub identity_methods: BTreeMap<String, String>,
    /// Other called AE titles accepted, each with its own mode.
    pub called: BTreeMap<String, CalledAe>,
    /// The PACS guarded, as `AET@host:port`; none: the listener answers
    /// Verification (C-ECHO) itself and nothing else.
    pub upstream: Option<String>,
    /// The A-ASSOCIATE-RJ of a failed identity, `[result, source,
    /// reason]` (default `[2, 2, 1]`, pynetdicom's own acceptor's).
    pub reject: [u8; 3],
    /// The association request must arrive within this many seconds of the
    /// connection (PS3.8's ARTIM timer; default 30).
    pub artim_timeout_secs: u64,
    /// An association with no PDU either way for this many seconds is
    /// aborted (default 600).
    pub idle_timeout_secs: u64,
    /// The largest PDU accepted from a peer, in bytes (default 1 MiB): what
    /// the listener advertises without an upstream, and the cap of what it
    /// relays. With an upstream each side is told the other's max PDU
    /// length, capped by this, so every PDU is relayed unchanged.
    pub max_pdu_length: u32,
    /// The most associations at once (default 256); more are refused with
    /// RJ (2, 3, 2), local limit exceeded.
    pub max_associations: usize,
    /// How long reaching the upstream may take, in seconds (default 10).
    pub connect_timeout_secs: u64,
    /// DIMSE requests beyond the defaults (`N-ACTION`, `N-CREATE`, …) ->
    /// the imaging permission each needs. The defaults: C-ECHO none,
    /// C-FIND `view`, C-GET and C-MOVE `download`, C-STORE `upload`;
    /// C-CANCEL passes. Any other request is refused.
    pub commands: BTreeMap<String, String>,
}

impl Default for DicomSection {
    fn default() -> Self {
        Self {
            listen: None,
            ae_title: "AUTH_SCP".to_owned(),
            mode: Mode::Required,
            anonymous_role: None,
            calling_ae_titles: Vec::new(),
            default_domain: "default".to_owned(),
            domains: BTreeMap::new(),
            identity_methods: BTreeMap::new(),
            called: BTreeMap::new(),
            upstream: None,
            reject: [2, 2, 1],
            artim_timeout_secs: 30,
            idle_timeout_secs: 600,
            max_pdu_length: 1 << 20,
            max_associations: 256,
            connect_timeout_secs: 10,
            commands: BTreeMap::new(),
        }
    }
}

/// `[dicom.called.<AE>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalledAe {
    /// The mode of associations called to this AE title.
    pub mode: Mode,
}

/// What User Identity Negotiation a called AE title asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The identity item is ignored: every association holds the
    /// anonymous role.
    NotSupported,
    /// An identity, when sent, must authenticate; without one the
    /// association holds the anonymous role.
    Supports,
    /// Every association must carry an identity that authenticates.
    Required,
}

/// An `AET@host:port` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AeAddress {
    /// The called AE title.
    pub ae_title: String,
    /// `host:port`.
    pub address: String,
}

impl AeAddress {
    /// Parses `AET@host:port`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (ae_title, address) = text
            .split_once('@')
            .ok_or_else(|| format!("{text:?} is not AET@host:port"))?;
        check_ae_title(ae_title)?;
        let port_ok = address.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !port_ok {
            return Err(format!("{text:?} is not AET@host:port"));
        }
        Ok(Self {
            ae_title: ae_title.to_owned(),
            address: address.to_owned(),
        })
    }
}

/// An AE title: 1 to 16 printable ASCII characters, no backslash, not
/// only spaces (PS3.5's AE value representation).
fn check_ae_title(title: &str) -> Result<(), String> {
    let valid = !title.trim().is_empty()
        && title.len() <= 16
        && title
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'\\');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{title:?} is not an AE title (1 to 16 printable characters)"
        ))
    }
}

/// The checked configuration the listener runs with.
#[derive(Debug, Clone)]
pub struct DicomSettings {
    /// Called AE title -> its mode (the listener's own title included).
    pub called: BTreeMap<String, Mode>,
    /// The calling AE titles accepted (empty: any).
    pub calling_ae_titles: Vec<String>,
    /// See [`DicomSection::anonymous_role`].
    pub anonymous_role: Option<String>,
    /// See [`DicomSection::default_domain`].
    pub default_domain: String,
    /// See [`DicomSection::domains`].
    pub domains: BTreeMap<String, String>,
    /// Identity type -> method, the defaults for types 1 and 2 included
    /// (type 5 is resolved per token, see [`method_for`](super::identity::method_for)).
    pub identity_methods: BTreeMap<u8, String>,
    /// Whether `jwt` is enabled, for type 5.
    pub jwt_enabled: bool,
    /// The upstream, if any.
    pub upstream: Option<AeAddress>,
    /// The RJ of a failed identity.
    pub reject: AssociationRJ,
    /// See [`DicomSection::artim_timeout_secs`].
    pub artim_timeout: Duration,
    /// See [`DicomSection::idle_timeout_secs`].
    pub idle_timeout: Duration,
    /// See [`DicomSection::max_pdu_length`].
    pub max_pdu_length: u32,
    /// See [`DicomSection::max_associations`].
    pub max_associations: usize,
    /// See [`DicomSection::connect_timeout_secs`].
    pub connect_timeout: Duration,
    /// Requests beyond the defaults -> the permission they need.
    pub commands: BTreeMap<Command, Permission>,
}

impl DicomSection {
    /// Checks the section against the enabled methods: every AE title,
    /// the upstream address, the RJ triple, the command names and
    /// permissions, and that each configured identity method is enabled.
    pub fn check(&self, enabled_methods: &[String]) -> Result<DicomSettings, ServerError> {
        let config = |message: String| ServerError::Config(format!("[dicom] {message}"));
        let enabled = |name: &str| enabled_methods.iter().any(|m| m == name);
        let mut called = BTreeMap::new();
        check_ae_title(&self.ae_title).map_err(|e| config(format!("ae_title: {e}")))?;
        called.insert(self.ae_title.trim().to_owned(), self.mode);
        for (title, ae) in &self.called {
            check_ae_title(title).map_err(|e| config(format!("called: {e}")))?;
            called.insert(title.trim().to_owned(), ae.mode);
        }
        for title in self.calling_ae_titles.iter().chain(self.domains.keys()) {
            check_ae_title(title).map_err(|e| config(format!("calling AE title: {e}")))?;
        }
        let mut identity_methods = BTreeMap::new();
        for (default_type, method) in [(1, "dicom_asserted"), (2, "password")] {
            if enabled(method) {
                identity_methods.insert(default_type, method.to_owned());
            }
        }
        for (identity_type, method) in &self.identity_methods {
            let number = identity_type
                .parse::<u8>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    config(format!(
                        "identity_methods: {identity_type:?} is not a User Identity type (1 to 255)"
                    ))
                })?;
            if !enabled(method) {
                return Err(config(format!(
                    "identity_methods: type {number} names the method {method:?}, which [auth] methods does not enable"
                )));
            }
            identity_methods.insert(number, method.clone());
        }
        let upstream = self
            .upstream
            .as_deref()
            .map(AeAddress::parse)
            .transpose()
            .map_err(|e| config(format!("upstream: {e}")))?;
        let reject = rejection(self.reject).ok_or_else(|| {
            config(format!(
                "reject: {:?} is not an A-ASSOCIATE-RJ result, source and reason PS3.8 defines",
                self.reject
            ))
        })?;
        if !(dicom_ul::pdu::MINIMUM_PDU_SIZE..=(1 << 26)).contains(&self.max_pdu_length) {
            return Err(config(format!(
                "max_pdu_length must be between {} and {} bytes, not {}",
                dicom_ul::pdu::MINIMUM_PDU_SIZE,
                1 << 26,
                self.max_pdu_length
            )));
        }
        for (name, value) in [
            ("artim_timeout_secs", self.artim_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("connect_timeout_secs", self.connect_timeout_secs),
        ] {
            if value == 0 {
                return Err(config(format!("{name} must be at least 1")));
            }
        }
        if self.max_associations == 0 {
            return Err(config("max_associations must be at least 1".into()));
        }
        let mut commands = BTreeMap::new();
        for (name, permission) in &self.commands {
            let command: Command = name
                .parse()
                .map_err(|()| config(format!("commands: {name:?} is not a DIMSE request")))?;
            let permission: Permission = permission
                .parse()
                .map_err(|e| config(format!("commands.{name}: {e}")))?;
            commands.insert(command, permission);
        }
        Ok(DicomSettings {
            called,
            calling_ae_titles: self
                .calling_ae_titles
                .iter()
                .map(|t| t.trim().to_owned())
                .collect(),
            anonymous_role: self.anonymous_role.clone(),
            default_domain: self.default_domain.clone(),
            domains: self
                .domains
                .iter()
                .map(|(ae, domain)| (ae.trim().to_owned(), domain.clone()))
                .collect(),
            identity_methods,
            jwt_enabled: enabled("jwt"),
            upstream,
            reject,
            artim_timeout: Duration::from_secs(self.artim_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            max_pdu_length: self.max_pdu_length,
            max_associations: self.max_associations,
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            commands,
        })
    }
}

impl DicomSettings {
    /// The domain (id) of type 1 and 2 users calling from `calling_ae_title`.
    pub fn domain_for(&self, calling_ae_title: &str) -> &str {
        self.domains
            .get(calling_ae_title)
            .unwrap_or(&self.default_domain)
    }
}

/// The RJ PS3.8 (9.3.4) defines for `[result, source, reason]`, if any.
pub fn rejection([result, source, reason]: [u8; 3]) -> Option<AssociationRJ> {
    let result = match result {
        1 => AssociationRJResult::Permanent,
        2 => AssociationRJResult::Transient,
        _ => return None,
    };
    let source = match (source, reason) {
        (1, 1) => AssociationRJSource::ServiceUser(AssociationRJServiceUserReason::NoReasonGiven),
        (1, 2) => AssociationRJSource::ServiceUser(
            AssociationRJServiceUserReason::ApplicationContextNameNotSupported,
        ),
        (1, 3) => AssociationRJSource::ServiceUser(
            AssociationRJServiceUserReason::CallingAETitleNotRecognized,
        ),
        (1, 7) => AssociationRJSource::ServiceUser(
            AssociationRJServiceUserReason::CalledAETitleNotRecognized,
        ),
        (2, 1) => AssociationRJSource::ServiceProviderASCE(
            AssociationRJServiceProviderASCEReason::NoReasonGiven,
        ),
        (2, 2) => AssociationRJSource::ServiceProviderASCE(
            AssociationRJServiceProviderASCEReason::ProtocolVersionNotSupported,
        ),
        (3, 1) => AssociationRJSource::ServiceProviderPresentation(
            AssociationRJServiceProviderPresentationReason::TemporaryCongestion,
        ),
        (3, 2) => AssociationRJSource::ServiceProviderPresentation(
            AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
        ),
        _ => return None,
    };
    Some(AssociationRJ { result, source })
}

/// The `[result, source, reason]` of `rj`, as its PDU carries them.
pub fn triple(rj: &AssociationRJ) -> [u8; 3] {
    let mut bytes = Vec::with_capacity(10);
    match dicom_ul::write_pdu(&mut bytes, &dicom_ul::Pdu::AssociationRJ(rj.clone())) {
        Ok(()) if bytes.len() == 10 => [bytes[7], bytes[8], bytes[9]],
        _ => [0, 0, 0],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> Vec<String> {
        ["password", "token", "dicom_asserted"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn the_defaults_check_and_follow_the_enabled_methods() {
        let settings = DicomSection::default().check(&enabled()).unwrap();
        assert_eq!(settings.identity_methods.get(&1).unwrap(), "dicom_asserted");
        assert_eq!(settings.identity_methods.get(&2).unwrap(), "password");
        assert!(!settings.identity_methods.contains_key(&3));
        assert_eq!(settings.called.get("AUTH_SCP"), Some(&Mode::Required));
        let password_only = DicomSection::default()
            .check(&["password".to_owned()])
            .unwrap();
        assert!(!password_only.identity_methods.contains_key(&1));
    }

    #[test]
    fn a_mistake_is_named_at_start_up() {
        let bad = |edit: fn(&mut DicomSection), needle: &str| {
            let mut section = DicomSection::default();
            edit(&mut section);
            let message = section.check(&enabled()).unwrap_err().to_string();
            assert!(message.contains(needle), "{message}");
        };
        bad(|s| s.ae_title = "A_TITLE_LONGER_THAN_16".into(), "ae_title");
        bad(|s| s.upstream = Some("ORTHANC:4242".into()), "upstream");
        bad(|s| s.upstream = Some("ORTHANC@host".into()), "upstream");
        bad(|s| s.reject = [3, 2, 1], "reject");
        bad(|s| s.reject = [1, 1, 4], "reject");
        bad(
            |s| {
                s.identity_methods.insert("3".into(), "kerberos".into());
            },
            "kerberos",
        );
        bad(
            |s| {
                s.identity_methods.insert("zero".into(), "password".into());
            },
            "identity_methods",
        );
        bad(
            |s| {
                s.commands.insert("N-FROB".into(), "upload".into());
            },
            "N-FROB",
        );
        bad(
            |s| {
                s.commands.insert("N-ACTION".into(), "frobnicate".into());
            },
            "commands.N-ACTION",
        );
        bad(|s| s.max_pdu_length = 10, "max_pdu_length");
    }

    #[test]
    fn ae_addresses_parse() {
        assert_eq!(
            AeAddress::parse("ORTHANC@127.0.0.1:4242").unwrap(),
            AeAddress {
                ae_title: "ORTHANC".into(),
                address: "127.0.0.1:4242".into()
            }
        );
        assert!(AeAddress::parse("@127.0.0.1:4242").is_err());
        assert!(AeAddress::parse("ORTHANC@:4242").is_err());
        assert!(AeAddress::parse("ORTHANC@h:0").is_err());
    }

    #[test]
    fn every_defined_rejection_maps_and_others_do_not() {
        let defined = [
            [1, 1, 1],
            [1, 1, 2],
            [1, 1, 3],
            [1, 1, 7],
            [2, 2, 1],
            [2, 2, 2],
            [2, 3, 1],
            [2, 3, 2],
        ];
        for defined in defined {
            let rj = rejection(defined).unwrap();
            assert_eq!(triple(&rj), defined);
        }
        for triple in [[0, 1, 1], [1, 4, 1], [1, 2, 3], [2, 3, 3]] {
            assert!(rejection(triple).is_none(), "{triple:?}");
        }
    }
}
