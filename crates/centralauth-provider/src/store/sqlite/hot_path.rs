//! SQLite's hot path (why and what for: `store/hot_path.rs`): rusqlite connections used on the calling thread.
//! Reads go to a connection of the calling thread's own, kept with its prepared statements for
//! the store's life. A hot path transaction holds the sqlx writer pool's one connection while it
//! runs on the hot path writer connection, so that every write of this process still queues in one
//! place; only a writer of another process (the CLI) can make it wait, and it waits by sleeping
//! the task, not the runtime's thread.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use sqlx::Pool;
use sqlx::pool::PoolConnection;
use thread_local::ThreadLocal;

use super::Db;
use super::checkpoint::Checkpointer;
use super::settings::{self, Role};
use crate::domain::ports::StoreResult;
use crate::store::errors::before_commit;
use crate::store::hot_path::{Arg, FromSqliteRow};

/// How long a hot path transaction waits for another process's write lock, as the sqlx
/// connections' busy timeout does.
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(30);

pub struct HotPath {
    path: PathBuf,
    /// Lives as long as the store; kept here, with the rest of SQLite's own state.
    _checkpoints: Checkpointer,
    readers: ThreadLocal<Connection>,
    writer: tokio::sync::Mutex<Connection>,
}

impl HotPath {
    /// Opens the hot path writer; readers open on each thread's first look-up. The database must
    /// exist and be migrated.
    pub fn open(path: &Path, checkpoints: Checkpointer) -> StoreResult<Self> {
        // Its busy wait is ours (`begin`), so that it sleeps the task instead of the thread.
        let writer = settings::open(path, Role::HotPathWriter)?;
        Ok(Self { path: path.to_path_buf(), _checkpoints: checkpoints, readers: ThreadLocal::new(), writer: tokio::sync::Mutex::new(writer) })
    }

    fn reader(&self) -> StoreResult<&Connection> {
        Ok(self.readers.get_or_try(|| settings::open(&self.path, Role::HotPathReader))?)
    }

    pub async fn fetch_optional<R: FromSqliteRow>(&self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Option<R>> {
        query_optional(self.reader()?, sql, args)
    }

    pub async fn fetch_all<R: FromSqliteRow>(&self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Vec<R>> {
        let mut stmt = self.reader()?.prepare_cached(sql)?;
        bind(&mut stmt, args)?;
        let mut rows = stmt.raw_query();
        let mut all = Vec::new();
        while let Some(row) = rows.next()? {
            all.push(R::from_sqlite_row(row)?);
        }
        Ok(all)
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE`) on the hot path writer.
    pub async fn begin(&self, writer: &Pool<Db>) -> StoreResult<HotPathTx<'_>> {
        let lane = writer.acquire().await?;
        // Never contended: only taken while holding the writer pool's one connection.
        let conn = self.writer.lock().await;
        if !conn.is_autocommit() {
            // A transaction whose rollback failed when it was dropped.
            conn.execute_batch("ROLLBACK")?;
        }
        let deadline = Instant::now() + WRITE_LOCK_WAIT;
        let mut pause = Duration::from_millis(1);
        loop {
            match conn.execute_batch("BEGIN IMMEDIATE") {
                Ok(()) => break,
                Err(e) if is_busy(&e) && Instant::now() < deadline => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(HotPathTx { _lane: lane, conn, open: true })
    }
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(err.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

/// Binds `$n` to `args[n - 1]`, as sqlx does, so that the statements shared with PostgreSQL
/// may use a parameter twice or out of order (rusqlite would number them by first appearance).
fn bind(stmt: &mut rusqlite::Statement<'_>, args: &[Arg<'_>]) -> rusqlite::Result<()> {
    for index in 1..=stmt.parameter_count() {
        let number = stmt.parameter_name(index).and_then(|name| name.strip_prefix('$')).and_then(|n| n.parse::<usize>().ok());
        let arg = number.and_then(|n| args.get(n.wrapping_sub(1))).ok_or(rusqlite::Error::InvalidParameterCount(index, args.len()))?;
        stmt.raw_bind_parameter(index, arg)?;
    }
    Ok(())
}

fn query_optional<R: FromSqliteRow>(conn: &Connection, sql: &str, args: &[Arg<'_>]) -> StoreResult<Option<R>> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, args)?;
    let mut rows = stmt.raw_query();
    Ok(match rows.next()? {
        Some(row) => Some(R::from_sqlite_row(row)?),
        None => None,
    })
}

/// A write transaction on the hot path writer, rolled back when dropped uncommitted.
pub struct HotPathTx<'a> {
    _lane: PoolConnection<Db>,
    conn: tokio::sync::MutexGuard<'a, Connection>,
    open: bool,
}

impl HotPathTx<'_> {
    pub async fn fetch_optional<R: FromSqliteRow>(&mut self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<Option<R>> {
        query_optional(&self.conn, sql, args)
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> StoreResult<u64> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        bind(&mut stmt, args)?;
        Ok(stmt.raw_execute()? as u64)
    }

    /// Commits, unless the request's write deadline has passed: then the transaction is rolled
    /// back (by `Drop`) and the answer is `Unavailable` (`domain::ports::deadline`).
    pub async fn commit(mut self) -> StoreResult<()> {
        before_commit()?;
        self.conn.execute_batch("COMMIT")?;
        crate::store::health::DATABASE.report_success();
        self.open = false;
        Ok(())
    }
}

impl Drop for HotPathTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // A failed rollback is retried by the next `begin`.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
