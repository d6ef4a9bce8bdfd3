//! The import of a django-centralauth installation: what is here is loaded and the domain plans
//! inside the one write transaction, then the plan is written with multi-row statements, so
//! that 100,000 users with a million membership permissions take seconds, not hours.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use sqlx::{QueryBuilder, Transaction};

use super::applications::ApplicationRow;
use super::users::UserRow;
use super::{CHUNK, Db, MAX_BIND_PARAMETERS, SqlStore, write_audit_entries};
use crate::domain::application::{Application, ApplicationId, join_redirect_uris};
use crate::domain::audit::Actor;
use crate::domain::clock::UnixTime;
use crate::domain::django_import::{
    self, CurrentState, DjangoExport, ImportMode, ImportPlan, ImportRecord, ImportReport, ImportSettings, Kind, NewTokenFamily, Progress,
    SOURCE, Step, TokenImport,
};
use crate::domain::membership::{Group, GroupId, Membership, MembershipFlags, MembershipId};
use crate::domain::permission::{Permission, PermissionId, PermissionKey};
use crate::domain::user::{Role, User, UserId};
use crate::store::errors::conflict_or_other;
use crate::domain::ports::{ImportStore, StoreError, StoreResult};

type Tx = Transaction<'static, Db>;

#[async_trait]
impl ImportStore for SqlStore {
    async fn import_django(
        &self,
        export: &DjangoExport,
        settings: &ImportSettings,
        actor: &Actor,
        progress: &dyn Progress,
    ) -> StoreResult<ImportReport> {
        let mut tx = self.write().await?;
        progress.start("comparing with this database", 0);
        let current = load_current(&mut tx, export, settings).await?;
        let plan = django_import::plan(export, &current, settings, actor);
        drop(current);
        if settings.mode == ImportMode::DryRun {
            tx.rollback().await?;
            return Ok(plan.report);
        }
        write_plan(&mut tx, &plan, settings.now, progress).await?;
        progress.start("committing", 0);
        self.commit(tx).await?;
        Ok(plan.report)
    }
}

// -- loading ---------------------------------------------------------------------------------

