//! Rows as both drivers read them, and their conversion to records.
//!
//! `#[derive(FromRow)]` produces an implementation generic over the row
//! type, so one struct per table serves SQLite and PostgreSQL alike; the
//! conversions to `auth_core` records (times, JSON, enums, decryption) are
//! written once here. Every integer column is BIGINT (`i64`) on both sides,
//! because PostgreSQL refuses to decode an INT4 into an `i64`.

use std::collections::HashMap;

use auth_core::AuthError;
use auth_core::KeyRing;
use auth_core::store::*;
use secrecy::SecretString;
use sqlx::FromRow;

use super::error::corrupt;
use super::sealing::{open_blob, open_text};
use super::time::{from_micros, from_micros_opt};

#[derive(FromRow)]
pub(crate) struct DomainRow {
    id: String,
    name: String,
    description: String,
    enabled: bool,
}

impl From<DomainRow> for Domain {
    fn from(r: DomainRow) -> Self {
        Domain::new(r.id, r.name)
            .with_description(r.description)
            .with_enabled(r.enabled)
    }
}

#[derive(FromRow)]
pub(crate) struct ProjectRow {
    id: String,
    name: String,
    domain_id: String,
    description: String,
    enabled: bool,
    parent_id: Option<String>,
    tags: String,
}

impl TryFrom<ProjectRow> for Project {
    type Error = AuthError;

    fn try_from(r: ProjectRow) -> Result<Self, AuthError> {
        let tags = serde_json::from_str(&r.tags).map_err(|_| corrupt("project tags"))?;
        let mut project = Project::new(r.id, r.name, r.domain_id)
            .with_description(r.description)
            .with_enabled(r.enabled)
            .with_tags(tags);
        project.parent_id = r.parent_id;
        Ok(project)
    }
}

/// A project's tags as stored: a JSON array of strings.
pub(crate) fn tags_json(tags: &[String]) -> String {
    serde_json::Value::from(tags.to_vec()).to_string()
}

#[derive(FromRow)]
pub(crate) struct UserRow {
    id: String,
    name: String,
    domain_id: String,
    enabled: bool,
    default_project_id: Option<String>,
    options: String,
    extra: String,
}

impl TryFrom<UserRow> for User {
    type Error = AuthError;

    fn try_from(r: UserRow) -> Result<Self, AuthError> {
        let mut user = User::new(r.id, r.name, r.domain_id)
            .with_enabled(r.enabled)
            .with_options(serde_json::from_str(&r.options).map_err(|_| corrupt("user options"))?)
            .with_extra(
                serde_json::from_str(&r.extra).map_err(|_| corrupt("user extra attributes"))?,
            );
        user.default_project_id = r.default_project_id;
        Ok(user)
    }
}

/// A user's options as stored (TEXT JSON).
pub(crate) fn options_json(options: &UserOptions) -> Result<String, AuthError> {
    serde_json::to_string(options).map_err(|_| corrupt("user options"))
}

/// A user's extra attributes as stored (TEXT JSON object).
pub(crate) fn extra_json(extra: &serde_json::Map<String, serde_json::Value>) -> String {
    // Serializing a map of `Value`s cannot fail: its keys are strings.
    serde_json::Value::Object(extra.clone()).to_string()
}

/// One password, or, from a `LEFT JOIN` on the user, no password (every
/// column `NULL`).
#[derive(FromRow)]
pub(crate) struct PasswordRow {
    hash: Option<String>,
    created_at: Option<i64>,
    expires_at: Option<i64>,
    self_service: Option<bool>,
}

impl PasswordRow {
    /// The record, or `None` for the all-`NULL` row of a user without one.
    pub(crate) fn into_record(self) -> Result<Option<PasswordRecord>, AuthError> {
        let (Some(hash), Some(created_at)) = (self.hash, self.created_at) else {
            return Ok(None);
        };
        let mut record = PasswordRecord::new(
            SecretString::from(hash),
            from_micros(created_at, "password creation time")?,
        )
        .with_self_service(self.self_service.unwrap_or(false));
        record.expires_at = from_micros_opt(self.expires_at, "password expiry")?;
        Ok(Some(record))
    }
}

