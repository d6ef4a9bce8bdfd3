//! Permissions and groups.

use async_trait::async_trait;
use sqlx::QueryBuilder;

use super::{CHUNK, Db, SqlStore, count_owned, distinct, insert_links, write_audit, write_effects};
use crate::domain::effects::{self, MembersChange};
use crate::domain::application::ApplicationId;
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::membership::{Group, GroupId};
use crate::domain::permission::{Declared, Permission, PermissionId, PermissionKey, SyncCounts, plan_sync};
use crate::store::errors::conflict_or_other;
use super::users::UserRow;
use crate::domain::user::{User, UserId};
use crate::domain::ports::{GroupStore, PermissionStore, PermissionUsage, StoreError, StoreResult};

#[derive(sqlx::FromRow)]
struct PermissionRow {
    id: i64,
    app_label: String,
    codename: String,
    name: String,
}

impl From<PermissionRow> for Permission {
    fn from(r: PermissionRow) -> Self {
        Permission { id: PermissionId(r.id), key: PermissionKey { app_label: r.app_label, codename: r.codename }, name: r.name }
    }
}

/// How many changed keys an audit entry of a sync lists; the counters are always complete.
const AUDIT_KEYS: usize = 100;

#[async_trait]
impl PermissionStore for SqlStore {
    async fn list_permissions(&self, app: ApplicationId) -> StoreResult<Vec<Permission>> {
        let rows: Vec<PermissionRow> =
            sqlx::query_as("SELECT id, app_label, codename, name FROM permissions WHERE application_id = $1 ORDER BY app_label, codename")
                .bind(app.0)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(Permission::from).collect())
    }

    async fn sync_permissions(&self, app: ApplicationId, declared: Vec<Declared>, synced: u64, actor: &Actor) -> StoreResult<SyncCounts> {
        let mut tx = self.write().await?;
        let existing: Vec<Permission> =
            sqlx::query_as::<_, PermissionRow>("SELECT id, app_label, codename, name FROM permissions WHERE application_id = $1")
                .bind(app.0)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(Permission::from)
                .collect();
        let plan = plan_sync(&existing, declared);
        for chunk in plan.create.chunks(CHUNK) {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new("INSERT INTO permissions (application_id, app_label, codename, name) ");
            qb.push_values(chunk, |mut row, d| {
                row.push_bind(app.0).push_bind(&d.key.app_label).push_bind(&d.key.codename).push_bind(&d.name);
            });
            qb.build().execute(&mut *tx).await?;
        }
        for (id, name) in &plan.rename {
            sqlx::query("UPDATE permissions SET name = $1 WHERE id = $2").bind(name).bind(id.0).execute(&mut *tx).await?;
        }
        for chunk in plan.delete.chunks(CHUNK) {
            // Grants go with the permission (ON DELETE CASCADE on both link tables).
            let mut qb: QueryBuilder<Db> = QueryBuilder::new("DELETE FROM permissions WHERE id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.0);
            }
            qb.push(")");
            qb.build().execute(&mut *tx).await?;
        }
        let counts = SyncCounts {
            synced,
            created: plan.create.len() as u64,
            deleted: plan.delete.len() as u64,
            count: (existing.len() - plan.delete.len() + plan.create.len()) as u64,
        };
        let deleted_keys: Vec<String> =
            existing.iter().filter(|p| plan.delete.contains(&p.id)).take(AUDIT_KEYS).map(|p| p.key.to_string()).collect();
        let after = serde_json::json!({
            "counts": counts,
            "created": plan.create.iter().take(AUDIT_KEYS).map(|d| d.key.to_string()).collect::<Vec<_>>(),
            "renamed": plan.rename.len(),
            "deleted": deleted_keys,
        });
        let mut entry = AuditEntry::new(actor, "permissions.sync", format!("application {}", app.0)).application(app.0);
        entry.after = Some(after);
        write_audit(&mut tx, &entry, self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(counts)
    }

    async fn find_permissions(&self, app: ApplicationId, keys: &[PermissionKey]) -> StoreResult<Vec<Permission>> {
        // Few keys come at once (CLI and console choices); a per-key lookup keeps the SQL plain.
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            let row: Option<PermissionRow> = sqlx::query_as(
                "SELECT id, app_label, codename, name FROM permissions WHERE application_id = $1 AND app_label = $2 AND codename = $3",
            )
            .bind(app.0)
            .bind(&key.app_label)
            .bind(&key.codename)
            .fetch_optional(&self.pool)
            .await?;
            found.extend(row.map(Permission::from));
        }
        Ok(found)
    }

    async fn permission_usage(&self, app: ApplicationId) -> StoreResult<Vec<PermissionUsage>> {
        let permissions = self.list_permissions(app).await?;
        let groups: Vec<(i64, String)> = sqlx::query_as(
            "SELECT gp.permission_id, g.name FROM group_permissions gp JOIN permission_groups g ON g.id = gp.group_id \
             WHERE g.application_id = $1 ORDER BY g.name",
        )
        .bind(app.0)
        .fetch_all(&self.pool)
        .await?;
        let direct: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT mp.permission_id, COUNT(*) FROM membership_permissions mp JOIN permissions p ON p.id = mp.permission_id \
             WHERE p.application_id = $1 GROUP BY mp.permission_id",
        )
        .bind(app.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(permissions
            .into_iter()
            .map(|permission| PermissionUsage {
                groups: groups.iter().filter(|(p, _)| *p == permission.id.0).map(|(_, g)| g.clone()).collect(),
                direct_members: direct.iter().find(|(p, _)| *p == permission.id.0).map_or(0, |(_, n)| *n),
                permission,
            })
            .collect())
    }
}

