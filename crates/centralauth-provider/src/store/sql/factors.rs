//! Users' second factors and recovery codes, and sign-ins between their steps.

use async_trait::async_trait;

use super::{SqlStore, write_audit};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::clock::UnixTime;
use crate::domain::mfa::{Amr, FactorKind, FactorSummary};
use crate::domain::ports::{FactorStore, FlowPurpose, SignInFlow, SignInFlowStore, StoreError, StoreResult};
use crate::domain::secret::SecretDigest;
use crate::domain::user::UserId;

type SummaryRow = (i64, i64, String, String, i64, Option<i64>);

const SUMMARY: &str = "SELECT id, user_id, kind, name, created_at, last_used_at FROM user_factors";

fn summary((id, user_id, kind, name, created_at, last_used_at): SummaryRow) -> StoreResult<FactorSummary> {
    let kind = FactorKind::parse(&kind).ok_or_else(|| StoreError::Other(format!("unknown factor kind {kind:?}").into()))?;
    Ok(FactorSummary { id, user_id: UserId(user_id), kind, name, created_at, last_used_at })
}

#[async_trait]
impl FactorStore for SqlStore {
    async fn list_factors(&self, user: UserId) -> StoreResult<Vec<FactorSummary>> {
        let rows: Vec<SummaryRow> =
            sqlx::query_as(&format!("{SUMMARY} WHERE user_id = $1 ORDER BY id")).bind(user.0).fetch_all(&self.pool).await?;
        rows.into_iter().map(summary).collect()
    }

    async fn delete_factor(&self, user: UserId, id: i64, actor: &Actor) -> StoreResult<FactorSummary> {
        let mut tx = self.write().await?;
        let row: Option<SummaryRow> = sqlx::query_as(
            "DELETE FROM user_factors WHERE id = $1 AND user_id = $2 RETURNING id, user_id, kind, name, created_at, last_used_at",
        )
        .bind(id)
        .bind(user.0)
        .fetch_optional(&mut *tx)
        .await?;
        let removed = summary(row.ok_or(StoreError::NotFound)?)?;
        let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM user_factors WHERE user_id = $1").bind(user.0).fetch_one(&mut *tx).await?;
        if left == 0 {
            // Recovery codes stand in for a factor; without one they would be a way around none.
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user.0).execute(&mut *tx).await?;
        }
        let entry = AuditEntry::new(actor, "mfa.remove", format!("{} {}", removed.kind.as_str(), removed.name)).user(user.0).before(&removed);
        write_audit(&mut tx, &entry, self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(removed)
    }

    async fn delete_all_factors(&self, user: UserId, actor: &Actor) -> StoreResult<Vec<FactorSummary>> {
        let mut tx = self.write().await?;
        let rows: Vec<SummaryRow> =
            sqlx::query_as("DELETE FROM user_factors WHERE user_id = $1 RETURNING id, user_id, kind, name, created_at, last_used_at")
                .bind(user.0)
                .fetch_all(&mut *tx)
                .await?;
        let mut removed = rows.into_iter().map(summary).collect::<StoreResult<Vec<_>>>()?;
        removed.sort_by_key(|f| f.id);
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user.0).execute(&mut *tx).await?;
        let entry = AuditEntry::new(actor, "mfa.reset", format!("{} factors", removed.len())).user(user.0).before(&removed);
        write_audit(&mut tx, &entry, self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(removed)
    }
}

type FlowRow = (Option<i64>, String, String, i64, i64);

fn flow(purpose: FlowPurpose, (user_id, amr, state, created_at, expires_at): FlowRow) -> SignInFlow {
    SignInFlow { purpose, user_id: user_id.map(UserId), amr: Amr::parse(&amr), state, created_at, expires_at }
}

#[async_trait]
impl SignInFlowStore for SqlStore {
    async fn insert_flow(&self, id: &SecretDigest, f: &SignInFlow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sign_in_flows (id_digest, purpose, user_id, amr, state, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id.0)
        .bind(f.purpose.as_str())
        .bind(f.user_id.map(|u| u.0))
        .bind(f.amr.to_string())
        .bind(&f.state)
        .bind(f.created_at)
        .bind(f.expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_flow(&self, id: &SecretDigest, purpose: FlowPurpose, now: UnixTime) -> StoreResult<Option<SignInFlow>> {
        let row: Option<FlowRow> = sqlx::query_as(
            "SELECT user_id, amr, state, created_at, expires_at FROM sign_in_flows WHERE id_digest = $1 AND purpose = $2 AND expires_at > $3",
        )
        .bind(&id.0)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| flow(purpose, r)))
    }

    async fn take_flow(&self, id: &SecretDigest, purpose: FlowPurpose, now: UnixTime) -> StoreResult<Option<SignInFlow>> {
        // One statement: of two requests taking the same flow, the second deletes nothing.
        let row: Option<FlowRow> = sqlx::query_as(
            "DELETE FROM sign_in_flows WHERE id_digest = $1 AND purpose = $2 \
             RETURNING user_id, amr, state, created_at, expires_at",
        )
        .bind(&id.0)
        .bind(purpose.as_str())
        .fetch_optional(&self.writer)
        .await?;
        Ok(row.filter(|r| r.4 > now).map(|r| flow(purpose, r)))
    }
}