#[derive(FromRow)]
pub(crate) struct AuthStateRow {
    failed_auth_count: i64,
    failed_auth_at: Option<i64>,
    last_active_at: Option<i64>,
}

impl TryFrom<AuthStateRow> for UserAuthState {
    type Error = AuthError;

    fn try_from(r: AuthStateRow) -> Result<Self, AuthError> {
        Ok(UserAuthState::new(
            count(r.failed_auth_count)?,
            from_micros_opt(r.failed_auth_at, "failed authentication time")?,
            from_micros_opt(r.last_active_at, "last activity time")?,
        ))
    }
}

/// A stored failure count as the contract's `u32`.
pub(crate) fn count(stored: i64) -> Result<u32, AuthError> {
    u32::try_from(stored).map_err(|_| corrupt("failed authentication count"))
}

#[derive(FromRow)]
pub(crate) struct GroupRow {
    id: String,
    name: String,
    domain_id: String,
    description: String,
}

impl From<GroupRow> for Group {
    fn from(r: GroupRow) -> Self {
        Group::new(r.id, r.name, r.domain_id).with_description(r.description)
    }
}

#[derive(FromRow)]
pub(crate) struct RoleRow {
    id: String,
    name: String,
    domain_id: Option<String>,
}

impl From<RoleRow> for Role {
    fn from(r: RoleRow) -> Self {
        let mut role = Role::new(r.id, r.name);
        role.domain_id = r.domain_id;
        role
    }
}

/// An implied-role rule joined with both its roles (see
/// `implied_role_select!`).
#[derive(FromRow)]
pub(crate) struct ImpliedRoleRow {
    prior_id: String,
    prior_name: String,
    prior_domain_id: Option<String>,
    implied_id: String,
    implied_name: String,
    implied_domain_id: Option<String>,
}

impl From<ImpliedRoleRow> for ImpliedRole {
    fn from(r: ImpliedRoleRow) -> Self {
        let prior = RoleRow {
            id: r.prior_id,
            name: r.prior_name,
            domain_id: r.prior_domain_id,
        };
        let implied = RoleRow {
            id: r.implied_id,
            name: r.implied_name,
            domain_id: r.implied_domain_id,
        };
        ImpliedRole::new(prior.into(), implied.into())
    }
}

/// An assignment's actor as stored: type and id, plus the typed foreign-key
/// column the schema's CHECK requires to repeat the id.
pub(crate) fn actor_columns(actor: &Actor) -> (&'static str, &str, Option<&str>, Option<&str>) {
    match actor {
        Actor::User(id) => ("user", id, Some(id), None),
        Actor::Group(id) => ("group", id, None, Some(id)),
    }
}

/// The id stored as the target of a system assignment.
const SYSTEM_TARGET_ID: &str = "all";

/// An assignment's target as stored: type and id, plus the typed
/// foreign-key columns (project, domain).
pub(crate) fn target_columns(target: &Target) -> (&'static str, &str, Option<&str>, Option<&str>) {
    match target {
        Target::Project(id) => ("project", id, Some(id), None),
        Target::Domain(id) => ("domain", id, None, Some(id)),
        Target::System => ("system", SYSTEM_TARGET_ID, None, None),
    }
}

fn target_from(kind: &str, id: String) -> Result<Target, AuthError> {
    match kind {
        "project" => Ok(Target::Project(id)),
        "domain" => Ok(Target::Domain(id)),
        "system" => Ok(Target::System),
        _ => Err(corrupt("assignment target type")),
    }
}

#[derive(FromRow)]
pub(crate) struct AssignmentRow {
    role_id: String,
    actor_type: String,
    actor_id: String,
    target_type: String,
    target_id: String,
    inherited: bool,
}

impl TryFrom<AssignmentRow> for Assignment {
    type Error = AuthError;

