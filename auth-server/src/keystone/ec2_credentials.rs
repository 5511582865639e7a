//! `/v3/users/{user_id}/credentials/OS-EC2`: EC2-style credentials (an
//! access key and a secret, for a project), which S3 clients sign
//! requests with. As Keystone keeps them: a credential of type `ec2` whose
//! id is the SHA-256 (hex) of its access key, its blob `{"access",
//! "secret", "trust_id", "app_cred_id", "access_token_id"}` encrypted at
//! rest like every credential, tied to the project it was made for. The
//! API names a credential by its access key.

use auth_core::AuthError;
use auth_core::store::Credential;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use super::{PublicBase, targets};
use crate::error::ServerError;
use crate::policy::Target;
use crate::scope::Scope;
use crate::services::credentials;
use crate::state::AppState;

pub use auth_plugins::methods::ec2credential::{EC2_CREDENTIAL_TYPE as EC2, credential_id};

/// `{"tenant_id": "<project>"}`: the project the credential is for.
#[derive(Debug, Deserialize)]
pub struct CreateBody {
    tenant_id: String,
}

/// The blob of a stored EC2 credential.
#[derive(Deserialize)]
struct Blob {
    access: String,
    secret: String,
    #[serde(default)]
    trust_id: Option<String>,
}

/// The API's view of a stored credential (`None`: not an EC2 credential,
/// or a blob that is not one).
fn ec2_json(credential: &Credential, base: &str) -> Option<Value> {
    if credential.kind != EC2 {
        return None;
    }
    let blob: Blob = serde_json::from_str(credential.blob.expose_secret()).ok()?;
    Some(json!({
        "user_id": credential.user_id,
        "tenant_id": credential.project_id,
        "access": blob.access,
        "secret": blob.secret,
        "trust_id": blob.trust_id,
        "links": {"self": format!(
            "{base}/v3/users/{}/credentials/OS-EC2/{}", credential.user_id, blob.access
        )},
    }))
}

/// `POST /v3/users/{user_id}/credentials/OS-EC2`. Target:
/// `target.credential.user_id`, the user of the path.
pub async fn create(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(user_id): Path<String>,
    KeystoneJson(body): KeystoneJson<CreateBody>,
) -> Result<impl IntoResponse, ServerError> {
    let target = Target::new().with("target.credential.user_id", user_id.as_str());
    super::authorize(&state, &caller, "identity:ec2_create_credential", &target)?;
    refuse_delegated(&caller, &body.tenant_id)?;
    let access = uuid::Uuid::new_v4().simple().to_string();
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let blob = json!({"access": access, "secret": secret, "trust_id": null,
                      "app_cred_id": null, "access_token_id": null});
    let mut credential = Credential::new(
        credential_id(&access),
        user_id,
        EC2,
        SecretString::from(blob.to_string()),
    );
    credential.project_id = Some(body.tenant_id);
    credentials::create_for_project(&state.services(), &credential).await?;
    let rendered = ec2_json(&credential, &base)
        .ok_or_else(|| AuthError::Internal("an EC2 credential that does not render".into()))?;
    Ok((StatusCode::CREATED, Json(json!({"credential": rendered}))))
}

/// The refusals for a caller whose token is a delegation. Keystone's two
/// for an application credential: a restricted one creates no credential
/// (it would outlive the delegation), and an unrestricted one only for
/// the project it is scoped to. And, stricter than Keystone, none with a
/// trust-scoped token or an OAuth1 access token's: an EC2 credential made
/// under either would give its owner's full roles to whoever holds it,
/// after the delegation is gone.
fn refuse_delegated(caller: &Caller, project_id: &str) -> Result<(), ServerError> {
    let claims = caller.claims();
    if claims.trust_id.is_some() || claims.access_token_id.is_some() {
        return Err(AuthError::Forbidden(
            "Cannot create EC2 credentials with a token issued via delegation.".into(),
        )
        .into());
    }
    if caller.application_credential().is_none() {
        return Ok(());
    }
    super::application_credentials::refuse_restricted(caller)?;
    let scoped = match caller.scope() {
        Scope::Project(project, _) => Some(project.id.as_str()),
        _ => None,
    };
    if scoped != Some(project_id) {
        return Err(AuthError::Forbidden(
            "You are not authorized to perform the requested action: EC2 credential project \
             does not match the project scope of the delegated token"
                .into(),
        )
        .into());
    }
    Ok(())
}

/// `GET /v3/users/{user_id}/credentials/OS-EC2`. Target: `user_id`, the
/// user of the path (the rule `owner`).
pub async fn list(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<impl IntoResponse, ServerError> {
    let target = Target::new().with("user_id", user_id.as_str());
    super::authorize(&state, &caller, "identity:ec2_list_credentials", &target)?;
    let listed: Vec<Value> = state
        .storage()
        .list_credentials(&user_id, EC2)
        .await?
        .iter()
        .filter_map(|c| ec2_json(c, &base))
        .collect();
    let links = super::collection_links(&base, &format!("/v3/users/{user_id}/credentials/OS-EC2"));
    Ok(Json(json!({"credentials": listed, "links": links})))
}

/// The EC2 credential `access` of `user_id`, and the policy's target for
/// it. Another user's, or none, is a 404 after the policy, as Keystone.
async fn find(
    state: &AppState,
    user_id: &str,
    access: &str,
) -> Result<(Target, Result<Credential, AuthError>), AuthError> {
    let not_found = || AuthError::NotFound {
        what: format!("credential: {access}"),
    };
    let found = match state.storage().get_credential(&credential_id(access)).await {
        Ok(c) if c.kind == EC2 && c.user_id == user_id => Ok(c),
        Ok(_) | Err(AuthError::NotFound { .. }) => Err(not_found()),
        Err(e) => return Err(e),
    };
    let target = match &found {
        Ok(c) => Target::new().with_object("target.credential", &targets::credential(c)),
        Err(_) => Target::new().with("target.credential.user_id", user_id),
    };
    Ok((target, found))
}

/// `GET /v3/users/{user_id}/credentials/OS-EC2/{access}`. Target:
/// `target.credential`.
pub async fn get(
    State(state): State<AppState>,
    PublicBase(base): PublicBase,
    caller: Caller,
    Path((user_id, access)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, found) = find(&state, &user_id, &access).await?;
    super::authorize(&state, &caller, "identity:ec2_get_credential", &target)?;
    let credential = found?;
    let rendered = ec2_json(&credential, &base)
        .ok_or_else(|| AuthError::Internal("an EC2 credential that does not render".into()))?;
    Ok(Json(json!({"credential": rendered})))
}

/// `DELETE /v3/users/{user_id}/credentials/OS-EC2/{access}`. Target:
/// `target.credential`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((user_id, access)): Path<(String, String)>,
) -> Result<impl IntoResponse, ServerError> {
    let (target, found) = find(&state, &user_id, &access).await?;
    super::authorize(&state, &caller, "identity:ec2_delete_credential", &target)?;
    credentials::delete(&state.services(), &found?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_the_sha256_of_the_access_key_as_keystone_makes_it() {
        // hashlib.sha256(b"abc").hexdigest()
        assert_eq!(
            credential_id("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
