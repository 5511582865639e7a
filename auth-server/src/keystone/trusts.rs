//! `/v3/OS-TRUST/trusts`: a trustor delegating roles on a project to a
//! trustee (Keystone's `keystone/api/trusts.py`): create, list (all, a
//! trustor's or a trustee's), get, delete, and the delegated roles. Each
//! call asks the policy with the target Keystone builds (`target.trust`);
//! a trust that is missing, expired or used up is a 404 before the policy
//! is asked, as Keystone answers (lp#1840288).

use auth_core::AuthError;
use auth_core::store::{Role, Trust};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::{PublicBase, collection_links};
use crate::error::ServerError;
use crate::expiry::parse_expiration_date;
use crate::policy::Target;
use crate::services::application_credentials::RoleChoice;
use crate::services::trusts::{self, NewTrust};
use crate::state::AppState;
use crate::token_body::timestamp;

/// `{"trust": {...}}`, read member by member to answer Keystone's 400s.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    trust: Map<String, Value>,
}

fn trust_json(t: &Trust, base: &str) -> Value {
    json!({
        "id": t.id,
        "trustor_user_id": t.trustor_user_id,
        "trustee_user_id": t.trustee_user_id,
        "project_id": t.project_id,
        "impersonation": t.impersonation,
        "expires_at": t.expires_at.map(timestamp),
        "remaining_uses": t.remaining_uses,
        "redelegated_trust_id": t.redelegated_trust_id,
        "redelegation_count": t.redelegation_count,
        "links": {"self": format!("{base}/v3/OS-TRUST/trusts/{}", t.id)},
    })
}

fn role_json(r: &Role, base: &str) -> Value {
    json!({"id": r.id, "name": r.name, "domain_id": r.domain_id,
           "links": {"self": format!("{base}/v3/roles/{}", r.id)}})
}

/// The trust with its roles, as Keystone shows one trust: the roles that
/// still exist, in full, and their collection's link.
fn full_trust_json(t: &Trust, roles: &[Role], base: &str) -> Value {
    let mut body = trust_json(t, base);
    body["roles"] = roles.iter().map(|r| role_json(r, base)).collect();
    body["roles_links"] = collection_links(base, &format!("/v3/OS-TRUST/trusts/{}/roles", t.id));
    body
}

/// The trust's roles that still exist (Keystone's `_normalize_trust_roles`).
async fn existing_roles(state: &AppState, trust: &Trust) -> Result<Vec<Role>, AuthError> {
    let mut roles = Vec::new();
    for id in &trust.role_ids {
        match state.storage().get_role(id).await {
            Ok(role) => roles.push(role),
            Err(AuthError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(roles)
}

fn invalid(member: &str, what: &str) -> AuthError {
    AuthError::bad_request(format!("Invalid input for field 'trust.{member}': {what}"))
}

fn string_member(body: &Map<String, Value>, member: &str) -> Result<Option<String>, AuthError> {
    match body.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(invalid(member, "must be a string or null")),
    }
}

fn required_string(body: &Map<String, Value>, member: &str) -> Result<String, AuthError> {
    string_member(body, member)?.ok_or_else(|| invalid(member, "is a required property"))
}

fn integer_member(
    body: &Map<String, Value>,
    member: &str,
    minimum: i64,
) -> Result<Option<i64>, AuthError> {
    match body.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_i64() {
            Some(n) if n >= minimum => Ok(Some(n)),
            _ => Err(invalid(
                member,
                &format!("must be an integer of at least {minimum} or null"),
            )),
        },
    }
}

fn bool_member(body: &Map<String, Value>, member: &str) -> Result<Option<bool>, AuthError> {
    match body.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(member, "must be a boolean")),
    }
}

