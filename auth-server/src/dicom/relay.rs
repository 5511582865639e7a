//! Guarding a PACS: the association relayed to the upstream, each DIMSE
//! request authorized before it goes on.
//!
//! The listener opens an association to the upstream SCP proposing the
//! client's presentation contexts (same ids, same role selections and
//! extended negotiation, no identity item), and answers the client with
//! what the upstream accepted. Each side is told the other's max PDU
//! length (capped by `[dicom] max_pdu_length`), so every PDU can be
//! relayed unchanged: PDUs from the upstream as they came, P-DATA from the
//! client too, unless a command in it was refused. Then:
//!
//! - a **request** from the client is held until its command set is whole,
//!   decided ([`Guard::decide`]), and relayed, or answered by the listener
//!   with a failure status while its data set is read and dropped: a
//!   refused request never reaches the upstream, and the association stays
//!   usable;
//! - **responses** from the client (to the upstream's C-STORE
//!   sub-operations of a C-GET) and every PDU from the upstream pass;
//! - **release** and **abort** pass both ways and end the association; a
//!   side that goes away or breaks the protocol gets the other an A-ABORT,
//!   and so does an association silent both ways for `idle_timeout_secs`.
//!
//! Two tasks, one per direction, so a slow reader on one side never stops
//! the other direction; the client's socket is written under a lock,
//! shared by relayed PDUs and the listener's own answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dicom_ul::Pdu;
use dicom_ul::pdu::{
    AssociationAC, AssociationRJ, AssociationRQ, PDataValue, PDataValueType, UserVariableItem,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::association::{self, MAX_REQUEST};
use super::config::{DicomSettings, rejection};
use super::dimse::{CommandAssembler, command_pdv};
use super::guard::{Decision, Guard};
use super::wire::{self, ABORT, Broken, Frame, P_DATA, PduReader, RELEASE_RP, RELEASE_RQ};

/// The upstream association, once accepted.
#[derive(Debug)]
pub struct Upstream {
    reader: PduReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// What the upstream answered.
    accepted: AssociationAC,
    /// The max PDU length the listener advertised to the upstream (what it
    /// reads from it).
    advertised: u32,
}

/// A max PDU length as advertised, bounded by the cap (0 means no limit).
fn bounded(advertised: u32, cap: u32) -> u32 {
    if advertised == 0 {
        cap
    } else {
        advertised.min(cap)
    }
}

/// Opens the association to the upstream for `request`; the RJ to answer
/// the client with when the upstream refuses (its own) or cannot be
/// reached (transient, presentation provider, temporary congestion).
pub async fn open(
    settings: &DicomSettings,
    request: &AssociationRQ,
) -> Result<Upstream, AssociationRJ> {
    let unreachable = || rejection([2, 3, 1]).unwrap_or_else(|| settings.reject.clone());
    let Some(upstream) = &settings.upstream else {
        return Err(unreachable());
    };
    let connect = TcpStream::connect(upstream.address.as_str());
    let stream = match tokio::time::timeout(settings.connect_timeout, connect).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::warn!(upstream = %upstream.address, error = %e, "the DICOM upstream cannot be reached");
            return Err(unreachable());
        }
        Err(_) => {
            tracing::warn!(upstream = %upstream.address, "the DICOM upstream did not answer in time");
            return Err(unreachable());
        }
    };
    let _ = stream.set_nodelay(true);
    let (read, mut writer) = stream.into_split();
    let mut reader = PduReader::new(read);
    let advertised = bounded(
        association::max_length(&request.user_variables),
        settings.max_pdu_length,
    );
    let mut user_variables = vec![
        UserVariableItem::MaxLength(advertised),
        UserVariableItem::ImplementationClassUID(association::IMPLEMENTATION_CLASS_UID.to_owned()),
        UserVariableItem::ImplementationVersionName(association::IMPLEMENTATION_VERSION.to_owned()),
    ];
    user_variables.extend(
        request
            .user_variables
            .iter()
            .filter(|item| negotiated(item))
            .cloned(),
    );
    let forwarded = Pdu::AssociationRQ(AssociationRQ {
        protocol_version: 1,
        calling_ae_title: request.calling_ae_title.clone(),
        called_ae_title: upstream.ae_title.clone(),
        application_context_name: association::APPLICATION_CONTEXT.to_owned(),
        presentation_contexts: request.presentation_contexts.clone(),
        user_variables,
    });
    if wire::write(&mut writer, &forwarded).await.is_err() {
        return Err(unreachable());
    }
    let answer = tokio::time::timeout(settings.artim_timeout, reader.next(MAX_REQUEST)).await;
    let pdu = match answer {
        Ok(Ok(frame)) => frame.decode(MAX_REQUEST),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(Broken::Malformed("no answer in time".into())),
    };
    match pdu {
        Ok(Pdu::AssociationAC(accepted)) => Ok(Upstream {
            reader,
            writer,
            accepted,
            advertised,
        }),
        Ok(Pdu::AssociationRJ(rj)) => Err(rj),
        other => {
            tracing::warn!(upstream = %upstream.address, answer = ?other.map(|p| p.short_description().to_string()), "the DICOM upstream answered the association request with neither AC nor RJ");
            let _ = wire::write(&mut writer, &wire::abort()).await;
            Err(unreachable())
        }
    }
}

