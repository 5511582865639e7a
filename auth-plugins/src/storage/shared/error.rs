//! Driver errors to the typed errors of the store contract.
//!
//! The contract (see `auth_core::store`) promises: a broken unique
//! constraint is [`AuthError::Conflict`], a missing row (or a missing row a
//! write refers to) is [`AuthError::NotFound`], anything else is
//! [`AuthError::StoreUnavailable`]. Messages name the operation and a class
//! of failure, never a driver message: PostgreSQL's messages quote row data
//! (`Key (name)=(alice) already exists`) and connection errors can quote the
//! URL, which may hold a password.

use auth_core::AuthError;
use sqlx::error::ErrorKind;

/// Maps the error of a read: nothing a read does can conflict.
pub(crate) fn failed(operation: &'static str) -> impl FnOnce(sqlx::Error) -> AuthError {
    move |e| unavailable(operation, &e)
}

/// Maps the error of a write.
///
/// `what` names the record for a conflict (`user 'alice' in domain
/// default`); `refers_to` names what a foreign key points at, for the
/// not-found a write to a missing parent gets (`domain or default
/// project`). `what` is only built when a conflict happens.
pub(crate) fn write_failed<W>(
    operation: &'static str,
    refers_to: &'static str,
    what: W,
) -> impl FnOnce(sqlx::Error) -> AuthError
where
    W: FnOnce() -> String,
{
    move |e| match constraint(&e) {
        Some(ErrorKind::UniqueViolation) => AuthError::Conflict { what: what() },
        Some(ErrorKind::ForeignKeyViolation) => AuthError::NotFound {
            what: refers_to.to_owned(),
        },
        Some(ErrorKind::CheckViolation | ErrorKind::NotNullViolation) => {
            AuthError::BadRequest(format!("{} has a value the store refuses", what()))
        }
        _ => unavailable(operation, &e),
    }
}

/// Whether `e` is a foreign-key violation (a delete refused because rows
/// still refer to the row).
pub(crate) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(constraint(e), Some(ErrorKind::ForeignKeyViolation))
}

fn constraint(e: &sqlx::Error) -> Option<ErrorKind> {
    match e {
        sqlx::Error::Database(db) => Some(db.kind()),
        _ => None,
    }
}

/// The 503 of a failed operation: its name and a class of failure (an
/// SQLSTATE or SQLite result code is safe to show: it holds no data).
pub(crate) fn unavailable(operation: &'static str, e: &sqlx::Error) -> AuthError {
    let class = match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("database error {code}"),
            None => "database error".to_owned(),
        },
        sqlx::Error::Io(io) => format!("i/o error ({:?})", io.kind()),
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".to_owned(),
        sqlx::Error::PoolClosed => "the connection pool is closed".to_owned(),
        sqlx::Error::WorkerCrashed => "the database worker stopped".to_owned(),
        sqlx::Error::Configuration(_) => "invalid database configuration".to_owned(),
        sqlx::Error::Migrate(_) => "a migration failed".to_owned(),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => "the stored data has an unexpected shape".to_owned(),
        _ => "database failure".to_owned(),
    };
    AuthError::StoreUnavailable(format!("{operation} failed: {class}"))
}

/// The 503 of a row whose stored value cannot be turned back into a record
/// (a corrupt time, JSON document or enum). Names the field, not the value.
pub(crate) fn corrupt(field: &'static str) -> AuthError {
    AuthError::StoreUnavailable(format!("the stored {field} is invalid"))
}

/// The 404 of a missing row, worded as `auth_core`'s in-memory store words
/// it (`user: 5f1c…`).
pub(crate) fn not_found(kind: &str, id: &str) -> AuthError {
    AuthError::NotFound {
        what: format!("{kind}: {id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_names_the_operation_only() {
        let e = sqlx::Error::Protocol("password=hunter2 user=alice".into());
        let message = unavailable("get_user", &e).to_string();
        assert!(message.contains("get_user"), "{message}");
        assert!(!message.contains("hunter2") && !message.contains("alice"));
    }

    #[test]
    fn a_missing_row_in_a_write_is_a_store_failure_not_a_conflict() {
        let err = write_failed("create_user", "domain", || "user".into())(sqlx::Error::RowNotFound);
        assert!(matches!(err, AuthError::StoreUnavailable(_)), "{err:?}");
    }
}
