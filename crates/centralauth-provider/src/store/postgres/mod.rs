//! PostgreSQL, for production and for several provider instances on one database.
//! Row locks taken by the conditional updates serialise concurrent writers of one row.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Transaction};

use crate::domain::clock::SharedClock;
use crate::domain::ports::StoreResult;

pub type Db = sqlx::Postgres;

// Compiled once per backend on purpose (see the included file), hence the same file twice.
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod queries;
mod hot_path;

pub use queries::SqlStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

pub async fn connect(url: &str, clock: SharedClock) -> StoreResult<SqlStore> {
    let options = PgConnectOptions::from_str(url)?;
    // No `SELECT 1` round trip before each use: a connection the server closed fails its next
    // statement instead, and is then discarded by the pool; idle connections are retired after
    // 10 minutes (sqlx's default), before a typical server or proxy would drop them.
    let pool = PgPoolOptions::new().max_connections(16).test_before_acquire(false).connect_with(options).await?;
    Ok(SqlStore::new(pool.clone(), pool.clone(), hot_path::HotPath::new(pool), clock))
}

async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin().await
}

fn migrator() -> &'static sqlx::migrate::Migrator {
    &MIGRATOR
}
