//! Everything under the wire contract's prefix (`/provider` by default): the OAuth 2.0 and
//! OpenID Connect endpoints under `o/`, and django-centralauth's own `/user/` and `/perms/`.

pub mod oauth;
pub mod perms;
pub mod user;

use axum::routing::{get, post};

use super::routes::Routes;
use super::shared::no_store;

pub fn routes() -> Routes {
    Routes::new()
        .merge(oauth::routes())
        .read("/user/", get(user::show).layer(no_store()))
        // The handler reads its body itself, in two steps (see perms.rs).
        .write("/perms/", post(perms::sync))
}
