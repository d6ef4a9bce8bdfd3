//! Passkeys: WebAuthn credentials in `user_factors` (kind `passkey`, credential id unique) and
//! each user's WebAuthn user handle (`passkey_user_handles`, migration 0012).

use async_trait::async_trait;
use webauthn_rs::prelude::Passkey;

use super::{SqlStore, write_audit};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::clock::UnixTime;
use crate::domain::mfa::{FactorKind, FactorSummary};
use crate::domain::ports::{PasskeyStore, StoreError, StoreResult, StoredPasskey};
use crate::domain::secret::SecretDigest;
use crate::domain::user::UserId;
use crate::store::errors::conflict_or_other;

type PasskeyRow = (i64, i64, String, i64, Option<i64>, String);

const PASSKEYS: &str = "SELECT id, user_id, name, created_at, last_used_at, credential FROM user_factors WHERE kind = 'passkey'";

fn stored((id, user_id, name, created_at, last_used_at, credential): PasskeyRow) -> StoreResult<StoredPasskey> {
    let credential: Passkey = serde_json::from_str(&credential).map_err(|e| StoreError::Other(format!("passkey {id}: stored credential unreadable: {e}").into()))?;
    Ok(StoredPasskey { summary: FactorSummary { id, user_id: UserId(user_id), kind: FactorKind::Passkey, name, created_at, last_used_at }, credential })
}

fn credential_json(credential: &Passkey) -> StoreResult<String> {
    serde_json::to_string(credential).map_err(|e| StoreError::Other(Box::new(e)))
}

fn handle_bytes(raw: Vec<u8>) -> StoreResult<[u8; 16]> {
    raw.try_into().map_err(|_| StoreError::Other("passkey user handle is not 16 bytes".into()))
}

#[async_trait]
impl PasskeyStore for SqlStore {
    async fn passkey_user_handle(&self, user: UserId, candidate: [u8; 16]) -> StoreResult<[u8; 16]> {
        // Of two first registrations at once, one inserts and both read the same handle back.
        sqlx::query("INSERT INTO passkey_user_handles (user_id, handle) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING")
            .bind(user.0)
            .bind(&candidate[..])
            .execute(&self.writer)
            .await?;
        let (handle,): (Vec<u8>,) =
            sqlx::query_as("SELECT handle FROM passkey_user_handles WHERE user_id = $1").bind(user.0).fetch_one(&self.writer).await?;
        handle_bytes(handle)
    }

    async fn find_user_by_passkey_handle(&self, handle: &[u8]) -> StoreResult<Option<UserId>> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT user_id FROM passkey_user_handles WHERE handle = $1").bind(handle).fetch_optional(&self.pool).await?;
        Ok(row.map(|(id,)| UserId(id)))
    }

    async fn list_passkeys(&self, user: UserId) -> StoreResult<Vec<StoredPasskey>> {
        let rows: Vec<PasskeyRow> = sqlx::query_as(&format!("{PASSKEYS} AND user_id = $1 ORDER BY id")).bind(user.0).fetch_all(&self.pool).await?;
        rows.into_iter().map(stored).collect()
    }

    async fn find_passkey(&self, credential_id: &[u8]) -> StoreResult<Option<StoredPasskey>> {
        let row: Option<PasskeyRow> = sqlx::query_as(&format!("{PASSKEYS} AND credential_id = $1")).bind(credential_id).fetch_optional(&self.pool).await?;
        row.map(stored).transpose()
    }

    async fn insert_passkey(
        &self, user: UserId, name: &str, credential: &Passkey, recovery_codes: Option<&[SecretDigest]>, now: UnixTime, actor: &Actor,
    ) -> StoreResult<FactorSummary> {
        let json = credential_json(credential)?;
        let mut tx = self.write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO user_factors (user_id, kind, name, created_at, credential_id, credential) VALUES ($1, 'passkey', $2, $3, $4, $5) RETURNING id",
        )
        .bind(user.0)
        .bind(name)
        .bind(now)
        .bind(credential.cred_id().as_slice())
        .bind(&json)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict_or_other(e, "passkey"))?;
        let summary = FactorSummary { id, user_id: user, kind: FactorKind::Passkey, name: name.to_string(), created_at: now, last_used_at: None };
        let entry = AuditEntry::new(actor, "mfa.enrol", format!("passkey {name}")).user(user.0).after(&summary);
        write_audit(&mut tx, &entry, self.clock.now()).await?;
        if let Some(digests) = recovery_codes {
            super::totp::replace_codes(&mut tx, user, digests, now).await?;
            write_audit(&mut tx, &super::totp::codes_entry(actor, user, digests.len()), self.clock.now()).await?;
        }
        self.commit(tx).await?;
        Ok(summary)
    }

    async fn record_passkey_use(&self, id: i64, credential: &Passkey, now: UnixTime) -> StoreResult<()> {
        let json = credential_json(credential)?;
        let done = sqlx::query("UPDATE user_factors SET credential = $1, last_used_at = $2 WHERE id = $3 AND kind = 'passkey'")
            .bind(&json)
            .bind(now)
            .bind(id)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
