//! `/v3/users/{id}/application_credentials`: a user delegating a secret to
//! a program, bound to the project of the token that creates it and to a
//! subset of the user's roles there. Each call asks the policy with the
//! target Keystone's `keystone/api/users.py` builds.

use auth_core::AuthError;
use auth_core::store::ApplicationCredential;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::{PublicBase, deferred, targets};
use crate::error::ServerError;
use crate::expiry::parse_expiration_date;
use crate::policy::Target;
use crate::scope::Scope;
use crate::services::application_credentials::{
    self, AskedRule, NewApplicationCredential, RoleChoice,
};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
struct RoleName {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AppCredBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    secret: Option<SecretString>,
    /// ISO 8601, with or without a zone (see [`parse_expiration_date`]).
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    roles: Option<Vec<RoleName>>,
    #[serde(default)]
    unrestricted: bool,
    #[serde(default)]
    access_rules: Vec<Value>,
}

/// `{"application_credential": {...}}`.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    application_credential: AppCredBody,
}

fn app_cred_json(c: &ApplicationCredential, base: &str, secret: Option<&SecretString>) -> Value {
    let mut body = json!({
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "user_id": c.user_id,
        "project_id": c.project_id,
        "expires_at": c.expires_at.map(crate::expiry::isoformat),
        "roles": c.roles,
        "unrestricted": c.unrestricted,
        "access_rules": c.access_rules,
        "links": {"self": format!("{base}/v3/users/{}/application_credentials/{}", c.user_id, c.id)},
    });
    if let Some(secret) = secret {
        body["secret"] = json!(secret.expose_secret());
    }
    body
}

/// `POST /v3/users/{id}/application_credentials`: by the user itself, with
/// a project-scoped (or unscoped) token that does not come from a
/// restricted application credential; `expires_at` must not have passed.
/// Target: `user_id` from the path (Keystone's
/// `UserAppCredListCreateResource.post` passes none).
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(user_id): Path<String>,
    KeystoneJson(body): KeystoneJson<Envelope>,
) -> Result<impl IntoResponse, ServerError> {
    let target = Target::new().with("user_id", user_id.as_str());
    super::authorize(
        &state,
        &caller,
        "identity:create_application_credential",
        &target,
    )?;
    refuse_delegated(&caller)?;
    let body = body.application_credential;
    if caller.user().id != user_id {
        return Err(AuthError::Forbidden(
            "application credentials are created by their owner".into(),
        )
        .into());
    }
    refuse_restricted(&caller)?;
    // Bound to the token's project; an unscoped token (which the policy
    // counts as project-scoped, as oslo.policy does) makes a credential
    // bound to no project, as Keystone's.
    let project_id = match caller.scope() {
        Scope::Project(project, _) => Some(project.id.as_str()),
        Scope::Unscoped => None,
        Scope::Domain(_) | Scope::System => {
            return Err(AuthError::Forbidden(
                "an application credential is made with a project-scoped token".into(),
            )
            .into());
        }
    };
    let expires_at = match &body.expires_at {
        Some(text) => Some(parse_expiration_date(text, state.clock().now())?),
        None => None,
    };
    let mut access_rules = Vec::new();
    for rule in &body.access_rules {
        let field = |key: &str| rule.get(key).and_then(Value::as_str).map(String::from);
        match (
            field("id"),
            field("service"),
            field("path"),
            field("method"),
        ) {
            (Some(id), None, None, None) => access_rules.push(AskedRule::Id(id)),
            (None, Some(service), Some(path), Some(method)) => {
                access_rules.push(AskedRule::New {
                    service,
                    path,
                    method,
                });
            }
            _ => {
                return Err(AuthError::bad_request(
                    "an access rule needs service, path and method",
                )
                .into());
            }
        }
    }
    let new = NewApplicationCredential {
        name: body.name,
        description: body.description.unwrap_or_default(),
        secret: body.secret,
        expires_at,
        roles: body.roles.map(|roles| {
            roles
                .into_iter()
                .map(|r| RoleChoice {
                    id: r.id,
                    name: r.name,
                })
                .collect()
        }),
        unrestricted: body.unrestricted,
        access_rules,
    };
    let (credential, secret) = application_credentials::create(
        &state.services(),
        &user_id,
        project_id,
        caller.roles(),
        new,
    )
    .await?;
    let json = app_cred_json(&credential, &base, Some(&secret));
    Ok((
        StatusCode::CREATED,
        Json(json!({"application_credential": json})),
    )
        .into_response())
}