    fn try_from(r: AssignmentRow) -> Result<Self, AuthError> {
        let actor = match r.actor_type.as_str() {
            "user" => Actor::User(r.actor_id),
            "group" => Actor::Group(r.actor_id),
            _ => return Err(corrupt("assignment actor type")),
        };
        let target = target_from(&r.target_type, r.target_id)?;
        Ok(if r.inherited {
            Assignment::inherited(r.role_id, actor, target)
        } else {
            Assignment::new(r.role_id, actor, target)
        })
    }
}

#[derive(FromRow)]
pub(crate) struct TargetRow {
    target_type: String,
    target_id: String,
}

impl TryFrom<TargetRow> for Target {
    type Error = AuthError;

    fn try_from(r: TargetRow) -> Result<Self, AuthError> {
        target_from(&r.target_type, r.target_id)
    }
}

#[derive(FromRow)]
pub(crate) struct CredentialRow {
    id: String,
    user_id: String,
    kind: String,
    project_id: Option<String>,
    sealed_blob: Vec<u8>,
}

impl CredentialRow {
    /// The credential with its blob opened.
    pub(crate) fn open(self, keys: &KeyRing) -> Result<Credential, AuthError> {
        let blob = open_blob(keys, &self.id, &self.sealed_blob)?;
        let mut credential = Credential::new(self.id, self.user_id, self.kind, blob);
        credential.project_id = self.project_id;
        Ok(credential)
    }
}

/// What the `project_id` column holds for an application credential bound
/// to no project (made with an unscoped token): the column is `NOT NULL` in
/// the first schema, and no project id is empty.
pub(crate) const NO_PROJECT: &str = "";

#[derive(FromRow)]
pub(crate) struct AppCredRow {
    id: String,
    name: String,
    description: String,
    user_id: String,
    project_id: String,
    secret_hash: String,
    expires_at: Option<i64>,
    unrestricted: bool,
    created_at: i64,
}

#[derive(FromRow)]
pub(crate) struct AppCredRoleRow {
    application_credential_id: String,
    role_id: String,
    role_name: String,
}

#[derive(FromRow)]
pub(crate) struct AccessRuleRow {
    application_credential_id: String,
    id: String,
    service: String,
    path: String,
    method: String,
}

/// Application credentials from their three tables: the credentials, and
/// their roles and access rules (each in stored order).
pub(crate) fn assemble_app_creds(
    creds: Vec<AppCredRow>,
    roles: Vec<AppCredRoleRow>,
    rules: Vec<AccessRuleRow>,
) -> Result<Vec<ApplicationCredential>, AuthError> {
    let mut roles_of: HashMap<String, Vec<RoleRef>> = HashMap::new();
    for r in roles {
        roles_of
            .entry(r.application_credential_id)
            .or_default()
            .push(RoleRef::new(r.role_id, r.role_name));
    }
    let mut rules_of: HashMap<String, Vec<AccessRule>> = HashMap::new();
    for r in rules {
        rules_of
            .entry(r.application_credential_id)
            .or_default()
            .push(AccessRule::new(r.id, r.service, r.path, r.method));
    }
    creds
        .into_iter()
        .map(|c| {
            let roles = roles_of.remove(&c.id).unwrap_or_default();
            let access_rules = rules_of.remove(&c.id).unwrap_or_default();
            let bound = c.project_id != NO_PROJECT;
            let mut credential = ApplicationCredential::new(
                c.id,
                c.name,
                c.user_id,
                c.project_id,
                SecretString::from(c.secret_hash),
                from_micros(c.created_at, "application credential creation time")?,
            )
            .with_description(c.description)
            .with_roles(roles)
            .with_unrestricted(c.unrestricted)
            .with_access_rules(access_rules);
            credential.expires_at = from_micros_opt(c.expires_at, "application credential expiry")?;
            if !bound {
                credential = credential.without_project();
            }
            Ok(credential)
        })
        .collect()
}

#[derive(FromRow)]
pub(crate) struct ServiceRow {
    id: String,
    kind: String,
    name: String,
    enabled: bool,
    extra: String,
}

