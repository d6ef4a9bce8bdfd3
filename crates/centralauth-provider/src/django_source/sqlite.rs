//! A Django database in an SQLite file, opened read-only (never created).

use std::collections::HashSet;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use super::{SourceError, missing_tables, redacted};
use crate::domain::django_import::{DjangoExport, Progress, TokenImport};

type Db = sqlx::Sqlite;

// Compiled once per backend on purpose (see the included file), hence the same file twice.
#[allow(clippy::duplicate_mod)]
#[path = "queries.rs"]
mod queries;

/// Django stores datetimes in SQLite as ISO 8601 text in UTC.
fn epoch(column: &str) -> String {
    format!("CAST(strftime('%s', {column}) AS BIGINT)")
}

pub async fn read(url: &str, tokens: TokenImport, progress: &dyn Progress) -> Result<DjangoExport, SourceError> {
    let shown = redacted(url);
    let unreadable = |e: sqlx::Error| SourceError::Unreadable { url: shown.clone(), cause: e.to_string() };
    let options = SqliteConnectOptions::from_str(url).map_err(unreadable)?;
    if !options.get_filename().is_file() {
        return Err(SourceError::NoSuchFile(shown));
    }
    // Reading a whole installation takes seconds per table by design: no slow-statement warnings.
    let options = options.read_only(true).create_if_missing(false).disable_statement_logging();
    let mut conn = SqliteConnection::connect_with(&options).await.map_err(unreadable)?;
    // A deferred transaction: its first read fixes the snapshot the whole export comes from.
    let mut tx = conn.begin().await.map_err(unreadable)?;
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table'").fetch_all(&mut *tx).await.map_err(unreadable)?;
    let present: HashSet<String> = tables.into_iter().map(|(t,)| t).collect();
    let missing = missing_tables(&present, tokens);
    if !missing.is_empty() {
        return Err(SourceError::NotDjangoCentralauth { url: shown, missing });
    }
    let export = queries::read_all(&mut tx, &shown, tokens, progress).await?;
    tx.rollback().await.map_err(unreadable)?;
    Ok(export)
}
