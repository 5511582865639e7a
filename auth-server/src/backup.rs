//! `auth-server backup <dir>` and `restore <dir> [--force]`: the database
//! and the key files of `[keys] dir`, with a manifest.
//!
//! SQLite is copied with `VACUUM INTO`, a consistent online copy (safe
//! while nodes run: it reads in one transaction, and WAL readers never block
//! the writer). PostgreSQL goes through `pg_dump -Fc` / `pg_restore`, the
//! tools its operators already trust; the password travels in the child's
//! `PGPASSWORD`, never on a command line another user could read in `ps`.
//! The manifest records the binary and schema versions, the database kind
//! and every file's SHA-256, so a restore refuses a damaged or partial
//! backup before it touches anything.

use std::path::{Path, PathBuf};
use std::process::Command;

use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Connection;

use crate::config::Config;
use crate::error::ServerError;

/// The manifest's file name in a backup directory.
pub const MANIFEST: &str = "manifest.json";
/// The SQLite copy's file name in a backup directory.
const SQLITE_FILE: &str = "database.sqlite";
/// The `pg_dump -Fc` archive's file name in a backup directory.
const POSTGRES_FILE: &str = "database.dump";
/// The folder the key files are copied to, inside a backup directory.
const KEYS_DIR: &str = "keys";

/// What a backup holds, written as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The version of the binary that made the backup.
    pub binary_version: String,
    /// The highest migration applied to the database backed up.
    pub schema_version: i64,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// Every file of the backup but the manifest, with its SHA-256.
    pub files: Vec<BackupFile>,
}

/// One file of a backup, relative to its directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupFile {
    /// The path, relative to the backup directory (`/`-separated).
    pub path: String,
    /// Lower-case hexadecimal SHA-256 of the content.
    pub sha256: String,
}

fn fail(message: impl Into<String>) -> ServerError {
    ServerError::Backup(message.into())
}

fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> ServerError {
    let message = format!("{what} {}", path.display());
    move |e| fail(format!("{message}: {e}"))
}

/// Which database the configured URL names.
enum Database {
    Sqlite(PathBuf),
    Postgres(SecretString),
}

fn database(config: &Config) -> Result<Database, ServerError> {
    let url = config.database.url.as_str();
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let rest = rest.trim_start_matches("//");
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path.contains(":memory:") {
            return Err(fail("an in-memory SQLite database cannot be backed up"));
        }
        Ok(Database::Sqlite(PathBuf::from(path)))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Database::Postgres(SecretString::from(url.to_owned())))
    } else {
        Err(fail("only sqlite and postgres databases can be backed up"))
    }
}

/// Backs up the configured database and key files into `dir`, which must
/// not exist or be empty.
pub async fn backup(config: &Config, dir: &Path) -> Result<Manifest, ServerError> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io("cannot read", dir))?;
        if entries.next().is_some() {
            return Err(fail(format!("{} is not empty", dir.display())));
        }
    }
    std::fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
    let (kind, schema_version) = match database(config)? {
        Database::Sqlite(path) => {
            if !path.is_file() {
                return Err(fail(format!("{} does not exist", path.display())));
            }
            let url = format!("sqlite://{}?mode=ro", path.display());
            let mut conn = sqlx::SqliteConnection::connect(&url)
                .await
                .map_err(|e| fail(format!("cannot open {}: {e}", path.display())))?;
            let version = schema_version_sqlite(&mut conn).await?;
            let target = dir.join(SQLITE_FILE);
            sqlx::query("VACUUM INTO ?")
                .bind(target.to_string_lossy().into_owned())
                .execute(&mut conn)
                .await
                .map_err(|e| fail(format!("VACUUM INTO failed: {e}")))?;
            let _ = conn.close().await;
            set_private(&target)?;
            ("sqlite", version)
        }
        Database::Postgres(url) => {
            let mut conn = sqlx::PgConnection::connect(url.expose_secret())
                .await
                .map_err(|e| fail(format!("cannot connect to PostgreSQL: {}", pg_cause(&e))))?;
            let version: Option<i64> =
                sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                    .fetch_one(&mut conn)
                    .await
                    .map_err(|e| {
                        fail(format!("cannot read the schema version: {}", pg_cause(&e)))
                    })?;
            let _ = conn.close().await;
            let target = dir.join(POSTGRES_FILE);
            let (conninfo, password) = split_password(&url)?;
            let mut command = Command::new(pg_tool("pg_dump")?);
            command
                .arg("--format=custom")
                .arg("--no-owner")
                .arg("--file")
                .arg(&target)
                .arg("--dbname")
                .arg(&conninfo);
            run(command, password, "pg_dump")?;
            set_private(&target)?;
            ("postgres", version.unwrap_or(0))
        }
    };
    let keys_target = dir.join(KEYS_DIR);
    std::fs::create_dir_all(&keys_target).map_err(io("cannot create", &keys_target))?;
    if config.keys.dir.is_dir() {
        for entry in
            std::fs::read_dir(&config.keys.dir).map_err(io("cannot read", &config.keys.dir))?
        {
            let entry = entry.map_err(io("cannot read", &config.keys.dir))?;
            if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
                let to = keys_target.join(entry.file_name());
                std::fs::copy(entry.path(), &to).map_err(io("cannot copy", &entry.path()))?;
                set_private(&to)?;
            }
        }
    }
    let mut files = Vec::new();
    let database_file = if kind == "sqlite" {
        SQLITE_FILE
    } else {
        POSTGRES_FILE
    };
    files.push(BackupFile {
        path: database_file.to_owned(),
        sha256: sha256_file(&dir.join(database_file))?,
    });
    let mut key_names: Vec<_> = std::fs::read_dir(&keys_target)
        .map_err(io("cannot read", &keys_target))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    key_names.sort();
    for name in key_names {
        files.push(BackupFile {
            sha256: sha256_file(&keys_target.join(&name))?,
            path: format!("{KEYS_DIR}/{name}"),
        });
    }
    let manifest = Manifest {
        binary_version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version,
        database: kind.to_owned(),
        files,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| fail(e.to_string()))?;
    let manifest_path = dir.join(MANIFEST);
    std::fs::write(&manifest_path, json).map_err(io("cannot write", &manifest_path))?;
    Ok(manifest)
}

