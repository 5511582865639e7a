//! May this association make this DIMSE request? The decision of every
//! command a client sends, and its `dicom.command` event.
//!
//! The permission a request needs is fixed by its command (C-ECHO none,
//! C-FIND `view`, C-GET and C-MOVE `download`, C-STORE `upload`; C-CANCEL
//! passes) or configured (`[dicom.commands]`); any other request is
//! refused. Permissions come from the association's roles through the same
//! role map as the HTTP doors ([`crate::imaging`]). The association's
//! session token is validated again for each request, so a revoked token,
//! a disabled user or a role taken away refuses the next command. Labels
//! cannot be checked on DICOM messages, so a user whose roles restrict the
//! labels they may see is refused (fail closed), as at the gateway.

use std::net::SocketAddr;
use std::sync::Arc;

use auth_core::imaging::Permission;
use auth_core::{AuthEvent, EventResult};
use serde_json::json;

use super::config::DicomSettings;
use super::dimse::{Command, CommandSet};
use super::identity::Principal;
use crate::events::{self, REQUEST};
use crate::imaging::{self, BearerKind};
use crate::state::AppState;

/// The event of every DIMSE request a client sends.
pub const EVENT: &str = "dicom.command";

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Relay it (or answer it, for the listener's own C-ECHO).
    Allowed,
    /// Answer it with a failure status and this Error Comment.
    Refused {
        /// The DIMSE status.
        status: u16,
        /// Why, for the client.
        comment: &'static str,
    },
}

/// One association's guard: who it is, and where it comes from.
#[derive(Debug)]
pub struct Guard {
    /// The server.
    pub state: AppState,
    /// The listener's settings.
    pub settings: Arc<DicomSettings>,
    /// Who the association is.
    pub principal: Principal,
    /// The calling AE title.
    pub calling_ae_title: String,
    /// The peer.
    pub peer: SocketAddr,
    /// The request id of the association's `dicom.associate` event, which
    /// each command's event names.
    pub association_id: String,
}

impl Guard {
    /// The permission `command` needs: `Ok(None)` none, `Err(())` refused
    /// whatever the roles.
    fn needed(&self, command: Option<Command>) -> Result<Option<Permission>, ()> {
        let command = command.ok_or(())?;
        if let Some(permission) = self.settings.commands.get(&command) {
            return Ok(Some(*permission));
        }
        command.default_permission().ok_or(())
    }

    /// Decides `request` and raises its event.
    pub async fn decide(&self, request: &CommandSet) -> Decision {
        let command = Command::from_field(request.field);
        let mut event = AuthEvent::new(EVENT, self.state.clock().now());
        event.client_addr = Some(self.peer.ip());
        event.request_id = Some(format!("req-{}", uuid::Uuid::new_v4()));
        let (decision, facts) = events::collect(self.decide_quietly(command)).await;
        let allowed = decision == Decision::Allowed;
        let mut noted = json!({
            "command": command.map_or_else(|| format!("0x{:04X}", request.field), |c| c.name().to_owned()),
            "sop_class": request.sop_class,
            "message_id": request.message_id,
            "calling_ae_title": self.calling_ae_title,
            "association": self.association_id,
            "allowed": allowed,
        });
        if let Decision::Refused { status, .. } = &decision {
            noted["status"] = json!(status);
        }
        event.attributes.insert(REQUEST.into(), noted);
        let result = if allowed {
            EventResult::Success
        } else {
            EventResult::Failure
        };
        let detail = json!({"allowed": allowed});
        events::raise(&self.state, event, facts, result, detail);
        decision
    }

    async fn decide_quietly(&self, command: Option<Command>) -> Decision {
        const NOT_AUTHORIZED: u16 = super::dimse::REFUSED_NOT_AUTHORIZED;
        let Ok(needed) = self.needed(command) else {
            return Decision::Refused {
                status: NOT_AUTHORIZED,
                comment: "this request is not allowed through this listener",
            };
        };
        if let Principal::User { user_id, .. } = &self.principal {
            let user_id = user_id.clone();
            events::note(|facts| facts.user_id = Some(user_id));
        }
        let Some(permission) = needed else {
            return Decision::Allowed;
        };
        let unavailable = Decision::Refused {
            status: super::dimse::PROCESSING_FAILURE,
            comment: "authorization is unavailable; try again",
        };
        let Ok(revision) = self.state.validations().revision().await else {
            return unavailable;
        };
        let bearer = match self.principal.token() {
            Some(token) => imaging::bearer(&self.state, Some(token), revision).await,
            None => {
                let role = self.settings.anonymous_role.as_deref();
                imaging::anonymous(&self.state, role, revision).await
            }
        };
        let Ok(bearer) = bearer else {
            return unavailable;
        };
        if let BearerKind::User {
            domain_id,
            project_id,
            ..
        } = &bearer.kind
        {
            let (domain_id, project_id) = (domain_id.clone(), project_id.clone());
            events::note(|facts| {
                facts.domain_id = Some(domain_id);
                facts.project_id = project_id;
            });
        }
        let holds = matches!(bearer.kind, BearerKind::User { .. } | BearerKind::Anonymous)
            && bearer.sees_every_label()
            && bearer.holds(permission);
        if holds {
            Decision::Allowed
        } else {
            Decision::Refused {
                status: NOT_AUTHORIZED,
                comment: "the user's roles do not allow this request",
            }
        }
    }
}