/// Keystone's `_check_unrestricted_application_credential`: a token from
/// a restricted application credential may neither create nor delete one,
/// (nor an EC2 credential), so a leaked secret cannot be turned into
/// others.
pub(super) fn refuse_restricted(caller: &Caller) -> Result<(), ServerError> {
    if caller.is_restricted() {
        return Err(AuthError::Forbidden(
            "You are not authorized to perform the requested action: Using method \
             'application_credential' is not allowed for managing additional application \
             credentials."
                .into(),
        )
        .into());
    }
    Ok(())
}

/// Keystone's `_block_delegated_token_app_creds`: a trust-scoped token, or
/// a token from an OAuth1 access token, may not create, list, read or
/// delete application credentials or access rules: a credential made with
/// it would outlive the delegation and its scope, and leave its delegation
/// chain behind.
pub(super) fn refuse_delegated(caller: &Caller) -> Result<(), ServerError> {
    let claims = caller.claims();
    if claims.trust_id.is_some() || claims.access_token_id.is_some() {
        return Err(AuthError::Forbidden(
            "Cannot manage application credentials with a token issued via delegation.".into(),
        )
        .into());
    }
    Ok(())
}

/// `?name=` filter.
#[derive(Debug, Default, Deserialize)]
pub struct AppCredQuery {
    name: Option<String>,
}

/// `GET /v3/users/{id}/application_credentials`. Target: `user_id` from
/// the path; the `name` filter under `filter_attr`.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(user_id): Path<String>,
    Query(query): Query<AppCredQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let target = targets::with_filters(
        Target::new().with("user_id", user_id.as_str()),
        [("name", query.name.as_deref())],
    );
    super::authorize(
        &state,
        &caller,
        "identity:list_application_credentials",
        &target,
    )?;
    refuse_delegated(&caller)?;
    let credentials: Vec<Value> = state
        .storage()
        .list_application_credentials(&user_id)
        .await?
        .iter()
        .filter(|c| super::name_matches(query.name.as_deref(), &c.name))
        .map(|c| app_cred_json(c, &base, None))
        .collect();
    Ok(Json(json!({"application_credentials": credentials})))
}

/// Asks the policy about `action` on the application credential `id`
/// under `user_id`'s path, with Keystone's target
/// (`_update_request_user_id_attribute`): the credential's owner, not the
/// path's user, as `user_id` and `target.user_id`, so naming oneself in the
/// path wins nothing. A missing credential, or one the path's user does
/// not own, is a 404 after the check.
async fn authorize_on(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    (user_id, id): (&str, &str),
) -> Result<ApplicationCredential, ServerError> {
    let credential = deferred(state.storage().get_application_credential(id).await)?;
    let target = match &credential {
        Ok(c) => Target::new()
            .with("user_id", c.user_id.as_str())
            .with("target.user_id", c.user_id.as_str()),
        Err(_) => Target::new().with("user_id", user_id),
    }
    .with("application_credential_id", id);
    super::authorize(state, caller, action, &target)?;
    refuse_delegated(caller)?;
    match credential {
        Ok(c) if c.user_id == user_id => Ok(c),
        Ok(_) => Err(AuthError::NotFound {
            what: format!("application credential: {id}"),
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// `GET /v3/users/{id}/application_credentials/{credential}`. Target: see
/// `authorize_on`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path((user_id, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    let action = "identity:get_application_credential";
    let credential = authorize_on(&state, &caller, action, (&user_id, &id)).await?;
    Ok(Json(
        json!({"application_credential": app_cred_json(&credential, &base, None)}),
    ))
}

/// `DELETE /v3/users/{id}/application_credentials/{credential}`. Target:
/// see `authorize_on`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((user_id, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    let action = "identity:delete_application_credential";
    let credential = authorize_on(&state, &caller, action, (&user_id, &id)).await?;
    refuse_restricted(&caller)?;
    application_credentials::delete(&state.services(), &credential).await?;
    Ok(StatusCode::NO_CONTENT)
}
