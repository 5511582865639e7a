//! Issuing tokens and rendering Keystone's token body.

use auth_core::request::ScopeRequest;
use auth_core::store::{ApplicationCredential, OAuth1AccessToken, Role, RoleRef, Trust, User};
use auth_core::{AuthError, Authenticated, TokenClaims, TokenProvider};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use rand::rngs::OsRng;
use serde_json::{Value, json};

use crate::scope::{self, Scope};
use crate::state::AppState;

/// Keystone's timestamp format, `%Y-%m-%dT%H:%M:%S.%fZ`: six digits of
/// microseconds (a token's `issued_at` has them; its `expires_at`, whole
/// seconds, shows `.000000`).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A fresh audit id: 16 random bytes, 22 URL-safe characters, as Keystone.
fn new_audit_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A signed token, with the scope and roles it was issued for.
#[derive(Debug)]
pub struct Issued {
    /// The token string.
    pub token: String,
    /// Its claims.
    pub claims: TokenClaims,
    /// The authorized scope.
    pub scope: Scope,
    /// The user's roles on it, with the roles they imply.
    pub roles: Vec<Role>,
}

/// Authorizes the scope of a completed authentication and signs a token
/// issued at `started`, when the authentication began (read from the
/// clock before any credential was checked).
///
/// Dating the token from the start, not from its signing, is what makes
/// revocation exact under concurrency: a login that checked a password
/// just before an administrator changed it, and signs its token just after
/// the change's revocation event, still carries an issue time before the
/// event, and is refused (see `services::revocations`, which stamps events
/// after the write that causes them).
pub async fn issue(
    state: &AppState,
    done: &Authenticated,
    started: DateTime<Utc>,
) -> Result<Issued, AuthError> {
    let identity = &done.identity;
    let bound = identity.project_id.as_deref();
    let from_app_cred = identity.extras.contains_key("application_credential");
    // An application credential bound to no project gives unscoped tokens,
    // never the user's default project.
    let requested = if from_app_cred && bound.is_none() {
        &ScopeRequest::Unscoped
    } else {
        &done.scope
    };
    let (scope, mut roles, trust) = match requested {
        // An application credential's scope is its own, whatever asked.
        ScopeRequest::Trust { id } if !from_app_cred => {
            let (trust, scope, roles) = scope::resolve_trust(state, &done.user, id).await?;
            (scope, roles, Some(trust))
        }
        _ => {
            let (scope, roles) = scope::resolve(state, &done.user, requested, bound).await?;
            (scope, roles, None)
        }
    };
    let oauth1 = identity.extras.get("oauth1");
    if let Some(oauth1) = oauth1 {
        let delegated: Vec<String> = oauth1
            .get("role_ids")
            .and_then(|ids| serde_json::from_value(ids.clone()).ok())
            .unwrap_or_default();
        let rules = state.validations().role_graph(state).await?;
        roles = oauth1_roles(state, &rules, roles, &delegated).await?;
        if roles.is_empty() {
            return Err(AuthError::Unauthorized(
                "the user no longer holds any role the access token delegates".into(),
            ));
        }
    }
    if from_app_cred {
        let delegated: Vec<RoleRef> = identity
            .extras
            .get("application_credential_roles")
            .and_then(|roles| serde_json::from_value(roles.clone()).ok())
            .unwrap_or_default();
        let rules = state.validations().role_graph(state).await?;
        roles = rules.expand(scope::delegated_roles(roles, &delegated));
        if roles.is_empty() && !matches!(scope, Scope::Unscoped) {
            return Err(AuthError::Unauthorized(
                "the user no longer holds any role of the application credential".into(),
            ));
        }
    }
    let now = started;
    let lifetime = now + Duration::seconds(state.config().token.expiration);
    // A method's cap (a rescoped token's original expiry) and a trust's
    // expiry both bound the token: it never outlives its trust.
    let expires = identity
        .expires_at
        .into_iter()
        .chain(trust.as_ref().and_then(|t| t.expires_at))
        .fold(lifetime, |end, cap| end.min(cap));
    let mut audit_ids = vec![new_audit_id()];
    if let Some(chain) = identity
        .extras
        .get("audit_chain_id")
        .and_then(Value::as_str)
    {
        audit_ids.push(chain.to_owned());
    }
    let (project_id, domain_id, system) = match &scope {
        Scope::Unscoped => (None, None, None),
        Scope::Project(p, _) => (Some(p.id.clone()), None, None),
        Scope::Domain(d) => (None, Some(d.id.clone()), None),
        Scope::System => (None, None, Some("all".to_owned())),
    };
    let strings = |key: &str| -> Vec<String> {
        identity
            .extras
            .get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut claims = TokenClaims {
        sub: done.user.id.clone(),
        iat: now.timestamp(),
        iat_us: None,
        exp: expires.timestamp(),
        methods: identity.methods.clone(),
        audit_ids,
        project_id,
        domain_id,
        system,
        app_cred_id: identity
            .extras
            .get("application_credential")
            .and_then(|c| c.get("id"))
            .and_then(Value::as_str)
            .map(String::from),
        access_token_id: oauth1
            .and_then(|o| o.get("access_token_id"))
            .and_then(Value::as_str)
            .map(String::from),
        group_ids: strings("group_ids"),
        idp_id: identity
            .extras
            .get("identity_provider")
            .and_then(Value::as_str)
            .map(String::from),
        trust_id: trust.as_ref().map(|t| t.id.clone()),
    };
    // To the microsecond, so revocation events compare exactly.
    claims.set_issued_at(now);
    let token = state.tokens().issue(&claims)?;
    // A use is taken only for a token actually issued, as Keystone does.
    if let Some(trust) = &trust {
        crate::services::trusts::consume_use(&state.services(), trust).await?;
    }
    Ok(Issued {
        token,
        claims,
        scope,
        roles,
    })
}

/// The roles a token from an OAuth1 access token carries, as Keystone's
/// `_get_oauth_roles`: the delegated roles and every role they imply under
/// `rules`, of those the user holds on the scope now (`held`, already
/// expanded). A delegated role deleted since is skipped.
pub async fn oauth1_roles(
    state: &AppState,
    rules: &auth_core::implied_roles::RoleGraph,
    held: Vec<Role>,
    delegated: &[String],
) -> Result<Vec<Role>, AuthError> {
    let mut direct = Vec::new();
    for id in delegated {
        match state.storage().get_role(id).await {
            Ok(role) => direct.push(role),
            Err(AuthError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let effective = rules.expand(direct);
    Ok(held
        .into_iter()
        .filter(|role| effective.iter().any(|e| e.id == role.id))
        .collect())
}

/// What a token stands for now: its scope, the roles it carries there and
/// the application credential or OAuth1 access token it came from.
#[derive(Debug)]
pub struct CurrentScope {
    /// The scope, enabled.
    pub scope: Scope,
    /// The roles the token carries (empty when unscoped).
    pub roles: Vec<Role>,
    /// The application credential the token came from, as stored now.
    pub application_credential: Option<ApplicationCredential>,
    /// The trust a trust-scoped token was issued through, as stored now.
    pub trust: Option<Trust>,
    /// The OAuth1 access token the token came from, as stored now.
    pub access_token: Option<OAuth1AccessToken>,
}

/// The scope a token's claims name, with the roles the user holds there
/// now and the roles they imply (roles are recomputed at every validation,
/// so a removed role or rule takes effect at once); for a token from an
/// application credential, only the credential's roles the user still
/// holds, and what they imply. A scoped token left with no role is
/// invalid, and so is one whose application credential is gone.
/// `revision` is the token revision the caller read before starting
/// (`None`: not known), which the kept implied-role rules are checked
/// against.
pub async fn current_scope(
    state: &AppState,
    claims: &TokenClaims,
    revision: Option<i64>,
) -> Result<CurrentScope, AuthError> {
    let storage = state.storage();
    if let Some(trust_id) = &claims.trust_id {
        return current_trust_scope(state, claims, trust_id, revision).await;
    }
    let application_credential =
        match &claims.app_cred_id {
            Some(id) => Some(storage.get_application_credential(id).await.map_err(
                |e| match e {
                    AuthError::NotFound { .. } => auth_core::token::not_found(),
                    other => other,
                },
            )?),
            None => None,
        };
    let access_token = match &claims.access_token_id {
        Some(id) => Some(
            storage
                .get_oauth1_access_token(id)
                .await
                .map_err(|e| match e {
                    AuthError::NotFound { .. } => auth_core::token::not_found(),
                    other => other,
                })?,
        ),
        None => None,
    };
    let scope = if let Some(project_id) = &claims.project_id {
        let project = storage
            .get_project(project_id)
            .await
            .map_err(|_| auth_core::token::not_found())?;
        let domain = storage.get_domain(&project.domain_id).await?;
        if !project.enabled || !domain.enabled {
            return Err(auth_core::token::not_found());
        }
        Scope::Project(project, domain)
    } else if let Some(domain_id) = &claims.domain_id {
        let domain = storage
            .get_domain(domain_id)
            .await
            .map_err(|_| auth_core::token::not_found())?;
        if !domain.enabled {
            return Err(auth_core::token::not_found());
        }
        Scope::Domain(domain)
    } else if claims.system.is_some() {
        Scope::System
    } else {
        Scope::Unscoped
    };
    let Some(target) = scope.target() else {
        return Ok(CurrentScope {
            scope,
            roles: Vec::new(),
            application_credential,
            trust: None,
            access_token,
        });
    };
    let rules = state.validations().role_graph_at(state, revision).await?;
    let mut roles = scope::token_roles(storage.as_ref(), &rules, &claims.sub, &target).await?;
    if let Some(credential) = &application_credential {
        roles = rules.expand(scope::delegated_roles(roles, &credential.roles));
    }
    if let Some(access) = &access_token {
        roles = oauth1_roles(state, &rules, roles, &access.role_ids).await?;
    }
    if roles.is_empty() {
        return Err(auth_core::token::not_found());
    }
    Ok(CurrentScope {
        scope,
        roles,
        application_credential,
        trust: None,
        access_token,
    })
}

/// [`current_scope`] of a trust-scoped token: the trust must still exist
/// and not have expired (used up, it still backs the tokens it gave), its
/// project must be the token's, and [`scope::trust_grant`] must still give
/// the token's user (the trustee) its roles. Any refusal is the token's
/// 404.
async fn current_trust_scope(
    state: &AppState,
    claims: &TokenClaims,
    trust_id: &str,
    revision: Option<i64>,
) -> Result<CurrentScope, AuthError> {
    let invalid = |e: AuthError| match e {
        AuthError::StoreUnavailable(_) | AuthError::Internal(_) => e,
        _ => auth_core::token::not_found(),
    };
    let trust = state.storage().get_trust(trust_id).await.map_err(invalid)?;
    if trust.is_expired(state.clock().now()) || trust.project_id != claims.project_id {
        return Err(auth_core::token::not_found());
    }
    let rules = state.validations().role_graph_at(state, revision).await?;
    let (scope, roles) = scope::trust_grant(state, &trust, &claims.sub, &rules)
        .await
        .map_err(invalid)?;
    Ok(CurrentScope {
        scope,
        roles,
        application_credential: None,
        trust: Some(trust),
        access_token: None,
    })
}

/// When the user's password expires, for the token body's
/// `user.password_expires_at`.
#[derive(Debug, Clone, Copy)]
pub enum PasswordExpiry {
    /// Already known: the `password` method of this login read it.
    Known(Option<DateTime<Utc>>),
    /// To be read from the store.
    Unknown,
}

impl PasswordExpiry {
    /// What a login's methods found out (the `password` method reports the
    /// expiry of the password it checked as the `password_expires_at` extra).
    pub fn from_extras(extras: &serde_json::Map<String, Value>) -> Self {
        match extras.get("password_expires_at") {
            Some(Value::Null) => Self::Known(None),
            Some(Value::String(at)) => DateTime::parse_from_rfc3339(at)
                .map_or(Self::Unknown, |at| Self::Known(Some(at.to_utc()))),
            _ => Self::Unknown,
        }
    }
}

/// Keystone's `{"token": {...}}` for `claims`, whose scope and roles the
/// caller has already resolved (at issue, or with [`current_scope`]).
pub async fn render(
    state: &AppState,
    claims: &TokenClaims,
    user: &User,
    (scope, roles): (&Scope, &[Role]),
    password_expiry: PasswordExpiry,
    with_catalog: bool,
) -> Result<Value, AuthError> {
    let storage = state.storage();
    let domain = match scope.domain().filter(|d| d.id == user.domain_id) {
        Some(domain) => domain.clone(),
        None => storage.get_domain(&user.domain_id).await?,
    };
    let password_expires_at = match password_expiry {
        PasswordExpiry::Known(at) => at,
        PasswordExpiry::Unknown => storage
            .current_password(&user.id)
            .await
            .ok()
            .flatten()
            .and_then(|p| p.expires_at),
    }
    .map(timestamp);
    let mut token = json!({
        "methods": claims.methods,
        "user": {
            "domain": {"id": domain.id, "name": domain.name},
            "id": user.id,
            "name": user.name,
            "password_expires_at": password_expires_at,
        },
        "audit_ids": claims.audit_ids,
        "expires_at": timestamp(claims.expires_at()),
        "issued_at": timestamp(claims.issued_at()),
    });
    // A trust-scoped token names its trust; impersonating, it shows the
    // trustor as its user, and its catalog is the trustor's (Keystone's
    // `render_token_response_from_model`).
    let mut catalog_user = user.id.clone();
    if let Some(trust_id) = &claims.trust_id {
        let gone = |e: AuthError| match e {
            AuthError::NotFound { .. } => auth_core::token::not_found(),
            other => other,
        };
        let trust = storage.get_trust(trust_id).await.map_err(gone)?;
        token["OS-TRUST:trust"] = json!({
            "id": trust.id,
            "impersonation": trust.impersonation,
            "trustee_user": {"id": trust.trustee_user_id},
            "trustor_user": {"id": trust.trustor_user_id},
        });
        if trust.impersonation {
            let trustor = storage
                .get_user(&trust.trustor_user_id)
                .await
                .map_err(gone)?;
            let trustor_domain = storage.get_domain(&trustor.domain_id).await?;
            let expires_at = storage
                .current_password(&trustor.id)
                .await
                .ok()
                .flatten()
                .and_then(|p| p.expires_at)
                .map(timestamp);
            token["user"] = json!({
                "domain": {"id": trustor_domain.id, "name": trustor_domain.name},
                "id": trustor.id,
                "name": trustor.name,
                "password_expires_at": expires_at,
            });
        }
        catalog_user = trust.trustor_user_id;
    }
    let role_list: Vec<Value> = roles
        .iter()
        .map(|r| json!({"id": r.id, "name": r.name}))
        .collect();
    match scope {
        Scope::Unscoped => {}
        Scope::Project(project, project_domain) => {
            token["project"] = json!({
                "domain": {"id": project_domain.id, "name": project_domain.name},
                "id": project.id,
                "name": project.name,
            });
            token["is_domain"] = json!(false);
            token["roles"] = json!(role_list);
        }
        Scope::Domain(d) => {
            token["domain"] = json!({"id": d.id, "name": d.name});
            token["roles"] = json!(role_list);
        }
        Scope::System => {
            token["system"] = json!({"all": true});
            token["roles"] = json!(role_list);
        }
    }
    if with_catalog && !matches!(scope, Scope::Unscoped) {
        let project_id = match scope {
            Scope::Project(project, _) => Some(project.id.as_str()),
            _ => None,
        };
        token["catalog"] = state
            .validations()
            .catalog(state, &catalog_user, project_id)
            .await?;
    }
    if let Some(app_cred_id) = &claims.app_cred_id {
        if let Ok(credential) = storage.get_application_credential(app_cred_id).await {
            token["application_credential"] = json!({
                "id": credential.id,
                "name": credential.name,
                "restricted": !credential.unrestricted,
            });
        }
    }
    if let Some(access_token_id) = &claims.access_token_id {
        if let Ok(access) = storage.get_oauth1_access_token(access_token_id).await {
            token["OS-OAUTH1"] = json!({
                "access_token_id": access.id,
                "consumer_id": access.consumer_id,
            });
        }
    }
    Ok(json!({ "token": token }))
}
