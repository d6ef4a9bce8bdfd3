//! Users.

use async_trait::async_trait;
use sqlx::QueryBuilder;

use super::{Db, SqlStore, write_audit, write_effects};
use crate::domain::effects::{self, Withdrawn};
use crate::domain::application::ApplicationId;
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::clock::UnixTime;
use crate::domain::user::{NewUser, Role, User, UserChanges, UserId, username_key};
use crate::store::errors::conflict_or_other;
use super::{distinct, insert_links};
use crate::domain::secret::SecretDigest;
use crate::domain::ports::{EndedSession, SessionStore, StoreError, StoreResult, UserQuery, UserStore};

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: i64,
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    password_hash: Option<String>,
    is_active: bool,
    is_admin: bool,
    date_joined: i64,
    last_login: Option<i64>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId(r.id),
            username: r.username,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            is_active: r.is_active,
            role: if r.is_admin { Role::Administrator } else { Role::User },
            date_joined: r.date_joined,
            last_login: r.last_login,
            password_hash: r.password_hash,
        }
    }
}

macro_rules! select_user {
    ($where:literal) => {
        concat!(
            "SELECT id, username, email, first_name, last_name, password_hash, is_active, is_admin, date_joined, last_login FROM users ",
            $where
        )
    };
}

/// The half-open range of keys that start with `prefix` (lower-cased as the keys are): every
/// string from the prefix up to the prefix followed by the largest code point, which both
/// SQLite (bytes) and PostgreSQL (C collation) order last.
pub(super) fn prefix_range(prefix: &str) -> (String, String) {
    let low = prefix.trim().to_lowercase();
    let high = format!("{low}{}", char::MAX);
    (low, high)
}

const SEARCH_KEYS: [&str; 4] = ["username_key", "email_key", "first_name_key", "last_name_key"];

/// Adds the flag filters and the keyset cursor of `query` to a statement over `users` (aliased
/// `alias`, or not).
fn push_flag_filters(qb: &mut QueryBuilder<'_, Db>, query: &UserQuery, alias: &str) {
    let column = |name: &str| if alias.is_empty() { name.to_string() } else { format!("{alias}.{name}") };
    if let Some(active) = query.active {
        qb.push(format!(" AND {} = ", column("is_active"))).push_bind(active);
    }
    if let Some(admin) = query.administrator {
        qb.push(format!(" AND {} = ", column("is_admin"))).push_bind(admin);
    }
    if let Some(after) = &query.after_username_key {
        qb.push(format!(" AND {} > ", column("username_key"))).push_bind(after.clone());
    }
}

fn search_term(query: &UserQuery) -> Option<(String, String)> {
    query.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(prefix_range)
}

/// The conditions of `query` on the users of a small set (one application's members): the
/// prefix search as an OR of the key ranges, checked per row of that set.
pub(super) fn push_user_filters(qb: &mut QueryBuilder<'_, Db>, query: &UserQuery, alias: &str) {
    if let Some((low, high)) = search_term(query) {
        qb.push(" AND (");
        for (i, key) in SEARCH_KEYS.into_iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push(format!("({alias}.{key} >= ")).push_bind(low.clone()).push(format!(" AND {alias}.{key} < ")).push_bind(high.clone()).push(")");
        }
        qb.push(")");
    }
    push_flag_filters(qb, query, alias);
}

/// One page of the user list without a search: in username order from the keyset cursor, an
/// index walk whatever the filters.
fn push_page_ids(qb: &mut QueryBuilder<'_, Db>, query: &UserQuery, limit: i64) {
    qb.push("SELECT id FROM users WHERE 1 = 1");
    push_flag_filters(qb, query, "");
    qb.push(" ORDER BY username_key LIMIT ").push_bind(limit);
}

