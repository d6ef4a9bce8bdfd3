//! The audit log.

use async_trait::async_trait;

use super::{SqlStore, write_audit};
use crate::domain::audit::AuditEntry;
use crate::store::{AuditRecord, AuditStore, StoreResult};

#[async_trait]
impl AuditStore for SqlStore {
    async fn insert_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.write().await?;
        write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn recent_audit(&self, limit: i64) -> StoreResult<Vec<AuditRecord>> {
        let rows: Vec<(i64, String, String, String, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT at, actor, action, target, before_state, after_state FROM audit_events ORDER BY id DESC LIMIT $1")
                .bind(limit.clamp(1, 1000))
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(at, actor, action, target, before, after)| AuditRecord { at, actor, action, target, before, after })
            .collect())
    }
}
