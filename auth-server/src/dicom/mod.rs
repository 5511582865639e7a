//! The DICOM door: a DICOM Upper Layer listener that authenticates User
//! Identity Negotiation (PS3.7 Annex D) with the engine and, in front of
//! a PACS, lets each DIMSE request through only if the user's imaging
//! permissions allow it.
//!
//! An association goes:
//!
//! 1. **Request** ([`association`]): the A-ASSOCIATE-RQ must arrive within
//!    the ARTIM timeout and fit [`association::MAX_REQUEST`]; it is
//!    decoded by `dicom-ul` ([`wire`] frames it). The protocol version,
//!    application context, called AE title (RJ 1,1,7) and calling AE title
//!    (RJ 1,1,3) are checked, then the capacity (RJ 2,3,2).
//! 2. **Identity** ([`identity`]): by the called AE title's mode, the User
//!    Identity item is ignored, optional or required; when used, it is a
//!    login through the engine of the method its type maps to, and the
//!    association holds the session token it yields (or the anonymous
//!    role). A failure is the configured RJ, and counts towards the user's
//!    lockout like any failed login.
//! 3. **Answer**: with an upstream ([`relay`]), the association is opened
//!    there first and its AC relayed; without one, Verification contexts
//!    are accepted and the listener answers C-ECHO itself
//!    ([`verification`]). The AC carries the session token in a server
//!    response item (0x59) when a type 3 to 5 requestor asked for one, so
//!    the same identity works at the HTTP doors.
//! 4. **Commands** ([`guard`]): each request is decided before it goes on.
//!
//! Each association raises `dicom.associate` (AE titles, peer, identity
//! type, user, outcome) and each request `dicom.command` (command, SOP
//! class, user, allowed or refused), with their audit rows.

pub mod association;
pub mod config;
pub mod dimse;
pub mod guard;
pub mod identity;
pub mod relay;
pub mod verification;
pub mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use auth_core::{AuthEvent, EventResult};
use dicom_ul::Pdu;
use dicom_ul::pdu::{AssociationAC, AssociationRJ, AssociationRQ};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use self::association::{IdentityItem, MAX_REQUEST};
use self::config::{DicomSettings, Mode, rejection, triple};
use self::guard::Guard;
use self::identity::{Peer, Principal};
use self::wire::PduReader;
use crate::error::ServerError;
use crate::events::{self, REQUEST};
use crate::state::AppState;

/// The event of every association request.
pub const EVENT: &str = "dicom.associate";

/// Connections still negotiating (not yet associated) at most; more are
/// closed at once. Each is bounded by the ARTIM timeout.
const NEGOTIATING: usize = 512;

/// How long associations in progress may go on after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves DICOM on `listener` until `shutdown` completes; associations in
/// progress then get `SHUTDOWN_GRACE` to end before they are dropped. A
/// configuration error stops it before it serves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let settings = Arc::new(state.config().dicom.check(&state.config().auth.methods)?);
    let associations = Arc::new(Semaphore::new(settings.max_associations));
    let negotiating = Arc::new(Semaphore::new(NEGOTIATING));
    let mut tasks = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        while tasks.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors, most often: wait for some to free.
                tracing::warn!(error = %e, "the DICOM listener could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = negotiating.clone().try_acquire_owned() else {
            continue;
        };
        let connection = Connection {
            state: state.clone(),
            settings: settings.clone(),
            associations: associations.clone(),
            peer,
        };
        tasks.spawn(connection.serve(stream, permit));
    }
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        tasks.abort_all();
    }
    state.dispatcher().audit().flush().await;
    Ok(())
}

/// One TCP connection to the listener.
struct Connection {
    state: AppState,
    settings: Arc<DicomSettings>,
    associations: Arc<Semaphore>,
    peer: SocketAddr,
}

/// What the negotiation came to.
enum Negotiated {
    Accepted {
        principal: Principal,
        answer: AssociationAC,
        upstream: Option<Box<relay::Upstream>>,
        /// The max PDU length advertised to the client.
        cap: u32,
        permit: OwnedSemaphorePermit,
    },
    Rejected {
        rj: AssociationRJ,
        reason: String,
    },
}

