//! The one place where driver errors become [`StoreError`]s.

use std::future::Future;
use std::time::Duration;

use super::health::DATABASE;
use crate::domain::ports::StoreError;

/// Maps a driver error; a unique-constraint violation becomes `Conflict(what)`. SQLite names no
/// constraint, so the caller that knows the column says what conflicted.
pub fn conflict_or_other(err: sqlx::Error, what: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.to_string()),
        _ => StoreError::from(err),
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            other if is_unavailable(&other) => unavailable(other),
            other => StoreError::Other(Box::new(other)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        match err {
            sqlx::migrate::MigrateError::Execute(err) => StoreError::from(err),
            other => StoreError::Other(Box::new(other)),
        }
    }
}

/// A `StoreError::Unavailable`, reported to the process's view of the database (logged once
/// per outage, not per request).
pub fn unavailable(cause: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    DATABASE.report_failure(&cause);
    StoreError::Unavailable(Box::new(cause))
}

/// Whether `err` says the database cannot be reached or cannot take work now, rather than that
/// the statement or its data was wrong: such a request may succeed when tried again later, so
/// it is answered 503 with `Retry-After`, not 500.
fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        // No connection within the pool's wait (which includes connecting to a server that
        // refuses or does not answer), the pool shut, the connection's socket or TLS failed.
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                postgres_unavailable(pg.code())
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // sqlx gives SQLite's extended result code; its low byte is the primary one.
                db.code().and_then(|code| code.parse::<i32>().ok()).is_some_and(|code| sqlite_unavailable(code & 0xff))
            } else {
                false
            }
        }
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs of a server that cannot take work now (PostgreSQL's appendix A).
fn postgres_unavailable(sqlstate: &str) -> bool {
    // Class 08: connection exceptions. Class 53: insufficient resources (disk full, out of
    // memory, too many connections). Class 57: operator intervention (admin or crash shutdown,
    // cannot connect now, and 57014: a statement cancelled by `statement_timeout`).
    // 55P03: a lock not available within `lock_timeout`. 58P01/58P02 are not here: they are
    // files missing, not a passing condition.
    sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate.starts_with("57") || sqlstate == "55P03"
}

/// SQLite primary result codes of a passing condition: the database busy or locked by another
/// process past the busy timeout, a full disk (SQLITE_FULL), an I/O error (SQLITE_IOERR, which
/// a full disk also gives while writing the WAL), no memory, the file not openable now.
pub fn sqlite_unavailable(primary_code: i32) -> bool {
    // SQLITE_NOMEM 7, SQLITE_BUSY 5, SQLITE_LOCKED 6, SQLITE_IOERR 10, SQLITE_FULL 13,
    // SQLITE_CANTOPEN 14, SQLITE_PROTOCOL 15.
    matches!(primary_code, 5 | 6 | 7 | 10 | 13 | 14 | 15)
}

/// Runs one exchange with the database, bounded by `limit` on this side: PostgreSQL's own
/// `statement_timeout` ends a slow statement, but cannot end a wait for a server that stopped
/// answering without closing the connection (frozen, or the network between us gone), where
/// the socket would wait for TCP to give up, many minutes. Dropping the driver's future at the
/// bound is safe: sqlx rolls an unfinished transaction back and tests the connection before it
/// goes back to the pool.
pub async fn bounded<T, E>(limit: Duration, work: impl Future<Output = Result<T, E>>) -> Result<T, StoreError>
where
    StoreError: From<E>,
{
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result.map_err(StoreError::from),
        Err(_) => Err(unavailable(NoAnswer(limit))),
    }
}

/// Refuses a COMMIT once the current request's write deadline has passed
/// (`domain::ports::deadline`): its client has likely given up, so the change must not be
/// carried out. The caller drops its transaction, which rolls it back.
pub fn before_commit() -> Result<(), StoreError> {
    if crate::domain::ports::write_deadline_passed(std::time::Instant::now()) {
        // Per request, hence debug: the outage that made it wait is logged once (`health`).
        tracing::debug!("a change was rolled back: its request's write deadline passed");
        return Err(StoreError::Unavailable(Box::new(DeadlinePassed)));
    }
    Ok(())
}

/// Commits with `commit`, bounded by `limit`, and reports a success to the process's view of
/// the database (`health`): a commit is the proof that it takes changes again.
pub async fn commit_bounded<E>(limit: Duration, commit: impl Future<Output = Result<(), E>>) -> Result<(), StoreError>
where
    StoreError: From<E>,
{
    before_commit()?;
    bounded(limit, commit).await?;
    DATABASE.report_success();
    Ok(())
}

/// The database did not answer within the bound of [`bounded`].
#[derive(Debug, thiserror::Error)]
#[error("no answer from the database within {0:?}")]
pub struct NoAnswer(pub Duration);

/// A request's write deadline passed before its change could commit (`domain::ports::deadline`).
#[derive(Debug, thiserror::Error)]
#[error("the request's write deadline passed before its change could commit; rolled back")]
pub struct DeadlinePassed;

#[cfg(test)]
mod tests {
    use super::{postgres_unavailable, sqlite_unavailable};

    #[test]
    fn passing_conditions_are_told_from_errors_of_the_statement() {
        for code in ["57P01", "57P03", "08006", "08001", "57014", "53100", "53300", "55P03"] {
            assert!(postgres_unavailable(code), "{code}");
        }
        for code in ["23505", "23503", "42P01", "22P02", "40001"] {
            assert!(!postgres_unavailable(code), "{code}");
        }
        // SQLITE_FULL, SQLITE_IOERR (and its extended codes' low byte), SQLITE_BUSY.
        for code in [13, 778 & 0xff, 10, 5] {
            assert!(sqlite_unavailable(code), "{code}");
        }
        // SQLITE_CONSTRAINT, SQLITE_ERROR, SQLITE_CORRUPT.
        for code in [19, 1, 11] {
            assert!(!sqlite_unavailable(code), "{code}");
        }
    }
}
