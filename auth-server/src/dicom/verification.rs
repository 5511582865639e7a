//! The listener's own service when it guards nothing: Verification
//! (C-ECHO), so a modality can test its AE titles and credentials.
//!
//! Only Verification contexts were accepted; a C-ECHO is decided like any
//! command (it raises `dicom.command`) and answered with success; any
//! other request is answered "unrecognized operation", its data set read
//! and dropped. Release is answered; abort, a broken peer or the idle
//! timeout end the association.

use dicom_ul::Pdu;
use dicom_ul::pdu::PDataValueType;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::dimse::{self, Command, CommandAssembler, command_pdv};
use super::guard::{Decision, Guard};
use super::wire::{self, Broken, P_DATA, PduReader};

/// Serves the association until it ends; a word for how it ended.
pub async fn run(
    guard: &Guard,
    mut client: PduReader<OwnedReadHalf>,
    mut writer: OwnedWriteHalf,
    cap: u32,
) -> &'static str {
    let ending = serve(guard, &mut client, &mut writer, cap).await;
    let artim = guard.settings.artim_timeout;
    let word = match &ending {
        Ok(word) => word,
        Err(Broken::Closed) => "client gone",
        Err(e) => {
            tracing::info!(calling_ae_title = %guard.calling_ae_title, ending = ?e, "a DICOM association broke");
            let _ = wire::write(&mut writer, &wire::abort()).await;
            "aborted by the listener"
        }
    };
    if matches!(word, "released" | "aborted by the listener") {
        client.linger(artim).await;
    }
    let _ = writer.shutdown().await;
    word
}

async fn serve(
    guard: &Guard,
    client: &mut PduReader<OwnedReadHalf>,
    writer: &mut OwnedWriteHalf,
    cap: u32,
) -> Result<&'static str, Broken> {
    let mut assembler = CommandAssembler::default();
    // The context whose data set is being dropped, and the answer to send
    // once it ends.
    let mut dropping: Option<(u8, Vec<u8>)> = None;
    let idle = guard.settings.idle_timeout;
    loop {
        let frame = match tokio::time::timeout(idle, client.next(cap)).await {
            Ok(frame) => frame?,
            Err(_) => return Err(Broken::Malformed("idle".into())),
        };
        match frame.pdu_type() {
            P_DATA => {}
            wire::RELEASE_RQ => {
                wire::write(writer, &Pdu::ReleaseRP).await?;
                return Ok("released");
            }
            wire::ABORT => return Ok("aborted"),
            other => {
                return Err(Broken::Malformed(format!(
                    "PDU type {other:#04x} within an association"
                )));
            }
        }
        let Pdu::PData { data } = frame.decode(cap)? else {
            return Err(Broken::Malformed("not P-DATA".into()));
        };
        for pdv in data {
            if pdv.value_type == PDataValueType::Data {
                let last = pdv.is_last;
                match &dropping {
                    Some((context, _)) if *context == pdv.presentation_context_id => {}
                    _ => return Err(Broken::Malformed("a data set without a command".into())),
                }
                if last && let Some((context, answer)) = dropping.take() {
                    respond(writer, context, answer).await?;
                }
                continue;
            }
            if dropping.is_some() {
                return Err(Broken::Malformed(
                    "a command before the last data set ended".into(),
                ));
            }
            let context = pdv.presentation_context_id;
            let Some((command, _)) = assembler.push(pdv)? else {
                continue;
            };
            if !command.is_request() {
                continue;
            }
            let answer = if Command::from_field(command.field) == Some(Command::CEcho) {
                match guard.decide(&command).await {
                    Decision::Allowed => command.response(dimse::SUCCESS, None),
                    Decision::Refused { status, comment } => {
                        command.response(status, Some(comment))
                    }
                }
            } else {
                command.response(
                    dimse::UNRECOGNIZED_OPERATION,
                    Some("this listener guards no PACS: Verification only"),
                )
            };
            if command.has_data_set {
                dropping = Some((context, answer));
            } else {
                respond(writer, context, answer).await?;
            }
        }
    }
}

async fn respond(writer: &mut OwnedWriteHalf, context: u8, answer: Vec<u8>) -> Result<(), Broken> {
    let pdu = Pdu::PData {
        data: vec![command_pdv(context, answer)],
    };
    wire::write(writer, &pdu).await
}
