//! CSRF protection of every browser form: OWASP's signed double-submit cookie, bound to the
//! session. The token is an HMAC, under a server-held key, of the browser's session id, or before
//! sign-in of a random pre-session cookie. So a token from another session is refused, and a
//! cookie planted by a sibling subdomain gives its planter no token for the victim's session
//! (nor, over https, can it be planted: `shared::cookies`).

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::SameSite;

use super::cookies::{PRE_SESSION, SESSION};
use crate::domain::secret::{Secret, constant_time_eq};
use crate::http::state::AppState;

/// What the token is bound to: the session cookie when the browser has one, else the
/// pre-session cookie. A signed-in browser's token never stands on the pre-session cookie,
/// which is easier to plant than the session.
fn binding(state: &AppState, jar: &CookieJar) -> Option<(&'static str, String)> {
    let secure = state.settings.secure_cookies;
    match SESSION.get(jar, secure) {
        Some(session) => Some(("csrf session", session.to_string())),
        None => PRE_SESSION.get(jar, secure).filter(|v| v.len() == 43).map(|v| ("csrf pre-session", v.to_string())),
    }
}

fn token_for(state: &AppState, (label, value): &(&'static str, String)) -> String {
    state.csrf_key.derive(label, value).expose().to_string()
}

/// The token of the page's forms, and the jar with a pre-session cookie when the browser had
/// neither that nor a session.
pub fn csrf_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    if let Some(bound) = binding(state, &jar) {
        return (jar, token_for(state, &bound));
    }
    let pre_session = Secret::generate().expose().to_string();
    let token = token_for(state, &("csrf pre-session", pre_session.clone()));
    (jar.add(PRE_SESSION.build(pre_session, state.settings.secure_cookies, SameSite::Strict)), token)
}

/// The submitted token must be the one made for this browser's session (or pre-session).
pub fn csrf_ok(state: &AppState, jar: &CookieJar, submitted: Option<&str>) -> bool {
    matches_binding(state, binding(state, jar), submitted)
}

/// The sign-in form's check: also the pre-session's token when the browser has a session by
/// now (the form was shown before another tab signed in). Nothing is gained by it that the
/// pre-session cookie alone would not give: the form acts on no session, it starts one.
pub fn sign_in_csrf_ok(state: &AppState, jar: &CookieJar, submitted: Option<&str>) -> bool {
    let pre_session = PRE_SESSION.get(jar, state.settings.secure_cookies).filter(|v| v.len() == 43).map(|v| ("csrf pre-session", v.to_string()));
    csrf_ok(state, jar, submitted) || matches_binding(state, pre_session, submitted)
}

fn matches_binding(state: &AppState, bound: Option<(&'static str, String)>, submitted: Option<&str>) -> bool {
    match (bound, submitted) {
        (Some(bound), Some(token)) => !token.is_empty() && constant_time_eq(&token_for(state, &bound), token),
        _ => false,
    }
}
