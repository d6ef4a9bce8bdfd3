//! Migrations, health and the purge of expired rows in small batches, so that no statement
//! holds a lock for long however much has piled up.

use async_trait::async_trait;

use super::{SqlStore, migrator};
use crate::domain::clock::UnixTime;
use crate::domain::ports::{MaintenanceStore, StoreResult};
use crate::store::errors::bounded;

/// Used codes are kept this long to recognise a replay. Rotated refresh tokens are kept as long
/// as their family (the chain of refreshes): a replay of any of them revokes the family for as
/// long as it could be used.
const REPLAY_MEMORY_SECONDS: i64 = 24 * 3600;
/// Longer than any throttle budget's `forget_after` (domain::throttle), after which a count no
/// longer applies anyway.
const THROTTLE_MEMORY_SECONDS: i64 = 3600;

#[async_trait]
impl MaintenanceStore for SqlStore {
    async fn migrate(&self) -> StoreResult<()> {
        migrator().run(&self.writer).await?;
        Ok(())
    }

    async fn purge_expired(&self, now: UnixTime, batch: i64) -> StoreResult<u64> {
        let forget = now - REPLAY_MEMORY_SECONDS;
        let statements: [(&str, i64); 7] = [
            (
                "DELETE FROM authorization_codes WHERE code_digest IN \
                 (SELECT code_digest FROM authorization_codes WHERE expires_at < $1 LIMIT $2)",
                forget,
            ),
            // Tokens and refresh tokens go with their family (ON DELETE CASCADE).
            ("DELETE FROM token_families WHERE id IN (SELECT id FROM token_families WHERE expires_at < $1 LIMIT $2)", now),
            (
                "DELETE FROM access_tokens WHERE token_digest IN (SELECT token_digest FROM access_tokens WHERE expires_at < $1 LIMIT $2)",
                now,
            ),
            ("DELETE FROM sessions WHERE id_digest IN (SELECT id_digest FROM sessions WHERE expires_at < $1 LIMIT $2)", now),
            (
                "DELETE FROM sign_in_throttle WHERE throttle_key IN \
                 (SELECT throttle_key FROM sign_in_throttle WHERE last_attempt_at < $1 LIMIT $2)",
                now - THROTTLE_MEMORY_SECONDS,
            ),
            ("DELETE FROM sign_in_flows WHERE id_digest IN (SELECT id_digest FROM sign_in_flows WHERE expires_at < $1 LIMIT $2)", now),
            // Retired signing keys leave the JWKS once the last token they signed has expired.
            ("DELETE FROM signing_keys WHERE kid IN (SELECT kid FROM signing_keys WHERE expires_at < $1 LIMIT $2)", now),
        ];
        let mut purged = 0;
        for (sql, cutoff) in statements {
            purged += sqlx::query(sql).bind(cutoff).bind(batch).execute(&self.writer).await?.rows_affected();
        }
        if purged > 0 {
            // Rows deleted: the database takes changes (`store::health`), which a provider
            // that only reads (every 30 s it purges) would otherwise not notice after an outage.
            crate::store::health::DATABASE.report_success();
        }
        Ok(purged)
    }

    async fn ping(&self) -> StoreResult<()> {
        // Bounded like the hot path, so that `/readyz` answers within its own wait.
        bounded(self.limits.exchange_bound(), sqlx::query("SELECT 1").execute(&self.pool)).await?;
        Ok(())
    }
}
