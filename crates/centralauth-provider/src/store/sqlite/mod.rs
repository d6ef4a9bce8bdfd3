//! SQLite: the embedded default. WAL mode, a busy timeout, one connection for all writes (they
//! queue in the pool, not in SQLite's busy handler), and write transactions that take the write
//! lock up front (`BEGIN IMMEDIATE`), so that a writer of another process (the CLI) waits instead
//! of failing with SQLITE_BUSY on a lock upgrade. Every connection, sqlx's or rusqlite's, is set
//! up by `settings.rs`.

use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{Pool, Transaction};

use crate::domain::clock::SharedClock;
use crate::domain::ports::{StoreError, StoreResult};
use crate::store::Limits;

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

pub async fn connect(url: &str, clock: SharedClock, limits: Limits) -> StoreResult<SqlStore> {
    let options = settings::sqlx_options(url, settings::Role::Pool)?;
    // No ping before each use: an embedded database does not drop connections, and every
    // ping is a round trip to the connection's worker thread.
    if url.contains(":memory:") || url.contains("mode=memory") {
        // Every connection to an in-memory database would open a database of its own.
        return Err(StoreError::Other("an in-memory SQLite database cannot be shared by the provider's connections: use sqlite://FILE".into()));
    }
    create_private(options.get_filename())?;
    // `acquire_timeout` bounds a write's wait in the queue of the one writer connection, too.
    let pool = SqlitePoolOptions::new().max_connections(8).acquire_timeout(limits.acquire_timeout).test_before_acquire(false).connect_with(options.clone()).await?;
    // SQLite has one writer at a time: a second connection that wants to write waits in the
    // busy handler, which sleeps with backoff. One connection for all writes queues them here.
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(limits.acquire_timeout)
        .test_before_acquire(false)
        .after_release(|conn, _| Box::pin(leaves_no_transaction(conn)))
        .connect_with(options.clone())
        .await?;
    // After the first connection, which created the file and put it in WAL mode.
    let hot_path = hot_path::HotPath::open(options.get_filename(), checkpoint::Checkpointer::start(options.get_filename())?)?;
    Ok(SqlStore::new(pool, writer, hot_path, clock, limits))
}

/// Whether a writer connection may go back to the pool: not while sqlx still counts a
/// transaction open on it. On a full disk SQLite rolls a failed transaction back by itself;
/// sqlx's own ROLLBACK then fails ("no transaction is active") and leaves its count at one, so
/// that every later BEGIN on the connection would fail ("begin_with at non-zero transaction
/// depth") long after space was freed. Such a connection is closed, and the pool opens a new one.
async fn leaves_no_transaction(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // A dropped transaction's ROLLBACK is queued to the connection's worker: let it run first.
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

/// Creates a new database file readable by its owner only (0600), before SQLite creates it with
/// the process's umask (usually world-readable): it holds password hashes, digests and sealed
/// keys. SQLite gives the `-wal` and `-shm` files the database file's mode. An existing file is
/// left as the operator set it.
fn create_private(path: &std::path::Path) -> StoreResult<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Other(format!("creating {}: {e}", path.display()).into())),
    }
}

async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

fn migrator() -> &'static sqlx::migrate::Migrator {
    &MIGRATOR
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use crate::domain::ports::MaintenanceStore;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn a_new_database_and_its_wal_are_readable_by_their_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("centralauth.db");
        let store = super::connect(&format!("sqlite://{}", file.display()), crate::domain::clock::system(), crate::store::Limits::PATIENT).await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&dir.path().join("centralauth.db-wal")), 0o600);
    }

    #[tokio::test]
    async fn an_existing_database_keeps_the_mode_its_operator_gave_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shared.db");
        std::fs::write(&file, b"").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        super::connect(&format!("sqlite://{}", file.display()), crate::domain::clock::system(), crate::store::Limits::PATIENT).await.unwrap();
        assert_eq!(mode(&file), 0o640);
    }
}
