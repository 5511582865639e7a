//! OAuth1 (`OS-OAUTH1`): consumers, request tokens, their authorization
//! by a user, access tokens, as Keystone's `oauth1` manager.
//!
//! The signed requests (a request token's, an access token's) are checked
//! here, not by the door: checking a signature claims its nonce, a side
//! effect. Tokens from an access token end when it does: deleting it or
//! its consumer moves the token revision, and validation finds it gone.

use auth_core::store::{
    OAUTH1_CONSUMER_SECRET_PURPOSE, OAuth1AccessToken, OAuth1RequestToken, Target, new_id,
};
use auth_core::{AuthError, KeyRing, RequestLine};
use auth_plugins::methods::oauth1::signature::{self, OAuthParams};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Context;
use super::documents::{self, OAUTH1_CONSUMERS};

/// The characters of a verifier: letters and digits, without those easily
/// confused (`jiIl1oO0`), as Keystone's, for manual entry.
const VERIFIER_CHARS: &[u8] = b"abcdefghkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Creates a consumer with `description` and a fresh secret, sealed with
/// `keys` before it is stored; its id, stored document and secret.
pub async fn create_consumer(
    cx: &Context<'_>,
    keys: &KeyRing,
    description: Option<String>,
) -> Result<(String, Value, SecretString), AuthError> {
    let id = new_id();
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let sealed = keys
        .current()
        .seal_to_string(OAUTH1_CONSUMER_SECRET_PURPOSE, secret.as_bytes())?;
    let stored = json!({"description": description, "secret_sealed": sealed});
    documents::put(cx, OAUTH1_CONSUMERS, &id, &stored).await?;
    Ok((id, stored, SecretString::from(secret)))
}

/// Deletes a consumer with its request and access tokens; the tokens
/// issued from those end (the token revision moves), as Keystone's.
pub async fn delete_consumer(cx: &Context<'_>, id: &str) -> Result<(), AuthError> {
    if cx
        .storage()
        .get_document(OAUTH1_CONSUMERS, id)
        .await?
        .is_none()
    {
        return Err(consumer_not_found(id));
    }
    cx.storage().delete_oauth1_consumer_tokens(id).await?;
    documents::delete(cx, OAUTH1_CONSUMERS, id, "consumer").await
}

fn consumer_not_found(id: &str) -> AuthError {
    AuthError::NotFound {
        what: format!("consumer: {id}"),
    }
}

/// Keystone's 400 for a parameter a signed request lacks.
fn missing(attribute: &str) -> AuthError {
    AuthError::BadRequest(format!(
        "Expecting to find {attribute} in request. The server could not comply with the \
         request since it is either malformed or otherwise incorrect."
    ))
}

/// A token just made, with its secret (shown once) and its expiry.
#[derive(Debug)]
pub struct NewToken {
    /// The `oauth_token`.
    pub id: String,
    /// The `oauth_token_secret`.
    pub secret: SecretString,
    /// When it ends (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewToken {
    /// Keystone's form-encoded answer: `oauth_token=…&oauth_token_secret=…`
    /// and, for a token that ends, `&oauth_expires_at=…`.
    pub fn form(&self) -> String {
        let mut form = format!(
            "oauth_token={}&oauth_token_secret={}",
            self.id,
            self.secret.expose_secret()
        );
        if let Some(at) = self.expires_at {
            form.push_str("&oauth_expires_at=");
            form.push_str(&crate::token_body::timestamp(at));
        }
        form
    }
}

fn fresh_secret() -> SecretString {
    SecretString::from(uuid::Uuid::new_v4().simple().to_string())
}

fn ends(now: DateTime<Utc>, duration: u32) -> Option<DateTime<Utc>> {
    (duration > 0).then(|| now + Duration::seconds(i64::from(duration)))
}

/// `POST /v3/OS-OAUTH1/request_token`: checks the request the consumer
/// signed with its secret alone, then makes a request token for
/// `requested_project_id` lasting `duration` seconds (0: for ever).
pub async fn create_request_token(
    cx: &Context<'_>,
    line: &RequestLine,
    authorization: Option<&str>,
    requested_project_id: Option<&str>,
    duration: u32,
) -> Result<NewToken, AuthError> {
    let params = parse(authorization)?;
    let consumer_id = params
        .consumer_key()
        .ok_or_else(|| missing("oauth_consumer_key"))?;
    let project_id = requested_project_id.ok_or_else(|| missing("Requested-Project-Id"))?;
    let storage = cx.storage();
    storage.get_project(project_id).await?;
    if storage
        .get_document(OAUTH1_CONSUMERS, consumer_id)
        .await?
        .is_none()
    {
        return Err(consumer_not_found(consumer_id));
    }
    let empty = SecretString::from(String::new());
    if let Err(refusal) = signature::check(storage, line, &params, &empty, cx.now()).await? {
        return Err(refusal.into_error());
    }
    let token = OAuth1RequestToken::new(
        new_id(),
        fresh_secret(),
        consumer_id,
        project_id,
        ends(cx.now(), duration),
    );
    storage.create_oauth1_request_token(&token).await?;
    crate::events::note(|facts| facts.project_id = Some(project_id.to_owned()));
    Ok(NewToken {
        id: token.id,
        secret: token.secret,
        expires_at: token.expires_at,
    })
}

fn parse(authorization: Option<&str>) -> Result<OAuthParams, AuthError> {
    let header = authorization
        .ok_or_else(|| AuthError::bad_request("Cannot retrieve Authorization headers"))?;
    OAuthParams::from_authorization(header)
}

/// A role as an authorization names it.
#[derive(Debug, Clone)]
pub enum RoleChoice {
    /// By id.
    Id(String),
    /// By name (a global role).
    Name(String),
}

