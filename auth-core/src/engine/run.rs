//! One authentication request, start to finish.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};

use super::Engine;
use super::attempt::{AuthAttempt, Body};
use super::events::Trail;
use super::outcome::{AuthOutcome, Authenticated, Continuation};
use crate::context::MethodContext;
use crate::events::{EventResult, names};
use crate::identity::Identity;
use crate::mfa::{self, MfaDecision};
use crate::receipt::Receipt;
use crate::request::AuthRequest;
use crate::store::User;
use crate::{AuthError, AuthHandlerResponse};

/// What the method loop leaves behind.
struct Progress {
    identity: Identity,
    /// Continuation state to seal into the next receipt, by method.
    pending: BTreeMap<String, Value>,
    /// Challenges issued in this request, by method.
    challenges: BTreeMap<String, Value>,
    /// The user's record as a method of this request read it, if one did.
    loaded: Option<User>,
}

impl Engine {
    /// Authenticates one request.
    ///
    /// Returns [`AuthOutcome::Authenticated`] when the login is complete,
    /// [`AuthOutcome::Continue`] when the client must come back with the
    /// receipt, and an [`AuthError`] otherwise. Never panics on any input.
    pub async fn authenticate(
        &self,
        mut attempt: AuthAttempt<'_>,
    ) -> Result<AuthOutcome, AuthError> {
        let started = Instant::now();
        let mut trail = Trail::new(
            self.events.as_ref(),
            self.clock.as_ref(),
            attempt.request_id,
            attempt.client_addr,
        );
        let body = std::mem::replace(&mut attempt.body, Body::Raw(&[]));
        let request = match self.parse(body) {
            Ok(request) => request,
            Err(error) => {
                self.emit_outcome(&trail, &Err(&error), started);
                return Err(error);
            }
        };
        trail.methods = request.methods();
        let result = self.run(&attempt, &request, &mut trail).await;
        self.emit_outcome(&trail, &result.as_ref(), started);
        result
    }

    fn parse(&self, body: Body<'_>) -> Result<AuthRequest, AuthError> {
        let request = match body {
            Body::Raw(bytes) => AuthRequest::from_slice(bytes, &self.limits)?,
            Body::Json(value) => AuthRequest::from_value(&value, &self.limits)?,
        };
        if let Some(method) = request.methods().iter().find(|m| !self.methods.contains(m)) {
            return Err(AuthError::MethodNotEnabled {
                method: method.clone(),
                enabled: self.methods.names(),
            });
        }
        Ok(request)
    }

    async fn run(
        &self,
        attempt: &AuthAttempt<'_>,
        request: &AuthRequest,
        trail: &mut Trail<'_>,
    ) -> Result<AuthOutcome, AuthError> {
        trail.emit(names::REQUEST_RECEIVED, |e| {
            e.attributes
                .insert("has_receipt".into(), attempt.receipt.is_some().into());
        });
        let (identity, pending) = match attempt.receipt {
            Some(sealed) => {
                let receipt =
                    Receipt::open(sealed, &self.receipt_keys.current(), self.clock.now())?;
                (receipt.identity, receipt.pending)
            }
            None => (Identity::default(), BTreeMap::new()),
        };
        trail.user_id.clone_from(&identity.user_id);

        let progress = self
            .run_methods(attempt, request, identity, pending, trail)
            .await?;
        let Progress {
            identity,
            pending,
            challenges,
            loaded,
        } = progress;

        if !challenges.is_empty() {
            // A user is only looked up once a method has passed, so a
            // challenge never reveals whether an account exists.
            let user = match (&identity.user_id, identity.methods.is_empty()) {
                (Some(user_id), false) => Some(self.enabled_user(user_id, loaded).await?),
                _ => None,
            };
            let mut would_use = identity.methods.clone();
            would_use.extend(challenges.keys().cloned());
            let required = match &user {
                Some(user) => match self.check_mfa(user, &would_use)? {
                    MfaDecision::Unsatisfied { required } => required,
                    MfaDecision::Satisfied => vec![would_use],
                },
                None => vec![would_use],
            };
            return self.continuation(identity, pending, challenges, user, required, trail);
        }

        let user_id = identity.user_id.clone().ok_or(AuthError::NoUserResolved)?;
        let user = self.enabled_user(&user_id, loaded).await?;
        trail.domain_id = Some(user.domain_id.clone());
        match self.check_mfa(&user, &identity.methods)? {
            MfaDecision::Satisfied => Ok(AuthOutcome::Authenticated(Authenticated {
                user,
                identity,
                scope: request.scope().clone(),
            })),
            MfaDecision::Unsatisfied { required } => {
                self.continuation(identity, pending, challenges, Some(user), required, trail)
            }
        }
    }

