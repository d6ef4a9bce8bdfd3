//! The SQLite connection settings, written once for both drivers: every connection of the
//! store, sqlx's (`sqlx_options`) and the hot path's rusqlite ones (`open`), gets the pragmas of
//! [`settings`] for its role, so that the two drivers never disagree about how the file is used.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::SqliteConnectOptions;

/// What a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// sqlx's pools, the reader pool and the one-connection writer pool: they wait for another
    /// process's write lock in SQLite's busy handler.
    Pool,
    /// The hot path's writer: it waits for another process's write lock itself, sleeping the
    /// task instead of the runtime's thread (`hot_path.rs`).
    HotPathWriter,
    /// A hot path reader, one per runtime thread.
    HotPathReader,
    /// The checkpointer's thread (`checkpoint.rs`).
    Checkpointer,
}

/// How a connection of one role is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub busy_timeout: Duration,
    /// Applied in order when the connection opens.
    pub pragmas: Vec<(&'static str, &'static str)>,
}

/// The one definition of how the store's SQLite connections are set up.
pub fn settings(role: Role) -> Settings {
    let mut pragmas = vec![
        ("journal_mode", "WAL"),
        // In WAL mode NORMAL is durable against crashes of the process; a power loss may lose
        // the last transactions, never corrupt the file.
        ("synchronous", "NORMAL"),
        ("foreign_keys", "ON"),
        // Checkpoints run on a thread of their own (`checkpoint.rs`), never inside a commit.
        ("wal_autocheckpoint", "0"),
    ];
    let busy_timeout = match role {
        Role::Pool => Duration::from_secs(30),
        // The busy wait is the hot path's own (`HotPath::begin`).
        Role::HotPathWriter => Duration::ZERO,
        // A reader in WAL mode never waits for the writer; only a checkpoint's brief locks or a
        // recovery can make it retry.
        Role::HotPathReader => {
            pragmas.push(("query_only", "ON"));
            Duration::from_secs(5)
        }
        Role::Checkpointer => Duration::from_secs(5),
    };
    Settings { busy_timeout, pragmas }
}

/// sqlx's options for the database at `url`, which is created when missing.
pub fn sqlx_options(url: &str, role: Role) -> Result<SqliteConnectOptions, sqlx::Error> {
    let settings = settings(role);
    let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true).busy_timeout(settings.busy_timeout);
    Ok(settings.pragmas.into_iter().fold(options, |options, (name, value)| options.pragma(name, value)))
}

/// Opens a rusqlite connection to the existing database at `path`, for use on one thread at a
/// time (`NO_MUTEX`: the hot path never shares a connection between threads at once).
pub fn open(path: &Path, role: Role) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    let settings = settings(role);
    conn.busy_timeout(settings.busy_timeout)?;
    for (name, value) in settings.pragmas {
        // `journal_mode` answers with the mode it set, so every pragma is read as a query.
        conn.query_row(&format!("PRAGMA {name} = {value}"), [], |_| Ok(())).or_else(|err| match err {
            rusqlite::Error::QueryReturnedNoRows => Ok(()),
            err => Err(err),
        })?;
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection as _, Row as _, SqliteConnection};

    use super::*;

    /// What `settings` sets, read back.
    const PRAGMAS: [&str; 6] = ["journal_mode", "synchronous", "foreign_keys", "wal_autocheckpoint", "query_only", "busy_timeout"];

    fn read_rusqlite(conn: &Connection, sql: &str) -> String {
        conn.query_row(sql, [], |row| {
            Ok(match row.get_ref(0)? {
                rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                other => other.as_str().unwrap_or_default().to_string(),
            })
        })
        .unwrap()
    }

    async fn read_sqlx(conn: &mut SqliteConnection, sql: &str) -> String {
        let row = sqlx::query(sql).fetch_one(&mut *conn).await.unwrap();
        // Integers read as text, as rusqlite's are above.
        row.try_get_unchecked::<String, _>(0).unwrap()
    }

    async fn both(role: Role) -> (Vec<String>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.db");
        let mut sqlx_conn = SqliteConnection::connect_with(&sqlx_options(&format!("sqlite://{}", path.display()), role).unwrap()).await.unwrap();
        let rusqlite_conn = open(&path, role).unwrap();
        let mut from_sqlx = Vec::new();
        let mut from_rusqlite = Vec::new();
        for name in PRAGMAS {
            from_sqlx.push(format!("{name}={}", read_sqlx(&mut sqlx_conn, &format!("PRAGMA {name}")).await));
            from_rusqlite.push(format!("{name}={}", read_rusqlite(&rusqlite_conn, &format!("PRAGMA {name}"))));
        }
        (from_sqlx, from_rusqlite)
    }

    #[tokio::test]
    async fn rusqlite_and_sqlx_run_the_same_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("version.db");
        let mut sqlx_conn = SqliteConnection::connect_with(&sqlx_options(&format!("sqlite://{}", path.display()), Role::Pool).unwrap()).await.unwrap();
        let rusqlite_conn = open(&path, Role::HotPathWriter).unwrap();
        let sql = "SELECT sqlite_version() || ' ' || sqlite_source_id()";
        assert_eq!(read_sqlx(&mut sqlx_conn, sql).await, read_rusqlite(&rusqlite_conn, sql));
    }

    #[tokio::test]
    async fn both_drivers_set_connections_up_alike() {
        for role in [Role::Pool, Role::HotPathWriter, Role::HotPathReader, Role::Checkpointer] {
            let (from_sqlx, from_rusqlite) = both(role).await;
            assert_eq!(from_sqlx, from_rusqlite, "{role:?}");
            let busy = format!("busy_timeout={}", settings(role).busy_timeout.as_millis());
            assert!(from_rusqlite.contains(&busy), "{role:?}: {from_rusqlite:?}");
        }
        // The hot path's writer and sqlx's writer differ only in who waits for a lock.
        let (pool, _) = both(Role::Pool).await;
        let (_, writer) = both(Role::HotPathWriter).await;
        assert_eq!(pool[..5], writer[..5]);
        assert_eq!(pool[0], "journal_mode=wal");
    }
}