/// The roles asked for: each `{"id"}` or `{"name"}`, nothing else
/// (Keystone's schema).
fn role_choices(body: &Map<String, Value>) -> Result<Vec<RoleChoice>, AuthError> {
    let items = match body.get("roles") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("roles", "must be a list")),
    };
    items
        .iter()
        .map(|item| {
            let Some(role) = item.as_object().filter(|r| r.len() == 1) else {
                return Err(invalid("roles", "each role is {\"id\"} or {\"name\"}"));
            };
            match (role.get("id"), role.get("name")) {
                (Some(Value::String(id)), None) => Ok(RoleChoice {
                    id: Some(id.clone()),
                    name: None,
                }),
                (None, Some(Value::String(name))) => Ok(RoleChoice {
                    id: None,
                    name: Some(name.clone()),
                }),
                _ => Err(invalid("roles", "each role is {\"id\"} or {\"name\"}")),
            }
        })
        .collect()
}

/// Keystone's `_check_unrestricted`: a token from a restricted application
/// credential may neither create nor delete a trust.
fn refuse_restricted(caller: &Caller) -> Result<(), ServerError> {
    if caller.is_restricted() {
        return Err(AuthError::Forbidden(
            "You are not authorized to perform the requested action: Using method \
             'application_credential' is not allowed for managing trusts."
                .into(),
        )
        .into());
    }
    Ok(())
}

/// `POST /v3/OS-TRUST/trusts`: by the trustor (`identity:create_trust`,
/// target `target.trust`: the request's trust). A trust-scoped caller
/// redelegates its own trust, which must allow it.
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<Envelope>,
) -> Result<impl IntoResponse, ServerError> {
    let body = body.trust;
    let trustor_user_id = required_string(&body, "trustor_user_id")?;
    let trustee_user_id = required_string(&body, "trustee_user_id")?;
    let impersonation = bool_member(&body, "impersonation")?
        .ok_or_else(|| invalid("impersonation", "is a required property"))?;
    let project_id = string_member(&body, "project_id")?.filter(|p| !p.is_empty());
    let roles = role_choices(&body)?;
    let remaining_uses = integer_member(&body, "remaining_uses", 1)?;
    let redelegation_count = integer_member(&body, "redelegation_count", 0)?;
    let allow_redelegation = bool_member(&body, "allow_redelegation")?.unwrap_or(false);
    let expires_at = match body.get("expires_at") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => return Err(invalid("expires_at", "must be a string or null").into()),
    };
    let target = Target::new().with_object("target.trust", &Value::Object(body));
    super::authorize(&state, &caller, "identity:create_trust", &target)?;
    refuse_restricted(&caller)?;
    if caller.user().id != trustor_user_id {
        return Err(AuthError::Forbidden(
            "You are not authorized to perform the requested action: \
             The authenticated user should match the trustor."
                .into(),
        )
        .into());
    }
    let expires_at = match expires_at {
        Some(text) => Some(parse_expiration_date(&text, state.clock().now())?),
        None => None,
    };
    let cx = state.services();
    let redelegated = match &caller.claims().trust_id {
        Some(id) => Some(trusts::usable(&cx, id).await?),
        None => None,
    };
    let rules = state.validations().role_graph(&state).await?;
    let new = NewTrust {
        trustor_user_id,
        trustee_user_id,
        project_id,
        roles,
        impersonation,
        expires_at,
        remaining_uses,
        allow_redelegation,
        redelegation_count,
    };
    let (trust, roles) = trusts::create(&cx, new, redelegated.as_ref(), &rules).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"trust": full_trust_json(&trust, &roles, &base)})),
    ))
}

/// `?trustor_user_id=` / `?trustee_user_id=`.
#[derive(Debug, Default, Deserialize)]
pub struct TrustQuery {
    trustor_user_id: Option<String>,
    trustee_user_id: Option<String>,
}

