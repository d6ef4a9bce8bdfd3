//! The SQL of every store trait, written once and compiled twice: `store/sqlite` and
//! `store/postgres` each include this module (`#[path]`) with their own `Db` type, so both run
//! on their native sqlx driver with the same statements. The statements are the common subset
//! of both dialects (`$n` parameters, `RETURNING`, `ON CONFLICT`); the few real differences
//! (how a write transaction begins, the migrations) come from the including module.

mod api_tokens;
mod applications;
mod audit;
mod events;
mod factors;
mod passkeys;
mod grants;
mod import;
mod keys;
mod maintenance;
mod memberships;
mod permissions;
mod sessions;
mod totp;
mod users;

use sqlx::{Pool, QueryBuilder, Transaction};

use super::hot_path::{HotPath, HotPathTx};
use super::{Db, begin_write, migrator};
use crate::domain::application::ApplicationId;
use crate::domain::audit::AuditEntry;
use crate::domain::effects::{Effects, Recipients, Withdrawn};
use crate::domain::oidc;
use crate::domain::clock::{SharedClock, UnixTime};
use crate::domain::ports::StoreResult;
use crate::store::Limits;
use crate::store::epoch_cache::{ApplicationCache, ViewCache};
use crate::store::errors::{bounded, commit_bounded};

/// Rows per multi-row INSERT or `IN (…)` list: far below SQLite's 32,766 bound parameters.
const CHUNK: usize = 500;

/// Bound parameters per statement of the bulk writes: below SQLite's 32,766 (and PostgreSQL's
/// 65,535); a statement then carries this divided by its columns in rows.
const MAX_BIND_PARAMETERS: usize = 30_000;

pub struct SqlStore {
    /// Reads.
    pool: Pool<Db>,
    /// Writes: every transaction and every statement that changes rows. The including module
    /// decides: one connection for SQLite, so that writers queue here, in order, instead of
    /// polling in SQLite's busy handler (which sleeps up to 100 ms per try); the same pool as
    /// `pool` for PostgreSQL, whose row locks let writers run side by side.
    writer: Pool<Db>,
    /// The hot path's statements, run the fastest way the backend has (`store/hot_path.rs`).
    hot_path: HotPath,
    /// In memory while the database's cache epoch stands still (`epoch_cache`).
    views: ViewCache,
    applications: ApplicationCache,
    /// Every time the store writes (audit entries, outbox rows, creation times) comes from here.
    clock: SharedClock,
    /// How long it waits for the database (`store::Limits`).
    limits: Limits,
}

impl SqlStore {
    pub fn new(pool: Pool<Db>, writer: Pool<Db>, hot_path: HotPath, clock: SharedClock, limits: Limits) -> Self {
        Self { pool, writer, hot_path, views: ViewCache::default(), applications: ApplicationCache::default(), clock, limits }
    }

    /// Begins a write transaction. Every one ends in [`Self::commit`] (or is dropped, which
    /// rolls it back).
    async fn write(&self) -> StoreResult<Transaction<'static, Db>> {
        bounded(self.limits.exchange_bound(), begin_write(&self.writer)).await
    }

    /// The one COMMIT of the store's write transactions (the hot path's have their own, with
    /// the same rule): refused once the request's write deadline has passed, so that a change
    /// whose client has given up is rolled back instead of carried out late.
    async fn commit(&self, tx: Transaction<'static, Db>) -> StoreResult<()> {
        commit_bounded(self.limits.exchange_bound(), tx.commit()).await
    }

    /// The cache epoch (migrations 0005), read before the data cached under it.
    async fn cache_epoch(&self) -> StoreResult<i64> {
        let (epoch,): (i64,) = self.hot_path.fetch_optional("SELECT epoch FROM cache_epoch", &[]).await?.ok_or(crate::domain::ports::StoreError::NotFound)?;
        Ok(epoch)
    }
}

/// Persists what the domain decided a change sets off (`domain::effects`): its back-channel
/// events, what it withdraws from a user, then its audit entry, in the change's transaction.
async fn write_effects(tx: &mut Transaction<'static, Db>, effects: &Effects, now: UnixTime) -> StoreResult<Withdrawn> {
    for event in &effects.events {
        let subject = oidc::subject(event.user.0);
        match event.to {
            Recipients::Application(app) => {
                events::enqueue_event(tx, app, event.kind, &subject, None, now).await?;
            }
            Recipients::ActiveMembershipsOf(user) => {
                let apps: Vec<(i64,)> = sqlx::query_as("SELECT application_id FROM memberships WHERE user_id = $1 AND is_active = $2")
                    .bind(user.0)
                    .bind(true)
                    .fetch_all(&mut **tx)
                    .await?;
                for (app,) in apps {
                    events::enqueue_event(tx, ApplicationId(app), event.kind, &subject, None, now).await?;
                }
            }
        }
    }
    let withdrawn = match &effects.withdrawal {
        Some(withdrawal) => sessions::withdraw(tx, withdrawal, now).await?,
        None => Withdrawn::default(),
    };
    write_audit(tx, &effects.audit, now).await?;
    Ok(withdrawn)
}

async fn write_audit(tx: &mut Transaction<'static, Db>, entry: &AuditEntry, at: UnixTime) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_events (at, actor, action, application_id, user_id, target, before_state, after_state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(at)
    .bind(&entry.actor)
    .bind(entry.action)
    .bind(entry.application_id)
    .bind(entry.user_id)
    .bind(&entry.target)
    .bind(entry.before.as_ref().map(|v| v.to_string()))
    .bind(entry.after.as_ref().map(|v| v.to_string()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes many audit entries with multi-row statements (the import's).
async fn write_audit_entries(tx: &mut Transaction<'static, Db>, entries: &[AuditEntry], at: UnixTime) -> StoreResult<()> {
    for chunk in entries.chunks(MAX_BIND_PARAMETERS / 8) {
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new("INSERT INTO audit_events (at, actor, action, application_id, user_id, target, before_state, after_state) ");
        qb.push_values(chunk, |mut row, entry| {
            row.push_bind(at)
                .push_bind(&entry.actor)
                .push_bind(entry.action)
                .push_bind(entry.application_id)
                .push_bind(entry.user_id)
                .push_bind(&entry.target)
                .push_bind(entry.before.as_ref().map(|v| v.to_string()))
                .push_bind(entry.after.as_ref().map(|v| v.to_string()));
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Counts how many of `ids` are rows of `table` owned by `application_id`; the caller compares
/// with the number of distinct ids, so that an id of another application is refused.
async fn count_owned(tx: &mut Transaction<'static, Db>, table: &str, application_id: i64, ids: &[i64]) -> StoreResult<usize> {
    let mut owned = 0;
    for chunk in ids.chunks(CHUNK) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!("SELECT COUNT(*) FROM {table} WHERE application_id = "));
        qb.push_bind(application_id).push(" AND id IN (");
        let mut list = qb.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        qb.push(")");
        let (n,): (i64,) = qb.build_query_as().fetch_one(&mut **tx).await?;
        owned += n as usize;
    }
    Ok(owned)
}

/// Inserts `(owner, id)` pairs into a link table.
async fn insert_links(tx: &mut Transaction<'static, Db>, table: &str, columns: &str, owner: i64, ids: &[i64]) -> StoreResult<()> {
    for chunk in ids.chunks(CHUNK) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!("INSERT INTO {table} ({columns}) "));
        qb.push_values(chunk, |mut row, id| {
            row.push_bind(owner).push_bind(*id);
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

fn distinct(ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut v: Vec<i64> = ids.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    v
}
