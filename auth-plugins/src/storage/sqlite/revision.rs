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
//! Most of those reads find nothing changed, and most of a read's cost is
//! SQLite taking and dropping its shared-memory read lock (two `fcntl`
//! calls). So before reading, the reader compares the WAL-index header (the
//! first 48 bytes of the `-shm` file, [documented] as part of SQLite's file
//! format, which every process that opens the database shares) with the
//! header it saw before its last read. Every commit rewrites that header (it
//! holds a change counter, the last valid frame and checksums); if it is
//! byte for byte the same, nothing has committed since, and the last read's
//! revision still holds. One `pread` of 48 bytes instead of a transaction.
//!
//! Why that is safe:
//! - The header is compared with the one seen *before* the read it pairs
//!   with, so a commit between the two is seen at the next call.
//! - A header half written is the commit not yet done (a writer rewrites the
//!   header before its `COMMIT` returns): answering from before it is
//!   answering from before the commit.
//! - The file cannot be swapped under the reader: SQLite deletes `-shm` only
//!   when the last connection of any process closes, and these connections
//!   stay open as long as the reader; the file is opened only after one of
//!   them has read, and only if its header is a WAL-index header.
//! - A shared mapping and `pread` see the same page cache, so a commit
//!   another process writes through its mapping is read at once.
//!
//! [documented]: https://www.sqlite.org/walformat.html#the_wal_index_header_format
//! [`RevocationStore::revision_reader`]: auth_core::store::RevocationStore::revision_reader

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, TryLockError};
use std::time::Duration;

use auth_core::AuthError;
use auth_core::store::RevisionReader;
use rusqlite::{Connection, OpenFlags};

const SELECT_REVISION: &str = "SELECT value FROM token_revision WHERE id = 1";

/// The WAL-index header: its first copy, at the start of the `-shm` file.
const HEADER_LEN: usize = 48;

/// `iVersion`, the header's first field, in the host's byte order.
const WAL_INDEX_VERSION: u32 = 3_007_000;

/// The byte that says the header was initialised (`isInit`).
const IS_INIT: usize = 12;

/// A WAL-index header, and the revision a read that started after it was
/// taken found.
#[derive(Clone, Copy)]
struct Seen {
    header: [u8; HEADER_LEN],
    revision: i64,
}

/// Most connections a reader opens: a read holds one for microseconds, and
/// only while the header has moved, so a few serve any number of cores.
const MAX_CONNECTIONS: usize = 4;

/// Read-only connections to the database file, one per core up to
/// [`MAX_CONNECTIONS`], so that the runtime's worker threads rarely meet on
/// one; and the WAL-index header they last read under.
pub(crate) struct FileRevisionReader {
    file: PathBuf,
    connections: Vec<Mutex<Connection>>,
    /// Where the next reader starts looking for a free connection.
    next: AtomicUsize,
    /// The `-shm` file (`None`: the database has no WAL index to look at,
    /// and every call reads).
    shm: Option<File>,
    /// The last header and the revision read after it.
    seen: Mutex<Option<Seen>>,
    /// How many times the table was read (the rest were answered from the
    /// header).
    reads: AtomicU64,
}

impl FileRevisionReader {
    /// Readers of `file`, which must exist (the writer created it).
    ///
    /// Every file it needs is opened here, at start-up (each connection
    /// reads once, which opens its `-wal` and maps `-shm`), not on a
    /// request's path, where descriptors may be scarce.
    pub(crate) fn open(file: &Path) -> Result<Self, AuthError> {
        let count = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(MAX_CONNECTIONS);
        let connections = (0..count)
            .map(|_| open_connection(file).map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            file: file.to_owned(),
            connections,
            next: AtomicUsize::new(0),
            shm: open_shm(file),
            seen: Mutex::new(None),
            reads: AtomicU64::new(0),
        })
    }

    /// The WAL-index header now, if there is one to look at.
    fn header(&self) -> Option<[u8; HEADER_LEN]> {
        let shm = self.shm.as_ref()?;
        let mut header = [0; HEADER_LEN];
        shm.read_exact_at(&mut header, 0).ok()?;
        Some(header)
    }

    /// Reads the table.
    fn read_table(&self) -> Result<i64, AuthError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
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

    fn seen(&self) -> std::sync::MutexGuard<'_, Option<Seen>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
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
        let header = self.header();
        if let Some(header) = header
            && let Some(seen) = *self.seen()
            && seen.header == header
        {
            return Ok(seen.revision);
        }
        let revision = self.read_table()?;
        if let Some(header) = header {
            *self.seen() = Some(Seen { header, revision });
        }
        Ok(revision)
    }
}

/// The `-shm` file of `file`, if the database has a WAL index: opened after
/// a connection of the reader has read (so that it exists, and exists as
/// long as the reader does), and only if its header is a WAL-index header.
fn open_shm(file: &Path) -> Option<File> {
    let mut name = file.to_owned().into_os_string();
    name.push("-shm");
    let shm = File::open(name).ok()?;
    let mut header = [0; HEADER_LEN];
    shm.read_exact_at(&mut header, 0).ok()?;
    let version = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]);
    (version == WAL_INDEX_VERSION && header[IS_INIT] == 1).then_some(shm)
}

/// A read-only connection that never waits for a lock, with its files open.
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
    // A read transaction opens the -wal file and maps -shm now.
    connection
        .query_row("PRAGMA schema_version", [], |row| row.get::<_, i64>(0))
        .map_err(|e| {
            AuthError::StoreUnavailable(format!("a first read of the sqlite database: {e}"))
        })?;
    Ok(connection)
}

impl std::fmt::Debug for FileRevisionReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRevisionReader")
            .field("file", &self.file)
            .field("connections", &self.connections.len())
            .field("watches_the_wal_index", &self.header().is_some())
            .field("reads", &self.reads.load(Ordering::Relaxed))
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
    fn answers_from_the_wal_index_until_something_commits() {
        let dir = tempfile::tempdir().expect("dir");
        let (file, writer) = database(dir.path());
        let reader = FileRevisionReader::open(&file).expect("open");
        // The first read pairs a header with a revision; from then on an
        // unchanged header answers.
        assert_eq!(reader.read().expect("read"), 7);
        let reads = reader.reads.load(Ordering::Relaxed);
        for _ in 0..100 {
            assert_eq!(reader.read().expect("read"), 7);
        }
        assert_eq!(
            reader.reads.load(Ordering::Relaxed),
            reads,
            "read the table"
        );

        // Any commit moves the header: the table is read again, and a write
        // that left the revision alone still finds it alone.
        writer
            .execute_batch("CREATE TABLE other (x INTEGER); INSERT INTO other VALUES (1);")
            .expect("write");
        assert_eq!(reader.read().expect("read"), 7);
        assert_eq!(reader.reads.load(Ordering::Relaxed), reads + 1);
        writer
            .execute("UPDATE token_revision SET value = 8 WHERE id = 1", [])
            .expect("bump");
        assert_eq!(reader.read().expect("read"), 8);
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
        // Not in WAL mode: no header to watch, every call reads.
        assert!(matches!(reader.read(), Err(AuthError::StoreUnavailable(_))));
        assert!(reader.header().is_none());
    }
}
