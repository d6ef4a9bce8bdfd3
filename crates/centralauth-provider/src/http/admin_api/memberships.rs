//! `/api/v1/applications/{client_id}/memberships`: who may use the application and with which
//! flags, groups and permissions. Delegated administrators manage the memberships of their
//! applications, except their own.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiAdmin, ApiJson, ApiPath, ApiQuery, page_size, visible_application};
use super::groups::PermissionRef;
use crate::domain::Error;
use crate::domain::admin;
use crate::domain::application::Application;
use crate::domain::membership::{GroupId, MembershipFlags, effective_pairs};
use crate::domain::permission::PermissionId;
use crate::domain::user::{User, username_key};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::domain::page::Page;
use crate::domain::ports::{MemberSummary, Store, UserQuery};

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    pub user_id: i64,
    pub username: String,
    /// For administrators only: a delegated administrator manages access, not addresses
    /// (the console shows them none either).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub is_superuser: bool,
    pub is_staff: bool,
    /// The membership's own flag (the account may be deactivated besides).
    pub is_active: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<MemberOut>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MemberListQuery {
    /// Case-insensitive prefix of the username, e-mail address, first or last name.
    pub search: Option<String>,
    /// The membership's active flag.
    pub active: Option<bool>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupRef {
    pub id: i64,
    pub name: String,
}

/// A membership as the application sees it, and what it is made of.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipDetail {
    pub user_id: i64,
    pub username: String,
    pub is_superuser: bool,
    pub is_staff: bool,
    pub is_active: bool,
    /// Whether the account itself is active (`/user/` reports `is_active` only when both are).
    pub user_is_active: bool,
    pub groups: Vec<GroupRef>,
    /// Permissions held directly.
    pub permissions: Vec<PermissionRef>,
    /// Direct and group permissions together, as `/user/` reports them: `[app_label, codename]`.
    pub effective_permissions: Vec<(String, String)>,
}

/// The complete new state of a membership (created when there is none).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipPut {
    #[serde(default)]
    pub is_superuser: bool,
    #[serde(default)]
    pub is_staff: bool,
    /// Default true.
    #[serde(default = "yes")]
    pub is_active: bool,
    /// Ids of the application's groups.
    #[serde(default)]
    pub group_ids: Vec<i64>,
    /// Ids of the application's permissions, held directly.
    #[serde(default)]
    pub permission_ids: Vec<i64>,
}

fn yes() -> bool {
    true
}

/// The application's members, searched and filtered, in pages by username.
#[utoipa::path(get, path = "/applications/{client_id}/memberships", tag = "memberships", params(("client_id" = String, Path), MemberListQuery),
    responses((status = 200, body = MemberPage), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiPath(client_id): ApiPath<String>,
    ApiQuery(q): ApiQuery<MemberListQuery>,
) -> Result<Json<MemberPage>, ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let limit = page_size(q.limit);
    let query = UserQuery {
        search: q.search,
        active: q.active,
        administrator: None,
        after_username_key: q.after.as_deref().map(username_key),
        limit: Page::<MemberSummary, String>::fetch_limit(limit),
    };
    let page = Page::of(store.list_memberships(app.id, &query).await.map_err(Error::from)?, limit, |m| username_key(&m.user.username));
    let next = page.next;
    let items = page
        .items
        .into_iter()
        .map(|m| MemberOut {
            user_id: m.user.id.0,
            username: m.user.username,
            email: admin.is_full().then_some(m.user.email),
            first_name: m.user.first_name,
            last_name: m.user.last_name,
            is_superuser: m.flags.is_superuser,
            is_staff: m.flags.is_staff,
            is_active: m.flags.is_active,
        })
        .collect();
    Ok(Json(MemberPage { items, next }))
}

async fn detail(store: &dyn Store, app: &Application, user: &User) -> Result<MembershipDetail, Error> {
    let membership = store.find_membership(app.id, user.id).await?.ok_or(Error::not_found("member"))?;
    let view = store.membership_view(app.id, user.id).await?.ok_or(Error::not_found("member"))?;
    let groups = store.list_groups(app.id).await?;
    let permissions = store.list_permissions(app.id).await?;
    Ok(MembershipDetail {
        user_id: user.id.0,
        username: user.username.clone(),
        is_superuser: membership.flags.is_superuser,
        is_staff: membership.flags.is_staff,
        is_active: membership.flags.is_active,
        user_is_active: user.is_active,
        groups: groups.iter().filter(|g| membership.groups.contains(&g.id)).map(|g| GroupRef { id: g.id.0, name: g.name.clone() }).collect(),
        permissions: permissions.iter().filter(|p| membership.permissions.contains(&p.id)).map(PermissionRef::from).collect(),
        effective_permissions: effective_pairs(view.permissions),
    })
}

/// One membership: flags, groups, direct and effective permissions.
#[utoipa::path(get, path = "/applications/{client_id}/memberships/{username}", tag = "memberships",
    params(("client_id" = String, Path), ("username" = String, Path)),
    responses((status = 200, body = MembershipDetail), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn show(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiPath((client_id, username)): ApiPath<(String, String)>,
) -> Result<Json<MembershipDetail>, ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let (user, _) = admin::find_member(store, &app, &username).await?;
    Ok(Json(detail(store, &app, &user).await?))
}

/// Create or replace a membership: flags, groups and direct permissions, all of this application.
#[utoipa::path(put, path = "/applications/{client_id}/memberships/{username}", tag = "memberships",
    params(("client_id" = String, Path), ("username" = String, Path)), request_body = MembershipPut, responses(
    (status = 200, description = "Replaced", body = MembershipDetail),
    (status = 201, description = "Created", body = MembershipDetail),
    (status = 400, description = "A group or permission of another application", body = super::ErrorBody),
    (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn save(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiPath((client_id, username)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<MembershipPut>,
) -> Result<(StatusCode, Json<MembershipDetail>), ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let (user, existed) = match admin::find_member(store, &app, &username).await {
        Ok((user, _)) => (user, true),
        Err(Error::NotFound { .. }) => (admin::find_user_to_add(&admin, store, &username).await?, false),
        Err(e) => return Err(e.into()),
    };
    let flags = MembershipFlags { is_superuser: body.is_superuser, is_staff: body.is_staff, is_active: body.is_active };
    let groups = body.group_ids.iter().copied().map(GroupId).collect();
    let permissions = body.permission_ids.iter().copied().map(PermissionId).collect();
    admin::save_membership(&admin, store, &app, user.id, flags, groups, permissions).await.map_err(|e| match e {
        // The store names which list reached into another application.
        Error::Invalid { field: "reference", reason } => {
            let field = if reason.contains("group") { "group_ids" } else { "permission_ids" };
            ApiError::invalid(field, format!("{field}: {reason}"))
        }
        other => other.into(),
    })?;
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(detail(store, &app, &user).await?)))
}

/// Remove a membership: the user loses access to the application (and is signed out of it).
#[utoipa::path(delete, path = "/applications/{client_id}/memberships/{username}", tag = "memberships",
    params(("client_id" = String, Path), ("username" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn delete(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiPath((client_id, username)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let (user, _) = admin::find_member(store, &app, &username).await?;
    admin::delete_membership(&admin, store, &app, user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