/// Restores the backup in `dir` into the configured database and key
/// directory. Checks the manifest and every checksum first; refuses a
/// database that already holds a schema, and key files that differ, unless
/// `force`.
pub async fn restore(config: &Config, dir: &Path, force: bool) -> Result<Manifest, ServerError> {
    let manifest_path = dir.join(MANIFEST);
    let raw = std::fs::read(&manifest_path).map_err(io("cannot read", &manifest_path))?;
    let manifest: Manifest = serde_json::from_slice(&raw).map_err(|e| {
        fail(format!(
            "{} is not a backup manifest: {e}",
            manifest_path.display()
        ))
    })?;
    for file in &manifest.files {
        if file.path.contains("..") || file.path.starts_with('/') {
            return Err(fail(format!(
                "the manifest names an unsafe path {}",
                file.path
            )));
        }
        let found = sha256_file(&dir.join(&file.path))?;
        if found != file.sha256 {
            return Err(fail(format!(
                "{} does not match its checksum in the manifest: the backup is damaged",
                file.path
            )));
        }
    }
    let target = database(config)?;
    match (&target, manifest.database.as_str()) {
        (Database::Sqlite(_), "sqlite") | (Database::Postgres(_), "postgres") => {}
        (_, kind) => {
            return Err(fail(format!(
                "the backup holds a {kind} database, the configuration names another kind"
            )));
        }
    }
    let key_files: Vec<&BackupFile> = manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with(&format!("{KEYS_DIR}/")))
        .collect();
    if !force {
        for file in &key_files {
            let name = &file.path[KEYS_DIR.len() + 1..];
            let existing = config.keys.dir.join(name);
            if existing.exists() && sha256_file(&existing)? != file.sha256 {
                return Err(fail(format!(
                    "{} exists and differs from the backup's: --force replaces it",
                    existing.display()
                )));
            }
        }
    }
    match target {
        Database::Sqlite(path) => {
            if path.exists() && !force && sqlite_has_schema(&path).await? {
                return Err(fail(format!(
                    "{} already holds a database: --force replaces it",
                    path.display()
                )));
            }
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
            }
            let staging = path.with_extension("restoring");
            std::fs::copy(dir.join(SQLITE_FILE), &staging)
                .map_err(io("cannot copy to", &staging))?;
            set_private(&staging)?;
            for suffix in ["-wal", "-shm"] {
                let side = PathBuf::from(format!("{}{suffix}", path.display()));
                if side.exists() {
                    std::fs::remove_file(&side).map_err(io("cannot remove", &side))?;
                }
            }
            std::fs::rename(&staging, &path).map_err(io("cannot move into place", &path))?;
        }
        Database::Postgres(url) => {
            let mut conn = sqlx::PgConnection::connect(url.expose_secret())
                .await
                .map_err(|e| fail(format!("cannot connect to PostgreSQL: {}", pg_cause(&e))))?;
            let tables: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema()",
            )
            .fetch_one(&mut conn)
            .await
            .map_err(|e| fail(format!("cannot inspect the database: {}", pg_cause(&e))))?;
            let _ = conn.close().await;
            if tables > 0 && !force {
                return Err(fail(
                    "the PostgreSQL database already holds tables: --force replaces them",
                ));
            }
            let (conninfo, password) = split_password(&url)?;
            let mut command = Command::new(pg_tool("pg_restore")?);
            command.arg("--no-owner").arg("--exit-on-error");
            if tables > 0 {
                command.arg("--clean").arg("--if-exists");
            }
            command
                .arg("--dbname")
                .arg(&conninfo)
                .arg(dir.join(POSTGRES_FILE));
            run(command, password, "pg_restore")?;
        }
    }
    if !key_files.is_empty() {
        create_private_dir(&config.keys.dir)?;
    }
    for file in key_files {
        let name = &file.path[KEYS_DIR.len() + 1..];
        let to = config.keys.dir.join(name);
        let content = std::fs::read(dir.join(&file.path))
            .map_err(io("cannot read", &dir.join(&file.path)))?;
        write_private(&to, &content)?;
    }
    Ok(manifest)
}

