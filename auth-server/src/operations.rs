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
/// and the key sets. It changes nothing: it creates no key file, no
/// database file or directory and applies no migration; what is missing is
/// reported. A credential key file that differs from the one the stored
/// credentials were encrypted with (another node's) is found by decrypting
/// them, since otherwise the node starts and TOTP logins fail later.
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
    if config.tls.certificate_file.is_some() || config.tls.key_file.is_some() {
        check(
            "the TLS certificate and key load and go together",
            crate::tls::Certificates::from_config(&config.tls)
                .map(drop)
                .map_err(|e| e.to_string()),
        );
    }
    let credential_file = keys::credential_keys_path(&config.keys.dir);
    let credential_keys = match keys::read_credential_keys(&config.keys.dir) {
        Ok(Some(found)) => {
            check("credential keys are readable", Ok(()));
            Some(found)
        }
        Ok(None) => {
            check(
                "credential keys are readable",
                Err(format!(
                    "{} does not exist: copy it from a node already using this database, or \
                     start the first node to create it",
                    credential_file.display()
                )),
            );
            None
        }
        Err(e) => {
            check("credential keys are readable", Err(e.to_string()));
            None
        }
    };
    if let Some(missing) = missing_sqlite_file(&config.database.url) {
        check(
            "the database answers",
            Err(format!(
                "the SQLite database {} does not exist (nothing was created): set [database] url \
                 (AUTH_DATABASE_URL) or run auth-server migrate",
                missing.display()
            )),
        );
        return checks;
    }
    let mut no_migrate = config.clone();
    no_migrate.database.max_connections = 2;
    // Without the key file, a throw-away key set lets the other checks run;
    // it is never written and decrypts nothing.
    let have_credential_keys = credential_keys.is_some();
    let connect_keys = credential_keys.unwrap_or_else(auth_core::KeySet::generate);
    match state::connect_without_migrating(&no_migrate, connect_keys).await {
        Err(e) => check("the database answers", Err(e.to_string())),
        Ok(storage) => {
            check("the database answers", Ok(()));
            let schema = storage.schema().await.map_err(|e| e.to_string());
            let schema_ok = schema.is_ok();
            check("the schema matches this binary", schema);
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
            let decrypted = match storage.list_all_credentials(None).await {
                // Without the tables there is nothing to decrypt; the
                // schema check has said so.
                _ if !schema_ok => Ok(()),
                Ok(stored) if stored.is_empty() || have_credential_keys => Ok(()),
                Ok(stored) => Err(format!(
                    "{} credential(s) are stored but {} does not exist",
                    stored.len(),
                    credential_file.display()
                )),
                Err(e) => Err(format!(
                    "the stored credentials cannot be decrypted with {} ({e}): every node on one \
                     database needs the same credential key file; copy it from a node already \
                     serving",
                    credential_file.display()
                )),
            };
            check(
                "stored credentials decrypt with the credential keys",
                decrypted,
            );
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

/// The file a `sqlite:` URL names, if it does not exist (an in-memory
/// database is never missing). Connecting would create it, and its
/// directory, which `doctor` must not do.
fn missing_sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let path = std::path::PathBuf::from(path);
    (!path.exists()).then_some(path)
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
