//! The one place that writes revocation events.
//!
//! Each event is stamped with the clock when it is written, which every
//! operation does after the change that causes it: a token issued (dated
//! from the start of its login, see `token_body::issue`) against the state
//! before the change is therefore always older than the event.
//!
//! Private to [`crate::services`]: a door cannot revoke anything by itself,
//! it calls the operation that has revocation as a consequence. The store
//! call is also on `auth-server/clippy.toml`'s `disallowed-methods`, so a
//! direct `add_revocation` anywhere else in the crate fails the lint run
//! (`cargo clippy -- -D warnings`, which CI runs).

use auth_core::AuthError;
use auth_core::store::RevocationEvent;

use super::Context;

/// Every token `user_id` holds now.
pub(super) async fn user(cx: &Context<'_>, user_id: &str) -> Result<(), AuthError> {
    record(cx, RevocationEvent::at(cx.clock().now()).with_user(user_id)).await
}

/// Every token `user_id` holds now on one project or domain (both `None`:
/// the user's system-scoped and unscoped tokens too, as a revocation event
/// with only a user matches every token of that user).
pub(super) async fn user_on(
    cx: &Context<'_>,
    user_id: &str,
    project_id: Option<&str>,
    domain_id: Option<&str>,
) -> Result<(), AuthError> {
    let mut event = RevocationEvent::at(cx.clock().now()).with_user(user_id);
    event.project_id = project_id.map(str::to_owned);
    event.domain_id = domain_id.map(str::to_owned);
    record(cx, event).await
}

/// Every token scoped to `project_id` now.
pub(super) async fn project(cx: &Context<'_>, project_id: &str) -> Result<(), AuthError> {
    record(
        cx,
        RevocationEvent::at(cx.clock().now()).with_project(project_id),
    )
    .await
}

/// Every token scoped to `domain_id` now.
pub(super) async fn domain(cx: &Context<'_>, domain_id: &str) -> Result<(), AuthError> {
    record(
        cx,
        RevocationEvent::at(cx.clock().now()).with_domain(domain_id),
    )
    .await
}

/// One token, by its audit id.
pub(super) async fn audit_id(cx: &Context<'_>, audit_id: &str) -> Result<(), AuthError> {
    record(
        cx,
        RevocationEvent::at(cx.clock().now()).with_audit_id(audit_id),
    )
    .await
}

/// Every token of one audit chain: a token and every token renewed or
/// rescoped from it.
pub(super) async fn audit_chain(cx: &Context<'_>, chain_id: &str) -> Result<(), AuthError> {
    let mut event = RevocationEvent::at(cx.clock().now());
    event.audit_chain_id = Some(chain_id.to_owned());
    record(cx, event).await
}

#[expect(
    clippy::disallowed_methods,
    reason = "the one writer of revocation events"
)]
async fn record(cx: &Context<'_>, event: RevocationEvent) -> Result<(), AuthError> {
    cx.storage().add_revocation(&event).await
}
