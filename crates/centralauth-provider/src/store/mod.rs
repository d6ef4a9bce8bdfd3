//! The implementations of the domain's storage ports (`crate::domain::ports`): one SQL
//! implementation serves SQLite and PostgreSQL (see `sql/`), chosen once from the database URL
//! by [`connect`].

mod errors;
pub mod health;
mod hot_path;
mod postgres;
mod sqlite;
mod epoch_cache;

use std::sync::Arc;
use std::time::Duration;

use crate::domain::clock::SharedClock;
use crate::domain::ports::{Store, StoreError, StoreResult};

/// How long the store waits for its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// For a connection from the pool, connecting included (a server that refuses connections
    /// is retried until then).
    pub acquire_timeout: Duration,
    /// For one statement: PostgreSQL's `statement_timeout`, which also bounds a wait for a row
    /// lock; on this side, one second more bounds each exchange of the hot path and each BEGIN
    /// and COMMIT, for a server that stopped answering altogether (`errors::bounded`). `None`:
    /// no bound (the CLI's long imports and migrations).
    pub statement_timeout: Option<Duration>,
}

impl Limits {
    /// The CLI's: it waits as long as an operator would (sqlx's default pool wait), and its
    /// bulk imports may run statements for minutes.
    pub const PATIENT: Limits = Limits { acquire_timeout: Duration::from_secs(30), statement_timeout: None };

    /// The bound on this side of one exchange with the database (`errors::bounded`).
    pub fn exchange_bound(&self) -> Duration {
        // A day stands for no bound (tokio's timers take any duration, but a day reads better).
        self.statement_timeout.map_or(Duration::from_secs(86_400), |t| t + Duration::from_secs(1))
    }
}

/// Opens the database named by `url` (`sqlite://…` or `postgres://…`) with the CLI's patient
/// limits. Every time the store writes comes from `clock`.
pub async fn connect(url: &str, clock: SharedClock) -> StoreResult<Arc<dyn Store>> {
    connect_with(url, clock, Limits::PATIENT).await
}

/// Opens the database named by `url` with `limits` (the server's, from its configuration).
pub async fn connect_with(url: &str, clock: SharedClock, limits: Limits) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::connect(url, clock, limits).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::connect(url, clock, limits).await?))
    } else {
        Err(StoreError::Other(format!("unsupported database URL {url:?}: use sqlite://… or postgres://…").into()))
    }
}
