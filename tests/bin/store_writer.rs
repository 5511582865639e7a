//! Writes users into a SQLite database until killed, printing the id of
//! each one once its transaction has committed.
//!
//! The crash test of the storage suite runs it, SIGKILLs it mid-write and
//! checks that the database opens, passes an integrity check and holds every
//! user printed: a printed id is a promise that the commit was durable.
//!
//! With `--revoke`, it instead records one revocation event (which moves
//! the token revision) and exits: the other process of the test that a
//! node's in-place revision reader sees another process's commits.
//!
//! Usage: `store-writer PATH [--revoke]`.

use std::io::Write;
use std::sync::Arc;

use auth_core::store::{PasswordRecord, RevocationEvent, StorageConfig, User, new_id};
use auth_core::{KeyRing, KeySet, Registry};
use chrono::Utc;
use secrecy::SecretString;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: store-writer PATH [--revoke]")?;
    let revoke_once = match args.next().as_deref() {
        None => false,
        Some("--revoke") => true,
        Some(_) => return Err("usage: store-writer PATH [--revoke]".into()),
    };
    auth_plugins::link();
    let drivers = Registry::from_inventory()?;
    let keys = Arc::new(KeyRing::new(KeySet::generate()));
    let config = StorageConfig::new(format!("sqlite://{path}"), keys);
    let storage = auth_core::store::connect(&drivers, config).await?;
    if revoke_once {
        let event = RevocationEvent::at(Utc::now()).with_user(new_id());
        storage.add_revocation(&event).await?;
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    for n in 0_u64.. {
        let user = User::new(
            new_id(),
            format!("user-{n}"),
            auth_core::store::DEFAULT_DOMAIN_ID.to_owned(),
        );
        // With a password: two rows per transaction, so a torn write
        // would show as a user without one.
        let password = PasswordRecord::new(
            SecretString::from(format!("$argon2id$v=19$writer${n}")),
            Utc::now(),
        );
        storage.create_user(&user, Some(&password)).await?;
        writeln!(out, "{}", user.id)?;
        out.flush()?;
    }
    Ok(())
}