fn expired(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    at.is_some_and(|end| now > end)
}

fn digest(verifier: &str) -> String {
    Sha256::digest(verifier.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `PUT /v3/OS-OAUTH1/authorize/{id}`: `user_id` delegates `roles` (which
/// they must hold on the request token's project, directly, through a
/// group or by implication) to the consumer; the verifier, shown once.
pub async fn authorize_request_token(
    cx: &Context<'_>,
    rules: &auth_core::implied_roles::RoleGraph,
    user_id: &str,
    request_token_id: &str,
    roles: &[RoleChoice],
) -> Result<SecretString, AuthError> {
    let storage = cx.storage();
    let request = storage.get_oauth1_request_token(request_token_id).await?;
    if expired(request.expires_at, cx.now()) {
        return Err(AuthError::Unauthorized("Request token is expired".into()));
    }
    let mut role_ids: Vec<String> = Vec::new();
    for choice in roles {
        let id = match choice {
            RoleChoice::Id(id) => id.clone(),
            RoleChoice::Name(name) => storage.find_role_by_name(name).await?.id,
        };
        if !role_ids.contains(&id) {
            role_ids.push(id);
        }
    }
    let held = crate::scope::token_roles(
        storage,
        rules,
        user_id,
        &Target::Project(request.project_id.clone()),
    )
    .await?;
    if role_ids.iter().any(|id| !held.iter().any(|r| &r.id == id)) {
        return Err(AuthError::Unauthorized(
            "authorizing user does not have role required".into(),
        ));
    }
    let verifier: String = (0..8)
        .map(|_| char::from(VERIFIER_CHARS[OsRng.gen_range(0..VERIFIER_CHARS.len())]))
        .collect();
    storage
        .authorize_oauth1_request_token(request_token_id, user_id, &role_ids, &digest(&verifier))
        .await?;
    crate::events::note(|facts| {
        facts.user_id = Some(user_id.to_owned());
        facts.project_id = Some(request.project_id.clone());
    });
    Ok(SecretString::from(verifier))
}

/// `POST /v3/OS-OAUTH1/access_token`: checks the request the consumer
/// signed with its secret and the request token's, and the verifier, then
/// exchanges the request token (used once) for an access token lasting
/// `duration` seconds (0: for ever).
pub async fn create_access_token(
    cx: &Context<'_>,
    line: &RequestLine,
    authorization: Option<&str>,
    duration: u32,
) -> Result<NewToken, AuthError> {
    let params = parse(authorization)?;
    let consumer_id = params
        .consumer_key()
        .ok_or_else(|| missing("oauth_consumer_key"))?;
    let request_token_id = params.token().ok_or_else(|| missing("oauth_token"))?;
    let verifier = params.verifier().ok_or_else(|| missing("oauth_verifier"))?;
    let storage = cx.storage();
    let request = storage.get_oauth1_request_token(request_token_id).await?;
    if expired(request.expires_at, cx.now()) {
        return Err(AuthError::Unauthorized("Request token is expired".into()));
    }
    if request.consumer_id != consumer_id {
        return Err(AuthError::Unauthorized(
            "Provided consumer key does not match stored consumer key.".into(),
        ));
    }
    if let Err(refusal) =
        signature::check(storage, line, &params, &request.secret, cx.now()).await?
    {
        return Err(refusal.into_error());
    }
    let (Some(user_id), Some(stored)) = (&request.authorizing_user_id, &request.verifier_hash)
    else {
        return Err(AuthError::Unauthorized(
            "Request Token does not have an authorizing user id.".into(),
        ));
    };
    if !bool::from(digest(verifier).as_bytes().ct_eq(stored.as_bytes())) {
        return Err(AuthError::Unauthorized(
            "Provided verifier does not match stored verifier".into(),
        ));
    }
    let access = OAuth1AccessToken::new(
        new_id(),
        fresh_secret(),
        consumer_id,
        user_id.clone(),
        request.project_id.clone(),
        request.role_ids.clone(),
        ends(cx.now(), duration),
    );
    match storage
        .exchange_oauth1_request_token(request_token_id, &access)
        .await
    {
        Ok(()) => {}
        // Exchanged meanwhile by another request.
        Err(AuthError::NotFound { .. }) => {
            return Err(AuthError::Unauthorized(
                "Request token was already used".into(),
            ));
        }
        Err(e) => return Err(e),
    }
    crate::events::note(|facts| {
        facts.user_id = Some(access.authorizing_user_id.clone());
        facts.project_id = Some(access.project_id.clone());
    });
    Ok(NewToken {
        id: access.id,
        secret: access.secret,
        expires_at: access.expires_at,
    })
}

/// The access token `id` that `user_id` authorized: 404 if there is none
/// or another user authorized it.
pub async fn user_access_token(
    cx: &Context<'_>,
    user_id: &str,
    id: &str,
) -> Result<OAuth1AccessToken, AuthError> {
    let access = cx.storage().get_oauth1_access_token(id).await?;
    if access.authorizing_user_id != user_id {
        return Err(AuthError::NotFound {
            what: format!("access token: {id}"),
        });
    }
    Ok(access)
}

/// Deletes the access token `id` of `user_id`: the tokens from it end at
/// once on every node (the token revision moves).
pub async fn delete_access_token(
    cx: &Context<'_>,
    user_id: &str,
    id: &str,
) -> Result<(), AuthError> {
    let access = user_access_token(cx, user_id, id).await?;
    cx.storage().delete_oauth1_access_token(&access.id).await?;
    crate::events::note(|facts| {
        facts.user_id = Some(user_id.to_owned());
        facts.project_id = Some(access.project_id);
    });
    Ok(())
}