async fn load_current(tx: &mut Tx, export: &DjangoExport, settings: &ImportSettings) -> StoreResult<CurrentState> {
    let users: Vec<UserRow> = sqlx::query_as(
        "SELECT id, username, email, first_name, last_name, password_hash, is_active, is_admin, date_joined, last_login FROM users",
    )
    .fetch_all(&mut **tx)
    .await?;
    let applications: Vec<ApplicationRow> = sqlx::query_as(super::applications::select_application!(""))
    .fetch_all(&mut **tx)
    .await?;
    let permissions: Vec<(i64, i64, String, String, String)> =
        sqlx::query_as("SELECT application_id, id, app_label, codename, name FROM permissions").fetch_all(&mut **tx).await?;
    let groups: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT id, application_id, name FROM permission_groups").fetch_all(&mut **tx).await?;
    let group_permissions = links(tx, "SELECT group_id, permission_id FROM group_permissions").await?;
    let memberships: Vec<(i64, i64, i64, bool, bool, bool)> =
        sqlx::query_as("SELECT id, application_id, user_id, is_superuser, is_staff, is_active FROM memberships")
            .fetch_all(&mut **tx)
            .await?;
    let mut membership_groups = links(tx, "SELECT membership_id, group_id FROM membership_groups").await?;
    let mut membership_permissions = links(tx, "SELECT membership_id, permission_id FROM membership_permissions").await?;
    let records: Vec<(String, String, String)> =
        sqlx::query_as("SELECT kind, record_key, fields FROM import_records WHERE source = $1").bind(SOURCE).fetch_all(&mut **tx).await?;
    let records = records
        .into_iter()
        .map(|(kind, key, fields)| {
            let damaged = || StoreError::Other(format!("import record {kind} {key:?} is damaged").into());
            Ok(ImportRecord {
                kind: Kind::parse(&kind).ok_or_else(damaged)?,
                fields: serde_json::from_str::<BTreeMap<String, String>>(&fields).map_err(|_| damaged())?,
                key,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let known_refresh_tokens = match settings.tokens {
        TokenImport::Import => known_refresh_tokens(tx, export).await?,
        TokenImport::Skip => HashSet::new(),
    };
    Ok(CurrentState {
        users: users.into_iter().map(User::from).collect(),
        applications: applications.into_iter().map(Application::from).collect(),
        permissions: permissions
            .into_iter()
            .map(|(app, id, app_label, codename, name)| {
                (ApplicationId(app), Permission { id: PermissionId(id), key: PermissionKey { app_label, codename }, name })
            })
            .collect(),
        groups: groups
            .into_iter()
            .map(|(id, app, name)| Group {
                id: GroupId(id),
                application_id: ApplicationId(app),
                name,
                permissions: group_permissions.get(&id).map_or_else(Vec::new, |p| p.iter().map(|&p| PermissionId(p)).collect()),
            })
            .collect(),
        memberships: memberships
            .into_iter()
            .map(|(id, app, user, is_superuser, is_staff, is_active)| Membership {
                id: MembershipId(id),
                application_id: ApplicationId(app),
                user_id: UserId(user),
                flags: MembershipFlags { is_superuser, is_staff, is_active },
                groups: membership_groups.remove(&id).unwrap_or_default().into_iter().map(GroupId).collect(),
                permissions: membership_permissions.remove(&id).unwrap_or_default().into_iter().map(PermissionId).collect(),
            })
            .collect(),
        records,
        known_refresh_tokens,
    })
}

/// A link table as owner id → linked ids.
async fn links(tx: &mut Tx, sql: &str) -> StoreResult<HashMap<i64, Vec<i64>>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(sql).fetch_all(&mut **tx).await?;
    let mut by_owner: HashMap<i64, Vec<i64>> = HashMap::new();
    for (owner, id) in rows {
        by_owner.entry(owner).or_default().push(id);
    }
    Ok(by_owner)
}

/// Which of the export's refresh tokens exist here already, as digests.
async fn known_refresh_tokens(tx: &mut Tx, export: &DjangoExport) -> StoreResult<HashSet<Vec<u8>>> {
    let digests: Vec<Vec<u8>> = export.refresh_tokens.iter().map(|t| t.token.digest().0).collect();
    let mut known = HashSet::new();
    for chunk in digests.chunks(CHUNK) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("SELECT token_digest FROM refresh_tokens WHERE token_digest IN (");
        let mut list = qb.separated(", ");
        for digest in chunk {
            list.push_bind(digest);
        }
        qb.push(")");
        let rows: Vec<(Vec<u8>,)> = qb.build_query_as().fetch_all(&mut **tx).await?;
        known.extend(rows.into_iter().map(|(d,)| d));
    }
    Ok(known)
}

// -- writing ---------------------------------------------------------------------------------

async fn write_plan(tx: &mut Tx, plan: &ImportPlan, now: UnixTime, progress: &dyn Progress) -> StoreResult<()> {
    let users = write_users(tx, plan, progress).await?;
    let applications = write_applications(tx, plan, now, progress).await?;
    let permissions = write_permissions(tx, plan, &applications, progress).await?;
    let groups = write_groups(tx, plan, &applications, &permissions, progress).await?;
    write_memberships(
        tx,
        plan,
        &Resolved { users: &users, applications: &applications, permissions: &permissions, groups: &groups },
        progress,
    )
    .await?;
    // Before the carried-over tokens: what was here goes, what the source has comes.
    for withdrawal in &plan.withdrawals {
        super::sessions::withdraw(tx, withdrawal, now).await?;
    }
    write_token_families(tx, &plan.token_families, &applications, &users, now, progress).await?;
    phase(progress, "import records", plan.records.len());
    for chunk in plan.records.chunks(MAX_BIND_PARAMETERS / 5) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("INSERT INTO import_records (source, kind, record_key, fields, imported_at) ");
        qb.push_values(chunk, |mut row, r| {
            let fields = serde_json::to_string(&r.fields).unwrap_or_default();
            row.push_bind(SOURCE).push_bind(r.kind.as_str()).push_bind(&r.key).push_bind(fields).push_bind(now);
        });
        qb.push(" ON CONFLICT (source, kind, record_key) DO UPDATE SET fields = excluded.fields, imported_at = excluded.imported_at");
        qb.build().execute(&mut **tx).await?;
        progress.advance(chunk.len() as u64);
    }
    write_audit_entries(tx, &plan.audit, now).await
}

/// Announces a writing phase, unless it has nothing to write.
fn phase(progress: &dyn Progress, name: &str, total: usize) {
    if total > 0 {
        progress.start(name, total as u64);
    }
}

/// The ids here of the export's rows (by export index), once written.
struct Resolved<'a> {
    users: &'a [Option<i64>],
    applications: &'a [Option<i64>],
    permissions: &'a [Option<i64>],
    groups: &'a [Option<i64>],
}

