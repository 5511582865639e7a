//! DIMSE command sets: what a request asks, what it needs, and the
//! answers the listener gives itself (a C-ECHO, a refusal).
//!
//! Command sets are always Implicit VR Little Endian (PS3.7 6.3.1),
//! whatever the presentation context's transfer syntax; they are read and
//! written with `dicom-object`.

use std::str::FromStr;

use auth_core::imaging::Permission;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::pdu::{PDataValue, PDataValueType};

use super::wire::Broken;

/// Command Data Set Type (0000,0800) of a message without a data set.
pub const NO_DATA_SET: u16 = 0x0101;

/// Status "Refused: Not Authorized" (PS3.7 Annex C, the general failure
/// status 0124H):
/// what a request the caller may not make is answered with.
pub const REFUSED_NOT_AUTHORIZED: u16 = 0x0124;

/// Status "Processing failure" (PS3.7 Annex C, 0110H): what a request is
/// answered with when it cannot be decided (the store is unavailable).
pub const PROCESSING_FAILURE: u16 = 0x0110;

/// Status "Unrecognized operation" (PS3.7 Annex C, 0211H): a request the
/// listener does not serve itself.
pub const UNRECOGNIZED_OPERATION: u16 = 0x0211;

/// Status "Success".
pub const SUCCESS: u16 = 0x0000;

/// The Verification SOP Class.
pub const VERIFICATION: &str = "1.2.840.10008.1.1";

/// A DIMSE request, by its Command Field (PS3.7 E.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Command {
    /// C-STORE-RQ.
    CStore,
    /// C-GET-RQ.
    CGet,
    /// C-FIND-RQ.
    CFind,
    /// C-MOVE-RQ.
    CMove,
    /// C-ECHO-RQ.
    CEcho,
    /// C-CANCEL-RQ.
    CCancel,
    /// N-EVENT-REPORT-RQ.
    NEventReport,
    /// N-GET-RQ.
    NGet,
    /// N-SET-RQ.
    NSet,
    /// N-ACTION-RQ.
    NAction,
    /// N-CREATE-RQ.
    NCreate,
    /// N-DELETE-RQ.
    NDelete,
}

const COMMANDS: [(Command, u16, &str); 12] = [
    (Command::CStore, 0x0001, "C-STORE"),
    (Command::CGet, 0x0010, "C-GET"),
    (Command::CFind, 0x0020, "C-FIND"),
    (Command::CMove, 0x0021, "C-MOVE"),
    (Command::CEcho, 0x0030, "C-ECHO"),
    (Command::CCancel, 0x0FFF, "C-CANCEL"),
    (Command::NEventReport, 0x0100, "N-EVENT-REPORT"),
    (Command::NGet, 0x0110, "N-GET"),
    (Command::NSet, 0x0120, "N-SET"),
    (Command::NAction, 0x0130, "N-ACTION"),
    (Command::NCreate, 0x0140, "N-CREATE"),
    (Command::NDelete, 0x0150, "N-DELETE"),
];

impl Command {
    /// The request of a Command Field value; `None` for a response or an
    /// unknown value.
    pub fn from_field(field: u16) -> Option<Self> {
        COMMANDS
            .iter()
            .find(|(_, f, _)| *f == field)
            .map(|(c, ..)| *c)
    }

    /// Its Command Field value.
    pub fn field(self) -> u16 {
        COMMANDS
            .iter()
            .find(|(c, ..)| *c == self)
            .map_or(0, |(_, f, _)| *f)
    }

    /// Its name, as PS3.7 writes it (`C-STORE`).
    pub fn name(self) -> &'static str {
        COMMANDS
            .iter()
            .find(|(c, ..)| *c == self)
            .map_or("", |(.., n)| n)
    }

    /// The permission a request needs by default (`None`: none at all;
    /// the outer `None`: refused unless configured).
    pub fn default_permission(self) -> Option<Option<Permission>> {
        match self {
            Self::CEcho | Self::CCancel => Some(None),
            Self::CFind => Some(Some(Permission::View)),
            Self::CGet | Self::CMove => Some(Some(Permission::Download)),
            Self::CStore => Some(Some(Permission::Upload)),
            _ => None,
        }
    }
}

impl FromStr for Command {
    type Err = ();

    fn from_str(name: &str) -> Result<Self, ()> {
        COMMANDS
            .iter()
            .find(|(.., n)| n.eq_ignore_ascii_case(name))
            .map(|(c, ..)| *c)
            .ok_or(())
    }
}

/// What the listener needs of a command set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSet {
    /// The Command Field.
    pub field: u16,
    /// Message ID (requests), or 0.
    pub message_id: u16,
    /// Affected (or Requested) SOP Class UID.
    pub sop_class: String,
    /// Affected SOP Instance UID, if any (C-STORE).
    pub sop_instance: Option<String>,
    /// Whether a data set follows.
    pub has_data_set: bool,
}