impl Connection {
    async fn serve(self, stream: TcpStream, negotiating: OwnedSemaphorePermit) {
        let _ = stream.set_nodelay(true);
        let (read, mut writer) = stream.into_split();
        let mut reader = PduReader::new(read);
        let first = tokio::time::timeout(self.settings.artim_timeout, reader.next(MAX_REQUEST));
        // ARTIM expired, or nothing came: close (PS3.8 9.2, Sta2).
        let Ok(Ok(frame)) = first.await else {
            return;
        };
        let request = match frame.decode(MAX_REQUEST) {
            Ok(Pdu::AssociationRQ(request)) => request,
            _ => {
                let _ = wire::write(&mut writer, &wire::abort()).await;
                reader.linger(self.settings.artim_timeout).await;
                return;
            }
        };
        let item = association::identity(&request, &frame);
        let association_id = format!("req-{}", uuid::Uuid::new_v4());
        let mut event = AuthEvent::new(EVENT, self.state.clock().now());
        event.client_addr = Some(self.peer.ip());
        event.request_id = Some(association_id.clone());
        let (negotiated, facts) =
            events::collect(self.negotiate(&request, item.as_ref(), &event)).await;
        let mut noted = json!({
            "calling_ae_title": request.calling_ae_title,
            "called_ae_title": request.called_ae_title,
            "peer": self.peer.to_string(),
            "identity_type": item.as_ref().map(|i| i.identity_type),
        });
        let (pdu, result) = match &negotiated {
            Negotiated::Accepted { answer, .. } => {
                noted["outcome"] = json!("accepted");
                (Pdu::AssociationAC(answer.clone()), EventResult::Success)
            }
            Negotiated::Rejected { rj, reason } => {
                noted["outcome"] = json!("rejected");
                noted["reject"] = json!(triple(rj));
                noted["reason"] = json!(reason);
                (Pdu::AssociationRJ(rj.clone()), EventResult::Failure)
            }
        };
        let detail = json!({"outcome": noted["outcome"]});
        event.attributes.insert(REQUEST.into(), noted);
        events::raise(&self.state, event, facts, result, detail);
        let written = wire::write(&mut writer, &pdu).await;
        let Negotiated::Accepted {
            principal,
            upstream,
            cap,
            permit,
            ..
        } = negotiated
        else {
            reader.linger(self.settings.artim_timeout).await;
            return;
        };
        drop(negotiating);
        if written.is_err() {
            return;
        }
        let guard = Guard {
            state: self.state.clone(),
            settings: self.settings.clone(),
            principal,
            calling_ae_title: request.calling_ae_title.clone(),
            peer: self.peer,
            association_id,
        };
        let ending = match upstream {
            Some(upstream) => relay::run(&guard, reader, writer, *upstream, cap).await,
            None => verification::run(&guard, reader, writer, cap).await,
        };
        tracing::debug!(calling_ae_title = %guard.calling_ae_title, peer = %self.peer, ending, "a DICOM association ended");
        drop(permit);
    }

    /// Steps 1 to 3 of the module documentation.
    async fn negotiate(
        &self,
        request: &AssociationRQ,
        item: Option<&IdentityItem>,
        event: &AuthEvent,
    ) -> Negotiated {
        let rejected = |rj: AssociationRJ, reason: &str| Negotiated::Rejected {
            rj,
            reason: reason.to_owned(),
        };
        let settings = &self.settings;
        let called = request.called_ae_title.trim();
        let calling = request.calling_ae_title.trim();
        let mode = settings.called.get(called).copied();
        let calling_allowed = settings.calling_ae_titles.is_empty()
            || settings.calling_ae_titles.iter().any(|t| t == calling);
        if let Some(rj) = association::precheck(request, mode.is_some(), calling_allowed) {
            return rejected(rj, "association request refused");
        }
        let congested = || rejection([2, 3, 2]).unwrap_or_else(|| settings.reject.clone());
        let Ok(permit) = self.associations.clone().try_acquire_owned() else {
            return rejected(congested(), "too many associations");
        };
        let dispatcher = self.state.dispatcher();
        if dispatcher.wants(EVENT) && dispatcher.pre(event).await.is_err() {
            return rejected(settings.reject.clone(), "refused by an event handler");
        }
        let identity = match (mode, item) {
            (Some(Mode::NotSupported), _) | (Some(Mode::Supports), None) => {
                Ok(Principal::Anonymous)
            }
            (_, None) => return rejected(settings.reject.clone(), "no user identity"),
            (_, Some(item)) => {
                let peer = Peer {
                    calling_ae_title: calling,
                    called_ae_title: called,
                    addr: self.peer.ip(),
                };
                match identity::authenticate(&self.state, settings, item, peer).await {
                    Ok(result) => result,
                    Err(e) => {
                        tracing::warn!(error = %e, "a DICOM identity could not be checked");
                        let unavailable =
                            rejection([2, 3, 1]).unwrap_or_else(|| settings.reject.clone());
                        return rejected(unavailable, "the store is unavailable");
                    }
                }
            }
        };
        let principal = match identity {
            Ok(principal) => principal,
            Err(refusal) => return rejected(settings.reject.clone(), &refusal.word()),
        };
        let server_response = item
            .and_then(|item| principal.server_response(item))
            .and_then(|response| association::server_response(&response));
        match &settings.upstream {
            Some(_) => match relay::open(settings, request).await {
                Ok(upstream) => {
                    let (answer, cap) =
                        upstream.answer(request, settings.max_pdu_length, server_response);
                    Negotiated::Accepted {
                        principal,
                        answer,
                        upstream: Some(Box::new(upstream)),
                        cap,
                        permit,
                    }
                }
                Err(rj) => rejected(rj, "the upstream refused or cannot be reached"),
            },
            None => {
                let cap = settings.max_pdu_length;
                let mut answer = association::local_accept(request, cap);
                answer.user_variables.extend(server_response);
                Negotiated::Accepted {
                    principal,
                    answer,
                    upstream: None,
                    cap,
                    permit,
                }
            }
        }
    }
}