/// The user variables of a negotiation relayed as they are: role
/// selection and extended negotiation (so C-GET's SCP role reaches the
/// SCU), never the identity or the peers' own implementation items.
fn negotiated(item: &UserVariableItem) -> bool {
    matches!(
        item,
        UserVariableItem::ScuScpRoleSelectionSubItem(..)
            | UserVariableItem::SopClassExtendedNegotiationSubItem(..)
    )
}

impl Upstream {
    /// The AC to send the client: the upstream's presentation context
    /// results and negotiated items, the upstream's max PDU length (capped)
    /// and `server_response` (0x59) if any. Also returns the max PDU length
    /// advertised to the client.
    pub fn answer(
        &self,
        request: &AssociationRQ,
        cap: u32,
        server_response: Option<UserVariableItem>,
    ) -> (AssociationAC, u32) {
        let advertised = bounded(association::max_length(&self.accepted.user_variables), cap);
        let mut extra: Vec<_> = self
            .accepted
            .user_variables
            .iter()
            .filter(|item| negotiated(item))
            .cloned()
            .collect();
        extra.extend(server_response);
        let ac = association::accept(
            request,
            self.accepted.presentation_contexts.clone(),
            advertised,
            extra,
        );
        (ac, advertised)
    }
}

/// How a relayed association ended.
#[derive(Debug)]
enum Ending {
    /// Released (the release answer relayed).
    Released,
    /// One side aborted (relayed to the other).
    Aborted,
    /// The client went away or broke the protocol.
    Client(Broken),
    /// The upstream went away or broke the protocol.
    Upstream(Broken),
    /// Nothing either way for the idle timeout.
    Idle,
}

/// When the last PDU went either way, in milliseconds since `start`.
#[derive(Debug)]
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            if last.elapsed() >= limit {
                return;
            }
            tokio::time::sleep_until(last + limit).await;
        }
    }
}

