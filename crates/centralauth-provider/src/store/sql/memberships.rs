//! Memberships and what they grant.

use async_trait::async_trait;

use super::{SqlStore, count_owned, distinct, insert_links, write_effects};
use crate::domain::effects;
use crate::domain::application::ApplicationId;
use crate::domain::audit::Actor;
use crate::domain::membership::{GroupId, Membership, MembershipFlags, MembershipId, MembershipSpec};
use crate::domain::permission::{PermissionId, PermissionKey};
use crate::domain::user::{Role, User, UserId};
use crate::store::errors::conflict_or_other;
use crate::store::hot_path::{Arg, hot_path_row};
use super::Db;
use super::applications::{ApplicationRow, select_application};
use crate::domain::application::Application;
use super::users::push_user_filters;
use crate::domain::ports::{MemberSummary, MembershipStore, MembershipView, StoreError, StoreResult, UserMembership, UserQuery};
use sqlx::QueryBuilder;

#[derive(sqlx::FromRow)]
struct MembershipRow {
    id: i64,
    is_superuser: bool,
    is_staff: bool,
    is_active: bool,
}

hot_path_row! {
    /// A user joined with their membership flags, for `/user/`.
    struct ViewRow {
        membership_id: i64,
        is_superuser: bool,
        is_staff: bool,
        membership_active: bool,
        user_id: i64,
        username: String,
        email: String,
        first_name: String,
        last_name: String,
        user_active: bool,
        is_admin: bool,
        date_joined: i64,
        last_login: Option<i64>,
    }
}

impl SqlStore {
    async fn load_membership(
        conn: &mut <super::Db as sqlx::Database>::Connection,
        app: ApplicationId,
        user: UserId,
    ) -> StoreResult<Option<Membership>> {
        let row: Option<MembershipRow> =
            sqlx::query_as("SELECT id, is_superuser, is_staff, is_active FROM memberships WHERE application_id = $1 AND user_id = $2")
                .bind(app.0)
                .bind(user.0)
                .fetch_optional(&mut *conn)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let groups: Vec<(i64,)> = sqlx::query_as("SELECT group_id FROM membership_groups WHERE membership_id = $1 ORDER BY group_id")
            .bind(row.id)
            .fetch_all(&mut *conn)
            .await?;
        let perms: Vec<(i64,)> =
            sqlx::query_as("SELECT permission_id FROM membership_permissions WHERE membership_id = $1 ORDER BY permission_id")
                .bind(row.id)
                .fetch_all(&mut *conn)
                .await?;
        Ok(Some(Membership {
            id: MembershipId(row.id),
            application_id: app,
            user_id: user,
            flags: MembershipFlags { is_superuser: row.is_superuser, is_staff: row.is_staff, is_active: row.is_active },
            groups: groups.into_iter().map(|(g,)| GroupId(g)).collect(),
            permissions: perms.into_iter().map(|(p,)| PermissionId(p)).collect(),
        }))
    }
}

/// Refuses groups or permissions of another application: the domain rule that a membership
/// grants only what its own application registered.
async fn check_ownership(tx: &mut sqlx::Transaction<'static, super::Db>, spec: &MembershipSpec) -> StoreResult<(Vec<i64>, Vec<i64>)> {
    let groups = distinct(spec.groups.iter().map(|g| g.0));
    let perms = distinct(spec.permissions.iter().map(|p| p.0));
    if count_owned(tx, "permission_groups", spec.application_id.0, &groups).await? != groups.len() {
        return Err(StoreError::Invalid("a group of another application".into()));
    }
    if count_owned(tx, "permissions", spec.application_id.0, &perms).await? != perms.len() {
        return Err(StoreError::Invalid("a permission of another application".into()));
    }
    Ok((groups, perms))
}

fn membership_of(id: i64, spec: &MembershipSpec, groups: Vec<i64>, perms: Vec<i64>) -> Membership {
    Membership {
        id: MembershipId(id),
        application_id: spec.application_id,
        user_id: spec.user_id,
        flags: spec.flags,
        groups: groups.into_iter().map(GroupId).collect(),
        permissions: perms.into_iter().map(PermissionId).collect(),
    }
}

#[async_trait]
impl MembershipStore for SqlStore {
    async fn find_membership(&self, app: ApplicationId, user: UserId) -> StoreResult<Option<Membership>> {
        let mut conn = self.pool.acquire().await?;
        Self::load_membership(&mut conn, app, user).await
    }

    async fn insert_membership(&self, spec: &MembershipSpec, actor: &Actor) -> StoreResult<Membership> {
        let mut tx = self.write().await?;
        let (groups, perms) = check_ownership(&mut tx, spec).await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO memberships (application_id, user_id, is_superuser, is_staff, is_active) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(spec.application_id.0)
        .bind(spec.user_id.0)
        .bind(spec.flags.is_superuser)
        .bind(spec.flags.is_staff)
        .bind(spec.flags.is_active)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict_or_other(e, "membership"))?;
        insert_links(&mut tx, "membership_groups", "membership_id, group_id", id, &groups).await?;
        insert_links(&mut tx, "membership_permissions", "membership_id, permission_id", id, &perms).await?;
        let created = membership_of(id, spec, groups, perms);
        write_effects(&mut tx, &effects::membership_created(actor, &created), self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(created)
    }

