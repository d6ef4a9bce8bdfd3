//! `/api/v1/api-tokens`: the tokens of this API. Everyone sees and revokes their own;
//! administrators see and revoke everyone's. A new token is shown once, in the answer.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiAdmin, ApiJson, ApiPath};
use crate::domain::Error;
use crate::domain::admin::{self, TokenScope};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::domain::ports::ApiToken;

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenOut {
    pub id: i64,
    pub name: String,
    /// The username the token acts as.
    pub owner: String,
    /// Unix time.
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl From<ApiToken> for ApiTokenOut {
    fn from(t: ApiToken) -> Self {
        Self { id: t.id, name: t.name, owner: t.owner_username, created_at: t.created_at, revoked_at: t.revoked_at }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenCreate {
    /// What the token is for, 1 to 100 characters.
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenCreated {
    pub token: ApiTokenOut,
    /// The token itself, shown only in this answer (the provider keeps a digest).
    pub secret: String,
}

/// Your API tokens (everyone's for administrators), newest first.
#[utoipa::path(get, path = "/api-tokens", tag = "api-tokens", responses((status = 200, body = Vec<ApiTokenOut>)))]
#[tracing::instrument(skip_all)]
pub async fn list(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin) -> Result<Json<Vec<ApiTokenOut>>, ApiError> {
    let owner = (!admin.is_full()).then_some(admin.user_id);
    let tokens = state.store.list_api_tokens(owner).await.map_err(Error::from)?;
    Ok(Json(tokens.into_iter().map(ApiTokenOut::from).collect()))
}

/// A new token acting as you; the value is in this answer only.
#[utoipa::path(post, path = "/api-tokens", tag = "api-tokens", request_body = ApiTokenCreate, responses(
    (status = 201, body = ApiTokenCreated), (status = 400, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiJson(body): ApiJson<ApiTokenCreate>,
) -> Result<(StatusCode, Json<ApiTokenCreated>), ApiError> {
    let (token, secret) = admin::create_api_token(&admin, state.store.as_ref(), admin.user_id, &body.name).await?;
    Ok((StatusCode::CREATED, Json(ApiTokenCreated { token: token.into(), secret: secret.expose().to_string() })))
}

/// Revoke a token: it stops working at once.
#[utoipa::path(delete, path = "/api-tokens/{id}", tag = "api-tokens", params(("id" = i64, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, description = "No live token of yours with this id", body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn revoke(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiPath(id): ApiPath<i64>) -> Result<StatusCode, ApiError> {
    admin::revoke_api_token(&admin, state.store.as_ref(), id, TokenScope::Any).await?;
    Ok(StatusCode::NO_CONTENT)
}
