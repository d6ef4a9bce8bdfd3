//! PostgreSQL's hot path (see `store/hot_path.rs`): the pool, as every other statement uses it.
//! The statements already are one network round trip each; the hot path exists so that the
//! SQL of the hot paths is written once for both backends.

use std::marker::PhantomData;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::QueryAs;
use sqlx::{FromRow, Pool, Postgres, Transaction};

use std::time::Duration;

use super::Db;
use crate::domain::ports::StoreResult;
use crate::store::errors::{bounded, commit_bounded};
use crate::store::hot_path::Arg;

/// Every exchange is bounded on this side too (`errors::bounded`), so that a token request to
/// a server that stopped answering fails within the bound instead of waiting for TCP.
pub struct HotPath {
    pool: Pool<Db>,
    bound: Duration,
}

impl HotPath {
    pub fn new(pool: Pool<Db>, bound: Duration) -> Self {
        Self { pool, bound }
    }

    pub async fn fetch_optional<R>(&self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Option<R>>
    where
        R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        bounded(self.bound, bind(sqlx::query_as(sql), args).fetch_optional(&self.pool)).await
    }

    pub async fn fetch_all<R>(&self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Vec<R>>
    where
        R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        bounded(self.bound, bind(sqlx::query_as(sql), args).fetch_all(&self.pool)).await
    }

    pub async fn begin(&self, writer: &Pool<Db>) -> StoreResult<HotPathTx<'_>> {
        Ok(HotPathTx { tx: bounded(self.bound, writer.begin()).await?, bound: self.bound, _hot_path: PhantomData })
    }
}

/// Binds `args` to a `sqlx::query` or `sqlx::query_as` (the two have no common trait).
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match *arg {
                Arg::Int(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
                Arg::Bytes(v) => query.bind(v),
            };
        }
        query
    }};
}

fn bind<'q, R>(query: QueryAs<'q, Postgres, R, PgArguments>, args: &[Arg<'q>]) -> QueryAs<'q, Postgres, R, PgArguments> {
    bind_args!(query, args)
}

/// A write transaction, rolled back when dropped uncommitted (sqlx's own).
pub struct HotPathTx<'a> {
    tx: Transaction<'static, Postgres>,
    bound: Duration,
    _hot_path: PhantomData<&'a HotPath>,
}

impl HotPathTx<'_> {
    pub async fn fetch_optional<R>(&mut self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Option<R>>
    where
        R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        bounded(self.bound, bind(sqlx::query_as(sql), args).fetch_optional(&mut *self.tx)).await
    }

    pub async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<u64> {
        Ok(bounded(self.bound, bind_args!(sqlx::query(sql), args).execute(&mut *self.tx)).await?.rows_affected())
    }

    /// Commits, unless the request's write deadline has passed: then the transaction is rolled
    /// back (dropped) and the answer is `Unavailable` (`domain::ports::deadline`).
    pub async fn commit(self) -> StoreResult<()> {
        commit_bounded(self.bound, self.tx.commit()).await
    }
}
