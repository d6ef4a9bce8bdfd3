//! Signing keys: sealed private halves and public JWKs, shared by every instance.

use async_trait::async_trait;

use super::{SqlStore, write_audit};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::clock::UnixTime;
use crate::domain::signing::StoredKey;
use crate::domain::ports::{KeyStore, StoreResult};

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    algorithm: String,
    sealed_private_key: Vec<u8>,
    public_jwk: String,
    created_at: i64,
    retired_at: Option<i64>,
    expires_at: Option<i64>,
}

impl From<KeyRow> for StoredKey {
    fn from(r: KeyRow) -> Self {
        StoredKey {
            kid: r.kid,
            algorithm: r.algorithm,
            sealed_private_key: r.sealed_private_key,
            public_jwk: r.public_jwk,
            created_at: r.created_at,
            retired_at: r.retired_at,
            expires_at: r.expires_at,
        }
    }
}

const COLUMNS: &str = "kid, algorithm, sealed_private_key, public_jwk, created_at, retired_at, expires_at";

async fn insert(conn: &mut <super::Db as sqlx::Database>::Connection, key: &StoredKey) -> StoreResult<()> {
    sqlx::query(&format!("INSERT INTO signing_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(&key.sealed_private_key)
        .bind(&key.public_jwk)
        .bind(key.created_at)
        .bind(key.retired_at)
        .bind(key.expires_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn insert_first_signing_key(&self, key: &StoredKey) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let existing: Option<(String,)> = sqlx::query_as("SELECT kid FROM signing_keys WHERE algorithm = $1 AND retired_at IS NULL LIMIT 1")
            .bind(&key.algorithm)
            .fetch_optional(&mut *tx)
            .await?;
        if existing.is_some() {
            return Ok(false);
        }
        insert(&mut tx, key).await?;
        self.commit(tx).await?;
        Ok(true)
    }

    async fn rotate_signing_key(&self, key: &StoredKey, now: UnixTime, retired_keys_expire_at: UnixTime, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let retired: Vec<(String,)> = sqlx::query_as(
            "UPDATE signing_keys SET retired_at = $1, expires_at = $2 WHERE algorithm = $3 AND retired_at IS NULL RETURNING kid",
        )
        .bind(now)
        .bind(retired_keys_expire_at)
        .bind(&key.algorithm)
        .fetch_all(&mut *tx)
        .await?;
        insert(&mut tx, key).await?;
        let entry = AuditEntry::new(actor, "signing_key.rotate", &key.kid)
            .before(&serde_json::json!({"active": retired.iter().map(|(k,)| k).collect::<Vec<_>>()}))
            .after(&serde_json::json!({"active": [&key.kid], "algorithm": &key.algorithm, "retired_keys_expire_at": retired_keys_expire_at}));
        write_audit(&mut tx, &entry, self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(())
    }

    async fn active_signing_key(&self, algorithm: &str) -> StoreResult<Option<StoredKey>> {
        let row: Option<KeyRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM signing_keys WHERE algorithm = $1 AND retired_at IS NULL ORDER BY created_at DESC, kid LIMIT 1"
        ))
        .bind(algorithm)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(StoredKey::from))
    }

    async fn published_signing_keys(&self, now: UnixTime) -> StoreResult<Vec<StoredKey>> {
        let rows: Vec<KeyRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM signing_keys WHERE expires_at IS NULL OR expires_at > $1 ORDER BY created_at DESC, kid"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(StoredKey::from).collect())
    }
}
