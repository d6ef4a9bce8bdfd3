//! PostgreSQL, for production and for several provider instances on one database.
//! Row locks taken by the conditional updates serialise concurrent writers of one row.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Transaction};

use crate::domain::clock::SharedClock;
use crate::domain::ports::StoreResult;
use crate::store::Limits;

pub type Db = sqlx::Postgres;

// Compiled once per backend on purpose (see the included file), hence the same file twice.
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod queries;
mod hot_path;

pub use queries::SqlStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

pub async fn connect(url: &str, clock: SharedClock, limits: Limits) -> StoreResult<SqlStore> {
    let mut options = PgConnectOptions::from_str(url)?;
    if let Some(timeout) = limits.statement_timeout {
        // Set at connection start-up, so it holds for every statement of every connection;
        // it also bounds a statement's wait for a row lock that another transaction holds.
        options = options.options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
    }
    // No `SELECT 1` round trip before each use: a connection the server closed fails its next
    // statement instead, and is then discarded by the pool; idle connections are retired after
    // 10 minutes (sqlx's default), before a typical server or proxy would drop them.
    // The pool's wait for a connection bounds connecting too: a stopped server (connection
    // refused, which sqlx retries) or one that does not answer makes a request fail after
    // `acquire_timeout`, not after sqlx's default 30 s.
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(limits.acquire_timeout)
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    Ok(SqlStore::new(pool.clone(), pool.clone(), hot_path::HotPath::new(pool, limits.exchange_bound()), clock, limits))
}

async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin().await
}

fn migrator() -> &'static sqlx::migrate::Migrator {
    &MIGRATOR
}
