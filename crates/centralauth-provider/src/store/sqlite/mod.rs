//! SQLite: the embedded default. WAL mode, a busy timeout, one connection for all writes (they
//! queue in the pool, not in SQLite's busy handler), and write transactions that take the write
//! lock up front (`BEGIN IMMEDIATE`), so that a writer of another process (the CLI) waits instead
//! of failing with SQLITE_BUSY on a lock upgrade. Every connection, sqlx's or rusqlite's, is set
//! up by `settings.rs`.

use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{Pool, Transaction};

use crate::domain::clock::SharedClock;
use crate::domain::ports::{StoreError, StoreResult};

pub type Db = sqlx::Sqlite;

// Compiled once per backend on purpose (see the included file), hence the same file twice.
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod queries;
mod checkpoint;
mod hot_path;
mod settings;

pub use queries::SqlStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

pub async fn connect(url: &str, clock: SharedClock) -> StoreResult<SqlStore> {
    let options = settings::sqlx_options(url, settings::Role::Pool)?;
    // No ping before each use: an embedded database does not drop connections, and every
    // ping is a round trip to the connection's worker thread.
    if url.contains(":memory:") || url.contains("mode=memory") {
        // Every connection to an in-memory database would open a database of its own.
        return Err(StoreError::Other("an in-memory SQLite database cannot be shared by the provider's connections: use sqlite://FILE".into()));
    }
    let pool = SqlitePoolOptions::new().max_connections(8).test_before_acquire(false).connect_with(options.clone()).await?;
    // SQLite has one writer at a time: a second connection that wants to write waits in the
    // busy handler, which sleeps with backoff. One connection for all writes queues them here.
    let writer = SqlitePoolOptions::new().max_connections(1).test_before_acquire(false).connect_with(options.clone()).await?;
    // After the first connection, which created the file and put it in WAL mode.
    let hot_path = hot_path::HotPath::open(options.get_filename(), checkpoint::Checkpointer::start(options.get_filename())?)?;
    Ok(SqlStore::new(pool, writer, hot_path, clock))
}

async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

fn migrator() -> &'static sqlx::migrate::Migrator {
    &MIGRATOR
}