/// Relays the association until it ends. `client_cap` is the max PDU
/// length advertised to the client ([`Upstream::answer`]): the upstream's
/// own, capped, so it bounds both what the client may send and what the
/// listener may write upstream.
pub async fn run(
    guard: &Guard,
    client: PduReader<OwnedReadHalf>,
    client_writer: OwnedWriteHalf,
    upstream: Upstream,
    client_cap: u32,
) -> &'static str {
    let Upstream {
        reader: upstream_reader,
        writer: upstream_writer,
        advertised: upstream_cap,
        ..
    } = upstream;
    let client_writer = Arc::new(Mutex::new(client_writer));
    let upstream_writer = Arc::new(Mutex::new(upstream_writer));
    let activity = Activity {
        start: Instant::now(),
        last_ms: AtomicU64::new(0),
    };
    let ending = tokio::select! {
        ending = from_client(guard, client, client_cap, &client_writer, &upstream_writer, &activity) => ending,
        ending = from_upstream(upstream_reader, upstream_cap, &client_writer, &activity) => ending,
        () = activity.idle_for(guard.settings.idle_timeout) => Ending::Idle,
    };
    // A side that went away gets nothing; one that broke the protocol gets
    // an A-ABORT too, as PS3.8 has the provider answer it.
    let gone = |e: &Broken| matches!(e, Broken::Closed | Broken::Io(_));
    let (to_client, to_upstream, word) = match &ending {
        Ending::Released => (false, false, "released"),
        Ending::Aborted => (false, false, "aborted"),
        Ending::Client(e) if gone(e) => (false, true, "client gone"),
        Ending::Client(_) => (true, true, "client broke the protocol"),
        Ending::Upstream(e) if gone(e) => (true, false, "upstream gone"),
        Ending::Upstream(_) => (true, true, "upstream broke the protocol"),
        Ending::Idle => (true, true, "idle"),
    };
    match &ending {
        Ending::Client(Broken::Closed) | Ending::Upstream(Broken::Closed) => {}
        Ending::Client(e) | Ending::Upstream(e) => {
            tracing::info!(calling_ae_title = %guard.calling_ae_title, ending = ?e, "a relayed DICOM association broke");
        }
        _ => {}
    }
    for (send, writer) in [(to_client, &client_writer), (to_upstream, &upstream_writer)] {
        let mut writer = writer.lock().await;
        if send {
            let _ = wire::write(&mut *writer, &wire::abort()).await;
        }
        let _ = writer.shutdown().await;
    }
    word
}

/// Client to upstream: requests decided, the rest relayed. `cap` bounds
/// the PDUs read from the client and those written upstream alike (see
/// [`run`]).
async fn from_client(
    guard: &Guard,
    mut client: PduReader<OwnedReadHalf>,
    cap: u32,
    client_writer: &Mutex<OwnedWriteHalf>,
    upstream_writer: &Mutex<OwnedWriteHalf>,
    activity: &Activity,
) -> Ending {
    let mut assembler = CommandAssembler::default();
    // The data set being relayed (`None`) or dropped (the refusal to send
    // once it ends), with its presentation context.
    let mut data: Option<(u8, Option<Vec<u8>>)> = None;
    loop {
        let frame = match client.next(cap).await {
            Ok(frame) => frame,
            Err(e) => return Ending::Client(e),
        };
        activity.touch();
        match frame.pdu_type() {
            P_DATA => {}
            RELEASE_RQ => {
                if let Err(e) = relay(upstream_writer, &frame).await {
                    return Ending::Upstream(e);
                }
                continue;
            }
            RELEASE_RP | ABORT => {
                let _ = relay(upstream_writer, &frame).await;
                return if frame.pdu_type() == ABORT {
                    Ending::Aborted
                } else {
                    Ending::Released
                };
            }
            other => {
                return Ending::Client(Broken::Malformed(format!(
                    "PDU type {other:#04x} within an association"
                )));
            }
        }
        let pdvs = match frame.decode(cap) {
            Ok(Pdu::PData { data }) => data,
            Ok(_) => return Ending::Client(Broken::Malformed("not P-DATA".into())),
            Err(e) => return Ending::Client(e),
        };
        // Relayed as it came unless something in it is held or dropped.
        let mut unchanged = true;
        let mut out: Vec<PDataValue> = Vec::new();
        for pdv in pdvs {
            match pdv.value_type {
                PDataValueType::Command => {
                    unchanged = false;
                    if data.is_some() {
                        return Ending::Client(Broken::Malformed(
                            "a command before the last data set ended".into(),
                        ));
                    }
                    let context = pdv.presentation_context_id;
                    let (command, fragments) = match assembler.push(pdv) {
                        Ok(Some(whole)) => whole,
                        Ok(None) => continue,
                        Err(e) => return Ending::Client(e),
                    };
                    let decision = if command.is_request() {
                        guard.decide(&command).await
                    } else {
                        Decision::Allowed
                    };
                    match decision {
                        Decision::Allowed => {
                            out.extend(fragments);
                            if let Err(e) = send(upstream_writer, &mut out, cap).await {
                                return Ending::Upstream(e);
                            }
                            if command.has_data_set {
                                data = Some((context, None));
                            }
                        }
                        Decision::Refused { status, comment } => {
                            let response = command.response(status, Some(comment));
                            if command.has_data_set {
                                data = Some((context, Some(response)));
                            } else if let Err(e) = answer(client_writer, context, response).await {
                                return Ending::Client(e);
                            }
                        }
                    }
                }
                PDataValueType::Data => {
                    if assembler.is_pending() {
                        return Ending::Client(Broken::Malformed(
                            "a data set before its command ended".into(),
                        ));
                    }
                    let Some((context, refusal)) = &mut data else {
                        return Ending::Client(Broken::Malformed(
                            "a data set without a command".into(),
                        ));
                    };
                    if *context != pdv.presentation_context_id {
                        return Ending::Client(Broken::Malformed(
                            "a data set on another presentation context than its command".into(),
                        ));
                    }
                    let last = pdv.is_last;
                    if refusal.is_none() {
                        out.push(pdv);
                    } else {
                        unchanged = false;
                    }
                    if last
                        && let Some((context, Some(response))) = data.take()
                        && let Err(e) = answer(client_writer, context, response).await
                    {
                        return Ending::Client(e);
                    }
                }
            }
        }
        let sent = if unchanged {
            relay(upstream_writer, &frame).await
        } else {
            send(upstream_writer, &mut out, cap).await
        };
        if let Err(e) = sent {
            return Ending::Upstream(e);
        }
    }
}

