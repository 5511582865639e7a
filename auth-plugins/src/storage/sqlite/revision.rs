//! The token revision, read in place from the database file.
//!
//! Every validation reads the revision after its request arrived (see
//! [`RevocationStore::revision_reader`]). sqlx runs each SQLite connection
//! on a thread of its own, so an awaited read is a round trip between
//! threads, and under load those round trips cost more than the cached
//! validation they guard. Here a few plain connections to the same file
//! (rusqlite, over the same bundled SQLite library sqlx links, so both see
//! each other's locks) read the one-row table on the caller's thread: a WAL
//! read transaction whose page is already in the connection's cache, a few
//! microseconds.
//!
//! It is as fresh as the awaited read: a read transaction that starts now
//! sees every transaction that committed before, whichever connection or
//! process wrote it. It never waits on anything but its own short
//! critical section: the busy timeout is zero, so where SQLite would have to
//! wait for a lock (another process recovering the WAL) the read fails, and
//! the caller falls back to the awaited read.
//!
//! [`RevocationStore::revision_reader`]: auth_core::store::RevocationStore::revision_reader

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, TryLockError};
use std::time::Duration;

use auth_core::AuthError;
use auth_core::store::RevisionReader;
use rusqlite::{Connection, OpenFlags};

const SELECT_REVISION: &str = "SELECT value FROM token_revision WHERE id = 1";

/// Read-only connections to the database file, one per core, so that the
/// runtime's worker threads rarely meet on one.
pub(crate) struct FileRevisionReader {
    file: PathBuf,
    connections: Vec<Mutex<Connection>>,
    /// Where the next reader starts looking for a free connection.
    next: AtomicUsize,
}

impl FileRevisionReader {
    /// Readers of `file`, which must exist (the writer created it).
    pub(crate) fn open(file: &Path) -> Result<Self, AuthError> {
        let count = std::thread::available_parallelism().map_or(1, usize::from);
        let connections = (0..count)
            .map(|_| open_connection(file).map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            file: file.to_owned(),
            connections,
            next: AtomicUsize::new(0),
        })
    }

    /// A free connection if there is one, else the first to come free.
    fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.connections.len();
        for offset in 0..count {
            match self.connections[(start + offset) % count].try_lock() {
                Ok(connection) => return connection,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        self.connections[start % count]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl RevisionReader for FileRevisionReader {
    fn read(&self) -> Result<i64, AuthError> {
        let connection = self.connection();
        connection
            .prepare_cached(SELECT_REVISION)
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .map_err(|e| {
                AuthError::StoreUnavailable(format!(
                    "reading the token revision in place: {}",
                    e.sqlite_error_code()
                        .map_or_else(|| "not a database error".to_owned(), |c| format!("{c:?}"))
                ))
            })
    }
}

/// A read-only connection that never waits for a lock.
fn open_connection(file: &Path) -> Result<Connection, AuthError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(file, flags).map_err(|e| {
        AuthError::StoreUnavailable(format!(
            "opening the sqlite database to read the token revision: {e}"
        ))
    })?;
    connection.busy_timeout(Duration::ZERO).map_err(|e| {
        AuthError::StoreUnavailable(format!("setting the revision reader's busy timeout: {e}"))
    })?;
    Ok(connection)
}

impl std::fmt::Debug for FileRevisionReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRevisionReader")
            .field("file", &self.file)
            .field("connections", &self.connections.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &Path) -> (PathBuf, Connection) {
        let file = dir.join("revision.db");
        let writer = Connection::open(&file).expect("create");
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE token_revision (id INTEGER PRIMARY KEY, value INTEGER NOT NULL);
                 INSERT INTO token_revision VALUES (1, 7);",
            )
            .expect("schema");
        (file, writer)
    }

    #[test]
    fn sees_every_commit_made_before_the_read() {
        let dir = tempfile::tempdir().expect("dir");
        let (file, writer) = database(dir.path());
        let reader = FileRevisionReader::open(&file).expect("open");
        assert_eq!(reader.read().expect("read"), 7);
        for expected in 8..12 {
            writer
                .execute(
                    "UPDATE token_revision SET value = value + 1 WHERE id = 1",
                    [],
                )
                .expect("bump");
            for _ in 0..reader.connections.len() {
                assert_eq!(reader.read().expect("read"), expected);
            }
        }
    }

    #[test]
    fn refuses_a_missing_file_or_table() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(FileRevisionReader::open(&dir.path().join("absent.db")).is_err());
        assert!(!dir.path().join("absent.db").exists());
        // A schema without the table: an error, not a panic or a zero.
        let file = dir.path().join("empty.db");
        Connection::open(&file)
            .and_then(|c| c.execute_batch("CREATE TABLE t (x INTEGER)"))
            .expect("create");
        let reader = FileRevisionReader::open(&file).expect("open");
        assert!(matches!(reader.read(), Err(AuthError::StoreUnavailable(_))));
    }
}
