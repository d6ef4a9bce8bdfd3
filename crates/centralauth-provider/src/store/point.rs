//! The hot path's statements — the token look-ups of `/user/`, introspection and client
//! authentication, and the token endpoint's short transactions — written once in `sql/` and run
//! by each backend the fastest way it has (`sqlite/point.rs`, `postgres/point.rs`).
//!
//! Why SQLite gets a path of its own: sqlx runs every SQLite connection on a thread of its own
//! and hands each statement over and back through channels. For a look-up that SQLite answers
//! in a few microseconds from its page cache, those two thread switches cost ten times the
//! statement: profiled under `bench/run`, 62 % of the provider's CPU time was the kernel
//! switching threads, SQLite itself 3 %. rusqlite runs the same statement on the calling thread.

use rusqlite::types::FromSql;

use crate::domain::ports::StoreError;

/// A bound parameter of a point statement, for either backend.
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

/// A row read by rusqlite: the counterpart of `sqlx::FromRow` for the SQLite point path.
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
macro_rules! point_row {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$field_meta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(sqlx::FromRow)]
        $vis struct $name { $($(#[$field_meta])* $field: $ty),* }

        impl $crate::store::point::FromSqliteRow for $name {
            fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                let mut columns = 0..;
                Ok(Self { $($field: $crate::store::point::column(row, columns.next().unwrap_or_default(), stringify!($field))?),* })
            }
        }
    };
}
pub(crate) use point_row;

/// Column `index` of `row`, which debug builds check is named `name`.
pub fn column<T: FromSql>(row: &rusqlite::Row<'_>, index: usize, name: &str) -> rusqlite::Result<T> {
    debug_assert_eq!(row.as_ref().column_name(index).ok(), Some(name), "a point_row! field out of the statement's column order");
    row.get(index)
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        match err {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            other => StoreError::Other(Box::new(other)),
        }
    }
}