fn existing_ids<S, Id: Copy>(steps: &[Step<S, Id>], raw: impl Fn(Id) -> i64) -> Vec<Option<i64>> {
    steps.iter().map(|s| s.existing_id().map(&raw)).collect()
}

/// The id of export row `index`; the plan only refers to rows it writes or keeps, so a gap is
/// a bug, reported as an error rather than a panic.
fn id_of(ids: &[Option<i64>], index: usize, what: &str) -> StoreResult<i64> {
    ids.get(index)
        .copied()
        .flatten()
        .ok_or_else(|| StoreError::Other(format!("the import plan refers to a {what} it does not write").into()))
}

fn creates<S, Id>(steps: &[Step<S, Id>]) -> Vec<(usize, &S)> {
    steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Step::Create(state) => Some((i, state)),
            _ => None,
        })
        .collect()
}

fn updates<S, Id: Copy>(steps: &[Step<S, Id>]) -> Vec<(Id, &S)> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Update { id, state } => Some((*id, state)),
            _ => None,
        })
        .collect()
}

async fn write_users(tx: &mut Tx, plan: &ImportPlan, progress: &dyn Progress) -> StoreResult<Vec<Option<i64>>> {
    let mut ids = existing_ids(&plan.users, |id: UserId| id.0);
    let (new, changed) = (creates(&plan.users), updates(&plan.users));
    phase(progress, "users", new.len() + changed.len());
    for chunk in new.chunks(MAX_BIND_PARAMETERS / 13) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO users (username, username_key, email, email_key, first_name, last_name, first_name_key, last_name_key, \
             password_hash, is_active, is_admin, date_joined, last_login) ",
        );
        qb.push_values(chunk, |mut row, (_, u)| {
            row.push_bind(&u.username)
                .push_bind(&u.username_key)
                .push_bind(&u.email)
                .push_bind(u.email.to_lowercase())
                .push_bind(&u.first_name)
                .push_bind(&u.last_name)
                .push_bind(u.first_name.to_lowercase())
                .push_bind(u.last_name.to_lowercase())
                .push_bind(&u.password_hash)
                .push_bind(u.is_active)
                .push_bind(u.role == Role::Administrator)
                .push_bind(u.date_joined)
                .push_bind(u.last_login);
        });
        qb.push(" RETURNING id, username_key");
        let rows: Vec<(i64, String)> = qb.build_query_as().fetch_all(&mut **tx).await.map_err(|e| conflict_or_other(e, "username"))?;
        let index: HashMap<&str, usize> = chunk.iter().map(|(i, u)| (u.username_key.as_str(), *i)).collect();
        for (id, key) in rows {
            if let Some(&i) = index.get(key.as_str()) {
                ids[i] = Some(id);
            }
        }
        progress.advance(chunk.len() as u64);
    }
    for (id, u) in changed {
        sqlx::query(
            "UPDATE users SET username = $1, email = $2, email_key = $3, first_name = $4, last_name = $5, is_active = $6, is_admin = $7, \
             password_hash = $8, last_login = $9, first_name_key = $11, last_name_key = $12 WHERE id = $10",
        )
        .bind(&u.username)
        .bind(&u.email)
        .bind(u.email.to_lowercase())
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(u.is_active)
        .bind(u.role == Role::Administrator)
        .bind(&u.password_hash)
        .bind(u.last_login)
        .bind(id.0)
        .bind(u.first_name.to_lowercase())
        .bind(u.last_name.to_lowercase())
        .execute(&mut **tx)
        .await?;
        progress.advance(1);
    }
    Ok(ids)
}

