//! What every admin API handler starts with: the token's administrator, and bodies, paths and
//! queries whose rejections are JSON errors (never axum's plain-text ones, never a 500).

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{Method, StatusCode};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::domain::application::Application;
use crate::domain::authz::Administrator;
use crate::domain::secret::SecretDigest;
use crate::domain::admin::{Access, TokenRefusal, api_tokens::Refused};
use crate::domain::{Error, admin};
use crate::http::error::ApiError;
use crate::http::shared::{ClientAddr, bearer_token};
use crate::http::state::AppState;
use crate::domain::ports::Store;

/// The owner of the presented API token, with what they may administer through it: their
/// rights of this moment, narrowed by the token's limits. No token, or an unknown, revoked or
/// expired one (or one of a deactivated owner): 401 `invalid_token`; a write with a read-only
/// token: 403 `insufficient_scope`; an owner who administers nothing: 403. Every refused token
/// is logged (never its value) for the security log's counters.
pub struct ApiAdmin(pub Administrator);

impl FromRequestParts<AppState> for ApiAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(ClientAddr(client)) = ClientAddr::from_request_parts(parts, state).await;
        let Some(token) = bearer_token(&parts.headers) else {
            if parts.headers.contains_key(AUTHORIZATION) {
                log_refusal("malformed", None, client);
                return Err(ApiError::unauthorized(Some("invalid_token"), "the Authorization header holds no bearer token"));
            }
            return Err(ApiError::unauthorized(None, "an API token is required: Authorization: Bearer <token>"));
        };
        // RFC 9110 §9.2.1: only the safe methods read.
        let access = if matches!(parts.method, Method::GET | Method::HEAD) { Access::Read } else { Access::Write };
        let now = state.clock.now();
        match admin::authenticate_api_token(state.store.as_ref(), &SecretDigest::of(token), access, now).await? {
            Ok((_, admin)) => Ok(Self(admin)),
            Err(Refused { refusal, token_id }) => {
                log_refusal(refusal.reason(), token_id, client);
                Err(match refusal {
                    TokenRefusal::Unknown | TokenRefusal::Revoked | TokenRefusal::OwnerInactive => {
                        ApiError::unauthorized(Some("invalid_token"), "the API token is unknown or revoked")
                    }
                    TokenRefusal::Expired => ApiError::unauthorized(Some("invalid_token"), "the API token has expired"),
                    TokenRefusal::OwnerNotAdministrator => {
                        ApiError::new(StatusCode::FORBIDDEN, "access_denied", "the token's owner is not an administrator")
                    }
                    TokenRefusal::ReadOnly => ApiError::insufficient_scope("the API token is read-only: it may only read (GET)"),
                })
            }
        }
    }
}

fn log_refusal(reason: &'static str, token_id: Option<i64>, client: IpAddr) {
    tracing::warn!(target: "centralauth::security", event = "api_token_rejected", reason, token_id, client = %client, "API token refused");
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