/// Upstream to client: every PDU relayed as it came.
async fn from_upstream(
    mut upstream: PduReader<OwnedReadHalf>,
    cap: u32,
    client_writer: &Mutex<OwnedWriteHalf>,
    activity: &Activity,
) -> Ending {
    loop {
        let frame = match upstream.next(cap).await {
            Ok(frame) => frame,
            Err(e) => return Ending::Upstream(e),
        };
        activity.touch();
        let kind = frame.pdu_type();
        if !matches!(kind, P_DATA | RELEASE_RQ | RELEASE_RP | ABORT) {
            return Ending::Upstream(Broken::Malformed(format!(
                "PDU type {kind:#04x} within an association"
            )));
        }
        if let Err(e) = relay(client_writer, &frame).await {
            return Ending::Client(e);
        }
        match kind {
            RELEASE_RP => return Ending::Released,
            ABORT => return Ending::Aborted,
            _ => {}
        }
    }
}

/// Writes a frame as it came.
async fn relay(writer: &Mutex<OwnedWriteHalf>, frame: &Frame) -> Result<(), Broken> {
    writer.lock().await.write_all(&frame.0).await?;
    Ok(())
}

/// Writes `pdvs` (emptied) as P-DATA: one PDU if it fits `max`, else one
/// per PDV (each came in a PDU that fitted).
async fn send(
    writer: &Mutex<OwnedWriteHalf>,
    pdvs: &mut Vec<PDataValue>,
    max: u32,
) -> Result<(), Broken> {
    if pdvs.is_empty() {
        return Ok(());
    }
    let size: usize = pdvs.iter().map(|p| p.data.len() + 6).sum();
    let data = std::mem::take(pdvs);
    let mut writer = writer.lock().await;
    if u32::try_from(size).is_ok_and(|size| size <= max) {
        return wire::write(&mut *writer, &Pdu::PData { data }).await;
    }
    for pdv in data {
        wire::write(&mut *writer, &Pdu::PData { data: vec![pdv] }).await?;
    }
    Ok(())
}

/// Sends the listener's own response (a command set) to the client.
async fn answer(
    writer: &Mutex<OwnedWriteHalf>,
    context: u8,
    response: Vec<u8>,
) -> Result<(), Broken> {
    let pdu = Pdu::PData {
        data: vec![command_pdv(context, response)],
    };
    wire::write(&mut *writer.lock().await, &pdu).await
}