fn extra_of(
    text: &str,
    what: &'static str,
) -> Result<serde_json::Map<String, serde_json::Value>, AuthError> {
    serde_json::from_str(text).map_err(|_| corrupt(what))
}

impl TryFrom<ServiceRow> for Service {
    type Error = AuthError;

    fn try_from(r: ServiceRow) -> Result<Self, AuthError> {
        Ok(Service::new(r.id, r.kind, r.name)
            .with_enabled(r.enabled)
            .with_extra(extra_of(&r.extra, "service extra attributes")?))
    }
}

#[derive(FromRow)]
pub(crate) struct EndpointRow {
    id: String,
    service_id: String,
    interface: String,
    region: Option<String>,
    url: String,
    enabled: bool,
    extra: String,
}

impl TryFrom<EndpointRow> for Endpoint {
    type Error = AuthError;

    fn try_from(r: EndpointRow) -> Result<Self, AuthError> {
        let mut endpoint = Endpoint::new(r.id, r.service_id, r.interface, r.url)
            .with_enabled(r.enabled)
            .with_extra(extra_of(&r.extra, "endpoint extra attributes")?);
        endpoint.region = r.region;
        Ok(endpoint)
    }
}

#[derive(FromRow)]
pub(crate) struct RegionRow {
    id: String,
    description: String,
    parent_region_id: Option<String>,
    extra: String,
}

impl TryFrom<RegionRow> for Region {
    type Error = AuthError;

    fn try_from(r: RegionRow) -> Result<Self, AuthError> {
        Ok(Region::new(r.id)
            .with_description(r.description)
            .with_parent(r.parent_region_id)
            .with_extra(extra_of(&r.extra, "region extra attributes")?))
    }
}

#[derive(FromRow)]
pub(crate) struct EndpointGroupRow {
    id: String,
    name: String,
    description: Option<String>,
    filters: String,
}

impl TryFrom<EndpointGroupRow> for EndpointGroup {
    type Error = AuthError;

    fn try_from(r: EndpointGroupRow) -> Result<Self, AuthError> {
        Ok(EndpointGroup::new(
            r.id,
            r.name,
            extra_of(&r.filters, "endpoint group filters")?,
        )
        .with_description(r.description))
    }
}

#[derive(FromRow)]
pub(crate) struct AssociationRow {
    id: String,
    project_id: String,
}

impl From<AssociationRow> for ProjectAssociation {
    fn from(r: AssociationRow) -> Self {
        ProjectAssociation::new(r.id, r.project_id)
    }
}

#[derive(FromRow)]
pub(crate) struct RevocationRow {
    audit_id: Option<String>,
    audit_chain_id: Option<String>,
    user_id: Option<String>,
    project_id: Option<String>,
    domain_id: Option<String>,
    role_id: Option<String>,
    issued_before: i64,
    revoked_at: i64,
}

impl TryFrom<RevocationRow> for RevocationEvent {
    type Error = AuthError;

    fn try_from(r: RevocationRow) -> Result<Self, AuthError> {
        let mut event = RevocationEvent::at(from_micros(r.revoked_at, "revocation time")?)
            .with_issued_before(from_micros(r.issued_before, "revocation issued_before")?);
        event.audit_id = r.audit_id;
        event.audit_chain_id = r.audit_chain_id;
        event.user_id = r.user_id;
        event.project_id = r.project_id;
        event.domain_id = r.domain_id;
        event.role_id = r.role_id;
        Ok(event)
    }
}

/// An audit kind as stored.
pub(crate) fn audit_kind_str(kind: AuditKind) -> &'static str {
    match kind {
        AuditKind::Call => "call",
        AuditKind::Handler => "handler",
    }
}

/// A JSON value as stored (TEXT).
pub(crate) fn json_text(value: &serde_json::Value) -> String {
    // Serializing a `Value` cannot fail: its keys are strings.
    value.to_string()
}

/// A stored JSON value; `field` names it if it does not parse.
pub(crate) fn json_value(text: &str, field: &'static str) -> Result<serde_json::Value, AuthError> {
    serde_json::from_str(text).map_err(|_| corrupt(field))
}

