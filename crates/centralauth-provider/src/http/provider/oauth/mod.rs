//! The OAuth 2.0 endpoints under `{prefix}/o/`.

pub mod authorize;
pub mod introspect;
pub mod jwks;
pub mod logout;
pub mod metadata;
pub mod revoke;
pub mod token;
pub mod userinfo;

use axum::routing::{get, post};

use crate::http::routes::Routes;
use crate::http::shared::no_store;

pub fn routes() -> Routes {
    Routes::new()
        .write("/o/authorize/", get(authorize::authorize_get).post(authorize::authorize_post))
        .write("/o/token/", post(token::token))
        .write("/o/revoke_token/", post(revoke::revoke))
        .write("/o/logout/", get(logout::logout_get).post(logout::logout_post))
        .read("/o/introspect/", get(introspect::introspect_query).post(introspect::introspect_form).layer(no_store()))
        .read("/o/userinfo/", get(userinfo::userinfo_get).post(userinfo::userinfo_post))
        .read("/o/jwks/", get(jwks::jwks))
        .read("/o/.well-known/openid-configuration", get(metadata::metadata))
}
