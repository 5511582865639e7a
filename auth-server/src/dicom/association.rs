//! Association negotiation: the request as the listener reads it (its AE
//! titles, its User Identity item), and the answers it writes.
//!
//! `dicom-ul` decodes the A-ASSOCIATE-RQ. Two things it lacks are added
//! here, small and tested: the User Identity item of a type it does not
//! know (it keeps types 1 to 5 and drops others, which a configured
//! method may handle) is found in the request's bytes, and the server
//! response item (0x59) is written as a user variable of its own.

use std::fmt;

use dicom_ul::pdu::{
    AssociationAC, AssociationRJ, AssociationRQ, PresentationContextProposed,
    PresentationContextResult, PresentationContextResultReason, UserIdentityType, UserVariableItem,
};

use super::config::rejection;
use super::wire::Frame;

/// The DICOM application context name, the only one PS3.7 defines.
pub const APPLICATION_CONTEXT: &str = "1.2.840.10008.3.1.1.1";

/// Implicit VR Little Endian, the default transfer syntax.
pub const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";

/// Explicit VR Little Endian.
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// The listener's Implementation Class UID (under the UUID-derived root
/// `2.25`, so it needs no registered root) and version name.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.94857113226718315367240532166092361441";
/// See [`IMPLEMENTATION_CLASS_UID`].
pub const IMPLEMENTATION_VERSION: &str = "AUTH_SERVER_01";

/// The largest A-ASSOCIATE-RQ read (its body, in bytes): room for 128
/// presentation contexts and a User Identity item of two 64 KiB fields.
pub const MAX_REQUEST: u32 = 256 * 1024;

/// A User Identity item (0x58). Its fields are credentials: `Debug` shows
/// the type only.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityItem {
    /// The User Identity Type (1 username, 2 username and passcode, 3
    /// Kerberos, 4 SAML, 5 JWT, others private).
    pub identity_type: u8,
    /// Whether the requestor asked for a server response (0x59).
    pub positive_response_requested: bool,
    /// The primary field (the user name, ticket, assertion or token).
    pub primary: Vec<u8>,
    /// The secondary field (the passcode of type 2; else empty).
    pub secondary: Vec<u8>,
}

impl fmt::Debug for IdentityItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityItem")
            .field("identity_type", &self.identity_type)
            .field(
                "positive_response_requested",
                &self.positive_response_requested,
            )
            .finish_non_exhaustive()
    }
}

/// The User Identity item of a request: the one `dicom-ul` decoded, or,
/// for a type it does not know, the one in the request's bytes.
pub fn identity(request: &AssociationRQ, frame: &Frame) -> Option<IdentityItem> {
    let decoded = request.user_variables.iter().find_map(|item| match item {
        UserVariableItem::UserIdentityItem(item) => Some(item),
        _ => None,
    });
    match decoded {
        Some(item) => Some(IdentityItem {
            identity_type: type_code(&item.identity_type())?,
            positive_response_requested: item.positive_response_requested(),
            primary: item.primary_field(),
            secondary: item.secondary_field(),
        }),
        None => scan_identity(frame.body()),
    }
}

fn type_code(identity_type: &UserIdentityType) -> Option<u8> {
    Some(match identity_type {
        UserIdentityType::Username => 1,
        UserIdentityType::UsernamePassword => 2,
        UserIdentityType::KerberosServiceTicket => 3,
        UserIdentityType::SamlAssertion => 4,
        UserIdentityType::Jwt => 5,
        _ => return None,
    })
}

