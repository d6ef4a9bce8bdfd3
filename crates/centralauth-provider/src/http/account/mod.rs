//! The provider's own sign-in: login, logout and the account page under `/account/`.

pub mod login;

use axum::routing::{get, post};

use super::routes::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .write("/account/login/", get(login::login_form).post(login::login))
        .write("/account/logout/", post(login::logout))
        .read("/account/", get(login::account))
}
