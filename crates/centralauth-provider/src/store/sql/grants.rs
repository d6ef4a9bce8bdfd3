//! Authorization codes and token families. Single use and rotation are decided by conditional
//! `UPDATE … WHERE … IS NULL RETURNING` inside a transaction: whichever request updates the row
//! first wins, on one instance or many (DESIGN §5). What a refresh may do is decided by the
//! domain's judge (`domain::grants::refresh_token`), handed to `rotate_refresh_token`.

use std::sync::Arc;

use async_trait::async_trait;

use super::{HotPathTx, SqlStore};
use crate::domain::application::ApplicationId;
use crate::domain::clock::UnixTime;
use crate::domain::mfa::Amr;
use crate::domain::scope::Scope;
use crate::domain::secret::SecretDigest;
use crate::domain::user::UserId;
use crate::store::hot_path::{Arg, hot_path_row};
use crate::domain::ports::{
    ActiveToken, CodeExchange, CodeGrant, CodeRejection, GrantStore, MembershipStore, NewAuthorizationCode, NewTokenPair, RefreshDecision,
    RefreshGrant, RefreshOutcome, RefreshRejection, StoreError, StoreResult, TokenKind, TokenView,
};

hot_path_row! {
    struct ConsumedCode {
        user_id: i64,
        redirect_uri: String,
        scope: String,
        code_challenge: Option<String>,
        expires_at: i64,
        auth_time: i64,
        nonce: Option<String>,
        sid: Option<String>,
        amr: String,
    }
}

hot_path_row! {
    /// A refresh token with what its judge needs of its family, user and membership.
    struct RefreshRow {
        family_id: i64,
        access_token_digest: Vec<u8>,
        scope: String,
        expires_at: i64,
        rotated_at: Option<i64>,
        revoked_at: Option<i64>,
        family_revoked_at: Option<i64>,
        user_id: i64,
        user_active: bool,
        membership_active: Option<bool>,
        auth_time: i64,
        sid: Option<String>,
        amr: String,
        family_created_at: i64,
    }
}

hot_path_row! {
    /// The stored scope and expiry of an access token that a reissue answers again.
    struct IssuedAccessRow {
        scope: String,
        expires_at: i64,
    }
}

hot_path_row! {
    struct ActiveRow {
        application_id: i64,
        client_id: String,
        user_id: i64,
        username: String,
        scope: String,
        expires_at: i64,
        user_active: bool,
        membership_active: Option<bool>,
    }
}

hot_path_row! {
    /// An access token for `access_token_view`, with the cache epoch read before the view.
    struct ViewedTokenRow {
        application_id: i64,
        user_id: i64,
        scope: String,
        cache_epoch: i64,
    }
}

impl RefreshRow {
    /// The family and old access token, kept by the store, and the grant, judged by the domain.
    fn split(self) -> (i64, Vec<u8>, RefreshGrant) {
        let grant = RefreshGrant {
            scope: Scope::from_stored(&self.scope),
            expires_at: self.expires_at,
            rotated_at: self.rotated_at,
            revoked_at: self.revoked_at,
            family_revoked_at: self.family_revoked_at,
            user_id: UserId(self.user_id),
            user_active: self.user_active,
            membership_active: self.membership_active,
            auth_time: self.auth_time,
            sid: self.sid,
            amr: Amr::parse(&self.amr),
            family_created_at: self.family_created_at,
        };
        (self.family_id, self.access_token_digest, grant)
    }
}

impl ActiveRow {
    fn into_token(self, kind: TokenKind) -> ActiveToken {
        ActiveToken {
            application_id: ApplicationId(self.application_id),
            client_id: self.client_id,
            user_id: UserId(self.user_id),
            username: self.username,
            scope: Scope::from_stored(&self.scope),
            expires_at: Some(self.expires_at),
            kind,
            user_active: self.user_active,
            membership_active: self.membership_active,
        }
    }
}

/// How `insert_pair` meets a pair whose digests are stored already.
#[derive(Clone, Copy, PartialEq, Eq)]
enum IfStored {
    /// A conflict is an error: the pair is new (random, or a first rotation's successor).
    Fail,
    /// Keep what is there: a reissue of the successor pair its first rotation stored.
    Keep,
}

