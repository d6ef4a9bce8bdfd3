//! `GET {prefix}/user/`: who the token's user is and what they may do in the token's
//! application. A missing, expired or revoked token is 401 with `WWW-Authenticate` (RFC 6750
//! §3); the original answers an empty 403, and its client treats both alike.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use centralauth_wire::UserInfo;

use crate::domain::membership::effective_pairs;
use crate::domain::secret::SecretDigest;
use crate::http::error::ApiError;
use crate::http::shared::{bearer_challenge, bearer_token};
use crate::http::state::AppState;

/// 401 with the RFC 6750 §3 challenge.
pub fn unauthorized(error: Option<&str>) -> Response {
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, bearer_challenge(error, None))]).into_response()
}

#[tracing::instrument(skip_all)]
pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let Some(token) = bearer_token(&headers) else { return Ok(unauthorized(None)) };
    let found = state.store.access_token_view(&SecretDigest::of(token), state.clock.now()).await.map_err(crate::domain::Error::from)?;
    let Some(found) = found else { return Ok(unauthorized(Some("invalid_token"))) };
    let Some(view) = found.view else {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "access_denied", "the user has no membership in this application"));
    };
    let user = &view.user;
    Ok(Json(UserInfo {
        sub: Some(user.id.0.to_string()),
        username: user.username.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        email: user.email.clone(),
        is_superuser: view.flags.is_superuser,
        is_staff: view.flags.is_staff,
        // A deactivated account deactivates every membership.
        is_active: view.flags.is_active && user.is_active,
        permissions: effective_pairs(view.permissions.iter().cloned()),
    })
    .into_response())
}
