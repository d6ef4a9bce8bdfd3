//! Everything under the wire contract's prefix (`/provider` by default): the OAuth 2.0 and
//! OpenID Connect endpoints under `o/`, and django-centralauth's own `/user/` and `/perms/`.

pub mod oauth;
pub mod perms;
pub mod user;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::routes::Routes;
use super::shared::no_store;

/// A sync of 100,000 permissions is about 10 MB of JSON.
const PERMS_BODY_LIMIT: usize = 32 * 1024 * 1024;

pub fn routes() -> Routes {
    Routes::new()
        .merge(oauth::routes())
        .read("/user/", get(user::show).layer(no_store()))
        .write("/perms/", post(perms::sync).layer(DefaultBodyLimit::max(PERMS_BODY_LIMIT)))
}
