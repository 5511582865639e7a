//! `/v3/users/{id}/application_credentials`: a user delegating a secret to
//! a program, bound to the project of the token that creates it and to a
//! subset of the user's roles there.

use auth_core::AuthError;
use auth_core::store::{AccessRule, ApplicationCredential, new_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::PublicBase;
use super::body::KeystoneJson;
use super::caller::Caller;
use crate::error::ServerError;
use crate::scope::Scope;
use crate::services::application_credentials::{self, NewApplicationCredential, RoleChoice};
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
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
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
        "expires_at": c.expires_at.map(crate::token_body::timestamp),
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

/// `POST /v3/users/{id}/application_credentials` (the user itself, with a
/// project-scoped token).
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(user_id): Path<String>,
    KeystoneJson(body): KeystoneJson<Envelope>,
) -> Result<impl IntoResponse, ServerError> {
    let body = body.application_credential;
    if caller.claims.sub != user_id {
        return Err(AuthError::Forbidden(
            "application credentials are created by their owner".into(),
        )
        .into());
    }
    if caller.claims.app_cred_id.is_some() {
        return Err(
            AuthError::Forbidden("an application credential cannot create another".into()).into(),
        );
    }
    let Scope::Project(project, _) = &caller.scope else {
        return Err(AuthError::Forbidden("a project-scoped token is needed".into()).into());
    };
    let mut access_rules = Vec::new();
    for rule in &body.access_rules {
        let field = |key: &str| rule.get(key).and_then(Value::as_str).map(String::from);
        match (field("service"), field("path"), field("method")) {
            (Some(service), Some(path), Some(method)) => access_rules.push(AccessRule {
                id: new_id(),
                service,
                path,
                method,
            }),
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
        expires_at: body.expires_at,
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
        &project.id,
        &caller.roles,
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

/// `GET /v3/users/{id}/application_credentials` (admin or the owner).
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin_or_self(&user_id, "list_application_credentials")?;
    let credentials: Vec<Value> = state
        .storage()
        .list_application_credentials(&user_id)
        .await?
        .iter()
        .map(|c| app_cred_json(c, &base, None))
        .collect();
    Ok(Json(json!({"application_credentials": credentials})).into_response())
}

/// `GET /v3/users/{id}/application_credentials/{credential}` (admin or the
/// owner).
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path((user_id, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin_or_self(&user_id, "get_application_credential")?;
    let credential = state.storage().get_application_credential(&id).await?;
    if credential.user_id != user_id {
        return Err(AuthError::NotFound {
            what: format!("application credential: {id}"),
        }
        .into());
    }
    Ok(
        Json(json!({"application_credential": app_cred_json(&credential, &base, None)}))
            .into_response(),
    )
}

/// `DELETE /v3/users/{id}/application_credentials/{credential}` (admin or
/// the owner).
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((user_id, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    caller.require_admin_or_self(&user_id, "delete_application_credential")?;
    let credential = state.storage().get_application_credential(&id).await?;
    if credential.user_id != user_id {
        return Err(AuthError::NotFound {
            what: format!("application credential: {id}"),
        }
        .into());
    }
    application_credentials::delete(&state.services(), &credential).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