impl CommandSet {
    /// Reads a command set; `None` if it is not one (no Command Field).
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let ts = IMPLICIT_VR_LITTLE_ENDIAN.erased();
        let object = InMemDicomObject::read_dataset_with_ts(bytes, &ts).ok()?;
        let uint = |tag| -> Option<u16> { object.element_opt(tag).ok()??.to_int::<u16>().ok() };
        let text = |tag| -> Option<String> {
            let value = object.element_opt(tag).ok()??.to_str().ok()?;
            Some(value.trim_end_matches(['\0', ' ']).to_owned())
        };
        Some(Self {
            field: uint(tags::COMMAND_FIELD)?,
            message_id: uint(tags::MESSAGE_ID).unwrap_or(0),
            sop_class: text(tags::AFFECTED_SOP_CLASS_UID)
                .or_else(|| text(tags::REQUESTED_SOP_CLASS_UID))
                .unwrap_or_default(),
            sop_instance: text(tags::AFFECTED_SOP_INSTANCE_UID),
            has_data_set: uint(tags::COMMAND_DATA_SET_TYPE).is_some_and(|t| t != NO_DATA_SET),
        })
    }

    /// Whether it is a request (not a response: bit 15 of the field).
    pub fn is_request(&self) -> bool {
        self.field & 0x8000 == 0
    }

    /// The response to this request with `status` and, for a failure, an
    /// Error Comment; encoded, ready for a command PDV.
    pub fn response(&self, status: u16, comment: Option<&str>) -> Vec<u8> {
        let uid = |tag, uid: &str| {
            // UIDs are padded to even length with a NUL (PS3.5 9.1).
            let mut uid = uid.to_owned();
            if uid.len() % 2 == 1 {
                uid.push('\0');
            }
            DataElement::new(tag, VR::UI, PrimitiveValue::from(uid))
        };
        let mut elements = vec![
            uid(tags::AFFECTED_SOP_CLASS_UID, &self.sop_class),
            DataElement::new(
                tags::COMMAND_FIELD,
                VR::US,
                PrimitiveValue::from(self.field | 0x8000),
            ),
            DataElement::new(
                tags::MESSAGE_ID_BEING_RESPONDED_TO,
                VR::US,
                PrimitiveValue::from(self.message_id),
            ),
            DataElement::new(
                tags::COMMAND_DATA_SET_TYPE,
                VR::US,
                PrimitiveValue::from(NO_DATA_SET),
            ),
            DataElement::new(tags::STATUS, VR::US, PrimitiveValue::from(status)),
        ];
        if let Some(instance) = &self.sop_instance {
            elements.push(uid(tags::AFFECTED_SOP_INSTANCE_UID, instance));
        }
        if let Some(comment) = comment {
            // LO: at most 64 characters, even length.
            let mut comment: String = comment.chars().take(64).collect();
            if comment.len() % 2 == 1 {
                comment.push(' ');
            }
            elements.push(DataElement::new(
                tags::ERROR_COMMENT,
                VR::LO,
                PrimitiveValue::from(comment),
            ));
        }
        let object = InMemDicomObject::command_from_element_iter(elements);
        let mut bytes = Vec::with_capacity(160);
        let ts = IMPLICIT_VR_LITTLE_ENDIAN.erased();
        // Writing a few in-memory elements to a Vec cannot fail; an empty
        // answer would be refused by the peer, never mistaken for success.
        let _ = object.write_dataset_with_ts(&mut bytes, &ts);
        bytes
    }
}

/// The largest command set accepted (commands are a few hundred bytes;
/// the cap keeps a peer from growing the buffer without end).
pub const MAX_COMMAND: usize = 64 * 1024;

/// Puts a message's command back together from its PDVs (PS3.8 E.2: a
/// command may be cut into fragments, the last one marked), keeping the
/// fragments so that an allowed command is relayed as it came.
#[derive(Debug, Default)]
pub struct CommandAssembler {
    context: Option<u8>,
    bytes: Vec<u8>,
    fragments: Vec<PDataValue>,
}

impl CommandAssembler {
    /// Adds a command PDV: the whole command and its fragments once the
    /// last one is in. A fragment for another presentation context than
    /// the first, a command over [`MAX_COMMAND`] or one that does not
    /// parse is a protocol error.
    pub fn push(
        &mut self,
        pdv: PDataValue,
    ) -> Result<Option<(CommandSet, Vec<PDataValue>)>, Broken> {
        let context = *self.context.get_or_insert(pdv.presentation_context_id);
        if context != pdv.presentation_context_id {
            return Err(Broken::Malformed(
                "a command split across presentation contexts".into(),
            ));
        }
        if self.bytes.len() + pdv.data.len() > MAX_COMMAND {
            return Err(Broken::Malformed("a command set over 64 KiB".into()));
        }
        self.bytes.extend_from_slice(&pdv.data);
        let last = pdv.is_last;
        self.fragments.push(pdv);
        if !last {
            return Ok(None);
        }
        let bytes = std::mem::take(&mut self.bytes);
        let fragments = std::mem::take(&mut self.fragments);
        self.context = None;
        match CommandSet::parse(&bytes) {
            Some(command) => Ok(Some((command, fragments))),
            None => Err(Broken::Malformed(
                "a command set that does not parse".into(),
            )),
        }
    }