    async fn update_membership(&self, spec: &MembershipSpec, actor: &Actor) -> StoreResult<Membership> {
        let mut tx = self.write().await?;
        let before = Self::load_membership(&mut *tx, spec.application_id, spec.user_id).await?.ok_or(StoreError::NotFound)?;
        let (groups, perms) = check_ownership(&mut tx, spec).await?;
        let id = before.id.0;
        sqlx::query("UPDATE memberships SET is_superuser = $1, is_staff = $2, is_active = $3 WHERE id = $4")
            .bind(spec.flags.is_superuser)
            .bind(spec.flags.is_staff)
            .bind(spec.flags.is_active)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM membership_groups WHERE membership_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM membership_permissions WHERE membership_id = $1").bind(id).execute(&mut *tx).await?;
        insert_links(&mut tx, "membership_groups", "membership_id, group_id", id, &groups).await?;
        insert_links(&mut tx, "membership_permissions", "membership_id, permission_id", id, &perms).await?;
        let after = membership_of(id, spec, groups, perms);
        write_effects(&mut tx, &effects::membership_updated(actor, &before, &after), self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(after)
    }

    async fn delete_membership(&self, app: ApplicationId, user: UserId, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let before = Self::load_membership(&mut *tx, app, user).await?.ok_or(StoreError::NotFound)?;
        sqlx::query("DELETE FROM memberships WHERE id = $1").bind(before.id.0).execute(&mut *tx).await?;
        write_effects(&mut tx, &effects::membership_deleted(actor, &before), self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(())
    }

    async fn membership_view(&self, app: ApplicationId, user: UserId) -> StoreResult<Option<MembershipView>> {
        let row: Option<ViewRow> = self
            .hot_path
            .fetch_optional(
                "SELECT m.id AS membership_id, m.is_superuser, m.is_staff, m.is_active AS membership_active, \
                        u.id AS user_id, u.username, u.email, u.first_name, u.last_name, u.is_active AS user_active, u.is_admin, \
                        u.date_joined, u.last_login \
                 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.application_id = $1 AND m.user_id = $2",
                &[Arg::Int(app.0), Arg::Int(user.0)],
            )
            .await?;
        let Some(r) = row else { return Ok(None) };
        // UNION removes a permission granted both directly and through a group.
        let perms: Vec<(String, String)> = self
            .hot_path
            .fetch_all(
                "SELECT p.app_label, p.codename FROM permissions p \
                   JOIN membership_permissions mp ON mp.permission_id = p.id WHERE mp.membership_id = $1 \
                 UNION \
                 SELECT p.app_label, p.codename FROM permissions p \
                   JOIN group_permissions gp ON gp.permission_id = p.id \
                   JOIN membership_groups mg ON mg.group_id = gp.group_id WHERE mg.membership_id = $1",
                &[Arg::Int(r.membership_id)],
            )
            .await?;
        Ok(Some(MembershipView {
            user: User {
                id: UserId(r.user_id),
                username: r.username,
                email: r.email,
                first_name: r.first_name,
                last_name: r.last_name,
                is_active: r.user_active,
                role: if r.is_admin { Role::Administrator } else { Role::User },
                date_joined: r.date_joined,
                last_login: r.last_login,
                password_hash: None,
            },
            flags: MembershipFlags { is_superuser: r.is_superuser, is_staff: r.is_staff, is_active: r.membership_active },
            permissions: perms.into_iter().map(|(app_label, codename)| PermissionKey { app_label, codename }).collect(),
        }))
    }

    async fn list_memberships(&self, app: ApplicationId, query: &UserQuery) -> StoreResult<Vec<MemberSummary>> {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "SELECT m.is_superuser, m.is_staff, m.is_active AS membership_active, \
                    u.id, u.username, u.email, u.first_name, u.last_name, u.is_active, u.is_admin, u.date_joined, u.last_login \
             FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.application_id = ",
        );
        qb.push_bind(app.0);
        push_user_filters(&mut qb, &UserQuery { active: None, administrator: None, ..query.clone() }, "u");
        if let Some(active) = query.active {
            qb.push(" AND m.is_active = ").push_bind(active);
        }
        qb.push(" ORDER BY u.username_key LIMIT ").push_bind(query.limit.clamp(1, 1000));
        let rows: Vec<MemberRow> = qb.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(MemberRow::into_summary).collect())
    }

    async fn memberships_of_user(&self, user: UserId) -> StoreResult<Vec<UserMembership>> {
        let rows: Vec<(i64, bool, bool, bool)> = sqlx::query_as(
            "SELECT m.application_id, m.is_superuser, m.is_staff, m.is_active FROM memberships m WHERE m.user_id = $1",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        // The applications in one statement, not one look-up per membership.
        let apps: Vec<ApplicationRow> = sqlx::query_as(select_application!(
            "WHERE id IN (SELECT application_id FROM memberships WHERE user_id = $1)"
        ))
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        let mut apps: Vec<Application> = apps.into_iter().map(Application::from).collect();
        let mut memberships = Vec::with_capacity(rows.len());
        for (app, is_superuser, is_staff, is_active) in rows {
            if let Some(i) = apps.iter().position(|a| a.id.0 == app) {
                let application = apps.swap_remove(i);
                memberships.push(UserMembership { application, flags: MembershipFlags { is_superuser, is_staff, is_active } });
            }
        }
        memberships.sort_by(|a, b| a.application.name.cmp(&b.application.name));
        Ok(memberships)
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    is_superuser: bool,
    is_staff: bool,
    membership_active: bool,
    id: i64,
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    is_active: bool,
    is_admin: bool,
    date_joined: i64,
    last_login: Option<i64>,
}

impl MemberRow {
    fn into_summary(self) -> MemberSummary {
        MemberSummary {
            user: User {
                id: UserId(self.id),
                username: self.username,
                email: self.email,
                first_name: self.first_name,
                last_name: self.last_name,
                is_active: self.is_active,
                role: if self.is_admin { Role::Administrator } else { Role::User },
                date_joined: self.date_joined,
                last_login: self.last_login,
                password_hash: None,
            },
            flags: MembershipFlags { is_superuser: self.is_superuser, is_staff: self.is_staff, is_active: self.membership_active },
        }
    }
}
