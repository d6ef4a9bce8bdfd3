//! WAL checkpoints on a thread of their own. SQLite by default checkpoints inside the commit
//! that pushes the WAL past 1,000 pages, and a checkpoint ends with an fsync of the database
//! file: with one writer at a time, every write queued behind that commit waited for the disk
//! (`bench/run`: refresh grants went from 2,700 to 5,600 per second, p99 from 22 ms to 5 ms,
//! when the commits stopped checkpointing). A passive checkpoint needs no lock that a writer
//! holds, so here it runs beside the writes, never in their way.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread;
use std::time::Duration;

use super::settings::{self, Role};

use crate::domain::ports::StoreResult;

/// How often the WAL is copied back into the database file: at a few thousand writing
/// transactions per second, the WAL stays within some tens of MiB.
const INTERVAL: Duration = Duration::from_millis(100);

/// Runs checkpoints until dropped.
pub struct Checkpointer {
    _stop: Sender<()>,
}

impl Checkpointer {
    pub fn start(path: &Path) -> StoreResult<Self> {
        let conn = settings::open(path, Role::Checkpointer)?;
        let (stop, stopped) = mpsc::channel::<()>();
        thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                // Ends when the store is dropped (the sender with it).
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        // A full disk (SQLITE_FULL, or SQLITE_IOERR while writing) is the
                        // outage that the requests log once (`store::health`): ten lines a
                        // second of it here would drown the log.
                        if err.sqlite_error().is_some_and(|e| matches!(e.extended_code & 0xff, 10 | 13)) {
                            tracing::debug!(error = %err, "WAL checkpoint failed; retrying");
                        } else {
                            tracing::warn!(error = %err, "WAL checkpoint failed; retrying");
                        }
                    }
                }
            })
            .map_err(|e| crate::domain::ports::StoreError::Other(Box::new(e)))?;
        Ok(Self { _stop: stop })
    }
}