/// The candidates of a search: for each key, the first `limit` users whose key starts with the
/// prefix, in that key's order — one index range scan each, so that a prefix matching a
/// hundred thousand users costs a page, not its matches.
fn push_search_ids(qb: &mut QueryBuilder<'_, Db>, query: &UserQuery, low: &str, high: &str, limit: i64) {
    for (i, key) in SEARCH_KEYS.into_iter().enumerate() {
        if i > 0 {
            qb.push(" UNION ");
        }
        qb.push(format!("SELECT id FROM (SELECT id FROM users WHERE {key} >= "))
            .push_bind(low.to_string())
            .push(format!(" AND {key} < "))
            .push_bind(high.to_string());
        push_flag_filters(qb, &UserQuery { after_username_key: None, ..query.clone() }, "");
        qb.push(format!(" ORDER BY {key}, username_key LIMIT ")).push_bind(limit).push(format!(") k{i}"));
    }
}

/// Best match first: users whose username starts with the search, then e-mail address, first
/// name, last name; within each, in that key's order.
fn search_rank(user: &User, low: &str) -> (u8, String) {
    let keys = [username_key(&user.username), user.email.to_lowercase(), user.first_name.to_lowercase(), user.last_name.to_lowercase()];
    keys.into_iter()
        .enumerate()
        .find(|(_, key)| key.starts_with(low))
        .map_or((4, String::new()), |(tier, key)| (tier as u8, format!("{key}\u{0}{}", username_key(&user.username))))
}

#[async_trait]
impl UserStore for SqlStore {
    async fn insert_user(&self, user: &NewUser, actor: &Actor) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let now = self.clock.now();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO users (username, username_key, email, email_key, first_name, last_name, password_hash, is_active, is_admin, date_joined, \
             first_name_key, last_name_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(user.username.as_str())
        .bind(user.username.key())
        .bind(user.email.as_str())
        .bind(user.email.as_str().to_lowercase())
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(&user.password_hash)
        .bind(true)
        .bind(user.role == Role::Administrator)
        .bind(now)
        .bind(user.first_name.to_lowercase())
        .bind(user.last_name.to_lowercase())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict_or_other(e, "username"))?;
        let created = User {
            id: UserId(id),
            username: user.username.as_str().to_string(),
            email: user.email.as_str().to_string(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            is_active: true,
            role: user.role,
            date_joined: now,
            last_login: None,
            password_hash: user.password_hash.clone(),
        };
        write_effects(&mut tx, &effects::user_created(actor, &created), self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(created)
    }

    async fn find_user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(select_user!("WHERE id = $1")).bind(id.0).fetch_optional(&self.pool).await?;
        Ok(row.map(User::from))
    }

