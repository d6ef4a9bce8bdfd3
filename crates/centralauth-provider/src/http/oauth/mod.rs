//! The OAuth 2.0 endpoints under `{prefix}/o/`.

pub mod authorize;
pub mod introspect;
pub mod metadata;
pub mod revoke;
pub mod token;

use axum::Router;
use axum::routing::{get, post};

use super::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/o/authorize/", get(authorize::authorize))
        .route("/o/token/", post(token::token))
        .route("/o/revoke_token/", post(revoke::revoke))
        .route("/o/introspect/", get(introspect::introspect_query).post(introspect::introspect_form))
}