async fn schema_version_sqlite(conn: &mut sqlx::SqliteConnection) -> Result<i64, ServerError> {
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(conn)
            .await
            .map_err(|e| fail(format!("cannot read the schema version: {e}")))?;
    Ok(version.unwrap_or(0))
}

async fn sqlite_has_schema(path: &Path) -> Result<bool, ServerError> {
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .map_err(|e| fail(format!("cannot open {}: {e}", path.display())))?;
    let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| fail(format!("cannot inspect {}: {e}", path.display())))?;
    let _ = conn.close().await;
    Ok(tables > 0)
}

/// A database error's cause without the URL (which may hold a password).
fn pg_cause(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_owned(),
        sqlx::Error::Io(e) => e.to_string(),
        _ => "connection failed".to_owned(),
    }
}

/// The URL without its password (for the child's command line) and the
/// password (for its `PGPASSWORD`).
fn split_password(url: &SecretString) -> Result<(String, Option<SecretString>), ServerError> {
    let mut parsed = url::Url::parse(url.expose_secret())
        .map_err(|_| fail("the PostgreSQL URL is not valid"))?;
    let password = parsed
        .password()
        // A password in a URL is percent-escaped.
        .map(|p| SecretString::from(percent_decode_str(p).decode_utf8_lossy().into_owned()));
    parsed
        .set_password(None)
        .map_err(|_| fail("the PostgreSQL URL is not valid"))?;
    Ok((parsed.to_string(), password))
}

/// `pg_dump` or `pg_restore` from `PATH`, or a clear error.
fn pg_tool(name: &str) -> Result<PathBuf, ServerError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            fail(format!(
                "{name} is not on PATH: install the PostgreSQL client tools \
                 (Debian: apt-get install postgresql-client)"
            ))
        })
}

fn run(
    mut command: Command,
    password: Option<SecretString>,
    name: &str,
) -> Result<(), ServerError> {
    if let Some(password) = password {
        command.env("PGPASSWORD", password.expose_secret());
    }
    let output = command
        .output()
        .map_err(|e| fail(format!("cannot run {name}: {e}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(fail(format!(
            "{name} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

fn sha256_file(path: &Path) -> Result<String, ServerError> {
    let content = std::fs::read(path).map_err(io("cannot read", path))?;
    Ok(hex::encode(Sha256::digest(&content)))
}

fn create_private_dir(dir: &Path) -> Result<(), ServerError> {
    std::fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io("cannot restrict", dir))?;
    }
    Ok(())
}

/// Writes `content` to `path` readable by its owner only (0600), replacing
/// it atomically.
fn write_private(path: &Path, content: &[u8]) -> Result<(), ServerError> {
    let staging = path.with_extension("restoring");
    std::fs::write(&staging, content).map_err(io("cannot write", &staging))?;
    set_private(&staging)?;
    std::fs::rename(&staging, path).map_err(io("cannot move into place", path))
}

fn set_private(path: &Path) -> Result<(), ServerError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(io("cannot restrict", path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        let url = SecretString::from("postgres://auth:p%40ss%2Bw@db.example:5432/auth".to_owned());
        let (conninfo, password) = split_password(&url).unwrap();
        assert_eq!(conninfo, "postgres://auth@db.example:5432/auth");
        assert_eq!(password.unwrap().expose_secret(), "p@ss+w");
    }
}
