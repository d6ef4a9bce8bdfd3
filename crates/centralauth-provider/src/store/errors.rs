//! The one place where driver errors become [`StoreError`]s.

use crate::domain::ports::StoreError;

/// Maps a driver error; a unique-constraint violation becomes `Conflict(what)`. SQLite names no
/// constraint, so the caller that knows the column says what conflicted.
pub fn conflict_or_other(err: sqlx::Error, what: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.to_string()),
        _ => StoreError::Other(Box::new(err)),
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            other => StoreError::Other(Box::new(other)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        StoreError::Other(Box::new(err))
    }
}