#[derive(FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    at: i64,
    kind: String,
    event: String,
    success: bool,
    duration_us: Option<i64>,
    client_addr: Option<String>,
    user_id: Option<String>,
    project_id: Option<String>,
    request_id: Option<String>,
    detail: String,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = AuthError;

    fn try_from(r: AuditRow) -> Result<Self, AuthError> {
        let kind = match r.kind.as_str() {
            "call" => AuditKind::Call,
            "handler" => AuditKind::Handler,
            _ => return Err(corrupt("audit kind")),
        };
        let mut record =
            AuditRecord::new(from_micros(r.at, "audit time")?, kind, r.event, r.success)
                .with_id(r.id)
                .with_detail(json_value(&r.detail, "audit detail")?);
        record.duration_us = r.duration_us;
        record.client_addr = r.client_addr;
        record.user_id = r.user_id;
        record.project_id = r.project_id;
        record.request_id = r.request_id;
        Ok(record)
    }
}

/// A handler position as stored.
pub(crate) fn position_str(position: HandlerPosition) -> &'static str {
    match position {
        HandlerPosition::Pre => "pre",
        HandlerPosition::Post => "post",
    }
}

/// A binding's event list as stored (TEXT JSON array).
pub(crate) fn events_json(events: &[String]) -> String {
    serde_json::Value::from(events.to_vec()).to_string()
}

#[derive(FromRow)]
pub(crate) struct BindingRow {
    id: String,
    name: String,
    events: String,
    module: String,
    action: String,
    options: String,
    conditions: String,
    position: String,
    ordering: i64,
    active: bool,
    abort_on_error: bool,
}

impl TryFrom<BindingRow> for HandlerBinding {
    type Error = AuthError;

    fn try_from(r: BindingRow) -> Result<Self, AuthError> {
        Ok(HandlerBinding::new(
            r.id,
            r.name,
            serde_json::from_str(&r.events).map_err(|_| corrupt("binding events"))?,
            r.module,
            r.action,
        )
        .with_options(json_value(&r.options, "binding options")?)
        .with_conditions(json_value(&r.conditions, "binding conditions")?)
        .with_position(match r.position.as_str() {
            "pre" => HandlerPosition::Pre,
            "post" => HandlerPosition::Post,
            _ => return Err(corrupt("binding position")),
        })
        .with_ordering(i32::try_from(r.ordering).map_err(|_| corrupt("binding ordering"))?)
        .with_active(r.active)
        .with_abort_on_error(r.abort_on_error))
    }
}

/// A share token's digest as stored: 64 lowercase hex digits.
pub(crate) fn digest_hex(digest: &[u8; 32]) -> String {
    hex::encode(digest)
}

#[derive(FromRow)]
pub(crate) struct ShareTokenRow {
    id: String,
    digest: String,
    token_type: String,
    resources: String,
    server_id: Option<String>,
    created_by: Option<String>,
    created_at: i64,
    expires_at: Option<i64>,
}

impl TryFrom<ShareTokenRow> for ShareToken {
    type Error = AuthError;

    fn try_from(r: ShareTokenRow) -> Result<Self, AuthError> {
        let mut digest = [0u8; 32];
        hex::decode_to_slice(&r.digest, &mut digest).map_err(|_| corrupt("share token digest"))?;
        let mut token = ShareToken::new(
            r.id,
            digest,
            r.token_type,
            json_value(&r.resources, "share token resources")?,
            from_micros(r.created_at, "share token creation time")?,
        );
        token.server_id = r.server_id;
        token.created_by = r.created_by;
        token.expires_at = from_micros_opt(r.expires_at, "share token expiry")?;
        Ok(token)
    }
}

#[derive(FromRow)]
pub(crate) struct TrustRow {
    id: String,
    trustor_user_id: String,
    trustee_user_id: String,
    project_id: Option<String>,
    impersonation: bool,
    expires_at: Option<i64>,
    remaining_uses: Option<i64>,
    redelegated_trust_id: Option<String>,
    redelegation_count: i64,
    created_at: i64,
}

