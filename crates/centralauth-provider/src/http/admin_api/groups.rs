//! `/api/v1/applications/{client_id}/groups`: named sets of one application's permissions, and
//! who is in them. Delegated administrators manage the groups of their applications, but not a
//! group's permissions while they are in it, nor their own place in a group.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiAdmin, ApiJson, ApiPath, visible_application};
use crate::domain::Error;
use crate::domain::admin::{self, GroupChange};
use crate::domain::application::Application;
use crate::domain::membership::{Group, GroupId};
use crate::domain::permission::{Permission, PermissionId};
use crate::domain::user::UserId;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::domain::ports::Store;

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionRef {
    pub id: i64,
    pub app_label: String,
    pub codename: String,
}

impl From<&Permission> for PermissionRef {
    fn from(p: &Permission) -> Self {
        Self { id: p.id.0, app_label: p.key.app_label.clone(), codename: p.key.codename.clone() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOut {
    pub id: i64,
    pub name: String,
    pub permissions: Vec<PermissionRef>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberRef {
    pub id: i64,
    pub username: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDetail {
    pub group: GroupOut,
    pub members: Vec<MemberRef>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupCreate {
    /// 1 to 150 characters, unique in the application.
    pub name: String,
    /// Ids of the application's permissions (see its `permissions`).
    #[serde(default)]
    pub permission_ids: Vec<i64>,
}

/// Changes to a group; absent fields stay as they are, given permissions replace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    pub name: Option<String>,
    pub permission_ids: Option<Vec<i64>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupMembers {
    /// Ids of users with a membership in the application; they become the group's members.
    pub user_ids: Vec<i64>,
}

fn group_out(group: Group, permissions: &[Permission]) -> GroupOut {
    GroupOut {
        id: group.id.0,
        name: group.name,
        permissions: permissions.iter().filter(|p| group.permissions.contains(&p.id)).map(PermissionRef::from).collect(),
    }
}

async fn find_group(store: &dyn Store, app: &Application, id: i64) -> Result<Group, Error> {
    store.list_groups(app.id).await?.into_iter().find(|g| g.id == GroupId(id)).ok_or(Error::not_found("group"))
}

/// The store refuses a reference into another application; the API names the field.
fn reference_error(err: Error, field: &'static str) -> ApiError {
    match err {
        Error::Invalid { field: "reference", reason } => ApiError::invalid(field, format!("{field}: {reason}")),
        other => other.into(),
    }
}

fn permission_ids(ids: &[i64]) -> Vec<PermissionId> {
    ids.iter().copied().map(PermissionId).collect()
}

/// The application's groups, by name.
#[utoipa::path(get, path = "/applications/{client_id}/groups", tag = "groups", params(("client_id" = String, Path)),
    responses((status = 200, body = Vec<GroupOut>), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiPath(client_id): ApiPath<String>) -> Result<Json<Vec<GroupOut>>, ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let permissions = store.list_permissions(app.id).await.map_err(Error::from)?;
    let groups = store.list_groups(app.id).await.map_err(Error::from)?;
    Ok(Json(groups.into_iter().map(|g| group_out(g, &permissions)).collect()))
}

/// Create a group of the application's permissions.
#[utoipa::path(post, path = "/applications/{client_id}/groups", tag = "groups", params(("client_id" = String, Path)),
    request_body = GroupCreate, responses(
    (status = 201, body = GroupOut),
    (status = 400, description = "Invalid name, or a permission of another application", body = super::ErrorBody),
    (status = 404, body = super::ErrorBody),
    (status = 409, description = "The name is taken in this application", body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiPath(client_id): ApiPath<String>,
    ApiJson(body): ApiJson<GroupCreate>,
) -> Result<(StatusCode, Json<GroupOut>), ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let change = GroupChange { group: None, name: &body.name, permissions: &permission_ids(&body.permission_ids), members: None };
    let group = admin::save_group(&admin, store, &app, change)
        .await
        .map_err(|e| reference_error(e, "permission_ids"))?;
    let permissions = store.list_permissions(app.id).await.map_err(Error::from)?;
    Ok((StatusCode::CREATED, Json(group_out(group, &permissions))))
}

/// A group with its members.
#[utoipa::path(get, path = "/applications/{client_id}/groups/{id}", tag = "groups", params(("client_id" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = GroupDetail), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn show(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiPath((client_id, id)): ApiPath<(String, i64)>) -> Result<Json<GroupDetail>, ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let group = find_group(store, &app, id).await?;
    Ok(Json(detail(store, &app, group).await?))
}

async fn detail(store: &dyn Store, app: &Application, group: Group) -> Result<GroupDetail, Error> {
    let members = store.group_members(app.id, group.id).await?.into_iter().map(|u| MemberRef { id: u.id.0, username: u.username }).collect();
    let permissions = store.list_permissions(app.id).await?;
    Ok(GroupDetail { group: group_out(group, &permissions), members })
}

/// Rename a group or replace its permissions; its members are told their access changed.
#[utoipa::path(patch, path = "/applications/{client_id}/groups/{id}", tag = "groups", params(("client_id" = String, Path), ("id" = i64, Path)),
    request_body = GroupPatch, responses(
    (status = 200, body = GroupOut), (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn update(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiPath((client_id, id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<GroupPatch>,
) -> Result<Json<GroupOut>, ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let group = find_group(store, &app, id).await?;
    let name = body.name.unwrap_or_else(|| group.name.clone());
    let permissions = body.permission_ids.as_deref().map_or_else(|| group.permissions.clone(), permission_ids);
    let change = GroupChange { group: Some(&group), name: &name, permissions: &permissions, members: None };
    let saved = admin::save_group(&admin, store, &app, change)
        .await
        .map_err(|e| reference_error(e, "permission_ids"))?;
    let all = store.list_permissions(app.id).await.map_err(Error::from)?;
    Ok(Json(group_out(saved, &all)))
}

/// Delete a group; its members lose what it gave them.
#[utoipa::path(delete, path = "/applications/{client_id}/groups/{id}", tag = "groups", params(("client_id" = String, Path), ("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn delete(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiPath((client_id, id)): ApiPath<(String, i64)>) -> Result<StatusCode, ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let group = find_group(store, &app, id).await?;
    admin::delete_group(&admin, store, &app, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Make exactly these users (members of the application) the group's members.
#[utoipa::path(put, path = "/applications/{client_id}/groups/{id}/members", tag = "groups", params(("client_id" = String, Path), ("id" = i64, Path)),
    request_body = GroupMembers, responses(
    (status = 200, body = GroupDetail),
    (status = 400, description = "A user without a membership in the application", body = super::ErrorBody),
    (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn set_members(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiPath((client_id, id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<GroupMembers>,
) -> Result<Json<GroupDetail>, ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let group = find_group(store, &app, id).await?;
    let members: Vec<UserId> = body.user_ids.iter().copied().map(UserId).collect();
    admin::set_group_members(&admin, store, &app, &group, &members).await.map_err(|e| reference_error(e, "user_ids"))?;
    Ok(Json(detail(store, &app, group).await?))
}
