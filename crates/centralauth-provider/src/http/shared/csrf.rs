//! CSRF protection of every browser form: a double-submit token, made here for the pages that
//! show a form and checked here when the form comes back.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::domain::secret::{Secret, constant_time_eq};

pub const CSRF_COOKIE: &str = "centralauth_csrf";

/// The CSRF cookie's token, made when the browser has none.
pub fn csrf_token(jar: CookieJar, secure: bool) -> (CookieJar, String) {
    if let Some(existing) = jar.get(CSRF_COOKIE).map(|c| c.value().to_string()).filter(|v| v.len() == 43) {
        return (jar, existing);
    }
    let token = Secret::generate().expose().to_string();
    let cookie = Cookie::build((CSRF_COOKIE, token.clone())).path("/").http_only(true).secure(secure).same_site(SameSite::Strict).build();
    (jar.add(cookie), token)
}

/// Double-submit CSRF check: the form's token must equal the HttpOnly, SameSite=Strict cookie.
pub fn csrf_ok(jar: &CookieJar, submitted: Option<&str>) -> bool {
    match (jar.get(CSRF_COOKIE), submitted) {
        (Some(cookie), Some(token)) => !token.is_empty() && constant_time_eq(cookie.value(), token),
        _ => false,
    }
}
