//! A Django database on PostgreSQL, read in a read-only repeatable-read transaction.

use std::collections::HashSet;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use super::{SourceError, missing_tables, redacted};
use crate::domain::django_import::{DjangoExport, Progress, TokenImport};

type Db = sqlx::Postgres;

// Compiled once per backend on purpose (see the included file), hence the same file twice.
#[allow(clippy::duplicate_mod)]
#[path = "queries.rs"]
mod queries;

/// `timestamp with time zone` (or without, with `USE_TZ = False`) to whole Unix seconds.
fn epoch(column: &str) -> String {
    format!("CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)")
}

pub async fn read(url: &str, tokens: TokenImport, progress: &dyn Progress) -> Result<DjangoExport, SourceError> {
    let shown = redacted(url);
    let unreadable = |e: sqlx::Error| SourceError::Unreadable { url: shown.clone(), cause: e.to_string() };
    // Reading a whole installation takes seconds per table by design: no slow-statement warnings.
    let options = PgConnectOptions::from_str(url).map_err(unreadable)?.disable_statement_logging();
    let mut conn = PgConnection::connect_with(&options).await.map_err(unreadable)?;
    let mut tx = conn.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(unreadable)?;
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT table_name::text FROM information_schema.tables WHERE table_schema = ANY (current_schemas(false))")
            .fetch_all(&mut *tx)
            .await
            .map_err(unreadable)?;
    let present: HashSet<String> = tables.into_iter().map(|(t,)| t).collect();
    let missing = missing_tables(&present, tokens);
    if !missing.is_empty() {
        return Err(SourceError::NotDjangoCentralauth { url: shown, missing });
    }
    let export = queries::read_all(&mut tx, &shown, tokens, progress).await?;
    tx.rollback().await.map_err(unreadable)?;
    Ok(export)
}