/// Finds a User Identity item in an A-ASSOCIATE-RQ body (PS3.8 9.3.2 and
/// PS3.7 D.3.3.7): after the 68 bytes of fixed fields, items of `type,
/// reserved, u16 length`; in the User Information item (0x50), sub-items
/// of the same shape; in 0x58, `type, response requested, u16 length,
/// primary, u16 length, secondary`. Any inconsistent length ends the scan
/// with nothing found.
fn scan_identity(body: &[u8]) -> Option<IdentityItem> {
    let user_information = items(body.get(68..)?).find(|(kind, _)| *kind == 0x50)?.1;
    let value = items(user_information).find(|(kind, _)| *kind == 0x58)?.1;
    let (&[identity_type, requested, hi, lo], rest) = value.split_first_chunk::<4>()?;
    let primary_length = usize::from(u16::from_be_bytes([hi, lo]));
    let primary = rest.get(..primary_length)?;
    let (&[hi, lo], rest) = rest.get(primary_length..)?.split_first_chunk::<2>()?;
    let secondary = rest.get(..usize::from(u16::from_be_bytes([hi, lo])))?;
    Some(IdentityItem {
        identity_type,
        positive_response_requested: requested == 1,
        primary: primary.to_vec(),
        secondary: secondary.to_vec(),
    })
}

/// The `type, reserved, u16 length, value` items of `rest`, until one
/// does not fit.
fn items(mut rest: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (&[kind, _, hi, lo], tail) = rest.split_first_chunk::<4>()?;
        let length = usize::from(u16::from_be_bytes([hi, lo]));
        let value = tail.get(..length)?;
        rest = &tail[length..];
        Some((kind, value))
    })
}

/// The server response item (0x59) carrying `response`; `None` if it is
/// longer than the item's 16-bit length allows (the association is then
/// accepted without one, which every requestor must take).
pub fn server_response(response: &[u8]) -> Option<UserVariableItem> {
    let length = u16::try_from(response.len()).ok()?;
    // The item's own length field (2 bytes) is inside its value.
    if usize::from(length) + 2 > usize::from(u16::MAX) {
        return None;
    }
    let mut value = Vec::with_capacity(response.len() + 2);
    value.extend_from_slice(&length.to_be_bytes());
    value.extend_from_slice(response);
    Some(UserVariableItem::Unknown(0x59, value))
}

/// The RJ of a request the listener refuses for its protocol or AE
/// titles, before any identity is looked at (PS3.8 9.3.4): `None` if it
/// passes. `known_called` says whether the called AE title is served;
/// `calling_allowed` whether the calling one may call.
pub fn precheck(
    request: &AssociationRQ,
    known_called: bool,
    calling_allowed: bool,
) -> Option<AssociationRJ> {
    if request.protocol_version & 1 == 0 {
        return rejection([1, 2, 2]);
    }
    if request.application_context_name.trim_end_matches('\0') != APPLICATION_CONTEXT {
        return rejection([1, 1, 2]);
    }
    if !known_called {
        return rejection([1, 1, 7]);
    }
    if !calling_allowed {
        return rejection([1, 1, 3]);
    }
    None
}

/// The A-ASSOCIATE-AC of an association the listener serves itself: each
/// Verification context accepted with Implicit (or else Explicit) VR
/// Little Endian, every other context refused.
pub fn local_accept(request: &AssociationRQ, max_pdu_length: u32) -> AssociationAC {
    let contexts = request
        .presentation_contexts
        .iter()
        .map(verification_result)
        .collect();
    accept(request, contexts, max_pdu_length, Vec::new())
}

fn verification_result(proposed: &PresentationContextProposed) -> PresentationContextResult {
    let refuse = |reason| PresentationContextResult {
        id: proposed.id,
        reason,
        transfer_syntax: IMPLICIT_VR_LE.to_owned(),
    };
    if proposed.abstract_syntax.trim_end_matches('\0') != super::dimse::VERIFICATION {
        return refuse(PresentationContextResultReason::AbstractSyntaxNotSupported);
    }
    let offered = |uid: &str| {
        proposed
            .transfer_syntaxes
            .iter()
            .any(|ts| ts.trim_end_matches('\0') == uid)
    };
    match [IMPLICIT_VR_LE, EXPLICIT_VR_LE]
        .into_iter()
        .find(|ts| offered(ts))
    {
        Some(ts) => PresentationContextResult {
            id: proposed.id,
            reason: PresentationContextResultReason::Acceptance,
            transfer_syntax: ts.to_owned(),
        },
        None => refuse(PresentationContextResultReason::TransferSyntaxesNotSupported),
    }
}