async fn insert_pair(
    tx: &mut HotPathTx<'_>,
    family_id: i64,
    scope: &str,
    now: UnixTime,
    tokens: &NewTokenPair,
    if_stored: IfStored,
) -> StoreResult<()> {
    // Statements are fixed strings (each backend prepares and caches them once).
    let (access_sql, refresh_sql) = match if_stored {
        IfStored::Fail => (
            "INSERT INTO access_tokens (token_digest, family_id, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            "INSERT INTO refresh_tokens (token_digest, family_id, access_token_digest, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        ),
        IfStored::Keep => (
            "INSERT INTO access_tokens (token_digest, family_id, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (token_digest) DO NOTHING",
            "INSERT INTO refresh_tokens (token_digest, family_id, access_token_digest, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token_digest) DO NOTHING",
        ),
    };
    tx.execute(
        access_sql,
        &[Arg::Bytes(&tokens.access.0), Arg::Int(family_id), Arg::Text(scope), Arg::Int(now), Arg::Int(tokens.access_expires_at)],
    )
    .await?;
    tx.execute(
        refresh_sql,
        &[
            Arg::Bytes(&tokens.refresh.0),
            Arg::Int(family_id),
            Arg::Bytes(&tokens.access.0),
            Arg::Text(scope),
            Arg::Int(now),
            Arg::Int(tokens.refresh_expires_at),
        ],
    )
    .await?;
    // The family lives as long as its newest refresh token; the purge goes by this.
    tx.execute(
        "UPDATE token_families SET expires_at = $1 WHERE id = $2 AND expires_at < $1",
        &[Arg::Int(tokens.refresh_expires_at), Arg::Int(family_id)],
    )
    .await?;
    Ok(())
}

/// One statement revokes every token of the family, however many there are: tokens are only
/// valid while their family is (every look-up joins it).
async fn revoke_family(tx: &mut HotPathTx<'_>, family_id: i64, now: UnixTime) -> StoreResult<()> {
    tx.execute("UPDATE token_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", &[Arg::Int(now), Arg::Int(family_id)]).await?;
    Ok(())
}

/// `columns` of the active token of `table` (`access_tokens` or `refresh_tokens`) with digest
/// `$1` at time `$2`: the one definition of "active" for every look-up.
macro_rules! active_token_sql {
    ($columns:literal, $table:literal, $joins:literal, $condition:literal) => {
        concat!(
            "SELECT ",
            $columns,
            " FROM ",
            $table,
            " t JOIN token_families f ON f.id = t.family_id ",
            $joins,
            " WHERE t.token_digest = $1 AND t.revoked_at IS NULL AND f.revoked_at IS NULL AND t.expires_at > $2",
            $condition
        )
    };
    // The columns of `ActiveRow`, with what the domain needs to know whether the token still
    // stands for its user (`ActiveToken::grants_access`).
    ($table:literal, $condition:literal) => {
        active_token_sql!(
            "f.application_id, a.client_id, f.user_id, u.username, t.scope, t.expires_at, u.is_active AS user_active, m.is_active AS membership_active",
            $table,
            "JOIN applications a ON a.id = f.application_id JOIN users u ON u.id = f.user_id \
             LEFT JOIN memberships m ON m.application_id = f.application_id AND m.user_id = f.user_id",
            $condition
        )
    };
}

#[async_trait]
impl GrantStore for SqlStore {
    async fn insert_authorization_code(&self, code: &NewAuthorizationCode) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO authorization_codes (code_digest, application_id, user_id, redirect_uri, scope, code_challenge, auth_time, expires_at, \
             nonce, sid, amr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&code.digest.0)
        .bind(code.grant.application_id.0)
        .bind(code.grant.user_id.0)
        .bind(&code.grant.redirect_uri)
        .bind(code.grant.scope.to_string())
        .bind(&code.grant.code_challenge)
        .bind(code.auth_time)
        .bind(code.grant.expires_at)
        .bind(&code.nonce)
        .bind(&code.sid)
        .bind(code.amr.to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn exchange_authorization_code(
        &self,
        code: &SecretDigest,
        app: ApplicationId,
        now: UnixTime,
        check: &(dyn for<'g> Fn(&'g CodeGrant) -> Result<(), CodeRejection> + Send + Sync),
        tokens: &NewTokenPair,
    ) -> StoreResult<CodeExchange> {
        let mut tx = self.hot_path.begin(&self.writer).await?;
        let consumed: Option<ConsumedCode> = tx
            .fetch_optional(
                "UPDATE authorization_codes SET consumed_at = $1 \
                 WHERE code_digest = $2 AND application_id = $3 AND consumed_at IS NULL \
                 RETURNING user_id, redirect_uri, scope, code_challenge, expires_at, auth_time, nonce, sid, amr",
                &[Arg::Int(now), Arg::Bytes(&code.0), Arg::Int(app.0)],
            )
            .await?;
        let Some(row) = consumed else {
            let earlier: Option<(Option<i64>,)> = tx
                .fetch_optional(
                    "SELECT family_id FROM authorization_codes WHERE code_digest = $1 AND application_id = $2",
                    &[Arg::Bytes(&code.0), Arg::Int(app.0)],
                )
                .await?;
            return Ok(match earlier {
                None => CodeExchange::Unknown,
                Some((family,)) => {
                    // RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it.
                    if let Some(family_id) = family {
                        revoke_family(&mut tx, family_id, now).await?;
                    }
                    tx.commit().await?;
                    CodeExchange::Replayed
                }
            });
        };
        let grant = CodeGrant {
            application_id: app,
            user_id: UserId(row.user_id),
            redirect_uri: row.redirect_uri,
            scope: Scope::from_stored(&row.scope),
            code_challenge: row.code_challenge,
            expires_at: row.expires_at,
        };
        if let Err(rejection) = check(&grant) {
            // The code stays consumed: a failed attempt must not leave it for a second guess.
            tx.commit().await?;
            return Ok(CodeExchange::Rejected(rejection));
        }
        let scope = grant.scope.to_string();
        let (family_id,): (i64,) = tx
            .fetch_optional(
                "INSERT INTO token_families (application_id, user_id, scope, auth_time, sid, amr, created_at, expires_at) \
                 SELECT application_id, user_id, scope, auth_time, sid, amr, $1, $2 FROM authorization_codes WHERE code_digest = $3 RETURNING id",
                &[Arg::Int(now), Arg::Int(tokens.refresh_expires_at), Arg::Bytes(&code.0)],
            )
            .await?
            .ok_or(crate::domain::ports::StoreError::NotFound)?;
        tx.execute("UPDATE authorization_codes SET family_id = $1 WHERE code_digest = $2", &[Arg::Int(family_id), Arg::Bytes(&code.0)])
            .await?;
        insert_pair(&mut tx, family_id, &scope, now, tokens, IfStored::Fail).await?;
        tx.commit().await?;
        Ok(CodeExchange::Issued {
            user_id: grant.user_id,
            scope: grant.scope,
            auth_time: row.auth_time,
            nonce: row.nonce,
            sid: row.sid,
            amr: Amr::parse(&row.amr),
        })
    }

    async fn rotate_refresh_token(
        &self,
        refresh: &SecretDigest,
        app: ApplicationId,
        now: UnixTime,
        judge: &(dyn for<'g> Fn(&'g RefreshGrant) -> Result<RefreshDecision, RefreshRejection> + Send + Sync),
        tokens: &NewTokenPair,
    ) -> StoreResult<RefreshOutcome> {
        let mut tx = self.hot_path.begin(&self.writer).await?;
        // Only PostgreSQL gets a second round: SQLite's write lock, taken by `begin`, already
        // keeps every other writer out between the read and the rotation.
        for _ in 0..3 {
            let row: Option<RefreshRow> = tx
                .fetch_optional(
                    "SELECT r.family_id, r.access_token_digest, r.scope, r.expires_at, r.rotated_at, r.revoked_at, \
                     f.revoked_at AS family_revoked_at, f.user_id, u.is_active AS user_active, m.is_active AS membership_active, \
                     f.auth_time, f.sid, f.amr, f.created_at AS family_created_at \
                     FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id JOIN users u ON u.id = f.user_id \
                     LEFT JOIN memberships m ON m.application_id = f.application_id AND m.user_id = f.user_id \
                     WHERE r.token_digest = $1 AND f.application_id = $2",
                    &[Arg::Bytes(&refresh.0), Arg::Int(app.0)],
                )
                .await?;
            let Some(row) = row else { return Ok(RefreshOutcome::Unknown) };
            let (family_id, old_access, grant) = row.split();
            match judge(&grant) {
                // Nothing was written: the transaction is rolled back as it is dropped.
                Err(rejection) => return Ok(RefreshOutcome::Rejected(rejection)),
                Ok(RefreshDecision::RevokeFamily) => {
                    revoke_family(&mut tx, family_id, now).await?;
                    tx.commit().await?;
                    return Ok(RefreshOutcome::Replayed);
                }
                Ok(RefreshDecision::Reissue { scope, refresh_expires_at }) => {
                    // The pair this token's rotation stored (the same digests, derived from the
                    // token): answered again as stored, stored now only if it is not there.
                    let tokens = NewTokenPair { refresh_expires_at, ..tokens.clone() };
                    insert_pair(&mut tx, family_id, &scope.to_string(), now, &tokens, IfStored::Keep).await?;
                    let issued: IssuedAccessRow = tx
                        .fetch_optional("SELECT scope, expires_at FROM access_tokens WHERE token_digest = $1", &[Arg::Bytes(&tokens.access.0)])
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    tx.commit().await?;
                    return Ok(RefreshOutcome::Rotated {
                        user_id: grant.user_id,
                        scope: Scope::from_stored(&issued.scope),
                        access_expires_at: issued.expires_at,
                        auth_time: grant.auth_time,
                        sid: grant.sid,
                        amr: grant.amr,
                    });
                }
                Ok(RefreshDecision::Rotate { scope, refresh_expires_at }) => {
                    // Once, ever: of two concurrent rotations on PostgreSQL, the second waits
                    // for the first's row lock, then updates nothing and reads the row again.
                    let rotated = tx
                        .execute(
                            "UPDATE refresh_tokens SET rotated_at = $1 WHERE token_digest = $2 AND rotated_at IS NULL AND revoked_at IS NULL",
                            &[Arg::Int(now), Arg::Bytes(&refresh.0)],
                        )
                        .await?;
                    if rotated == 0 {
                        continue;
                    }
                    // The original deletes the old access token at once on refresh.
                    tx.execute(
                        "UPDATE access_tokens SET revoked_at = $1 WHERE token_digest = $2 AND revoked_at IS NULL",
                        &[Arg::Int(now), Arg::Bytes(&old_access)],
                    )
                    .await?;
                    let tokens = NewTokenPair { refresh_expires_at, ..tokens.clone() };
                    insert_pair(&mut tx, family_id, &scope.to_string(), now, &tokens, IfStored::Fail).await?;
                    tx.commit().await?;
                    return Ok(RefreshOutcome::Rotated {
                        user_id: grant.user_id,
                        scope,
                        access_expires_at: tokens.access_expires_at,
                        auth_time: grant.auth_time,
                        sid: grant.sid,
                        amr: grant.amr,
                    });
                }
            }
        }
        // Unreachable: a row whose rotation found it changed is judged used, revoked or gone.
        Err(StoreError::Other("a refresh token changed under every read of it".into()))
    }

    async fn find_active_access_token(&self, token: &SecretDigest, now: UnixTime) -> StoreResult<Option<ActiveToken>> {
        let row: Option<ActiveRow> =
            self.hot_path.fetch_optional(active_token_sql!("access_tokens", ""), &[Arg::Bytes(&token.0), Arg::Int(now)]).await?;
        Ok(row.map(|r| r.into_token(TokenKind::Access)))
    }

    async fn access_token_view(&self, token: &SecretDigest, now: UnixTime) -> StoreResult<Option<TokenView>> {
        let row: Option<ViewedTokenRow> = self
            .hot_path
            .fetch_optional(
                active_token_sql!("f.application_id, f.user_id, t.scope, (SELECT epoch FROM cache_epoch) AS cache_epoch", "access_tokens", "", ""),
                &[Arg::Bytes(&token.0), Arg::Int(now)],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let (app, user) = (ApplicationId(row.application_id), UserId(row.user_id));
        let view = match self.views.get(row.cache_epoch, &(app, user)) {
            Some(view) => view,
            None => {
                let view = self.membership_view(app, user).await?.map(Arc::new);
                self.views.insert(row.cache_epoch, (app, user), view.clone());
                view
            }
        };
        Ok(Some(TokenView { application_id: app, user_id: user, scope: Scope::from_stored(&row.scope), view }))
    }

    async fn find_active_refresh_token(&self, token: &SecretDigest, now: UnixTime) -> StoreResult<Option<ActiveToken>> {
        let row: Option<ActiveRow> = self
            .hot_path
            .fetch_optional(active_token_sql!("refresh_tokens", " AND t.rotated_at IS NULL"), &[Arg::Bytes(&token.0), Arg::Int(now)])
            .await?;
        Ok(row.map(|r| r.into_token(TokenKind::Refresh)))
    }

    async fn revoke_token(&self, token: &SecretDigest, app: ApplicationId, now: UnixTime) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let access = sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE token_digest = $2 AND revoked_at IS NULL \
             AND EXISTS (SELECT 1 FROM token_families f WHERE f.id = access_tokens.family_id AND f.application_id = $3)",
        )
        .bind(now)
        .bind(&token.0)
        .bind(app.0)
        .execute(&mut *tx)
        .await?;
        let revoked = if access.rows_affected() > 0 {
            true
        } else {
            // RFC 7009 §2.1: revoking a refresh token invalidates every token of its grant.
            sqlx::query(
                "UPDATE token_families SET revoked_at = $1 WHERE revoked_at IS NULL AND application_id = $3 \
                 AND id IN (SELECT family_id FROM refresh_tokens WHERE token_digest = $2)",
            )
            .bind(now)
            .bind(&token.0)
            .bind(app.0)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0
        };
        self.commit(tx).await?;
        Ok(revoked)
    }
}
