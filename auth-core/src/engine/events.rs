//! The engine's side of events: fills in what every event of one request
//! shares, and builds nothing when the sink is disabled.

use std::net::IpAddr;

use crate::AuthError;
use crate::clock::Clock;
use crate::events::{AuthEvent, EventError, EventResult, EventSink, names};

pub(super) struct Trail<'a> {
    sink: &'a dyn EventSink,
    clock: &'a dyn Clock,
    enabled: bool,
    request_id: Option<&'a str>,
    client_addr: Option<IpAddr>,
    pub(super) methods: &'a [String],
    pub(super) user_id: Option<String>,
    pub(super) domain_id: Option<String>,
    pub(super) project_id: Option<String>,
}

impl<'a> Trail<'a> {
    pub(super) fn new(
        sink: &'a dyn EventSink,
        clock: &'a dyn Clock,
        request_id: Option<&'a str>,
        client_addr: Option<IpAddr>,
    ) -> Self {
        Self {
            enabled: sink.is_enabled(),
            sink,
            clock,
            request_id,
            client_addr,
            methods: &[],
            user_id: None,
            domain_id: None,
            project_id: None,
        }
    }

    pub(super) fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Emits `name`, letting `fill` add the event-specific parts.
    pub(super) fn emit(&self, name: &str, fill: impl FnOnce(&mut AuthEvent)) {
        if !self.enabled {
            return;
        }
        let mut event = AuthEvent::new(name, self.clock.now());
        event.request_id = self.request_id.map(str::to_owned);
        event.client_addr = self.client_addr;
        event.methods = self.methods.to_vec();
        event.user_id.clone_from(&self.user_id);
        event.domain_id.clone_from(&self.domain_id);
        event.project_id.clone_from(&self.project_id);
        fill(&mut event);
        self.sink.emit(event);
    }

    pub(super) fn method_result(
        &self,
        method: &str,
        result: EventResult,
        error: Option<&AuthError>,
        elapsed_us: Option<u64>,
    ) {
        if !self.enabled {
            return;
        }
        let name = format!("{}{method}", names::METHOD_PREFIX);
        self.emit(&name, |e| {
            e.method = Some(method.to_owned());
            e.result = Some(result);
            e.error = error.map(EventError::from);
            e.elapsed_us = elapsed_us;
        });
    }
}
