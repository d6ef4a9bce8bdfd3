//! The provider's own sign-in: login, logout and the account page under `/account/`.

pub mod login;

use axum::Router;
use axum::routing::{get, post};

use super::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/login/", get(login::login_form).post(login::login))
        .route("/account/logout/", post(login::logout))
        .route("/account/", get(login::account))
}
