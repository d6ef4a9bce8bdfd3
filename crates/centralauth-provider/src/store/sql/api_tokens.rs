//! API tokens of the JSON admin API: random values, stored as SHA-256 digests.

use async_trait::async_trait;

use sqlx::QueryBuilder;

use super::{CHUNK, Db, SqlStore, write_audit};
use crate::domain::application::ApplicationId;
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::clock::UnixTime;
use crate::domain::secret::SecretDigest;
use crate::domain::user::{User, UserId};
use crate::domain::ports::{ApiToken, ApiTokenStore, NewApiToken, StoreError, StoreResult, TokenApplication};

use super::users::UserRow;

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    user_id: i64,
    username: String,
    created_at: i64,
    revoked_at: Option<i64>,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    read_only: bool,
    application_scoped: bool,
}

impl TokenRow {
    fn into_token(self, applications: &[(i64, i64, String)]) -> ApiToken {
        let applications = self.application_scoped.then(|| {
            applications
                .iter()
                .filter(|(token, _, _)| *token == self.id)
                .map(|(_, id, client_id)| TokenApplication { id: ApplicationId(*id), client_id: client_id.clone() })
                .collect()
        });
        ApiToken {
            id: self.id,
            name: self.name,
            owner: UserId(self.user_id),
            owner_username: self.username,
            created_at: self.created_at,
            revoked_at: self.revoked_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            read_only: self.read_only,
            applications,
        }
    }
}

const SELECT: &str = "SELECT t.id, t.name, t.user_id, u.username, t.created_at, t.revoked_at, t.expires_at, t.last_used_at, t.read_only, \
                      t.application_scoped FROM api_tokens t JOIN users u ON u.id = t.user_id";

const APPLICATIONS: &str = "SELECT ta.token_id, a.id, a.client_id FROM api_token_applications ta JOIN applications a ON a.id = ta.application_id";

/// The applications of one token, as `(token id, application id, client id)`.
async fn applications_of<'e, E>(executor: E, token: &TokenRow) -> StoreResult<Vec<(i64, i64, String)>>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    if !token.application_scoped {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(&format!("{APPLICATIONS} WHERE ta.token_id = $1 ORDER BY a.client_id")).bind(token.id).fetch_all(executor).await?)
}

#[async_trait]
impl ApiTokenStore for SqlStore {
    async fn insert_api_token(&self, new: &NewApiToken, actor: &Actor) -> StoreResult<ApiToken> {
        let mut tx = self.write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO api_tokens (token_digest, name, user_id, created_at, expires_at, read_only, application_scoped) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&new.digest.0)
        .bind(&new.name)
        .bind(new.owner.0)
        .bind(self.clock.now())
        .bind(new.expires_at)
        .bind(new.read_only)
        .bind(new.applications.is_some())
        .fetch_one(&mut *tx)
        .await?;
        for app in new.applications.iter().flatten() {
            sqlx::query("INSERT INTO api_token_applications (token_id, application_id) VALUES ($1, $2)").bind(id).bind(app.0).execute(&mut *tx).await?;
        }
        let row: TokenRow = sqlx::query_as(&format!("{SELECT} WHERE t.id = $1")).bind(id).fetch_one(&mut *tx).await?;
        let apps = applications_of(&mut *tx, &row).await?;
        let token = row.into_token(&apps);
        write_audit(&mut tx, &AuditEntry::new(actor, "api_token.create", &new.name).user(new.owner.0).after(&token), self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(token)
    }

    async fn list_api_tokens(&self, owner: Option<UserId>) -> StoreResult<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = sqlx::query_as(&format!("{SELECT} WHERE ($1 = 0 OR t.user_id = $1) ORDER BY t.id DESC"))
            .bind(owner.map_or(0, |o| o.0))
            .fetch_all(&self.pool)
            .await?;
        let scoped: Vec<i64> = rows.iter().filter(|t| t.application_scoped).map(|t| t.id).collect();
        let mut apps = Vec::new();
        for chunk in scoped.chunks(CHUNK) {
            let mut query = QueryBuilder::<Db>::new(format!("{APPLICATIONS} WHERE ta.token_id IN ("));
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(") ORDER BY a.client_id");
            apps.extend(query.build_query_as::<(i64, i64, String)>().fetch_all(&self.pool).await?);
        }
        Ok(rows.into_iter().map(|r| r.into_token(&apps)).collect())
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
        self.commit(tx).await?;
        Ok(())
    }

    async fn find_api_token(&self, digest: &SecretDigest) -> StoreResult<Option<(ApiToken, User)>> {
        let row: Option<TokenRow> = sqlx::query_as(&format!("{SELECT} WHERE t.token_digest = $1")).bind(&digest.0).fetch_optional(&self.pool).await?;
        let Some(row) = row else { return Ok(None) };
        let apps = applications_of(&self.pool, &row).await?;
        let token = row.into_token(&apps);
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

    async fn record_api_token_use(&self, id: i64, now: UnixTime, resolution: i64) -> StoreResult<()> {
        // The condition makes concurrent first uses of a minute one change, whoever wins.
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)")
            .bind(now)
            .bind(id)
            .bind(now - resolution)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
