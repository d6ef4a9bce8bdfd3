//! The django-centralauth endpoints beside OAuth: `/user/` and `/perms/`.

pub mod perms;
pub mod user;
pub mod v1;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::state::AppState;

/// A sync of 100,000 permissions is about 10 MB of JSON.
const PERMS_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The endpoints that write.
pub fn router() -> Router<AppState> {
    Router::new().route("/perms/", post(perms::sync).layer(DefaultBodyLimit::max(PERMS_BODY_LIMIT)))
}

/// The endpoints that only read.
pub fn read_router() -> Router<AppState> {
    Router::new().route("/user/", get(user::show))
}
