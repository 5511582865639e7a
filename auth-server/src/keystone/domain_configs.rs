//! `/v3/domains/{domain_id}/config`: domain-specific configuration, as
//! Keystone keeps it: options of the `identity` and `ldap` groups that an
//! identity backend per domain would read, stored as one document per
//! domain. Only the options Keystone allows are accepted (anything else is
//! its 403, "invalid domain specific configuration"); the `ldap` password
//! is stored but never shown. This server has no LDAP backend: the
//! configuration is kept and served for tooling that manages it, and
//! deleted with its domain.
//!
//! The defaults (`/v3/domains/config/default`, per group and per option)
//! are Keystone's own defaults for those options.

use auth_core::AuthError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::body::KeystoneJson;
use super::caller::Caller;
use crate::error::ServerError;
use crate::policy::Target;
use crate::services::documents::{self, DOMAIN_CONFIGS};
use crate::state::AppState;

/// Keystone's `[ldap]` options that a domain may set, with their defaults.
const LDAP_DEFAULTS: &str = r#"{
        "url": "ldap://localhost", "user": null, "suffix": "cn=example,cn=com",
        "query_scope": "one", "page_size": 0, "alias_dereferencing": "default",
        "debug_level": null, "chase_referrals": null,
        "user_tree_dn": null, "user_filter": null, "user_objectclass": "inetOrgPerson",
        "user_id_attribute": "cn", "user_name_attribute": "sn", "user_description_attribute": "description",
        "user_mail_attribute": "mail", "user_pass_attribute": "userPassword",
        "user_enabled_attribute": "enabled", "user_enabled_invert": false, "user_enabled_mask": 0,
        "user_enabled_default": "True", "user_attribute_ignore": ["default_project_id"],
        "user_default_project_id_attribute": null, "user_enabled_emulation": false,
        "user_enabled_emulation_dn": null, "user_enabled_emulation_use_group_config": false,
        "user_additional_attribute_mapping": [],
        "group_tree_dn": null, "group_filter": null, "group_objectclass": "groupOfNames",
        "group_id_attribute": "cn", "group_name_attribute": "ou", "group_member_attribute": "member",
        "group_members_are_ids": false, "group_desc_attribute": "description",
        "group_attribute_ignore": [], "group_additional_attribute_mapping": [],
        "tls_cacertfile": null, "tls_cacertdir": null, "use_tls": false, "tls_req_cert": "demand",
        "use_pool": true, "pool_size": 10, "pool_retry_max": 3, "pool_retry_delay": 0.1,
        "pool_connection_timeout": -1, "pool_connection_lifetime": 600,
        "use_auth_pool": true, "auth_pool_size": 100, "auth_pool_connection_lifetime": 60
}"#;

/// The options that may be set and shown, by group, with Keystone's
/// defaults.
fn defaults() -> Map<String, Value> {
    let identity = json!({"driver": "sql", "list_limit": null});
    // Parsed from text: the macro's recursion limit is below this many
    // options (a unit test checks that it parses).
    let ldap = serde_json::from_str(LDAP_DEFAULTS).unwrap_or_else(|_| json!({}));
    let mut groups = Map::new();
    groups.insert("identity".into(), identity);
    groups.insert("ldap".into(), ldap);
    groups
}

/// Options stored but never shown.
const SENSITIVE: &[(&str, &str)] = &[("ldap", "password")];

fn invalid(message: String) -> AuthError {
    AuthError::Forbidden(format!("Invalid domain specific configuration: {message}"))
}

/// Whether `group.option` may be set.
fn allowed(group: &str, option: &str) -> bool {
    SENSITIVE.contains(&(group, option))
        || defaults()
            .get(group)
            .and_then(Value::as_object)
            .is_some_and(|options| options.contains_key(option))
}

/// Checks a configuration (`{group: {option: value}}`) as Keystone does.
fn check(config: &Map<String, Value>) -> Result<(), AuthError> {
    if config.is_empty() {
        return Err(invalid("the configuration is empty".into()));
    }
    for (group, options) in config {
        let Some(options) = options.as_object() else {
            return Err(invalid(format!("group {group} is not an object")));
        };
        if options.is_empty() {
            return Err(invalid(format!("group {group} has no option")));
        }
        for option in options.keys() {
            if !allowed(group, option) {
                return Err(invalid(format!("{group}.{option} cannot be set")));
            }
        }
    }
    Ok(())
}

