//! The implementations of the domain's storage ports (`crate::domain::ports`): one SQL
//! implementation serves SQLite and PostgreSQL (see `sql/`), chosen once from the database URL
//! by [`connect`].

mod errors;
mod hot_path;
mod postgres;
mod sqlite;
mod epoch_cache;

use std::sync::Arc;

use crate::domain::clock::SharedClock;
use crate::domain::ports::{Store, StoreError, StoreResult};

/// Opens the database named by `url`: `sqlite://…` or `postgres://…`.
/// Every time the store writes comes from `clock`.
pub async fn connect(url: &str, clock: SharedClock) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::connect(url, clock).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::connect(url, clock).await?))
    } else {
        Err(StoreError::Other(format!("unsupported database URL {url:?}: use sqlite://… or postgres://…").into()))
    }
}
