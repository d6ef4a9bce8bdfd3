//! Sign-in sessions and the failed-login counters of the rate limit.

use async_trait::async_trait;

use super::SqlStore;
use super::events::enqueue_event;
use crate::domain::application::ApplicationId;
use crate::domain::oidc::{self, EventKind, OFFLINE_ACCESS};
use crate::domain::clock::UnixTime;
use crate::domain::secret::SecretDigest;
use crate::domain::session::SessionUser;
use crate::domain::user::UserId;
use crate::domain::ports::{EndedSession, LoginThrottleStore, SessionStore, StoreResult, ThrottleState};

#[async_trait]
impl SessionStore for SqlStore {
    async fn insert_session(&self, id: &SecretDigest, user: UserId, sid: &str, now: UnixTime, expires_at: UnixTime) -> StoreResult<()> {
        sqlx::query("INSERT INTO sessions (id_digest, user_id, sid, auth_time, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id.0)
            .bind(user.0)
            .bind(sid)
            .bind(now)
            .bind(expires_at)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn find_session(&self, id: &SecretDigest, now: UnixTime) -> StoreResult<Option<SessionUser>> {
        let row: Option<(i64, String, bool, i64, Option<String>)> = sqlx::query_as(
            "SELECT s.user_id, u.username, u.is_admin, s.auth_time, s.sid FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_digest = $1 AND s.expires_at > $2 AND u.is_active = $3",
        )
        .bind(&id.0)
        .bind(now)
        .bind(true)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(user_id, username, is_admin, auth_time, sid)| SessionUser { user_id: UserId(user_id), username, is_admin, auth_time, sid }))
    }

    async fn delete_session(&self, id: &SecretDigest) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_digest = $1").bind(&id.0).execute(&self.writer).await?;
        Ok(())
    }

    async fn end_session(&self, id: &SecretDigest, now: UnixTime) -> StoreResult<Option<EndedSession>> {
        let mut tx = self.write().await?;
        let ended: Option<(i64, Option<String>)> =
            sqlx::query_as("DELETE FROM sessions WHERE id_digest = $1 RETURNING user_id, sid").bind(&id.0).fetch_optional(&mut *tx).await?;
        let Some((user_id, sid)) = ended else { return Ok(None) };
        let mut notified = Vec::new();
        if let Some(sid) = &sid {
            // The applications signed in through this session, told before their grants go.
            let apps: Vec<(i64,)> = sqlx::query_as(
                "SELECT DISTINCT application_id FROM token_families WHERE sid = $1 AND revoked_at IS NULL AND expires_at > $2",
            )
            .bind(sid)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "UPDATE token_families SET revoked_at = $1 WHERE sid = $2 AND revoked_at IS NULL AND scope NOT LIKE '%{OFFLINE_ACCESS}%'"
            ))
            .bind(now)
            .bind(sid)
            .execute(&mut *tx)
            .await?;
            let subject = oidc::subject(user_id);
            for (app,) in apps {
                if enqueue_event(&mut tx, ApplicationId(app), EventKind::Logout, &subject, Some(sid), now).await? {
                    notified.push(ApplicationId(app));
                }
            }
        }
        tx.commit().await?;
        Ok(Some(EndedSession { user_id: UserId(user_id), sid, notified }))
    }
}

#[async_trait]
impl LoginThrottleStore for SqlStore {
    async fn find_throttle(&self, key: &str) -> StoreResult<Option<ThrottleState>> {
        // Read on the writer: a reservation compares against what it has just read, and a
        // replica-lagging read would only cost a lost round.
        let row: Option<(i64, i64)> = sqlx::query_as("SELECT failures, last_attempt_at FROM sign_in_throttle WHERE throttle_key = $1")
            .bind(key)
            .fetch_optional(&self.writer)
            .await?;
        Ok(row.map(|(failures, last_attempt_at)| ThrottleState { failures, last_attempt_at }))
    }

    async fn swap_throttle(&self, key: &str, seen: Option<ThrottleState>, new: ThrottleState) -> StoreResult<bool> {
        // One statement each way, so that the comparison and the write are atomic on both
        // backends: PostgreSQL re-evaluates the WHERE on the row a concurrent update left, and
        // SQLite runs one writer at a time.
        let done = match seen {
            None => sqlx::query(
                "INSERT INTO sign_in_throttle (throttle_key, failures, last_attempt_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (throttle_key) DO NOTHING",
            )
            .bind(key)
            .bind(new.failures)
            .bind(new.last_attempt_at)
            .execute(&self.writer)
            .await?,
            Some(seen) => sqlx::query(
                "UPDATE sign_in_throttle SET failures = $2, last_attempt_at = $3 \
                 WHERE throttle_key = $1 AND failures = $4 AND last_attempt_at = $5",
            )
            .bind(key)
            .bind(new.failures)
            .bind(new.last_attempt_at)
            .bind(seen.failures)
            .bind(seen.last_attempt_at)
            .execute(&self.writer)
            .await?,
        };
        Ok(done.rows_affected() == 1)
    }

    async fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sign_in_throttle WHERE throttle_key = $1").bind(key).execute(&self.writer).await?;
        Ok(())
    }
}