    async fn run_methods(
        &self,
        attempt: &AuthAttempt<'_>,
        request: &AuthRequest,
        mut identity: Identity,
        mut pending: BTreeMap<String, Value>,
        trail: &mut Trail<'_>,
    ) -> Result<Progress, AuthError> {
        let mut challenges = BTreeMap::new();
        let mut loaded = None;
        for method in request.methods() {
            let (Some(handler), Some(payload)) =
                (self.methods.get(method), request.payload(method))
            else {
                // `parse` checked both; this is unreachable by construction.
                return Err(AuthError::Internal(format!("method '{method}' vanished")));
            };
            // A method's continuation state is consumed by running it.
            let continuation = pending.remove(method);
            let ctx = MethodContext {
                method,
                methods: request.methods(),
                scope: request.scope(),
                client_addr: attempt.client_addr,
                headers: &attempt.headers,
                declared_headers: handler.declared_headers(),
                resolved: &identity,
                continuation: continuation.as_ref(),
                request_id: attempt.request_id,
                door: attempt.door,
                request_line: attempt.request_line.as_ref(),
                clock: self.clock.as_ref(),
                stores: &self.stores,
                tokens: self.tokens.as_deref(),
            };
            let timer = trail.is_enabled().then(Instant::now);
            let answer = handler.authenticate(payload, &ctx).await;
            let elapsed = timer.map(|t| u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
            let step = answer.and_then(|response| match response {
                AuthHandlerResponse::Success(mut data) => {
                    let user = data.user.take();
                    identity.merge_success(method, data)?;
                    if let Some(user) = user.filter(|u| identity.user_id.as_ref() == Some(&u.id)) {
                        loaded = Some(user);
                    }
                    Ok(EventResult::Success)
                }
                AuthHandlerResponse::Challenge { body, state } => {
                    challenges.insert(method.clone(), body);
                    pending.insert(method.clone(), state);
                    Ok(EventResult::Continue)
                }
            });
            match step {
                Ok(result) => {
                    trail.user_id.clone_from(&identity.user_id);
                    trail.project_id.clone_from(&identity.project_id);
                    trail.method_result(method, result, None, elapsed);
                }
                Err(error) => {
                    trail.method_result(method, EventResult::Failure, Some(&error), elapsed);
                    return Err(error);
                }
            }
        }
        Ok(Progress {
            identity,
            pending,
            challenges,
            loaded,
        })
    }

    /// The resolved user, enabled: the record a method of this request
    /// read if it is that user's, otherwise a fresh read.
    async fn enabled_user(&self, user_id: &str, loaded: Option<User>) -> Result<User, AuthError> {
        let user = match loaded.filter(|u| u.id == user_id) {
            Some(user) => user,
            None => match self.stores.users()?.get_user(user_id).await {
                Ok(user) => user,
                // A method named a user that does not exist (deleted meanwhile).
                Err(AuthError::NotFound { .. }) => return Err(AuthError::NoUserResolved),
                Err(e) => return Err(e),
            },
        };
        if !user.enabled {
            return Err(AuthError::UserDisabled);
        }
        Ok(user)
    }

    fn check_mfa(&self, user: &User, used: &[String]) -> Result<MfaDecision, AuthError> {
        mfa::evaluate(&user.options, used, |m| self.methods.contains(m))
    }

    fn continuation(
        &self,
        identity: Identity,
        pending: BTreeMap<String, Value>,
        challenges: BTreeMap<String, Value>,
        user: Option<User>,
        required_auth_methods: Vec<Vec<String>>,
        trail: &Trail<'_>,
    ) -> Result<AuthOutcome, AuthError> {
        let issued_at = self.clock.now();
        let receipt = Receipt {
            identity,
            pending,
            issued_at,
            expires_at: issued_at + self.receipt_ttl,
        };
        let sealed = receipt.seal(&self.receipt_keys.current())?;
        trail.emit(names::RECEIPT_ISSUED, |e| {
            e.result = Some(EventResult::Continue);
            e.attributes
                .insert("required_auth_methods".into(), json!(required_auth_methods));
            e.attributes
                .insert("passed_methods".into(), json!(receipt.identity.methods));
            e.attributes.insert(
                "pending_methods".into(),
                json!(receipt.pending.keys().collect::<Vec<_>>()),
            );
        });
        Ok(AuthOutcome::Continue(Continuation {
            receipt: sealed,
            user,
            methods: receipt.identity.methods,
            issued_at: receipt.issued_at,
            expires_at: receipt.expires_at,
            required_auth_methods,
            challenges,
        }))
    }

    fn emit_outcome(
        &self,
        trail: &Trail<'_>,
        result: &Result<&AuthOutcome, &AuthError>,
        started: Instant,
    ) {
        trail.emit(names::OUTCOME, |e| {
            e.elapsed_us = u64::try_from(started.elapsed().as_micros()).ok();
            match result {
                Ok(AuthOutcome::Authenticated(a)) => {
                    e.result = Some(EventResult::Success);
                    e.attributes
                        .insert("methods".into(), json!(a.identity.methods));
                }
                Ok(AuthOutcome::Continue(_)) => e.result = Some(EventResult::Continue),
                Err(error) => {
                    e.result = Some(EventResult::Failure);
                    e.error = Some((*error).into());
                }
            }
        });
    }
}