    /// Whether a command is half in.
    pub fn is_pending(&self) -> bool {
        self.context.is_some()
    }
}

/// A command PDV carrying `bytes` (whole, so marked last).
pub fn command_pdv(context: u8, bytes: Vec<u8>) -> PDataValue {
    PDataValue {
        presentation_context_id: context,
        value_type: PDataValueType::Command,
        is_last: true,
        data: bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A C-STORE-RQ as pynetdicom encodes it (odd-length UIDs padded).
    fn store_request() -> Vec<u8> {
        let elements = vec![
            DataElement::new(
                tags::AFFECTED_SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.2\0"),
            ),
            DataElement::new(tags::COMMAND_FIELD, VR::US, PrimitiveValue::from(1u16)),
            DataElement::new(tags::MESSAGE_ID, VR::US, PrimitiveValue::from(7u16)),
            DataElement::new(tags::PRIORITY, VR::US, PrimitiveValue::from(0u16)),
            DataElement::new(
                tags::COMMAND_DATA_SET_TYPE,
                VR::US,
                PrimitiveValue::from(1u16),
            ),
            DataElement::new(
                tags::AFFECTED_SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from("1.2.3.4\0"),
            ),
        ];
        let mut bytes = Vec::new();
        InMemDicomObject::command_from_element_iter(elements)
            .write_dataset_with_ts(&mut bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
            .unwrap();
        bytes
    }

    #[test]
    fn a_request_is_read_and_refused_with_its_own_ids() {
        let request = CommandSet::parse(&store_request()).unwrap();
        assert_eq!(
            request,
            CommandSet {
                field: 1,
                message_id: 7,
                sop_class: "1.2.840.10008.5.1.4.1.1.2".into(),
                sop_instance: Some("1.2.3.4".into()),
                has_data_set: true,
            }
        );
        assert!(request.is_request());
        assert_eq!(Command::from_field(request.field), Some(Command::CStore));
        let response =
            CommandSet::parse(&request.response(REFUSED_NOT_AUTHORIZED, Some("no"))).unwrap();
        assert_eq!(response.field, 0x8001);
        assert!(!response.is_request());
        assert!(!response.has_data_set);
        assert_eq!(response.sop_class, request.sop_class);
        assert_eq!(response.sop_instance, request.sop_instance);
        let object = InMemDicomObject::read_dataset_with_ts(
            &request.response(REFUSED_NOT_AUTHORIZED, Some("no"))[..],
            &IMPLICIT_VR_LITTLE_ENDIAN.erased(),
        )
        .unwrap();
        let int = |tag| object.element(tag).unwrap().to_int::<u16>().unwrap();
        assert_eq!(int(tags::STATUS), REFUSED_NOT_AUTHORIZED);
        assert_eq!(int(tags::MESSAGE_ID_BEING_RESPONDED_TO), 7);
        assert_eq!(
            object
                .element(tags::ERROR_COMMENT)
                .unwrap()
                .to_str()
                .unwrap()
                .trim(),
            "no"
        );
    }

    #[test]
    fn a_command_in_fragments_comes_out_whole_and_once() {
        let bytes = store_request();
        let (a, b) = bytes.split_at(10);
        let pdv = |data: &[u8], last| PDataValue {
            presentation_context_id: 3,
            value_type: PDataValueType::Command,
            is_last: last,
            data: data.to_vec(),
        };
        let mut assembler = CommandAssembler::default();
        assert!(assembler.push(pdv(a, false)).unwrap().is_none());
        assert!(assembler.is_pending());
        let (command, fragments) = assembler.push(pdv(b, true)).unwrap().unwrap();
        assert_eq!(command.message_id, 7);
        assert_eq!(fragments.len(), 2);
        assert!(!assembler.is_pending());
        // Another context mid-command, or garbage, is a protocol error.
        assert!(assembler.push(pdv(a, false)).unwrap().is_none());
        let mut other = pdv(b, true);
        other.presentation_context_id = 5;
        assert!(assembler.push(other).is_err());
        assert!(
            CommandAssembler::default()
                .push(pdv(&[1, 2, 3], true))
                .is_err()
        );
    }

    #[test]
    fn garbage_is_not_a_command() {
        assert_eq!(CommandSet::parse(b""), None);
        assert_eq!(CommandSet::parse(&[0xff; 40]), None);
    }

    #[test]
    fn names_and_fields_round_trip() {
        for (command, field, name) in COMMANDS {
            assert_eq!(Command::from_field(field), Some(command));
            assert_eq!(command.field(), field);
            assert_eq!(name.parse::<Command>(), Ok(command));
        }
        assert_eq!(Command::from_field(0x8001), None);
        assert_eq!("n-action".parse::<Command>(), Ok(Command::NAction));
    }
}
