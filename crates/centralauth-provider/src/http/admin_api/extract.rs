//! What every admin API handler starts with: the token's administrator, and bodies, paths and
//! queries whose rejections are JSON errors (never axum's plain-text ones, never a 500).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::domain::application::Application;
use crate::domain::authz::Administrator;
use crate::domain::secret::SecretDigest;
use crate::domain::{Error, admin};
use crate::http::error::ApiError;
use crate::http::shared::bearer_token;
use crate::http::state::AppState;
use crate::domain::ports::Store;

/// The owner of the presented API token, with what they may administer. No token, or an
/// unknown or revoked one (or one of a deactivated owner): 401; not an administrator: 403.
pub struct ApiAdmin(pub Administrator);

impl FromRequestParts<AppState> for ApiAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer_token(&parts.headers) else {
            return Err(ApiError::unauthorized(None, "an API token is required: Authorization: Bearer <token>"));
        };
        let store = state.store.as_ref();
        let Some((_, owner)) = store.find_api_token(&SecretDigest::of(token)).await.map_err(Error::from)? else {
            return Err(ApiError::unauthorized(Some("invalid_token"), "the API token is unknown or revoked"));
        };
        let admin = Administrator::load(store, &owner).await?;
        if !admin.is_administrator() {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "access_denied", "the token's owner is not an administrator"));
        }
        Ok(Self(admin))
    }
}

/// A JSON body: `application/json` only (415 otherwise), within the body limit (413), and of
/// the expected shape (400 naming what is wrong).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !(essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))) {
            return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "the body must be application/json"));
        }
        let body = Bytes::from_request(req, state).await.map_err(|r| {
            let code = if r.status() == StatusCode::PAYLOAD_TOO_LARGE { "payload_too_large" } else { "invalid_request" };
            ApiError::new(r.status(), code, r.body_text())
        })?;
        serde_json::from_slice(&body)
            .map(Self)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", format!("the body is not valid for this request: {e}")))
    }
}

/// Path parameters; a malformed one (a group id that is not a number) is a 400.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|r| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", r.body_text()))
    }
}

/// Query parameters; unknown or malformed ones are a 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(Self)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", format!("query: {e}")))
    }
}

/// The application as this administrator may see it: 404 both when it does not exist and when
/// it lies outside a delegated administrator's applications, so that they cannot tell the two apart.
pub async fn visible_application(store: &dyn Store, admin: &Administrator, client_id: &str) -> Result<Application, ApiError> {
    match admin::find_application(store, client_id).await {
        Ok(app) if admin.manages(app.id) => Ok(app),
        Ok(_) | Err(Error::NotFound { .. }) => Err(Error::not_found("application").into()),
        Err(e) => Err(e.into()),
    }
}

/// Page size of list endpoints: 50 unless asked, at most 500.
pub fn page_size(limit: Option<i64>) -> i64 {
    limit.unwrap_or(50).clamp(1, 500)
}