/// What may be shown of a stored configuration (no sensitive option).
fn shown(config: &Value) -> Value {
    let mut config = config.as_object().cloned().unwrap_or_default();
    for (group, option) in SENSITIVE {
        if let Some(Value::Object(options)) = config.get_mut(*group) {
            options.remove(*option);
            if options.is_empty() {
                config.remove(*group);
            }
        }
    }
    Value::Object(config)
}

fn not_found(what: String) -> AuthError {
    AuthError::NotFound { what }
}

/// `{"config": {...}}`. It may hold the LDAP password: `Debug` shows the
/// group names only.
#[derive(Deserialize)]
pub struct Envelope {
    config: Map<String, Value>,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("groups", &self.config.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The domain must exist (404) before anything about its configuration.
async fn stored(state: &AppState, domain_id: &str) -> Result<Option<Value>, AuthError> {
    state.storage().get_domain(domain_id).await?;
    state
        .storage()
        .get_document(DOMAIN_CONFIGS, domain_id)
        .await
}

async fn stored_or_404(state: &AppState, domain_id: &str) -> Result<Map<String, Value>, AuthError> {
    match stored(state, domain_id).await? {
        Some(Value::Object(config)) => Ok(config),
        _ => Err(not_found(format!("domain config for domain: {domain_id}"))),
    }
}

fn target(domain_id: &str) -> Target {
    Target::new().with("domain_id", domain_id)
}

/// `PUT /v3/domains/{domain_id}/config`: the whole configuration; 201
/// when there was none, 200 when one is replaced.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(domain_id): Path<String>,
    KeystoneJson(body): KeystoneJson<Envelope>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:create_domain_config",
        &target(&domain_id),
    )?;
    check(&body.config)?;
    state.storage().get_domain(&domain_id).await?;
    let config = Value::Object(body.config);
    let created = documents::put(&state.services(), DOMAIN_CONFIGS, &domain_id, &config).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({"config": shown(&config)}))))
}

/// `GET /v3/domains/{domain_id}/config[/{group}[/{option}]]`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<Vec<(String, String)>>,
) -> Result<impl IntoResponse, ServerError> {
    let (domain_id, group, option) = parts(&path);
    super::authorize(
        &state,
        &caller,
        "identity:get_domain_config",
        &target(domain_id),
    )?;
    let config = shown(&Value::Object(stored_or_404(&state, domain_id).await?));
    Ok(Json(json!({"config": narrowed(&config, group, option)?})))
}

/// `PATCH /v3/domains/{domain_id}/config[/{group}[/{option}]]`: merges
/// the options sent (a group's update names only that group, an option's
/// only that option) and answers the whole configuration.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<Vec<(String, String)>>,
    KeystoneJson(body): KeystoneJson<Envelope>,
) -> Result<impl IntoResponse, ServerError> {
    let (domain_id, group, option) = parts(&path);
    super::authorize(
        &state,
        &caller,
        "identity:update_domain_config",
        &target(domain_id),
    )?;
    let update = match (group, option) {
        (None, _) => body.config,
        (Some(group), None) => {
            if body.config.len() != 1 || !body.config.contains_key(group) {
                return Err(invalid(format!("the update must name group {group} alone")).into());
            }
            body.config
        }
        (Some(group), Some(option)) => {
            if body.config.len() != 1 || !body.config.contains_key(option) {
                return Err(invalid(format!("the update must name option {option} alone")).into());
            }
            let mut wrapped = Map::new();
            wrapped.insert(group.to_owned(), Value::Object(body.config));
            wrapped
        }
    };
    check(&update)?;
    let mut config = stored_or_404(&state, domain_id).await?;
    if let Some(group) = group
        && !config.contains_key(group)
    {
        return Err(not_found(format!(
            "group {group} in the configuration of domain {domain_id}"
        ))
        .into());
    }
    for (group, options) in update {
        let merged = config.entry(group).or_insert_with(|| json!({}));
        if let (Value::Object(merged), Value::Object(options)) = (merged, options) {
            merged.extend(options);
        }
    }
    let config = Value::Object(config);
    documents::put(&state.services(), DOMAIN_CONFIGS, domain_id, &config).await?;
    Ok(Json(json!({"config": shown(&config)})))
}

