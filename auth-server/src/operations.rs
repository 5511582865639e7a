//! What the operator CLI does besides serving: user management and
//! `doctor`. Library functions, so tests drive them without a process.

use auth_core::store::{DEFAULT_DOMAIN_ID, Storage, User, UserFilter, new_id};
use auth_core::{AuthError, MethodRegistration, Registry};
use secrecy::{ExposeSecret, SecretString};

use crate::config::Config;
use crate::error::ServerError;
use crate::services::users::InitialPassword;
use crate::services::{self, Context};
use crate::{keys, state};

/// Creates a user with a password; an administrator's password, so the
/// first-use rule applies.
pub async fn create_user(
    cx: &Context<'_>,
    domain_id: &str,
    name: &str,
    password: SecretString,
) -> Result<User, AuthError> {
    let user = User::new(new_id(), name, domain_id);
    services::users::create(cx, &user, InitialPassword::Chosen(password)).await?;
    Ok(user)
}

/// Every user of a domain (or all), as `id  name  domain  enabled` lines.
pub async fn list_users(
    storage: &dyn Storage,
    domain_id: Option<&str>,
) -> Result<String, AuthError> {
    let mut filter = UserFilter::default();
    filter.domain_id = domain_id.map(String::from);
    let mut out = String::new();
    for user in storage.list_users(&filter).await? {
        let state = if user.enabled { "enabled" } else { "disabled" };
        out.push_str(&format!(
            "{}  {}  {}  {state}\n",
            user.id, user.name, user.domain_id
        ));
    }
    Ok(out)
}

/// Sets a user's password as an administrator (which revokes the user's
/// tokens) and lifts a lockout: how an operator gives an account back.
pub async fn set_password(
    cx: &Context<'_>,
    domain_id: &str,
    name: &str,
    password: SecretString,
) -> Result<User, AuthError> {
    let user = cx.storage().find_user_by_name(domain_id, name).await?;
    services::passwords::reset(cx, &user, password).await?;
    services::passwords::unlock(cx, &user).await?;
    Ok(user)
}

/// One `doctor` finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// `None` when it passed; otherwise what is wrong.
    pub problem: Option<String>,
}

/// Checks the configuration, the enabled methods, the database, its schema
/// and the key sets. It changes nothing, except that, like every command,
/// it creates the local credential key file if there is none.
pub async fn doctor(config: &Config) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut check = |name, result: Result<(), String>| {
        checks.push(Check {
            name,
            problem: result.err(),
        });
    };
    auth_plugins::link();
    let methods = Registry::<MethodRegistration>::from_inventory()
        .and_then(|r| {
            r.instantiate_with_shared(
                &config.auth.methods,
                &config.auth.sections,
                &config.shared_sections(),
            )
        })
        .map(|_| ())
        .map_err(|e| e.to_string());
    check("auth methods are registered and configured", methods);
    check(
        "credential keys are readable",
        keys::credential_keys(&config.keys.dir)
            .map(|_| ())
            .map_err(|e| e.to_string()),
    );
    let mut no_migrate = config.clone();
    no_migrate.database.max_connections = 2;
    match state::connect_without_migrating(&no_migrate).await {
        Err(e) => check("the database answers", Err(e.to_string())),
        Ok(storage) => {
            check("the database answers", Ok(()));
            check(
                "the schema is current (else run: auth-server migrate)",
                storage.health().await.map_err(|e| e.to_string()),
            );
            let kek = keys::read_kek(&config.keys.dir);
            for (name, purpose) in [
                (
                    "receipt keys are readable with the key-encryption keys",
                    keys::RECEIPT_KEYS,
                ),
                (
                    "token signing keys are readable with the key-encryption keys",
                    keys::SIGNING_KEYS,
                ),
            ] {
                let found = match storage.load_key_set(purpose).await {
                    // None yet is fine: the first `serve` creates them.
                    Ok(None) => Ok(()),
                    Ok(Some(stored)) => {
                        let material = stored.material.expose_secret();
                        match &kek {
                            _ if material.is_empty() => {
                                Err("the stored key set is empty".to_owned())
                            }
                            // Stored in clear by an earlier version: the
                            // next `serve` seals it.
                            _ if !keys::is_sealed(material) => Ok(()),
                            Ok(Some(kek)) => keys::open(kek, purpose, material)
                                .map(drop)
                                .map_err(|e| e.to_string()),
                            Ok(None) => Err(format!(
                                "sealed, but {} does not exist",
                                keys::kek_path(&config.keys.dir).display()
                            )),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    Err(e) => Err(e.to_string()),
                };
                check(name, found);
            }
            if storage.get_domain(DEFAULT_DOMAIN_ID).await.is_err() {
                check(
                    "the default domain exists",
                    Err("missing: run auth-server migrate".into()),
                );
            }
        }
    }
    checks
}

/// Renders `doctor`'s findings; the error says how many failed.
pub fn report(checks: &[Check]) -> Result<String, ServerError> {
    let mut out = String::new();
    for c in checks {
        match &c.problem {
            None => out.push_str(&format!("ok    {}\n", c.name)),
            Some(problem) => out.push_str(&format!("FAIL  {}: {problem}\n", c.name)),
        }
    }
    let failed = checks.iter().filter(|c| c.problem.is_some()).count();
    if failed == 0 {
        Ok(out)
    } else {
        print!("{out}");
        Err(ServerError::Config(format!("{failed} check(s) failed")))
    }
}
