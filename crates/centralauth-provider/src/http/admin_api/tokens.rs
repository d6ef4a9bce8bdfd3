//! `/api/v1/api-tokens`: the tokens of this API. Everyone sees and revokes their own;
//! administrators see and revoke everyone's. A new token is shown once, in the answer.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiAdmin, ApiJson, ApiPath, visible_application};
use crate::domain::Error;
use crate::domain::admin::{self, TokenLifetime, TokenLimits, TokenScope};
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
    /// Unix time after which the token is refused; `null`: it never expires.
    pub expires_at: Option<i64>,
    /// Unix time of its last use, to the minute; `null`: never used.
    pub last_used_at: Option<i64>,
    /// Only reads (`GET`); a write answers 403 `insufficient_scope`.
    pub read_only: bool,
    /// The client ids of the applications it is limited to (acting as their delegated
    /// administrator); `null`: its owner's rights, unlimited.
    pub applications: Option<Vec<String>>,
}

impl From<ApiToken> for ApiTokenOut {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            owner: t.owner_username,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            read_only: t.read_only,
            applications: t.applications.map(|apps| apps.into_iter().map(|a| a.client_id).collect()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenCreate {
    /// What the token is for, 1 to 100 characters.
    pub name: String,
    /// Days until it expires, 1 to 366; 90 when absent.
    #[schema(minimum = 1, maximum = 366)]
    pub expires_in_days: Option<i64>,
    /// A token that never expires: administrators only, and not together with `expires_in_days`.
    #[serde(default)]
    pub never_expires: bool,
    /// Only reads (`GET`).
    #[serde(default)]
    pub read_only: bool,
    /// Client ids of applications you administer: the token reaches only these.
    pub applications: Option<Vec<String>>,
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

/// A new token acting as you, for 90 days unless asked otherwise (366 at most; never only for
/// administrators who ask), optionally read-only or limited to some of your applications; the
/// value is in this answer only. A token limited to applications makes no tokens.
#[utoipa::path(post, path = "/api-tokens", tag = "api-tokens", request_body = ApiTokenCreate, responses(
    (status = 201, body = ApiTokenCreated), (status = 400, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiJson(body): ApiJson<ApiTokenCreate>,
) -> Result<(StatusCode, Json<ApiTokenCreated>), ApiError> {
    let store = state.store.as_ref();
    let lifetime = match (body.expires_in_days, body.never_expires) {
        (Some(_), true) => return Err(ApiError::invalid("never_expires", "never_expires: not together with expires_in_days")),
        (None, true) => TokenLifetime::Never,
        (Some(days), false) => TokenLifetime::Days(days),
        (None, false) => TokenLifetime::Default,
    };
    let applications = match body.applications {
        Some(client_ids) => {
            let mut ids = Vec::with_capacity(client_ids.len());
            for client_id in &client_ids {
                // Another administrator's application and none at all answer alike.
                let app = visible_application(store, &admin, client_id).await.map_err(|e| match e.status {
                    StatusCode::NOT_FOUND => ApiError::invalid("applications", format!("applications: {client_id:?} is not an application you administer")),
                    _ => e,
                })?;
                ids.push(app.id);
            }
            Some(ids)
        }
        None => None,
    };
    let limits = TokenLimits { lifetime, read_only: body.read_only, applications };
    let (token, secret) = admin::create_api_token(&admin, store, admin.user_id, &body.name, limits, state.clock.now()).await?;
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