#[async_trait]
impl GroupStore for SqlStore {
    async fn insert_group(&self, app: ApplicationId, name: &str, permissions: &[PermissionId], actor: &Actor) -> StoreResult<Group> {
        self.save_group_with_members(app, None, name, permissions, None, actor).await
    }

    async fn list_groups(&self, app: ApplicationId) -> StoreResult<Vec<Group>> {
        let groups: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM permission_groups WHERE application_id = $1 ORDER BY name")
            .bind(app.0)
            .fetch_all(&self.pool)
            .await?;
        let links: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT gp.group_id, gp.permission_id FROM group_permissions gp \
             JOIN permission_groups g ON g.id = gp.group_id WHERE g.application_id = $1",
        )
        .bind(app.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(groups
            .into_iter()
            .map(|(id, name)| Group {
                id: GroupId(id),
                application_id: app,
                name,
                permissions: links.iter().filter(|(g, _)| *g == id).map(|(_, p)| PermissionId(*p)).collect(),
            })
            .collect())
    }

    async fn update_group(&self, app: ApplicationId, group: GroupId, name: &str, permissions: &[PermissionId], actor: &Actor) -> StoreResult<Group> {
        self.save_group_with_members(app, Some(group), name, permissions, None, actor).await
    }

    async fn save_group_with_members(
        &self,
        app: ApplicationId,
        group: Option<GroupId>,
        name: &str,
        permissions: &[PermissionId],
        members: Option<&[UserId]>,
        actor: &Actor,
    ) -> StoreResult<Group> {
        let mut tx = self.write().await?;
        let before = match group {
            Some(id) => Some(load_group(&mut tx, app, id).await?),
            None => None,
        };
        let perm_ids = distinct(permissions.iter().map(|p| p.0));
        if count_owned(&mut tx, "permissions", app.0, &perm_ids).await? != perm_ids.len() {
            return Err(StoreError::Invalid("a permission of another application".into()));
        }
        let id = match group {
            Some(id) => {
                sqlx::query("UPDATE permission_groups SET name = $1 WHERE id = $2")
                    .bind(name)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict_or_other(e, "group name"))?;
                sqlx::query("DELETE FROM group_permissions WHERE group_id = $1").bind(id.0).execute(&mut *tx).await?;
                id
            }
            None => {
                let (id,): (i64,) = sqlx::query_as("INSERT INTO permission_groups (application_id, name) VALUES ($1, $2) RETURNING id")
                    .bind(app.0)
                    .bind(name)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| conflict_or_other(e, "group name"))?;
                GroupId(id)
            }
        };
        insert_links(&mut tx, "group_permissions", "group_id, permission_id", id.0, &perm_ids).await?;
        let after = Group { id, application_id: app, name: name.to_string(), permissions: perm_ids.into_iter().map(PermissionId).collect() };
        let active = if before.is_some() { active_members(&mut tx, id).await? } else { Vec::new() };
        let replaced = match members {
            Some(members) => Some(replace_members(&mut tx, app, id, members).await?),
            None => None,
        };
        let change = replaced.as_ref().map(|(was, now)| MembersChange { before: was, after: now });
        write_effects(&mut tx, &effects::group_saved(actor, before.as_ref(), &after, &active, change), self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(after)
    }

    async fn delete_group(&self, app: ApplicationId, group: GroupId, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let before = load_group(&mut tx, app, group).await?;
        let active = active_members(&mut tx, group).await?;
        sqlx::query("DELETE FROM permission_groups WHERE id = $1").bind(group.0).execute(&mut *tx).await?;
        write_effects(&mut tx, &effects::group_deleted(actor, &before, &active), self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(())
    }

    async fn group_members(&self, app: ApplicationId, group: GroupId) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(
            "SELECT u.id, u.username, u.email, u.first_name, u.last_name, u.password_hash, u.is_active, u.is_admin, u.date_joined, u.last_login \
             FROM membership_groups mg JOIN memberships m ON m.id = mg.membership_id JOIN users u ON u.id = m.user_id \
             WHERE mg.group_id = $1 AND m.application_id = $2 ORDER BY u.username_key",
        )
        .bind(group.0)
        .bind(app.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(User::from).map(|mut u| {
            u.password_hash = None;
            u
        }).collect())
    }

    async fn set_group_members(&self, app: ApplicationId, group: GroupId, members: &[UserId], actor: &Actor) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let found = load_group(&mut tx, app, group).await?;
        let (before, after) = replace_members(&mut tx, app, group, members).await?;
        write_effects(&mut tx, &effects::group_members_set(actor, &found, MembersChange { before: &before, after: &after }), self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(())
    }
}

