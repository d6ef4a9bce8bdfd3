//! The provider's own sign-in: login, logout and the account page under `/account/`.

pub mod login;
pub mod passkeys;

use axum::routing::{get, post};

use super::routes::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .write("/account/login/", get(login::login_form).post(login::login))
        .write("/account/logout/", post(login::logout))
        .read("/account/", get(login::account))
        // Passkeys (JSON endpoints of static/passkeys.js).
        .write("/account/passkeys/register/options", post(passkeys::register_options))
        .write("/account/passkeys/register", post(passkeys::register))
        .write("/account/passkeys/authenticate/options", post(passkeys::authenticate_options))
        .write("/account/passkeys/authenticate", post(passkeys::authenticate))
        .read("/static/passkeys.js", get(passkeys::script))
}
