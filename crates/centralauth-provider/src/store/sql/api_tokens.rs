//! API tokens of the JSON admin API: random values, stored as SHA-256 digests.

use async_trait::async_trait;

use super::{SqlStore, write_audit};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::secret::SecretDigest;
use crate::domain::user::{User, UserId};
use crate::domain::ports::{ApiToken, ApiTokenStore, StoreError, StoreResult};

use super::users::UserRow;

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    user_id: i64,
    username: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> Self {
        ApiToken { id: r.id, name: r.name, owner: UserId(r.user_id), owner_username: r.username, created_at: r.created_at, revoked_at: r.revoked_at }
    }
}

const SELECT: &str = "SELECT t.id, t.name, t.user_id, u.username, t.created_at, t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id";

#[async_trait]
impl ApiTokenStore for SqlStore {
    async fn insert_api_token(&self, digest: &SecretDigest, name: &str, owner: UserId, actor: &Actor) -> StoreResult<ApiToken> {
        let mut tx = self.write().await?;
        let (id,): (i64,) =
            sqlx::query_as("INSERT INTO api_tokens (token_digest, name, user_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(&digest.0)
                .bind(name)
                .bind(owner.0)
                .bind(self.clock.now())
                .fetch_one(&mut *tx)
                .await?;
        let token: ApiToken = sqlx::query_as::<_, TokenRow>(&format!("{SELECT} WHERE t.id = $1")).bind(id).fetch_one(&mut *tx).await?.into();
        write_audit(&mut tx, &AuditEntry::new(actor, "api_token.create", name).user(owner.0).after(&token), self.clock.now()).await?;
        tx.commit().await?;
        Ok(token)
    }

    async fn list_api_tokens(&self, owner: Option<UserId>) -> StoreResult<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = sqlx::query_as(&format!("{SELECT} WHERE ($1 = 0 OR t.user_id = $1) ORDER BY t.id DESC"))
            .bind(owner.map_or(0, |o| o.0))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(ApiToken::from).collect())
    }

    async fn revoke_api_token(&self, id: i64, owner: Option<UserId>, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let revoked: Option<(String, i64)> = sqlx::query_as(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND ($3 = 0 OR user_id = $3) RETURNING name, user_id",
        )
        .bind(self.clock.now())
        .bind(id)
        .bind(owner.map_or(0, |o| o.0))
        .fetch_optional(&mut *tx)
        .await?;
        let (name, user) = revoked.ok_or(StoreError::NotFound)?;
        write_audit(&mut tx, &AuditEntry::new(actor, "api_token.revoke", name).user(user), self.clock.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_api_token(&self, digest: &SecretDigest) -> StoreResult<Option<(ApiToken, User)>> {
        let row: Option<TokenRow> = sqlx::query_as(&format!("{SELECT} WHERE t.token_digest = $1 AND t.revoked_at IS NULL AND u.is_active = $2"))
            .bind(&digest.0)
            .bind(true)
            .fetch_optional(&self.pool)
            .await?;
        let Some(token) = row.map(ApiToken::from) else { return Ok(None) };
        let user: Option<UserRow> = sqlx::query_as(
            "SELECT id, username, email, first_name, last_name, password_hash, is_active, is_admin, date_joined, last_login FROM users WHERE id = $1",
        )
        .bind(token.owner.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(user.map(|u| {
            let mut user = User::from(u);
            user.password_hash = None;
            (token, user)
        }))
    }
}