async fn write_applications(tx: &mut Tx, plan: &ImportPlan, now: UnixTime, progress: &dyn Progress) -> StoreResult<Vec<Option<i64>>> {
    let mut ids = existing_ids(&plan.applications, |id| id.0);
    let (new, changed) = (creates(&plan.applications), updates(&plan.applications));
    phase(progress, "applications", new.len() + changed.len());
    for chunk in new.chunks(MAX_BIND_PARAMETERS / 11) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO applications (name, client_id, client_secret_digest, redirect_uris, redirect_uri_match, pkce, \
             allow_introspection_get, allow_insecure_redirect_uris, access_token_lifetime, refresh_token_lifetime, created_at) ",
        );
        qb.push_values(chunk, |mut row, (_, a)| {
            row.push_bind(&a.name)
                .push_bind(&a.client_id)
                .push_bind(&a.client_secret_digest.0)
                .push_bind(join_redirect_uris(&a.redirect_uris))
                .push_bind(a.redirect_uri_match.as_str())
                .push_bind(a.pkce.as_str())
                .push_bind(a.allow_introspection_get)
                .push_bind(a.allow_insecure_redirect_uris)
                .push_bind(a.lifetimes.access_token)
                .push_bind(a.lifetimes.refresh_token)
                .push_bind(now);
        });
        qb.push(" RETURNING id, client_id");
        let rows: Vec<(i64, String)> = qb.build_query_as().fetch_all(&mut **tx).await.map_err(|e| conflict_or_other(e, "client_id"))?;
        let index: HashMap<&str, usize> = chunk.iter().map(|(i, a)| (a.client_id.as_str(), *i)).collect();
        for (id, client_id) in rows {
            if let Some(&i) = index.get(client_id.as_str()) {
                ids[i] = Some(id);
            }
        }
        progress.advance(chunk.len() as u64);
    }
    for (id, a) in changed {
        sqlx::query(
            "UPDATE applications SET name = $1, client_secret_digest = $2, redirect_uris = $3, allow_insecure_redirect_uris = $4 \
             WHERE id = $5",
        )
        .bind(&a.name)
        .bind(&a.client_secret_digest.0)
        .bind(join_redirect_uris(&a.redirect_uris))
        .bind(a.allow_insecure_redirect_uris)
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
        progress.advance(1);
    }
    Ok(ids)
}

async fn write_permissions(
    tx: &mut Tx,
    plan: &ImportPlan,
    applications: &[Option<i64>],
    progress: &dyn Progress,
) -> StoreResult<Vec<Option<i64>>> {
    let mut ids = existing_ids(&plan.permissions, |id| id.0);
    let (new, changed) = (creates(&plan.permissions), updates(&plan.permissions));
    phase(progress, "permissions", new.len() + changed.len());
    for chunk in new.chunks(MAX_BIND_PARAMETERS / 4) {
        let mut index: HashMap<(i64, &str, &str), usize> = HashMap::with_capacity(chunk.len());
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, p) in chunk {
            let app = id_of(applications, p.application, "application")?;
            index.insert((app, p.key.app_label.as_str(), p.key.codename.as_str()), *i);
            rows.push((app, *p));
        }
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("INSERT INTO permissions (application_id, app_label, codename, name) ");
        qb.push_values(&rows, |mut row, (app, p)| {
            row.push_bind(*app).push_bind(&p.key.app_label).push_bind(&p.key.codename).push_bind(&p.name);
        });
        qb.push(" RETURNING id, application_id, app_label, codename");
        let created: Vec<(i64, i64, String, String)> =
            qb.build_query_as().fetch_all(&mut **tx).await.map_err(|e| conflict_or_other(e, "permission"))?;
        for (id, app, app_label, codename) in created {
            if let Some(&i) = index.get(&(app, app_label.as_str(), codename.as_str())) {
                ids[i] = Some(id);
            }
        }
        progress.advance(chunk.len() as u64);
    }
    for (id, p) in changed {
        sqlx::query("UPDATE permissions SET name = $1 WHERE id = $2").bind(&p.name).bind(id.0).execute(&mut **tx).await?;
        progress.advance(1);
    }
    Ok(ids)
}

