//! The statements that read a django-centralauth database, written once and compiled for both
//! backends: `sqlite.rs` and `postgres.rs` include this file with their own `Db` and `epoch`.
//! Ids are cast to BIGINT because Django's are `integer` on PostgreSQL (and `bigint` for
//! django-oauth-toolkit's), and datetimes become Unix seconds through `epoch`.

use std::collections::HashMap;

use sqlx::Transaction;

use super::{Db, epoch};
use crate::django_source::SourceError;
use crate::domain::django_import::{
    DjangoExport, PROVIDER_APP_LABELS, Progress, SourceAccessToken, SourceApplication, SourceGroup, SourceMembership, SourcePermission,
    SourceRefreshToken, SourceUser, TokenImport,
};
use crate::domain::secret::Secret;

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    password: String,
    is_active: bool,
    is_staff: bool,
    is_superuser: bool,
    may_change_provider_data: bool,
    date_joined: i64,
    last_login: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ApplicationRow {
    id: i64,
    client_id: String,
    client_secret: String,
    name: String,
    redirect_uris: String,
    client_type: String,
    authorization_grant_type: String,
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    id: i64,
    application_id: i64,
    user_id: i64,
    is_superuser: bool,
    is_staff: bool,
    is_active: bool,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    application_id: i64,
    user_id: i64,
    token: String,
    created: i64,
    access_token: Option<String>,
    access_expires: Option<i64>,
    access_scope: Option<String>,
}

fn failed<'u>(url: &'u str, table: &'static str) -> impl Fn(sqlx::Error) -> SourceError + 'u {
    move |e| SourceError::Query { url: url.to_string(), table, cause: e.to_string() }
}

/// Whether user `u` holds a Django add, change or delete permission (never a view one) of a
/// provider app through `link_join` (whose permission column is `l.permission_id`).
fn provider_permission_exists(link_join: &str, user_column: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM {link_join} JOIN auth_permission p ON p.id = l.permission_id \
                 JOIN django_content_type ct ON ct.id = p.content_type_id \
          WHERE {user_column} = u.id AND ct.app_label IN ($1, $2, $3) AND p.codename NOT LIKE 'view\\_%' ESCAPE '\\')"
    )
}

