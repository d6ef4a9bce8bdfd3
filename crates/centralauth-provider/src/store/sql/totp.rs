//! TOTP factors (their sealed secrets and last accepted steps) and recovery codes (digests).
//! Single use is decided here by conditional UPDATEs (DESIGN §5), never by a read and a write.

use async_trait::async_trait;

use super::{SqlStore, write_audit};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::clock::UnixTime;
use crate::domain::mfa::{FactorKind, FactorSummary};
use crate::domain::ports::{NewTotpFactor, RecoveryCodeStore, StoreResult, TotpFactor, TotpStore};
use crate::domain::secret::SecretDigest;
use crate::domain::user::UserId;

type TotpRow = (i64, String, Option<Vec<u8>>, i64);

/// Deletes the user's recovery codes and inserts `digests` in the caller's transaction.
pub(super) async fn replace_codes(tx: &mut sqlx::Transaction<'static, super::Db>, user: UserId, digests: &[SecretDigest], now: UnixTime) -> StoreResult<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user.0).execute(&mut **tx).await?;
    for digest in digests {
        sqlx::query("INSERT INTO recovery_codes (user_id, digest, created_at) VALUES ($1, $2, $3)")
            .bind(user.0)
            .bind(&digest.0)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub(super) fn codes_entry(actor: &Actor, user: UserId, count: usize) -> AuditEntry {
    AuditEntry::new(actor, "mfa.recovery_codes", format!("{count} recovery codes")).user(user.0).after(&serde_json::json!({ "count": count }))
}

#[async_trait]
impl TotpStore for SqlStore {
    async fn list_totp_factors(&self, user: UserId) -> StoreResult<Vec<TotpFactor>> {
        let rows: Vec<TotpRow> = sqlx::query_as("SELECT id, name, sealed_secret, last_step FROM user_factors WHERE user_id = $1 AND kind = 'totp' ORDER BY id")
            .bind(user.0)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, name, sealed, last_step)| sealed.map(|sealed_secret| TotpFactor { id, name, sealed_secret, last_step }))
            .collect())
    }

    async fn insert_totp_factor(&self, factor: &NewTotpFactor, recovery_codes: Option<&[SecretDigest]>, actor: &Actor) -> StoreResult<FactorSummary> {
        let mut tx = self.write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO user_factors (user_id, kind, name, created_at, sealed_secret, last_step) VALUES ($1, 'totp', $2, $3, $4, $5) RETURNING id",
        )
        .bind(factor.user_id.0)
        .bind(&factor.name)
        .bind(factor.created_at)
        .bind(&factor.sealed_secret)
        .bind(factor.last_step)
        .fetch_one(&mut *tx)
        .await?;
        let summary = FactorSummary { id, user_id: factor.user_id, kind: FactorKind::Totp, name: factor.name.clone(), created_at: factor.created_at, last_used_at: None };
        let now = self.clock.now();
        write_audit(&mut tx, &AuditEntry::new(actor, "mfa.enrol", format!("totp {}", factor.name)).user(factor.user_id.0).after(&summary), now).await?;
        if let Some(digests) = recovery_codes {
            replace_codes(&mut tx, factor.user_id, digests, factor.created_at).await?;
            write_audit(&mut tx, &codes_entry(actor, factor.user_id, digests.len()), now).await?;
        }
        self.commit(tx).await?;
        Ok(summary)
    }

    async fn claim_totp_step(&self, user: UserId, factor: i64, step: i64, now: UnixTime) -> StoreResult<bool> {
        let claimed = sqlx::query(
            "UPDATE user_factors SET last_step = $1, last_used_at = $2 WHERE id = $3 AND user_id = $4 AND kind = 'totp' AND last_step < $1",
        )
        .bind(step)
        .bind(now)
        .bind(factor)
        .bind(user.0)
        .execute(&self.writer)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }
}

#[async_trait]
impl RecoveryCodeStore for SqlStore {
    async fn count_recovery_codes(&self, user: UserId) -> StoreResult<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    async fn replace_recovery_codes(&self, user: UserId, digests: &[SecretDigest], now: UnixTime, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.write().await?;
        replace_codes(&mut tx, user, digests, now).await?;
        write_audit(&mut tx, &codes_entry(actor, user, digests.len()), self.clock.now()).await?;
        self.commit(tx).await
    }

    async fn consume_recovery_code(&self, user: UserId, digest: &SecretDigest, now: UnixTime, actor: &Actor) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let used = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND digest = $3 AND used_at IS NULL")
            .bind(now)
            .bind(user.0)
            .bind(&digest.0)
            .execute(&mut *tx)
            .await?;
        if used.rows_affected() != 1 {
            return Ok(false);
        }
        let (left,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL").bind(user.0).fetch_one(&mut *tx).await?;
        let entry = AuditEntry::new(actor, "mfa.recovery_code_used", "recovery code").user(user.0).after(&serde_json::json!({ "unused_left": left }));
        write_audit(&mut tx, &entry, self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(true)
    }
}
