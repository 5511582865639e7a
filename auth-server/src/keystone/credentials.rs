//! `/v3/credentials`: TOTP secrets and other credentials (encrypted at
//! rest by the store), each call asking the policy with the target
//! Keystone's `keystone/api/credentials.py` builds.

use auth_core::AuthError;
use auth_core::store::{Credential, new_id};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::{ObjectTarget, PublicBase, targets};
use crate::error::ServerError;
use crate::policy::{CallerScope, Target};
use crate::services::credentials;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
struct CredentialBody {
    user_id: String,
    #[serde(rename = "type")]
    kind: String,
    blob: SecretString,
    #[serde(default)]
    project_id: Option<String>,
}

/// `{"credential": {...}}`.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    credential: CredentialBody,
}

fn credential_json(c: &Credential, base: &str) -> Value {
    json!({
        "id": c.id,
        "user_id": c.user_id,
        "type": c.kind,
        "blob": c.blob.expose_secret(),
        "project_id": c.project_id,
        "links": {"self": format!("{base}/v3/credentials/{}", c.id)},
    })
}

/// Whether a token from an application credential may touch a credential
/// of `project_id`: only one of the token's own project (Keystone's
/// `_check_credential_project_scope`: a delegation is bound to one
/// project, and a credential of no project, such as a TOTP seed, is out of
/// its reach). Other tokens may, as the policy says.
fn within_delegation(caller: &Caller, project_id: Option<&str>) -> bool {
    let credentials = caller.credentials();
    if credentials.application_credential_id.is_none() {
        return true;
    }
    project_id.is_some_and(|p| credentials.get("project_id") == Some(p))
}

fn out_of_delegation() -> ServerError {
    AuthError::Forbidden(
        "Credential project does not match the project scope of the delegated token".into(),
    )
    .into()
}

/// The target of a call on one stored credential (Keystone's
/// `_build_target_enforcement`): `credential_id` from the path and
/// `target.credential` (without its blob) when it exists; its 404 comes
/// after the policy (see [`super::deferred`]).
async fn credential_target(
    state: &AppState,
    id: &str,
) -> Result<ObjectTarget<Credential>, AuthError> {
    super::object_target(
        state.storage().get_credential(id).await,
        ("credential_id", id),
        ("target.credential", targets::credential),
    )
}

/// `POST /v3/credentials`. Target: `target.credential`, the request's
/// credential as sent, without its blob.
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    KeystoneJson(body): KeystoneJson<Envelope>,
) -> Result<impl IntoResponse, ServerError> {
    let body = body.credential;
    let sent = json!({"user_id": body.user_id, "type": body.kind, "project_id": body.project_id});
    let target = Target::new().with_object("target.credential", &sent);
    super::authorize(&state, &caller, "identity:create_credential", &target)?;
    if !within_delegation(&caller, body.project_id.as_deref()) {
        return Err(out_of_delegation());
    }
    check_kind(&body.kind, body.project_id.as_deref())?;
    let mut credential = Credential::new(new_id(), body.user_id, body.kind, body.blob);
    credential.project_id = body.project_id;
    credentials::create(&state.services(), &credential).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"credential": credential_json(&credential, &base)})),
    ))
}

/// A credential's type: 1 to 64 characters, and an `ec2` credential is
/// tied to a project (Keystone's schema: "ec2 credential requires
/// project_id").
fn check_kind(kind: &str, project_id: Option<&str>) -> Result<(), AuthError> {
    if kind.is_empty() || kind.len() > 64 {
        return Err(AuthError::bad_request(
            "'credential.type' must be 1 to 64 characters",
        ));
    }
    if kind.eq_ignore_ascii_case("ec2") && project_id.is_none_or(str::is_empty) {
        return Err(AuthError::bad_request(
            "Invalid input for field 'project_id': an ec2 credential requires project_id",
        ));
    }
    Ok(())
}