async fn write_groups(
    tx: &mut Tx,
    plan: &ImportPlan,
    applications: &[Option<i64>],
    permissions: &[Option<i64>],
    progress: &dyn Progress,
) -> StoreResult<Vec<Option<i64>>> {
    let mut ids = existing_ids(&plan.groups, |id| id.0);
    let (new, changed) = (creates(&plan.groups), updates(&plan.groups));
    phase(progress, "groups", new.len() + changed.len());
    let mut links = Vec::new();
    for chunk in new.chunks(MAX_BIND_PARAMETERS / 2) {
        let mut index: HashMap<(i64, &str), usize> = HashMap::with_capacity(chunk.len());
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, g) in chunk {
            let app = id_of(applications, g.application, "application")?;
            index.insert((app, g.name.as_str()), *i);
            rows.push((app, g.name.as_str()));
        }
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("INSERT INTO permission_groups (application_id, name) ");
        qb.push_values(&rows, |mut row, (app, name)| {
            row.push_bind(*app).push_bind(*name);
        });
        qb.push(" RETURNING id, application_id, name");
        let created: Vec<(i64, i64, String)> =
            qb.build_query_as().fetch_all(&mut **tx).await.map_err(|e| conflict_or_other(e, "group name"))?;
        for (id, app, name) in created {
            if let Some(&i) = index.get(&(app, name.as_str())) {
                ids[i] = Some(id);
            }
        }
        progress.advance(chunk.len() as u64);
    }
    for (i, g) in &new {
        let group = id_of(&ids, *i, "group")?;
        for &p in &g.permissions {
            links.push((group, id_of(permissions, p, "permission")?));
        }
    }
    for (id, g) in changed {
        sqlx::query("DELETE FROM group_permissions WHERE group_id = $1").bind(id.0).execute(&mut **tx).await?;
        for &p in &g.permissions {
            links.push((id.0, id_of(permissions, p, "permission")?));
        }
        progress.advance(1);
    }
    insert_pairs(tx, "group_permissions (group_id, permission_id)", &links, progress).await?;
    Ok(ids)
}

