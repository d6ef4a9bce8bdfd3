//! `/api/v1/applications/{client_id}/permissions`: what the application registered through
//! `/perms/`, with where each permission is used. Read-only: applications own their list.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::{ApiAdmin, ApiPath, visible_application};
use crate::domain::Error;
use crate::http::error::ApiError;
use crate::http::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionOut {
    /// What groups and memberships refer to (`permission_ids`).
    pub id: i64,
    pub app_label: String,
    pub codename: String,
    /// The human-readable name the application declared.
    pub name: String,
    /// Names of the groups that hold it.
    pub groups: Vec<String>,
    /// How many memberships hold it directly.
    pub direct_members: i64,
}

/// The application's permissions with their use.
#[utoipa::path(get, path = "/applications/{client_id}/permissions", tag = "permissions", params(("client_id" = String, Path)),
    responses((status = 200, body = Vec<PermissionOut>), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiPath(client_id): ApiPath<String>) -> Result<Json<Vec<PermissionOut>>, ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let usage = store.permission_usage(app.id).await.map_err(Error::from)?;
    Ok(Json(
        usage
            .into_iter()
            .map(|u| PermissionOut {
                id: u.permission.id.0,
                app_label: u.permission.key.app_label,
                codename: u.permission.key.codename,
                name: u.permission.name,
                groups: u.groups,
                direct_members: u.direct_members,
            })
            .collect(),
    ))
}
