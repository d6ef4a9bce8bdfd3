//! The three error answers of the HTTP surface: RFC 6749 §5.2 JSON on OAuth endpoints, JSON on
//! the API, an HTML page in the browser. 5xx causes are logged here, once, and never sent out.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use centralauth_wire::{OAuthErrorBody, OAuthErrorCode};

use super::i18n::{EN, Texts};
use super::pages::ErrorPage;
use super::shared::bearer_challenge;
use crate::domain::Error;

/// An RFC 6749 §5.2 error.
#[derive(Debug)]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub description: Option<String>,
    pub status: StatusCode,
    /// Seconds for `Retry-After` on a 429 or 503.
    pub retry_after: Option<i64>,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode) -> Self {
        let status = match code {
            OAuthErrorCode::InvalidClient | OAuthErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self { code, description: None, status, retry_after: None }
    }

    pub fn describe(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest).describe(description)
    }
}

/// RFC 6749 §5.1: token answers, good or bad, must not be cached.
pub fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody { error: self.code, error_description: self.description };
        let mut response = (self.status, Json(body)).into_response();
        no_store(&mut response);
        if self.code == OAuthErrorCode::InvalidClient {
            // RFC 6749 §5.2: a 401 names the authentication scheme the client may use.
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"centralauth\""));
        }
        retry_after(&mut response, self.retry_after);
        response
    }
}

/// `Retry-After` in whole seconds (RFC 9110 §10.2.3), at least one.
fn retry_after(response: &mut Response, seconds: Option<i64>) {
    if let Some(seconds) = seconds {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
}

impl From<Error> for OAuthError {
    fn from(err: Error) -> Self {
        match err {
            Error::InvalidGrant { description: Some(d) } => OAuthError::new(OAuthErrorCode::InvalidGrant).describe(d),
            Error::InvalidGrant { description: None } => OAuthError::new(OAuthErrorCode::InvalidGrant),
            Error::InvalidClient => OAuthError::new(OAuthErrorCode::InvalidClient),
            Error::InvalidScope => OAuthError::new(OAuthErrorCode::InvalidScope),
            Error::AccessDenied | Error::Forbidden | Error::OwnAccess { .. } => {
                OAuthError::new(OAuthErrorCode::AccessDenied).with_status(StatusCode::FORBIDDEN)
            }
            Error::SelfLockout { .. } => OAuthError::invalid_request(err.to_string()),
            Error::Invalid { reason, .. } => OAuthError::invalid_request(reason),
            Error::NotFound { .. } | Error::Conflict { .. } => OAuthError::new(OAuthErrorCode::InvalidRequest),
            Error::RateLimited { retry_after } => OAuthError {
                retry_after: Some(retry_after),
                ..OAuthError::invalid_request("too many requests").with_status(StatusCode::TOO_MANY_REQUESTS)
            },
            Error::Unavailable { retry_after } => OAuthError { retry_after: Some(retry_after), ..OAuthError::new(OAuthErrorCode::TemporarilyUnavailable) },
            Error::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                OAuthError::new(OAuthErrorCode::ServerError)
            }
        }
    }
}