#[derive(FromRow)]
pub(crate) struct TrustRoleRow {
    trust_id: String,
    role_id: String,
}

/// Trusts from their two tables: the trusts, and their roles (each in
/// stored order).
pub(crate) fn assemble_trusts(
    trusts: Vec<TrustRow>,
    roles: Vec<TrustRoleRow>,
) -> Result<Vec<Trust>, AuthError> {
    let mut roles_of: HashMap<String, Vec<String>> = HashMap::new();
    for r in roles {
        roles_of.entry(r.trust_id).or_default().push(r.role_id);
    }
    trusts
        .into_iter()
        .map(|t| {
            let mut trust = Trust::new(
                t.id,
                t.trustor_user_id,
                t.trustee_user_id,
                from_micros(t.created_at, "trust creation time")?,
            );
            trust.role_ids = roles_of.remove(&trust.id).unwrap_or_default();
            trust.project_id = t.project_id;
            trust.impersonation = t.impersonation;
            trust.expires_at = from_micros_opt(t.expires_at, "trust expiry")?;
            trust.remaining_uses = t.remaining_uses;
            trust.redelegated_trust_id = t.redelegated_trust_id;
            trust.redelegation_count = t.redelegation_count;
            Ok(trust)
        })
        .collect()
}

/// The JSON array of role ids an OAuth1 token row stores.
pub(crate) fn role_ids_json(role_ids: &[String]) -> String {
    serde_json::Value::from(role_ids.to_vec()).to_string()
}

fn role_ids_from(text: &str) -> Result<Vec<String>, AuthError> {
    serde_json::from_str(text).map_err(|_| corrupt("oauth1 role ids"))
}

/// The purpose an OAuth1 request token's secret is sealed under.
pub(crate) fn request_token_purpose(id: &str) -> String {
    format!("oauth1-request-token:{id}")
}

/// The purpose an OAuth1 access token's secret is sealed under.
pub(crate) fn access_token_purpose(id: &str) -> String {
    format!("oauth1-access-token:{id}")
}

#[derive(FromRow)]
pub(crate) struct OAuth1RequestTokenRow {
    id: String,
    secret_sealed: String,
    consumer_id: String,
    project_id: String,
    expires_at: Option<i64>,
    authorizing_user_id: Option<String>,
    role_ids: String,
    verifier_hash: Option<String>,
}

impl OAuth1RequestTokenRow {
    /// The request token with its secret opened.
    pub(crate) fn open(self, keys: &KeyRing) -> Result<OAuth1RequestToken, AuthError> {
        let secret = open_text(
            keys,
            request_token_purpose(&self.id).as_bytes(),
            &self.secret_sealed,
            "request token",
        )?;
        let mut token = OAuth1RequestToken::new(
            self.id,
            secret,
            self.consumer_id,
            self.project_id,
            from_micros_opt(self.expires_at, "request token expires_at")?,
        );
        token.authorizing_user_id = self.authorizing_user_id;
        token.role_ids = role_ids_from(&self.role_ids)?;
        token.verifier_hash = self.verifier_hash;
        Ok(token)
    }
}

#[derive(FromRow)]
pub(crate) struct OAuth1AccessTokenRow {
    id: String,
    secret_sealed: String,
    consumer_id: String,
    authorizing_user_id: String,
    project_id: String,
    role_ids: String,
    expires_at: Option<i64>,
}

impl OAuth1AccessTokenRow {
    /// The access token with its secret opened.
    pub(crate) fn open(self, keys: &KeyRing) -> Result<OAuth1AccessToken, AuthError> {
        let secret = open_text(
            keys,
            access_token_purpose(&self.id).as_bytes(),
            &self.secret_sealed,
            "access token",
        )?;
        let role_ids = role_ids_from(&self.role_ids)?;
        Ok(OAuth1AccessToken::new(
            self.id,
            secret,
            self.consumer_id,
            self.authorizing_user_id,
            self.project_id,
            role_ids,
            from_micros_opt(self.expires_at, "access token expires_at")?,
        ))
    }
}