async fn write_memberships(tx: &mut Tx, plan: &ImportPlan, ids: &Resolved<'_>, progress: &dyn Progress) -> StoreResult<()> {
    let (new, changed) = (creates(&plan.memberships), updates(&plan.memberships));
    phase(progress, "memberships", new.len() + changed.len());
    let mut membership_ids: Vec<Option<i64>> = vec![None; plan.memberships.len()];
    for chunk in new.chunks(MAX_BIND_PARAMETERS / 5) {
        let mut index: HashMap<(i64, i64), usize> = HashMap::with_capacity(chunk.len());
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, m) in chunk {
            let key = (id_of(ids.applications, m.application, "application")?, id_of(ids.users, m.user, "user")?);
            index.insert(key, *i);
            rows.push((key, m.flags));
        }
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new("INSERT INTO memberships (application_id, user_id, is_superuser, is_staff, is_active) ");
        qb.push_values(&rows, |mut row, ((app, user), flags)| {
            row.push_bind(*app).push_bind(*user).push_bind(flags.is_superuser).push_bind(flags.is_staff).push_bind(flags.is_active);
        });
        qb.push(" RETURNING id, application_id, user_id");
        let created: Vec<(i64, i64, i64)> =
            qb.build_query_as().fetch_all(&mut **tx).await.map_err(|e| conflict_or_other(e, "membership"))?;
        for (id, app, user) in created {
            if let Some(&i) = index.get(&(app, user)) {
                membership_ids[i] = Some(id);
            }
        }
        progress.advance(chunk.len() as u64);
    }
    let (mut group_links, mut permission_links) = (Vec::new(), Vec::new());
    for (i, m) in &new {
        let membership = id_of(&membership_ids, *i, "membership")?;
        for &g in m.groups.as_deref().unwrap_or_default() {
            group_links.push((membership, id_of(ids.groups, g, "group")?));
        }
        for &p in m.permissions.as_deref().unwrap_or_default() {
            permission_links.push((membership, id_of(ids.permissions, p, "permission")?));
        }
    }
    for (id, m) in changed {
        sqlx::query("UPDATE memberships SET is_superuser = $1, is_staff = $2, is_active = $3 WHERE id = $4")
            .bind(m.flags.is_superuser)
            .bind(m.flags.is_staff)
            .bind(m.flags.is_active)
            .bind(id.0)
            .execute(&mut **tx)
            .await?;
        if let Some(groups) = &m.groups {
            sqlx::query("DELETE FROM membership_groups WHERE membership_id = $1").bind(id.0).execute(&mut **tx).await?;
            for &g in groups {
                group_links.push((id.0, id_of(ids.groups, g, "group")?));
            }
        }
        if let Some(perms) = &m.permissions {
            sqlx::query("DELETE FROM membership_permissions WHERE membership_id = $1").bind(id.0).execute(&mut **tx).await?;
            for &p in perms {
                permission_links.push((id.0, id_of(ids.permissions, p, "permission")?));
            }
        }
        progress.advance(1);
    }
    phase(progress, "membership groups", group_links.len());
    insert_pairs(tx, "membership_groups (membership_id, group_id)", &group_links, progress).await?;
    phase(progress, "membership permissions", permission_links.len());
    insert_pairs(tx, "membership_permissions (membership_id, permission_id)", &permission_links, progress).await
}

/// Inserts `(owner, id)` rows into a link table, as many per statement as the bound-parameter
/// limit allows.
async fn insert_pairs(tx: &mut Tx, table_and_columns: &str, pairs: &[(i64, i64)], progress: &dyn Progress) -> StoreResult<()> {
    for chunk in pairs.chunks(MAX_BIND_PARAMETERS / 2) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!("INSERT INTO {table_and_columns} "));
        qb.push_values(chunk, |mut row, (owner, id)| {
            row.push_bind(*owner).push_bind(*id);
        });
        qb.build().execute(&mut **tx).await?;
        progress.advance(chunk.len() as u64);
    }
    Ok(())
}

/// One family per carried-over refresh token. Row by row: a family's id is needed for its
/// tokens and nothing else tells the rows of a multi-row insert apart; live refresh tokens are
/// far fewer than users.
async fn write_token_families(
    tx: &mut Tx,
    families: &[NewTokenFamily],
    applications: &[Option<i64>],
    users: &[Option<i64>],
    now: UnixTime,
    progress: &dyn Progress,
) -> StoreResult<()> {
    phase(progress, "refresh tokens", families.len());
    for f in families {
        let (family_id,): (i64,) = sqlx::query_as(
            "INSERT INTO token_families (application_id, user_id, scope, auth_time, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(id_of(applications, f.application, "application")?)
        .bind(id_of(users, f.user, "user")?)
        .bind(&f.scope)
        .bind(f.auth_time)
        .bind(now)
        .bind(f.refresh_expires_at)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_digest, family_id, access_token_digest, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&f.refresh.0)
        .bind(family_id)
        .bind(&f.access.0)
        .bind(&f.scope)
        .bind(now)
        .bind(f.refresh_expires_at)
        .execute(&mut **tx)
        .await?;
        if let Some(expires_at) = f.access_expires_at {
            sqlx::query("INSERT INTO access_tokens (token_digest, family_id, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&f.access.0)
                .bind(family_id)
                .bind(&f.scope)
                .bind(now)
                .bind(expires_at)
                .execute(&mut **tx)
                .await?;
        }
        progress.advance(1);
    }
    Ok(())
}