pub(super) async fn read_all(
    tx: &mut Transaction<'_, Db>,
    url: &str,
    tokens: TokenImport,
    progress: &dyn Progress,
) -> Result<DjangoExport, SourceError> {
    progress.start("reading Django users", 0);
    let sql = format!(
        "SELECT CAST(u.id AS BIGINT) AS id, u.username, u.email, u.first_name, u.last_name, u.password, \
                u.is_active, u.is_staff, u.is_superuser, \
                ({} OR {}) AS may_change_provider_data, \
                COALESCE({}, 0) AS date_joined, {} AS last_login \
         FROM auth_user u ORDER BY u.id",
        provider_permission_exists("auth_user_user_permissions l", "l.user_id"),
        provider_permission_exists("auth_user_groups g JOIN auth_group_permissions l ON l.group_id = g.group_id", "g.user_id"),
        epoch("u.date_joined"),
        epoch("u.last_login"),
    );
    let mut query = sqlx::query_as::<_, UserRow>(&sql);
    for label in PROVIDER_APP_LABELS {
        query = query.bind(label);
    }
    let users: Vec<SourceUser> = query
        .fetch_all(&mut **tx)
        .await
        .map_err(failed(url, "auth_user"))?
        .into_iter()
        .map(|r| SourceUser {
            id: r.id,
            username: r.username,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            password: r.password,
            is_active: r.is_active,
            is_staff: r.is_staff,
            is_superuser: r.is_superuser,
            may_change_provider_data: r.may_change_provider_data,
            date_joined: r.date_joined,
            last_login: r.last_login,
        })
        .collect();
    progress.advance(users.len() as u64);

    progress.start("reading Django applications, permissions and groups", 0);
    let applications: Vec<SourceApplication> = sqlx::query_as::<_, ApplicationRow>(
        "SELECT CAST(id AS BIGINT) AS id, client_id, client_secret, name, redirect_uris, client_type, authorization_grant_type \
         FROM provider_application ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(failed(url, "provider_application"))?
    .into_iter()
    .map(|r| SourceApplication {
        id: r.id,
        client_id: r.client_id,
        client_secret: Secret::from_given(r.client_secret),
        name: r.name,
        redirect_uris: r.redirect_uris,
        client_type: r.client_type,
        authorization_grant_type: r.authorization_grant_type,
    })
    .collect();
    let permissions: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
        "SELECT CAST(id AS BIGINT), CAST(application_id AS BIGINT), app_label, codename, repr \
         FROM provider_applicationpermission ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(failed(url, "provider_applicationpermission"))?;
    let permissions: Vec<SourcePermission> = permissions
        .into_iter()
        .map(|(id, application_id, app_label, codename, repr)| SourcePermission { id, application_id, app_label, codename, repr })
        .collect();
    let mut group_permissions = links(
        tx,
        "SELECT CAST(applicationpermissiongroup_id AS BIGINT), CAST(applicationpermission_id AS BIGINT) \
         FROM provider_applicationpermissiongroup_permissions",
        url,
        "provider_applicationpermissiongroup_permissions",
    )
    .await?;
    let groups: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT CAST(id AS BIGINT), CAST(application_id AS BIGINT), name FROM provider_applicationpermissiongroup ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(failed(url, "provider_applicationpermissiongroup"))?;
    let groups: Vec<SourceGroup> = groups
        .into_iter()
        .map(|(id, application_id, name)| SourceGroup {
            id,
            application_id,
            name,
            permissions: group_permissions.remove(&id).unwrap_or_default(),
        })
        .collect();
    progress.advance((applications.len() + permissions.len() + groups.len()) as u64);

    progress.start("reading Django memberships", 0);
    let mut membership_groups = links(
        tx,
        "SELECT CAST(applicationuser_id AS BIGINT), CAST(applicationpermissiongroup_id AS BIGINT) FROM provider_applicationuser_groups",
        url,
        "provider_applicationuser_groups",
    )
    .await?;
    let mut membership_permissions = links(
        tx,
        "SELECT CAST(applicationuser_id AS BIGINT), CAST(applicationpermission_id AS BIGINT) FROM provider_applicationuser_permissions",
        url,
        "provider_applicationuser_permissions",
    )
    .await?;
    let memberships: Vec<SourceMembership> = sqlx::query_as::<_, MembershipRow>(
        "SELECT CAST(id AS BIGINT) AS id, CAST(application_id AS BIGINT) AS application_id, CAST(user_id AS BIGINT) AS user_id, \
                is_superuser, is_staff, is_active \
         FROM provider_applicationuser ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(failed(url, "provider_applicationuser"))?
    .into_iter()
    .map(|r| SourceMembership {
        id: r.id,
        application_id: r.application_id,
        user_id: r.user_id,
        is_superuser: r.is_superuser,
        is_staff: r.is_staff,
        is_active: r.is_active,
        groups: membership_groups.remove(&r.id).unwrap_or_default(),
        permissions: membership_permissions.remove(&r.id).unwrap_or_default(),
    })
    .collect();
    progress.advance(memberships.len() as u64);

    let refresh_tokens = match tokens {
        TokenImport::Skip => Vec::new(),
        TokenImport::Import => {
            progress.start("reading Django refresh tokens", 0);
            let sql = format!(
                "SELECT CAST(r.application_id AS BIGINT) AS application_id, CAST(r.user_id AS BIGINT) AS user_id, r.token, \
                        COALESCE({}, 0) AS created, a.token AS access_token, {} AS access_expires, a.scope AS access_scope \
                 FROM oauth2_provider_refreshtoken r LEFT JOIN oauth2_provider_accesstoken a ON a.id = r.access_token_id \
                 WHERE r.revoked IS NULL ORDER BY r.id",
                epoch("r.created"),
                epoch("a.expires"),
            );
            let rows: Vec<TokenRow> =
                sqlx::query_as(&sql).fetch_all(&mut **tx).await.map_err(failed(url, "oauth2_provider_refreshtoken"))?;
            progress.advance(rows.len() as u64);
            rows.into_iter()
                .map(|r| SourceRefreshToken {
                    application_id: r.application_id,
                    user_id: r.user_id,
                    token: Secret::from_given(r.token),
                    created: r.created,
                    access_token: r.access_token.map(|token| SourceAccessToken {
                        token: Secret::from_given(token),
                        expires: r.access_expires.unwrap_or(0),
                        scope: r.access_scope.unwrap_or_default(),
                    }),
                })
                .collect()
        }
    };
    Ok(DjangoExport { users, applications, permissions, groups, memberships, refresh_tokens })
}

/// A many-to-many table as owner id → linked ids.
async fn links(tx: &mut Transaction<'_, Db>, sql: &str, url: &str, table: &'static str) -> Result<HashMap<i64, Vec<i64>>, SourceError> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(sql).fetch_all(&mut **tx).await.map_err(failed(url, table))?;
    let mut by_owner: HashMap<i64, Vec<i64>> = HashMap::new();
    for (owner, id) in rows {
        by_owner.entry(owner).or_default().push(id);
    }
    Ok(by_owner)
}
