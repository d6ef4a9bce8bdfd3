//! The provider's own sign-in: login, logout and the account page under `/account/`; the
//! second step and step-up (`second_step`), and the user's own sign-in security (`security`).

pub mod login;
pub mod second_step;
pub mod security;
pub mod passkeys;

use axum::response::Redirect;
use axum::routing::{get, post};

use super::routes::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .write("/account/login/", get(login::login_form).post(login::login))
        .write("/account/logout/", post(login::logout))
        .read("/account/", get(login::account))
        // Strong sign-in: TOTP, recovery codes, the second step and step-up (the GETs write:
        // they open a step-up or an enrolment).
        .write("/account/login/verify/", get(second_step::form).post(second_step::verify))
        .read("/account/security/", get(security::show))
        .write("/account/security/totp/", get(security::totp_form).post(security::enrol_totp))
        .write("/account/security/recovery-codes/", get(|| async { Redirect::to("/account/security/") }).post(security::regenerate_recovery_codes))
        .write("/account/security/factors/{id}/remove", post(security::remove_factor))
        // Passkeys (JSON endpoints of static/passkeys.js).
        .write("/account/passkeys/register/options", post(passkeys::register_options))
        .write("/account/passkeys/register", post(passkeys::register))
        .write("/account/passkeys/authenticate/options", post(passkeys::authenticate_options))
        .write("/account/passkeys/authenticate", post(passkeys::authenticate))
        .read("/static/passkeys.js", get(passkeys::script))
}