/// `GET /v3/OS-TRUST/trusts`: a trustor's trusts
/// (`identity:list_trusts_for_trustor`), else a trustee's
/// (`identity:list_trusts_for_trustee`), else every trust
/// (`identity:list_trusts`: an admin or a system reader), without their
/// roles, as Keystone lists them.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<TrustQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let (trustor, trustee) = match (&query.trustor_user_id, &query.trustee_user_id) {
        (Some(trustor), _) => {
            let target = Target::new().with("target.trust.trustor_user_id", trustor.as_str());
            super::authorize(&state, &caller, "identity:list_trusts_for_trustor", &target)?;
            (Some(trustor.as_str()), None)
        }
        (None, Some(trustee)) => {
            let target = Target::new().with("target.trust.trustee_user_id", trustee.as_str());
            super::authorize(&state, &caller, "identity:list_trusts_for_trustee", &target)?;
            (None, Some(trustee.as_str()))
        }
        (None, None) => {
            super::authorize(&state, &caller, "identity:list_trusts", &Target::new())?;
            (None, None)
        }
    };
    let trusts: Vec<Value> = state
        .storage()
        .list_trusts(trustor, trustee)
        .await?
        .iter()
        .map(|t| trust_json(t, &base))
        .collect();
    Ok(Json(json!({
        "trusts": trusts,
        "links": collection_links(&base, "/v3/OS-TRUST/trusts"),
    })))
}

/// The usable trust `id` (a 404 first if there is none, as Keystone's
/// `_build_trust_target_enforcement`), once the policy allowed `action` on
/// it (target `target.trust`).
async fn authorize_on(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    id: &str,
) -> Result<Trust, ServerError> {
    let trust = trusts::usable(&state.services(), id).await?;
    super::authorize(state, caller, action, &trust_target(&trust))?;
    Ok(trust)
}

/// The policy target of a rule on `trust`: `trust_id` and `target.trust`.
fn trust_target(trust: &Trust) -> Target {
    Target::new()
        .with("trust_id", trust.id.as_str())
        .with_object(
            "target.trust",
            &json!({
                "id": trust.id,
                "trustor_user_id": trust.trustor_user_id,
                "trustee_user_id": trust.trustee_user_id,
                "project_id": trust.project_id,
            }),
        )
}

/// `GET /v3/OS-TRUST/trusts/{id}` (`identity:get_trust`).
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let trust = authorize_on(&state, &caller, "identity:get_trust", &id).await?;
    let roles = existing_roles(&state, &trust).await?;
    Ok(Json(
        json!({"trust": full_trust_json(&trust, &roles, &base)}),
    ))
}

/// `DELETE /v3/OS-TRUST/trusts/{id}` (`identity:delete_trust`): the trust
/// and the trusts redelegated from it; their tokens stop validating.
/// Unlike Keystone, a used-up trust can be deleted too, so the tokens it
/// gave can be ended.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let cx = state.services();
    let trust = cx.storage().get_trust(&id).await?;
    if trust.is_expired(cx.now()) {
        return Err(trusts::not_found(&id).into());
    }
    super::authorize(
        &state,
        &caller,
        "identity:delete_trust",
        &trust_target(&trust),
    )?;
    refuse_restricted(&caller)?;
    trusts::delete(&cx, &trust).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/OS-TRUST/trusts/{id}/roles` (`identity:list_roles_for_trust`).
pub async fn list_roles(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let trust = authorize_on(&state, &caller, "identity:list_roles_for_trust", &id).await?;
    let roles: Vec<Value> = existing_roles(&state, &trust)
        .await?
        .iter()
        .map(|r| role_json(r, &base))
        .collect();
    Ok(Json(json!({
        "roles": roles,
        "links": collection_links(&base, &format!("/v3/OS-TRUST/trusts/{id}/roles")),
    })))
}

/// `GET|HEAD /v3/OS-TRUST/trusts/{id}/roles/{role_id}`
/// (`identity:get_role_for_trust`): a role the trust does not delegate is
/// a 404.
pub async fn get_role(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path((id, role_id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    let trust = authorize_on(&state, &caller, "identity:get_role_for_trust", &id).await?;
    if !trust.role_ids.contains(&role_id) {
        return Err(AuthError::NotFound {
            what: format!("role: {role_id}"),
        }
        .into());
    }
    let role = state.storage().get_role(&role_id).await?;
    Ok(Json(json!({"role": role_json(&role, &base)})))
}