/// A JSON error of the API endpoints (`/user/`, `/perms/`, the admin API under `/api/v1/`):
/// `{"error", "error_description", "field"?}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
    /// The input field at fault, for invalid input.
    pub field: Option<&'static str>,
    /// A 401's `WWW-Authenticate` challenge (RFC 6750 §3).
    pub challenge: Option<HeaderValue>,
    /// Seconds for `Retry-After` on a 429 or 503.
    pub retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self { status, code, description: description.into(), field: None, challenge: None, retry_after: None }
    }

    pub fn invalid(field: &'static str, description: impl Into<String>) -> Self {
        Self { field: Some(field), ..Self::new(StatusCode::BAD_REQUEST, "invalid_request", description) }
    }

    /// 401 with an RFC 6750 §3 bearer challenge; `error` is absent when no token was sent.
    pub fn unauthorized(error: Option<&'static str>, description: impl Into<String>) -> Self {
        Self { challenge: Some(bearer_challenge(error, None)), ..Self::new(StatusCode::UNAUTHORIZED, error.unwrap_or("invalid_token"), description) }
    }

    /// 403 for a token that may not do this (RFC 6750 §3.1 `insufficient_scope`), with its challenge.
    pub fn insufficient_scope(description: impl Into<String>) -> Self {
        Self {
            challenge: Some(bearer_challenge(Some("insufficient_scope"), None)),
            ..Self::new(StatusCode::FORBIDDEN, "insufficient_scope", description)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.code, "error_description": self.description });
        if let Some(field) = self.field {
            body["field"] = field.into();
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(value) = self.challenge {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        retry_after(&mut response, self.retry_after);
        response
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            Error::Invalid { field, reason } => ApiError::invalid(field, format!("{field}: {reason}")),
            Error::Conflict { what } => ApiError::new(StatusCode::CONFLICT, "conflict", format!("{what} already exists")),
            Error::NotFound { what } => ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found")),
            Error::InvalidClient => ApiError::new(StatusCode::FORBIDDEN, "invalid_client", "client authentication failed"),
            Error::AccessDenied | Error::Forbidden => ApiError::new(StatusCode::FORBIDDEN, "access_denied", "access denied"),
            Error::OwnAccess { reason } => ApiError::new(StatusCode::FORBIDDEN, "access_denied", reason),
            // The first field the change named: `is_active` before `administrator`.
            Error::SelfLockout { ref fields } => ApiError::invalid(fields.first().copied().unwrap_or("is_active"), err.to_string()),
            Error::InvalidGrant { .. } | Error::InvalidScope => ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", err.to_string()),
            Error::RateLimited { retry_after } => {
                ApiError { retry_after: Some(retry_after), ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests") }
            }
            Error::Unavailable { retry_after } => ApiError {
                retry_after: Some(retry_after),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "the server is busy; try again shortly")
            },
            Error::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "internal error")
            }
        }
    }
}

/// A readable error page for the browser.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub code: Option<&'static str>,
    pub message: String,
    pub texts: &'static Texts,
    /// Seconds for `Retry-After` on a 429 or 503.
    pub retry_after: Option<i64>,
}

impl PageError {
    pub fn new(status: StatusCode, texts: &'static Texts, code: Option<&'static str>, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), texts, retry_after: None }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, &EN, None, EN.internal_error)
    }

    /// A store failure met outside a domain operation (a session looked up for a page): 503
    /// with `Retry-After` while the database is unavailable, else a logged 500.
    pub fn store(err: crate::domain::ports::StoreError, texts: &'static Texts) -> Self {
        Self::from_domain(Error::from(err), texts)
    }

    pub fn from_domain(err: Error, texts: &'static Texts) -> Self {
        match err {
            Error::Internal(cause) => {
                let mut page = Self::internal(cause);
                page.texts = texts;
                page.message = texts.internal_error.to_string();
                page
            }
            Error::AccessDenied | Error::Forbidden | Error::OwnAccess { .. } => {
                Self::new(StatusCode::FORBIDDEN, texts, Some("access_denied"), texts.not_member)
            }
            Error::RateLimited { retry_after } => {
                Self { retry_after: Some(retry_after), ..Self::new(StatusCode::TOO_MANY_REQUESTS, texts, None, texts.rate_limited) }
            }
            Error::Unavailable { retry_after } => Self { retry_after: Some(retry_after), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, texts, None, texts.busy) },
            Error::Invalid { reason, .. } => Self::new(StatusCode::BAD_REQUEST, texts, Some("invalid_request"), reason),
            other => Self::new(StatusCode::BAD_REQUEST, texts, Some("invalid_request"), other.to_string()),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage { t: self.texts, code: self.code, message: &self.message };
        let mut response = match askama::Template::render(&page) {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(err) => {
                tracing::error!(error = %err, "error page failed to render");
                (self.status, self.message).into_response()
            }
        };
        retry_after(&mut response, self.retry_after);
        response
    }
}
