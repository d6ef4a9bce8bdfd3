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
use crate::domain::ports::{EndedSession, LoginThrottleStore, SessionStore, StoreResult};

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
    async fn record_login_failure(&self, keys: &[String], now: UnixTime) -> StoreResult<()> {
        let mut tx = self.write().await?;
        for key in keys {
            sqlx::query("INSERT INTO login_failures (throttle_key, failed_at) VALUES ($1, $2)")
                .bind(key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn count_login_failures(&self, key: &str, since: UnixTime) -> StoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM login_failures WHERE throttle_key = $1 AND failed_at >= $2")
            .bind(key)
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1").bind(key).execute(&self.writer).await?;
        Ok(())
    }
}
