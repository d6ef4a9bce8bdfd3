//! The audit log.

use async_trait::async_trait;
use sqlx::QueryBuilder;

use super::{Db, SqlStore, write_audit};
use crate::domain::audit::AuditEntry;
use crate::domain::ports::{AuditQuery, AuditRecord, AuditStore, StoreResult};

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    application_id: Option<i64>,
    user_id: Option<i64>,
    target: String,
    before_state: Option<String>,
    after_state: Option<String>,
}

impl From<AuditRow> for AuditRecord {
    fn from(r: AuditRow) -> Self {
        AuditRecord {
            id: r.id,
            application_id: r.application_id,
            user_id: r.user_id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            before: r.before_state,
            after: r.after_state,
        }
    }
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn insert_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.write().await?;
        write_audit(&mut tx, entry, self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(())
    }

    async fn recent_audit(&self, limit: i64) -> StoreResult<Vec<AuditRecord>> {
        self.query_audit(&AuditQuery { limit, ..Default::default() }).await
    }

    async fn query_audit(&self, query: &AuditQuery) -> StoreResult<Vec<AuditRecord>> {
        // Each filter has its index (actor, application or user, then time); ids grow with time.
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "SELECT id, at, actor, action, application_id, user_id, target, before_state, after_state FROM audit_events WHERE 1 = 1",
        );
        if let Some(actor) = &query.actor {
            qb.push(" AND actor = ").push_bind(actor.clone());
        }
        if let Some(app) = query.application_id {
            qb.push(" AND application_id = ").push_bind(app.0);
        }
        if let Some(user) = query.user_id {
            qb.push(" AND user_id = ").push_bind(user.0);
        }
        if let Some(before) = query.before_id {
            qb.push(" AND id < ").push_bind(before);
        }
        qb.push(" ORDER BY id DESC LIMIT ").push_bind(query.limit.clamp(1, 1000));
        let rows: Vec<AuditRow> = qb.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(AuditRecord::from).collect())
    }
}