/// An A-ASSOCIATE-AC answering `request` with `contexts`, advertising
/// `max_pdu_length`, with `extra` user variables (role selections,
/// extended negotiation, a server response).
pub fn accept(
    request: &AssociationRQ,
    contexts: Vec<PresentationContextResult>,
    max_pdu_length: u32,
    extra: Vec<UserVariableItem>,
) -> AssociationAC {
    let mut user_variables = vec![
        UserVariableItem::MaxLength(max_pdu_length),
        UserVariableItem::ImplementationClassUID(IMPLEMENTATION_CLASS_UID.to_owned()),
        UserVariableItem::ImplementationVersionName(IMPLEMENTATION_VERSION.to_owned()),
    ];
    user_variables.extend(extra);
    AssociationAC {
        protocol_version: 1,
        calling_ae_title: request.calling_ae_title.clone(),
        called_ae_title: request.called_ae_title.clone(),
        application_context_name: APPLICATION_CONTEXT.to_owned(),
        presentation_contexts: contexts,
        user_variables,
    }
}

/// The max PDU length a request or an answer advertises (0: no limit).
pub fn max_length(items: &[UserVariableItem]) -> u32 {
    items
        .iter()
        .find_map(|item| match item {
            UserVariableItem::MaxLength(length) => Some(*length),
            _ => None,
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use dicom_ul::Pdu;

    use super::*;

    /// pynetdicom 3.0.4's A-ASSOCIATE-RQ: type 2 alice/secret, response
    /// requested (from ../shared/dicom/README.md).
    const PYNETDICOM_RQ: &str = concat!(
        "0100000001ee000100004f525448414e43202020202020202020414e43484f525f534355202020202020",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "10000015312e322e3834302e31303030382e332e312e312e31",
        "200000760100000030000011312e322e3834302e31303030382e312e3140000011312e322e3834302e31303030382e312e3240000013312e322e3834302e31303030382e312e322e3140000016312e322e3834302e31303030382e312e322e312e393940000013312e322e3834302e31303030382e312e322e32",
        "20000080030000003000001b312e322e3834302e31303030382e352e312e342e312e322e322e3140000011312e322e3834302e31303030382e312e3240000013312e322e3834302e31303030382e312e322e3140000016312e322e3834302e31303030382e312e322e312e393940000013312e322e3834302e31303030382e312e322e32",
        "200000380500000030000019312e322e3834302e31303030382e352e312e342e312e312e3240000013312e322e3834302e31303030382e312e322e31",
        "500000535100000400003ffe52000020312e322e3832362e302e312e333638303034332e392e333831312e332e302e345500000e50594e45544449434f4d5f3330345800001102010005616c6963650006736563726574",
    );

    fn frame(hex_text: &str) -> Frame {
        let bytes: Vec<u8> = (0..hex_text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex_text[i..i + 2], 16).unwrap())
            .collect();
        Frame(bytes.into())
    }

    fn request(frame: &Frame) -> AssociationRQ {
        match frame.decode(MAX_REQUEST).unwrap() {
            Pdu::AssociationRQ(rq) => rq,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pynetdicoms_request_with_odd_lengths_is_read_with_its_identity() {
        let frame = frame(PYNETDICOM_RQ);
        let rq = request(&frame);
        assert_eq!(rq.called_ae_title, "ORTHANC");
        assert_eq!(rq.calling_ae_title, "ANCHOR_SCU");
        assert_eq!(
            rq.presentation_contexts
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>(),
            [1, 3, 5]
        );
        let item = identity(&rq, &frame).unwrap();
        assert_eq!(item.identity_type, 2);
        assert!(item.positive_response_requested);
        assert_eq!(item.primary, b"alice");
        assert_eq!(item.secondary, b"secret");
        assert!(!format!("{item:?}").contains("secret"));
        // The raw scan finds the same item.
        assert_eq!(scan_identity(frame.body()), Some(item));
        assert_eq!(max_length(&rq.user_variables), 16382);
        assert_eq!(precheck(&rq, true, true), None);
    }

    #[test]
    fn a_type_the_crate_drops_is_found_in_the_bytes() {
        // The same request with the identity item's type changed to 7.
        let text = PYNETDICOM_RQ.replace("5800001102010005", "5800001107010005");
        let frame = frame(&text);
        let rq = request(&frame);
        assert!(
            !rq.user_variables
                .iter()
                .any(|v| matches!(v, UserVariableItem::UserIdentityItem(_)))
        );
        let item = identity(&rq, &frame).unwrap();
        assert_eq!(item.identity_type, 7);
        assert_eq!(item.primary, b"alice");
    }

    #[test]
    fn a_scan_of_inconsistent_lengths_finds_nothing() {
        let frame = frame(PYNETDICOM_RQ);
        let body = frame.body();
        for cut in [0, 40, 68, 100, body.len() - 1] {
            let _ = scan_identity(&body[..cut]);
        }
        // The identity item claiming more than its user information holds.
        let text = PYNETDICOM_RQ.replace("5800001102010005", "580000ff02010005");
        assert_eq!(scan_identity(self::frame(&text).body()), None);
    }

    #[test]
    fn the_server_response_item_is_written_as_pynetdicom_reads_it() {
        let mut bytes = Vec::new();
        let ac = AssociationAC {
            protocol_version: 1,
            calling_ae_title: "A".into(),
            called_ae_title: "B".into(),
            application_context_name: APPLICATION_CONTEXT.into(),
            presentation_contexts: vec![],
            user_variables: vec![server_response(b"pynetdicom-ok").unwrap()],
        };
        dicom_ul::write_pdu(&mut bytes, &Pdu::AssociationAC(ac)).unwrap();
        let tail = "5900000f000d70796e65746469636f6d2d6f6b";
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert!(hex.ends_with(&format!("50000013{tail}")), "{hex}");
        assert_eq!(
            server_response(b"").unwrap(),
            UserVariableItem::Unknown(0x59, vec![0, 0])
        );
        assert!(server_response(&vec![b'x'; 65534]).is_none());
        assert!(server_response(&vec![b'x'; 65533]).is_some());
    }

    #[test]
    fn verification_alone_is_accepted_locally() {
        let frame = frame(PYNETDICOM_RQ);
        let ac = local_accept(&request(&frame), 16384);
        let reasons: Vec<_> = ac
            .presentation_contexts
            .iter()
            .map(|c| (c.id, c.reason.clone(), c.transfer_syntax.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (
                    1,
                    PresentationContextResultReason::Acceptance,
                    IMPLICIT_VR_LE
                ),
                (
                    3,
                    PresentationContextResultReason::AbstractSyntaxNotSupported,
                    IMPLICIT_VR_LE
                ),
                (
                    5,
                    PresentationContextResultReason::AbstractSyntaxNotSupported,
                    IMPLICIT_VR_LE
                ),
            ]
        );
    }

    #[test]
    fn prechecks_reject_as_ps3_8_says() {
        let frame = frame(PYNETDICOM_RQ);
        let rq = request(&frame);
        assert_eq!(precheck(&rq, false, true), rejection([1, 1, 7]));
        assert_eq!(precheck(&rq, true, false), rejection([1, 1, 3]));
        let mut other = rq.clone();
        other.application_context_name = "1.2.3".into();
        assert_eq!(precheck(&other, true, true), rejection([1, 1, 2]));
        let mut old = rq;
        old.protocol_version = 2;
        assert_eq!(precheck(&old, true, true), rejection([1, 2, 2]));
    }
}
