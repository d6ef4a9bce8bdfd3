//! The hot path: the statements a busy provider runs most, and nothing else — the token
//! endpoint's short transactions (code exchange, refresh rotation), the token look-ups of `/user/`,
//! userinfo and introspection, and client authentication's application look-up. They are written
//! once in `sql/` and run by each backend the fastest way it has (`sqlite/hot_path.rs`,
//! `postgres/hot_path.rs`); every other statement goes through sqlx.
//!
//! The contract with `sql/`, which `sqlite/mod.rs` and `postgres/mod.rs` each compile with
//! `#[path]`: the including module provides `hot_path::{HotPath, HotPathTx}` with the same
//! methods (`fetch_optional`, `fetch_all`, `begin`; `execute`, `commit` on the transaction), its
//! statements take their parameters as [`Arg`]s numbered `$1…` in the order given, and read rows
//! declared with [`hot_path_row!`], which both drivers can decode.
//!
//! Why SQLite gets a path of its own: sqlx runs every SQLite connection on a thread of its own
//! and hands each statement over and back through channels. For a look-up that SQLite answers
//! in a few microseconds from its page cache, those two thread switches cost ten times the
//! statement: profiled under `bench/run`, 62 % of the provider's CPU time was the kernel
//! switching threads, SQLite itself 3 %. rusqlite runs the same statement on the calling thread.

use rusqlite::types::FromSql;

use crate::domain::ports::StoreError;

/// A bound parameter of a hot path statement, for either backend.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Int(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Int(v) => v.to_sql(),
            Arg::Text(v) => v.to_sql(),
            Arg::Bytes(v) => v.to_sql(),
        }
    }
}

/// A row read by rusqlite: the counterpart of `sqlx::FromRow` for the SQLite hot path.
pub trait FromSqliteRow: Sized {
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

impl<A: FromSql> FromSqliteRow for (A,) {
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok((row.get(0)?,))
    }
}

impl<A: FromSql, B: FromSql> FromSqliteRow for (A, B) {
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok((row.get(0)?, row.get(1)?))
    }
}

impl<A: FromSql, B: FromSql, C: FromSql> FromSqliteRow for (A, B, C) {
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    }
}

/// A row struct readable by both drivers from one field list: derives `sqlx::FromRow` (by
/// column name) and implements [`FromSqliteRow`] (by position: the fields follow the
/// statement's columns, which debug builds check, so that no row pays for name look-ups).
macro_rules! hot_path_row {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$field_meta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(sqlx::FromRow)]
        $vis struct $name { $($(#[$field_meta])* $field: $ty),* }

        impl $crate::store::hot_path::FromSqliteRow for $name {
            fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                let mut columns = 0..;
                Ok(Self { $($field: $crate::store::hot_path::column(row, columns.next().unwrap_or_default(), stringify!($field))?),* })
            }
        }
    };
}
pub(crate) use hot_path_row;

/// Column `index` of `row`, which debug builds check is named `name`.
pub fn column<T: FromSql>(row: &rusqlite::Row<'_>, index: usize, name: &str) -> rusqlite::Result<T> {
    debug_assert_eq!(row.as_ref().column_name(index).ok(), Some(name), "a hot_path_row! field out of the statement's column order");
    row.get(index)
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        match err {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            // The same passing conditions as sqlx's SQLite errors (`errors.rs`): a full disk,
            // an I/O error, the database locked past the busy timeout.
            other if other.sqlite_error().is_some_and(|e| super::errors::sqlite_unavailable(e.extended_code & 0xff)) => super::errors::unavailable(other),
            other => StoreError::Other(Box::new(other)),
        }
    }
}
