//! Permissions and groups.

use async_trait::async_trait;
use sqlx::QueryBuilder;

use super::{CHUNK, Db, SqlStore, count_owned, distinct, insert_links, write_audit};
use crate::domain::application::ApplicationId;
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::membership::{Group, GroupId};
use crate::domain::permission::{Declared, Permission, PermissionId, PermissionKey, SyncCounts, plan_sync};
use crate::store::errors::conflict_or_other;
use crate::store::{GroupStore, PermissionStore, StoreError, StoreResult};

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
        write_audit(&mut tx, &entry).await?;
        tx.commit().await?;
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
}

#[async_trait]
impl GroupStore for SqlStore {
    async fn insert_group(&self, app: ApplicationId, name: &str, permissions: &[PermissionId], actor: &Actor) -> StoreResult<Group> {
        let mut tx = self.write().await?;
        let perm_ids = distinct(permissions.iter().map(|p| p.0));
        if count_owned(&mut tx, "permissions", app.0, &perm_ids).await? != perm_ids.len() {
            return Err(StoreError::Invalid("a permission of another application".into()));
        }
        let (id,): (i64,) = sqlx::query_as("INSERT INTO permission_groups (application_id, name) VALUES ($1, $2) RETURNING id")
            .bind(app.0)
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| conflict_or_other(e, "group name"))?;
        insert_links(&mut tx, "group_permissions", "group_id, permission_id", id, &perm_ids).await?;
        let group = Group {
            id: GroupId(id),
            application_id: app,
            name: name.to_string(),
            permissions: perm_ids.into_iter().map(PermissionId).collect(),
        };
        write_audit(&mut tx, &AuditEntry::new(actor, "group.create", name).application(app.0).after(&group)).await?;
        tx.commit().await?;
        Ok(group)
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
}
