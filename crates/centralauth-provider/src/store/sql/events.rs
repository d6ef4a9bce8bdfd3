//! The outbox of back-channel deliveries. Rows are written by the transaction of the change
//! they announce (`enqueue_event`) and leased by the delivery worker of any instance.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Transaction};

use super::{Db, SqlStore};
use crate::domain::application::ApplicationId;
use crate::domain::clock::UnixTime;
use crate::domain::oidc::EventKind;
use crate::domain::secret::Secret;
use crate::domain::ports::{EventStore, PendingEvent, StoreResult};

/// The queue is bounded per application: when a receiver stays away, the oldest deliveries
/// go first (they are also the least useful: tokens expire, and refresh re-checks access).
pub const MAX_PENDING_PER_APPLICATION: i64 = 10_000;

/// Queues a delivery to `app` if it registered a back-channel URI; returns whether it did.
pub(super) async fn enqueue_event(
    tx: &mut Transaction<'static, Db>,
    app: ApplicationId,
    kind: EventKind,
    subject: &str,
    sid: Option<&str>,
    now: UnixTime,
) -> StoreResult<bool> {
    let jti = Secret::generate().expose()[..22].to_string();
    let queued = sqlx::query(
        "INSERT INTO event_deliveries (application_id, kind, subject, sid, jti, created_at, next_attempt_at) \
         SELECT id, $2, $3, $4, $5, $6, $6 FROM applications WHERE id = $1 AND backchannel_logout_uri <> ''",
    )
    .bind(app.0)
    .bind(kind.as_str())
    .bind(subject)
    .bind(sid)
    .bind(&jti)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        > 0;
    if queued {
        let dropped = sqlx::query(
            "DELETE FROM event_deliveries WHERE application_id = $1 AND id <= \
             (SELECT id FROM event_deliveries WHERE application_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
        )
        .bind(app.0)
        .bind(MAX_PENDING_PER_APPLICATION)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if dropped > 0 {
            tracing::warn!(application = app.0, dropped, "back-channel queue full: oldest deliveries dropped");
        }
    }
    Ok(queued)
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: i64,
    application_id: i64,
    kind: String,
    subject: String,
    sid: Option<String>,
    jti: String,
    created_at: i64,
    attempts: i64,
}

#[async_trait]
impl EventStore for SqlStore {
    async fn claim_due_events(&self, now: UnixTime, lease_until: UnixTime, limit: i64) -> StoreResult<Vec<PendingEvent>> {
        // A read first: the worker polls often, and an idle poll must not take SQLite's write lock.
        let due: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM event_deliveries WHERE next_attempt_at <= $1 LIMIT 1").bind(now).fetch_optional(&self.pool).await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        // The lease is the conditional update: a row another instance leased first no longer
        // matches `next_attempt_at <= now`.
        let rows: Vec<ClaimedRow> = sqlx::query_as(
            "UPDATE event_deliveries SET next_attempt_at = $2 WHERE next_attempt_at <= $1 AND id IN \
             (SELECT id FROM event_deliveries WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3) \
             RETURNING id, application_id, kind, subject, sid, jti, created_at, attempts",
        )
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(&self.writer)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new("SELECT id, client_id, backchannel_logout_uri, id_token_signing_alg FROM applications WHERE id IN (");
        let mut list = qb.separated(", ");
        for row in &rows {
            list.push_bind(row.application_id);
        }
        qb.push(")");
        let apps: Vec<(i64, String, String, String)> = qb.build_query_as().fetch_all(&self.pool).await?;
        let mut pending = Vec::with_capacity(rows.len());
        for row in rows {
            let app = apps.iter().find(|a| a.0 == row.application_id);
            match (app, EventKind::parse(&row.kind)) {
                (Some((_, client_id, uri, alg)), Some(kind)) if !uri.is_empty() => pending.push(PendingEvent {
                    id: row.id,
                    client_id: client_id.clone(),
                    uri: uri.clone(),
                    signing_alg: alg.clone(),
                    kind,
                    subject: row.subject,
                    sid: row.sid,
                    jti: row.jti,
                    created_at: row.created_at,
                    attempts: row.attempts,
                }),
                // The application removed its URI since: nobody to tell.
                _ => self.finish_event(row.id).await?,
            }
        }
        Ok(pending)
    }

    async fn finish_event(&self, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM event_deliveries WHERE id = $1").bind(id).execute(&self.writer).await?;
        Ok(())
    }

    async fn retry_event(&self, id: i64, attempts: i64, next_attempt_at: UnixTime, error: &str) -> StoreResult<()> {
        let error: String = error.chars().take(500).collect();
        sqlx::query("UPDATE event_deliveries SET attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1")
            .bind(id)
            .bind(attempts)
            .bind(next_attempt_at)
            .bind(error)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn count_pending_events(&self) -> StoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM event_deliveries").fetch_one(&self.pool).await?;
        Ok(n)
    }
}
