//! Extractors for the current user and a guard layer for permissions. Pages get a redirect to
//! the login route; API requests (no `text/html` in `Accept`) get 401 or 403 JSON.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::CentralAuth;
use crate::config::Paths;
use crate::pages;
use crate::principal::Principal;
use crate::sync::{SignedIn, login_redirect};

/// The rejection of a route that needs a signed-in user.
#[derive(Debug)]
pub struct SignInRequired {
    login: String,
    target: String,
    html: bool,
}

impl SignInRequired {
    fn from_parts(parts: &Parts) -> Self {
        let login = parts.extensions.get::<CentralAuth>().map(|a| a.config().paths.login.clone()).unwrap_or_else(|| Paths::default().login);
        let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
        Self { login, target, html: pages::wants_html(&parts.headers) }
    }
}

impl IntoResponse for SignInRequired {
    fn into_response(self) -> Response {
        if self.html {
            login_redirect(&self.login, &self.target)
        } else {
            let body = axum::Json(serde_json::json!({"error": "unauthorized", "error_description": "sign-in required"}));
            (StatusCode::UNAUTHORIZED, body).into_response()
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = SignInRequired;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<SignedIn>() {
            Some(SignedIn(user)) => Ok(user.clone()),
            None => Err(SignInRequired::from_parts(parts)),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<SignedIn>().map(|s| s.0.clone()))
    }
}

/// A layer that lets through only signed-in users holding `permission` (`app_label.codename`):
/// others get a login redirect (or 401), users without it a 403.
pub fn require_perm(permission: &str) -> RequirePermLayer {
    RequirePermLayer { permission: Arc::from(permission) }
}

/// See [`require_perm`].
#[derive(Clone)]
pub struct RequirePermLayer {
    permission: Arc<str>,
}

impl<S> Layer<S> for RequirePermLayer {
    type Service = RequirePerm<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequirePerm { permission: self.permission.clone(), inner }
    }
}

/// The service of [`RequirePermLayer`].
#[derive(Clone)]
pub struct RequirePerm<S> {
    permission: Arc<str>,
    inner: S,
}

impl<S> Service<Request> for RequirePerm<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let permission = self.permission.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            match parts.extensions.get::<SignedIn>() {
                None => Ok(SignInRequired::from_parts(&parts).into_response()),
                Some(SignedIn(user)) if !user.has_perm(&permission) => {
                    Ok(pages::error(&parts.headers, StatusCode::FORBIDDEN, "forbidden", "You do not have permission to see this page."))
                }
                Some(_) => inner.call(Request::from_parts(parts, body)).await,
            }
        })
    }
}