    async fn find_user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> =
            sqlx::query_as(select_user!("WHERE username_key = $1")).bind(username_key(username)).fetch_optional(&self.pool).await?;
        Ok(row.map(User::from))
    }

    async fn find_user_for_login(&self, identifier: &str) -> StoreResult<Option<User>> {
        if let Some(user) = self.find_user_by_username(identifier).await? {
            return Ok(Some(user));
        }
        if !identifier.contains('@') {
            return Ok(None);
        }
        let rows: Vec<UserRow> = sqlx::query_as(select_user!("WHERE email_key = $1 LIMIT 2"))
            .bind(identifier.trim().to_lowercase())
            .fetch_all(&self.pool)
            .await?;
        // An address shared by several accounts identifies none of them.
        Ok(match <[UserRow; 1]>::try_from(rows) {
            Ok([row]) => Some(row.into()),
            Err(_) => None,
        })
    }

    async fn list_users(&self, query: &UserQuery) -> StoreResult<Vec<User>> {
        let limit = query.limit.clamp(1, 1000);
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(select_user!("WHERE id IN ("));
        let Some((low, high)) = search_term(query) else {
            push_page_ids(&mut qb, query, limit);
            qb.push(") ORDER BY username_key LIMIT ").push_bind(limit);
            let rows: Vec<UserRow> = qb.build_query_as().fetch_all(&self.pool).await?;
            return Ok(rows.into_iter().map(User::from).collect());
        };
        push_search_ids(&mut qb, query, &low, &high, limit);
        qb.push(")");
        let rows: Vec<UserRow> = qb.build_query_as().fetch_all(&self.pool).await?;
        let mut users: Vec<User> = rows.into_iter().map(User::from).collect();
        users.sort_by_cached_key(|u| search_rank(u, &low));
        users.truncate(limit as usize);
        Ok(users)
    }

    async fn update_user(&self, id: UserId, changes: &UserChanges, actor: &Actor) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let before: User = sqlx::query_as::<_, UserRow>(select_user!("WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .into();
        let mut after = before.clone();
        after.apply(changes);
        sqlx::query(
            "UPDATE users SET email = $1, email_key = $2, first_name = $3, last_name = $4, is_active = $5, is_admin = $6, password_hash = $7, \
             first_name_key = $9, last_name_key = $10 WHERE id = $8",
        )
        .bind(&after.email)
        .bind(after.email.to_lowercase())
        .bind(&after.first_name)
        .bind(&after.last_name)
        .bind(after.is_active)
        .bind(after.role == Role::Administrator)
        .bind(&after.password_hash)
        .bind(id.0)
        .bind(after.first_name.to_lowercase())
        .bind(after.last_name.to_lowercase())
        .execute(&mut *tx)
        .await?;
        write_effects(&mut tx, &effects::user_updated(actor, &before, &after, changes), self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(after)
    }

    async fn record_login(&self, id: UserId, now: UnixTime, rehashed_password: Option<&str>) -> StoreResult<()> {
        sqlx::query("UPDATE users SET last_login = $1, password_hash = COALESCE($2, password_hash) WHERE id = $3")
            .bind(now)
            .bind(rehashed_password)
            .bind(id.0)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn delegated_applications(&self, user: UserId) -> StoreResult<Vec<ApplicationId>> {
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT application_id FROM application_admins WHERE user_id = $1 ORDER BY application_id")
            .bind(user.0)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(id,)| ApplicationId(id)).collect())
    }

    async fn set_delegated_applications(&self, user: UserId, apps: &[ApplicationId], actor: &Actor) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let (username,): (String,) =
            sqlx::query_as("SELECT username FROM users WHERE id = $1").bind(user.0).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        let before: Vec<(i64,)> =
            sqlx::query_as("SELECT application_id FROM application_admins WHERE user_id = $1 ORDER BY application_id").bind(user.0).fetch_all(&mut *tx).await?;
        let ids = distinct(apps.iter().map(|a| a.0));
        let (known,): (i64,) = {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new("SELECT COUNT(*) FROM applications WHERE id IN (");
            let mut list = qb.separated(", ");
            list.push_bind(-1_i64);
            for id in &ids {
                list.push_bind(*id);
            }
            qb.push(")");
            qb.build_query_as().fetch_one(&mut *tx).await?
        };
        if known as usize != ids.len() {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM application_admins WHERE user_id = $1").bind(user.0).execute(&mut *tx).await?;
        insert_links(&mut tx, "application_admins", "user_id, application_id", user.0, &ids).await?;
        let entry = AuditEntry::new(actor, "user.delegate", &username)
            .user(user.0)
            .before(&before.iter().map(|(a,)| a).collect::<Vec<_>>())
            .after(&ids);
        write_audit(&mut tx, &entry, self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(())
    }

    async fn end_user_sessions(&self, user: UserId, now: UnixTime) -> StoreResult<Vec<EndedSession>> {
        let ids: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT id_digest FROM sessions WHERE user_id = $1").bind(user.0).fetch_all(&self.pool).await?;
        let mut ended = Vec::new();
        for (id,) in ids {
            if let Some(session) = self.end_session(&SecretDigest(id), now).await? {
                ended.push(session);
            }
        }
        Ok(ended)
    }

    async fn end_user_access(&self, user: UserId, revoke_tokens: bool, actor: &Actor) -> StoreResult<Withdrawn> {
        let mut tx = self.write().await?;
        let found: User =
            sqlx::query_as::<_, UserRow>(select_user!("WHERE id = $1")).bind(user.0).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?.into();
        let withdrawn = write_effects(&mut tx, &effects::user_sessions_ended(actor, &found, revoke_tokens), self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(withdrawn)
    }

    async fn count_administrators(&self) -> StoreResult<i64> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users WHERE is_admin = $1 AND is_active = $1").bind(true).fetch_one(&self.pool).await?;
        Ok(n)
    }
}