/// `PATCH /v3/credentials/{id}`: changes a credential's blob, type,
/// project or owner, as Keystone's `CredentialResource.patch`: the policy
/// is asked about the stored credential (see `credential_target`), then
/// again about the credential as it would be, so that a caller cannot hand
/// a credential to an owner or project the policy keeps it from; an `id`
/// other than the path's is a 400.
pub async fn update(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
    KeystoneJson(body): KeystoneJson<UpdateEnvelope>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, current) = credential_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:update_credential", &target)?;
    let current = current?;
    if !within_delegation(&caller, current.project_id.as_deref()) {
        return Err(out_of_delegation());
    }
    let body = body.credential;
    if body.id.as_ref().is_some_and(|sent| *sent != id) {
        return Err(AuthError::bad_request("Cannot change ID").into());
    }
    let mut credential = current.clone();
    if let Some(user_id) = body.user_id {
        credential.user_id = user_id;
    }
    if let Some(kind) = body.kind {
        credential.kind = kind;
    }
    if let Some(project_id) = body.project_id {
        credential.project_id = project_id;
    }
    if let Some(blob) = body.blob {
        credential.blob = blob;
    }
    check_kind(&credential.kind, credential.project_id.as_deref())?;
    let target = Target::new().with_object("target.credential", &targets::credential(&credential));
    super::authorize(&state, &caller, "identity:update_credential", &target)?;
    credentials::update(&state.services(), &credential).await?;
    Ok(Json(
        json!({"credential": credential_json(&credential, &base)}),
    ))
}

/// `{"credential": {...}}` of an update: every member optional.
#[derive(Debug, Deserialize)]
pub struct UpdateEnvelope {
    credential: UpdateBody,
}

#[derive(Debug, Deserialize)]
struct UpdateBody {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    blob: Option<SecretString>,
    /// Absent: unchanged; `null`: no project.
    #[serde(default, deserialize_with = "present")]
    project_id: Option<Option<String>>,
}

/// Tells a member sent as `null` (`Some(None)`) from one left out
/// (`None`, by `default`).
fn present<'de, D>(deserializer: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<String>::deserialize(deserializer).map(Some)
}

/// `?user_id=&type=` filters.
#[derive(Debug, Default, Deserialize)]
pub struct CredentialQuery {
    user_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `GET /v3/credentials`: each credential the caller may read. Target: for
/// a token not scoped to the system, `target.credential.user_id` is the
/// caller; the filters under `filter_attr`. Then, as Keystone, every
/// credential listed is itself checked as `identity:get_credential` (with
/// `target.credential`) and left out if refused, or if it is out of an
/// application credential's reach.
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Query(query): Query<CredentialQuery>,
) -> Result<impl IntoResponse, ServerError> {
    let mut target = Target::new();
    if caller.credentials().scope != CallerScope::System {
        target = target.with("target.credential.user_id", caller.user().id.as_str());
    }
    let target = targets::with_filters(
        target,
        [
            ("user_id", query.user_id.as_deref()),
            ("type", query.kind.as_deref()),
        ],
    );
    super::authorize(&state, &caller, "identity:list_credentials", &target)?;
    let policy = state.policy();
    let credentials: Vec<Value> = state
        .storage()
        .list_all_credentials(query.user_id.as_deref())
        .await?
        .iter()
        .filter(|c| query.kind.as_ref().is_none_or(|k| *k == c.kind))
        .filter(|c| {
            let target = Target::new().with_object("target.credential", &targets::credential(c));
            policy.allows("identity:get_credential", caller.credentials(), &target)
                && within_delegation(&caller, c.project_id.as_deref())
        })
        .map(|c| credential_json(c, &base))
        .collect();
    let links = super::collection_links(&base, "/v3/credentials");
    Ok(Json(json!({"credentials": credentials, "links": links})))
}

/// `GET /v3/credentials/{id}`. Target: see `credential_target`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, credential) = credential_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:get_credential", &target)?;
    let credential = credential?;
    if !within_delegation(&caller, credential.project_id.as_deref()) {
        return Err(out_of_delegation());
    }
    Ok(Json(
        json!({"credential": credential_json(&credential, &base)}),
    ))
}

/// `DELETE /v3/credentials/{id}`. Target: see `credential_target`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, credential) = credential_target(&state, &id).await?;
    super::authorize(&state, &caller, "identity:delete_credential", &target)?;
    let credential = credential?;
    if !within_delegation(&caller, credential.project_id.as_deref()) {
        return Err(out_of_delegation());
    }
    credentials::delete(&state.services(), &credential).await?;
    Ok(StatusCode::NO_CONTENT)
}
