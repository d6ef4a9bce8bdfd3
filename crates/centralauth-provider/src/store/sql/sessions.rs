//! Sign-in sessions and the failed-login counters of the rate limit.

use async_trait::async_trait;

use sqlx::Transaction;

use super::{Db, SqlStore};
use super::events::enqueue_event;
use crate::domain::effects::{Sessions, Tokens, Withdrawal, Withdrawn};
use crate::domain::application::ApplicationId;
use crate::domain::mfa::Amr;
use crate::domain::oidc::{self, EventKind, OFFLINE_ACCESS};
use crate::domain::clock::UnixTime;
use crate::domain::secret::SecretDigest;
use crate::domain::session::SessionUser;
use crate::domain::user::UserId;
use crate::domain::ports::{EndedSession, LoginThrottleStore, SessionStore, StoreResult, ThrottleState};

#[async_trait]
impl SessionStore for SqlStore {
    async fn insert_session(&self, id: &SecretDigest, user: UserId, sid: &str, amr: &Amr, now: UnixTime, expires_at: UnixTime) -> StoreResult<()> {
        sqlx::query("INSERT INTO sessions (id_digest, user_id, sid, amr, auth_time, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id.0)
            .bind(user.0)
            .bind(sid)
            .bind(amr.to_string())
            .bind(now)
            .bind(expires_at)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn find_session(&self, id: &SecretDigest, now: UnixTime) -> StoreResult<Option<SessionUser>> {
        let row: Option<(i64, String, bool, i64, String, Option<String>)> = sqlx::query_as(
            "SELECT s.user_id, u.username, u.is_admin, s.auth_time, s.amr, s.sid FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_digest = $1 AND s.expires_at > $2 AND u.is_active = $3",
        )
        .bind(&id.0)
        .bind(now)
        .bind(true)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(user_id, username, is_admin, auth_time, amr, sid)| SessionUser {
            user_id: UserId(user_id),
            username,
            is_admin,
            auth_time,
            amr: Amr::parse(&amr),
            sid,
        }))
    }

    async fn step_up_session(&self, old: &SecretDigest, new: &SecretDigest, amr: &Amr, auth_time: UnixTime, now: UnixTime) -> StoreResult<bool> {
        let updated = sqlx::query("UPDATE sessions SET id_digest = $1, amr = $2, auth_time = $3 WHERE id_digest = $4 AND expires_at > $5")
            .bind(&new.0)
            .bind(amr.to_string())
            .bind(auth_time)
            .bind(&old.0)
            .bind(now)
            .execute(&self.writer)
            .await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn delete_session(&self, id: &SecretDigest) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_digest = $1").bind(&id.0).execute(&self.writer).await?;
        Ok(())
    }

    async fn end_session(&self, id: &SecretDigest, now: UnixTime) -> StoreResult<Option<EndedSession>> {
        let mut tx = self.write().await?;
        let ended = end_session_in(&mut tx, id, now).await?;
        self.commit(tx).await?;
        Ok(ended.map(|(session, _)| session))
    }
}

/// Signs one session out in the caller's transaction: deletes it, tells the applications that
/// hold live grants made in it (a logout token with its `sid`), then revokes those grants but
/// `offline_access` ones. Returns the session and how many token families went with it.
async fn end_session_in(tx: &mut Transaction<'static, Db>, id: &SecretDigest, now: UnixTime) -> StoreResult<Option<(EndedSession, u64)>> {
    let ended: Option<(i64, Option<String>)> =
        sqlx::query_as("DELETE FROM sessions WHERE id_digest = $1 RETURNING user_id, sid").bind(&id.0).fetch_optional(&mut **tx).await?;
    let Some((user_id, sid)) = ended else { return Ok(None) };
    let (mut notified, mut revoked) = (Vec::new(), 0);
    if let Some(sid) = &sid {
        // The applications signed in through this session, told before their grants go.
        let apps: Vec<(i64,)> =
            sqlx::query_as("SELECT DISTINCT application_id FROM token_families WHERE sid = $1 AND revoked_at IS NULL AND expires_at > $2")
                .bind(sid)
                .bind(now)
                .fetch_all(&mut **tx)
                .await?;
        revoked = sqlx::query(&format!(
            "UPDATE token_families SET revoked_at = $1 WHERE sid = $2 AND revoked_at IS NULL AND scope NOT LIKE '%{OFFLINE_ACCESS}%'"
        ))
        .bind(now)
        .bind(sid)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        let subject = oidc::subject(user_id);
        for (app,) in apps {
            if enqueue_event(tx, ApplicationId(app), EventKind::Logout, &subject, Some(sid), now).await? {
                notified.push(ApplicationId(app));
            }
        }
    }
    Ok(Some((EndedSession { user_id: UserId(user_id), sid, notified }, revoked)))
}

/// Carries out what a change withdraws from a user (`effects::Withdrawal`), in its
/// transaction: the sessions first, each signed out as at sign-out (so that the applications
/// signed in through it are told while its grants are still live), then every token family in
/// scope with the codes not yet exchanged, which an exchange would otherwise turn into new
/// tokens after the change.
pub(super) async fn withdraw(tx: &mut Transaction<'static, Db>, withdrawal: &Withdrawal, now: UnixTime) -> StoreResult<Withdrawn> {
    let user = withdrawal.user.0;
    let mut withdrawn = Withdrawn::default();
    if let Some(sessions) = &withdrawal.sessions {
        let ids: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT id_digest FROM sessions WHERE user_id = $1").bind(user).fetch_all(&mut **tx).await?;
        for (id,) in ids {
            let id = SecretDigest(id);
            if matches!(sessions, Sessions::AllBut(kept) if *kept == id) {
                continue;
            }
            if let Some((_, revoked)) = end_session_in(tx, &id, now).await? {
                withdrawn.sessions += 1;
                withdrawn.token_families += revoked;
            }
        }
    }
    let Some(tokens) = withdrawal.tokens else { return Ok(withdrawn) };
    let app = match tokens {
        Tokens::All => None,
        Tokens::Application(app) => Some(app.0),
    };
    // `$3 IS NULL` is every application: one statement for both scopes.
    withdrawn.token_families += sqlx::query(
        "UPDATE token_families SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR application_id = $3)",
    )
    .bind(now)
    .bind(user)
    .bind(app)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE authorization_codes SET consumed_at = $1 WHERE user_id = $2 AND consumed_at IS NULL AND ($3 IS NULL OR application_id = $3)",
    )
    .bind(now)
    .bind(user)
    .bind(app)
    .execute(&mut **tx)
    .await?;
    Ok(withdrawn)
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
