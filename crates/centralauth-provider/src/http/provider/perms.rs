//! `POST {prefix}/perms/`: an application makes its registered permission set equal to the
//! list it sends, in one transaction. Unlike the original, a body without a `perms` list is
//! refused (it deleted everything) and malformed JSON is a 400 (it answered 500).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use centralauth_wire::{PermissionDeclaration, PermsSyncResponse};
use serde::Deserialize;

use crate::domain::permission::{self, validate_declarations};
use crate::http::error::ApiError;
use crate::http::shared::ClientCredentials;
use crate::http::state::AppState;

/// The body as it may arrive: credentials are checked before the list is judged, so that an
/// unauthenticated caller learns nothing about what a valid list looks like.
#[derive(Deserialize)]
struct SyncBody {
    client_id: Option<String>,
    client_secret: Option<String>,
    perms: Option<serde_json::Value>,
}

fn bad_request(description: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
}

#[tracing::instrument(skip_all, fields(client_id))]
pub async fn sync(
    State(state): State<AppState>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|r| ApiError::new(r.status(), "invalid_request", r.body_text()))?;
    let parsed: SyncBody = serde_json::from_slice(&body).map_err(|e| bad_request(format!("body must be a JSON object: {e}")))?;
    let (Some(client_id), Some(client_secret)) = (parsed.client_id, parsed.client_secret) else {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "invalid_client", "client_id and client_secret are required"));
    };
    tracing::Span::current().record("client_id", client_id.as_str());
    let credentials = ClientCredentials { client_id, client_secret: Some(client_secret) };
    let app = credentials
        .authenticate(state.store.as_ref())
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::FORBIDDEN, "invalid_client", "client authentication failed"))?;
    let perms = parsed.perms.ok_or_else(|| bad_request("perms: a list of permissions is required"))?;
    let perms: Vec<PermissionDeclaration> = serde_json::from_value(perms)
        .map_err(|e| bad_request(format!("perms: each entry needs app_label, codename and repr strings ({e})")))?;
    let synced = perms.len() as u64;
    let declared = validate_declarations(&perms)?;
    let counts = permission::sync(state.store.as_ref(), &app, declared, synced).await?;
    Ok(Json(PermsSyncResponse {
        success: true,
        synced: counts.synced,
        created: counts.created,
        deleted: counts.deleted,
        count: counts.count,
    })
    .into_response())
}