/// The group of `app`; `NotFound` for a group of another application, so that a forged id
/// cannot reach across.
async fn load_group(tx: &mut sqlx::Transaction<'static, Db>, app: ApplicationId, group: GroupId) -> StoreResult<Group> {
    let (name,): (String,) = sqlx::query_as("SELECT name FROM permission_groups WHERE id = $1 AND application_id = $2")
        .bind(group.0)
        .bind(app.0)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let perms: Vec<(i64,)> =
        sqlx::query_as("SELECT permission_id FROM group_permissions WHERE group_id = $1 ORDER BY permission_id").bind(group.0).fetch_all(&mut **tx).await?;
    Ok(Group { id: group, application_id: app, name, permissions: perms.into_iter().map(|(p,)| PermissionId(p)).collect() })
}

/// The users whose active membership includes the group.
async fn active_members(tx: &mut sqlx::Transaction<'static, Db>, group: GroupId) -> StoreResult<Vec<UserId>> {
    let users: Vec<(i64,)> = sqlx::query_as(
        "SELECT m.user_id FROM membership_groups mg JOIN memberships m ON m.id = mg.membership_id WHERE mg.group_id = $1 AND m.is_active = $2",
    )
    .bind(group.0)
    .bind(true)
    .fetch_all(&mut **tx)
    .await?;
    Ok(users.into_iter().map(|(u,)| UserId(u)).collect())
}

/// Makes exactly `members` (users with a membership in `app`) the group's members; returns the
/// user ids before and after (`domain::effects` decides whom to tell).
async fn replace_members(
    tx: &mut sqlx::Transaction<'static, Db>,
    app: ApplicationId,
    group: GroupId,
    members: &[UserId],
) -> StoreResult<(Vec<i64>, Vec<i64>)> {
    let wanted = distinct(members.iter().map(|u| u.0));
    // The memberships of the wanted users in this application; a user without one is refused.
    let mut memberships: Vec<(i64, i64)> = Vec::with_capacity(wanted.len());
    for chunk in wanted.chunks(CHUNK) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("SELECT id, user_id FROM memberships WHERE application_id = ");
        qb.push_bind(app.0).push(" AND user_id IN (");
        let mut list = qb.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        qb.push(")");
        memberships.extend(qb.build_query_as::<(i64, i64)>().fetch_all(&mut **tx).await?);
    }
    if memberships.len() != wanted.len() {
        return Err(StoreError::Invalid("a user without a membership in this application".into()));
    }
    let current: Vec<(i64, i64)> =
        sqlx::query_as("SELECT m.id, m.user_id FROM membership_groups mg JOIN memberships m ON m.id = mg.membership_id WHERE mg.group_id = $1")
            .bind(group.0)
            .fetch_all(&mut **tx)
            .await?;
    for (membership, _) in current.iter().filter(|c| !memberships.contains(c)) {
        sqlx::query("DELETE FROM membership_groups WHERE membership_id = $1 AND group_id = $2").bind(membership).bind(group.0).execute(&mut **tx).await?;
    }
    for (membership, _) in memberships.iter().filter(|m| !current.contains(m)) {
        sqlx::query("INSERT INTO membership_groups (membership_id, group_id) VALUES ($1, $2)").bind(membership).bind(group.0).execute(&mut **tx).await?;
    }
    let mut before: Vec<i64> = current.into_iter().map(|(_, u)| u).collect();
    before.sort_unstable();
    Ok((before, wanted))
}