/// `DELETE /v3/domains/{domain_id}/config[/{group}[/{option}]]`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<Vec<(String, String)>>,
) -> Result<impl IntoResponse, ServerError> {
    let (domain_id, group, option) = parts(&path);
    super::authorize(
        &state,
        &caller,
        "identity:delete_domain_config",
        &target(domain_id),
    )?;
    let Some(group) = group else {
        stored_or_404(&state, domain_id).await?;
        documents::delete(
            &state.services(),
            DOMAIN_CONFIGS,
            domain_id,
            "domain config",
        )
        .await?;
        return Ok(StatusCode::NO_CONTENT);
    };
    let mut config = stored_or_404(&state, domain_id).await?;
    let missing = || {
        not_found(format!(
            "{group} in the configuration of domain {domain_id}"
        ))
    };
    match option {
        None => {
            config.remove(group).ok_or_else(missing)?;
        }
        Some(option) => {
            let options = config
                .get_mut(group)
                .and_then(Value::as_object_mut)
                .ok_or_else(missing)?;
            options.remove(option).ok_or_else(missing)?;
            if options.is_empty() {
                config.remove(group);
            }
        }
    }
    if config.is_empty() {
        documents::delete(
            &state.services(),
            DOMAIN_CONFIGS,
            domain_id,
            "domain config",
        )
        .await?;
    } else {
        documents::put(
            &state.services(),
            DOMAIN_CONFIGS,
            domain_id,
            &Value::Object(config),
        )
        .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/domains/config[/{group}[/{option}]]/default`.
pub async fn default(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<Vec<(String, String)>>,
) -> Result<impl IntoResponse, ServerError> {
    super::authorize(
        &state,
        &caller,
        "identity:get_domain_config_default",
        &Target::new(),
    )?;
    let group = path
        .iter()
        .find(|(k, _)| k == "group")
        .map(|(_, v)| v.as_str());
    let option = path
        .iter()
        .find(|(k, _)| k == "option")
        .map(|(_, v)| v.as_str());
    let config = Value::Object(defaults());
    Ok(Json(json!({"config": narrowed(&config, group, option)?})))
}

fn parts(path: &[(String, String)]) -> (&str, Option<&str>, Option<&str>) {
    let get = |key: &str| path.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    (get("id").unwrap_or(""), get("group"), get("option"))
}

/// The whole configuration, one group of it (`{group: {...}}`), or one
/// option (`{option: value}`); 404 when absent.
fn narrowed(config: &Value, group: Option<&str>, option: Option<&str>) -> Result<Value, AuthError> {
    let Some(group) = group else {
        return Ok(config.clone());
    };
    let options = config
        .get(group)
        .ok_or_else(|| not_found(format!("group {group} in the configuration")))?;
    let Some(option) = option else {
        return Ok(json!({ group: options }));
    };
    let value = options.get(option).ok_or_else(|| {
        not_found(format!(
            "option {option} of group {group} in the configuration"
        ))
    })?;
    Ok(json!({ option: value }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_never_shows_a_value() {
        let envelope: Envelope =
            serde_json::from_value(json!({"config": {"ldap": {"password": "s3cret"}}})).unwrap();
        let shown = format!("{envelope:?}");
        assert!(
            shown.contains("ldap") && !shown.contains("s3cret"),
            "{shown}"
        );
    }

    #[test]
    fn the_ldap_defaults_parse() {
        assert_eq!(defaults()["ldap"].as_object().unwrap().len(), 49);
    }

    #[test]
    fn only_keystones_options_are_accepted_and_the_password_never_shown() {
        let ok = json!({"identity": {"driver": "ldap"}, "ldap": {"url": "ldap://x", "password": "s3cret"}});
        check(ok.as_object().unwrap()).unwrap();
        assert_eq!(
            shown(&ok),
            json!({"identity": {"driver": "ldap"}, "ldap": {"url": "ldap://x"}})
        );
        for bad in [
            json!({}),
            json!({"nova": {"x": 1}}),
            json!({"ldap": {"nope": 1}}),
            json!({"ldap": {}}),
            json!({"ldap": 1}),
        ] {
            assert!(check(bad.as_object().unwrap()).is_err(), "{bad}");
        }
    }
}
