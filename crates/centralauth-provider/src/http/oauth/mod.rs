//! The OAuth 2.0 endpoints under `{prefix}/o/`.

pub mod authorize;
pub mod introspect;
pub mod jwks;
pub mod logout;
pub mod metadata;
pub mod revoke;
pub mod token;
pub mod userinfo;

use axum::Router;
use axum::routing::{get, post};

use super::state::AppState;

/// The endpoints that write.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/o/authorize/", get(authorize::authorize_get).post(authorize::authorize_post))
        .route("/o/token/", post(token::token))
        .route("/o/revoke_token/", post(revoke::revoke))
        .route("/o/logout/", get(logout::logout_get).post(logout::logout_post))
}

/// The endpoints that only read.
pub fn read_router() -> Router<AppState> {
    Router::new()
        .route("/o/introspect/", get(introspect::introspect_query).post(introspect::introspect_form))
        .route("/o/userinfo/", get(userinfo::userinfo_get).post(userinfo::userinfo_post))
        .route("/o/jwks/", get(jwks::jwks))
        .route("/o/.well-known/openid-configuration", get(metadata::metadata))
}
