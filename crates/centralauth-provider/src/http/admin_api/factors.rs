//! `/api/v1/users/{username}/factors`: a user's second factors and passkeys, listed, removed one
//! by one or all at once (administrators only; delegated ones and application-limited tokens get
//! 403). Never a secret or a credential: kind, name and times only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::{ApiAdmin, ApiPath};
use crate::domain::admin;
use crate::domain::mfa::{FactorKind, FactorSummary};
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// What kind of factor.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FactorKindOut {
    /// A one-time code app (RFC 6238).
    Totp,
    /// A WebAuthn credential.
    Passkey,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FactorOut {
    pub id: i64,
    pub kind: FactorKindOut,
    /// The name the user gave it.
    pub name: String,
    /// Unix time.
    pub created_at: i64,
    /// Unix time of its last use at a sign-in; absent when never used.
    pub last_used_at: Option<i64>,
}

impl From<FactorSummary> for FactorOut {
    fn from(f: FactorSummary) -> Self {
        let kind = match f.kind {
            FactorKind::Totp => FactorKindOut::Totp,
            FactorKind::Passkey => FactorKindOut::Passkey,
        };
        Self { id: f.id, kind, name: f.name, created_at: f.created_at, last_used_at: f.last_used_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FactorList {
    /// Oldest first.
    pub items: Vec<FactorOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FactorsReset {
    /// The factors removed (their recovery codes went with them).
    pub removed: Vec<FactorOut>,
}

// The operation ids are named: the handlers' own names (`list`) would clash with `users::list`
// once `Conventions` prefixes the tag.

/// A user's second factors and passkeys, oldest first.
#[utoipa::path(get, path = "/users/{username}/factors", tag = "users", operation_id = "list_factors", params(("username" = String, Path)),
    responses((status = 200, body = FactorList), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiPath(username): ApiPath<String>) -> Result<Json<FactorList>, ApiError> {
    admin.require_full()?;
    let store = state.store.as_ref();
    let user = admin::find_user(store, &username).await?;
    let items = admin::list_factors(&admin, store, user.id).await?.into_iter().map(FactorOut::from).collect();
    Ok(Json(FactorList { items }))
}

/// Remove one of a user's factors (with the last one, their recovery codes go too) and end the
/// user's sessions. Audited as `mfa.remove`.
#[utoipa::path(delete, path = "/users/{username}/factors/{id}", tag = "users", operation_id = "remove_factor", params(("username" = String, Path), ("id" = i64, Path)),
    responses((status = 204, description = "Removed"), (status = 404, description = "No such user, or no factor of theirs with this id", body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn remove(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiPath((username, id)): ApiPath<(String, i64)>) -> Result<StatusCode, ApiError> {
    admin.require_full()?;
    let store = state.store.as_ref();
    let user = admin::find_user(store, &username).await?;
    admin::remove_factor(&admin, store, user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove all of a user's factors and recovery codes and end the user's sessions: they sign in
/// with their password alone until they enrol again. Audited as `mfa.reset`.
#[utoipa::path(delete, path = "/users/{username}/factors", tag = "users", operation_id = "reset_factors", params(("username" = String, Path)),
    responses((status = 200, body = FactorsReset), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn reset(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiPath(username): ApiPath<String>) -> Result<Json<FactorsReset>, ApiError> {
    admin.require_full()?;
    let store = state.store.as_ref();
    let user = admin::find_user(store, &username).await?;
    let removed = admin::reset_factors(&admin, store, user.id).await?.into_iter().map(FactorOut::from).collect();
    Ok(Json(FactorsReset { removed }))
}
