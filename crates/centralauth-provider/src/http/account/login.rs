//! Sign-in and sign-out. CSRF by a token bound to the (pre-)session (`shared::csrf`), one message for unknown user and wrong
//! password, rate limits in the domain, a fresh session id at every sign-in, and `next` limited
//! to same-site relative paths (no open redirect).

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::SameSite;

use crate::domain::secret::SecretDigest;
use crate::domain::login::SignedIn;
use crate::domain::{Error, login, session};
use crate::http::error::PageError;
use crate::http::shared::cookies::{SESSION, SIGN_IN_FLOW};
use crate::http::shared::{ClientAddr, MaybeSession, PageForm, Params, csrf_ok, csrf_token, sign_in_csrf_ok};
use crate::http::i18n::{Lang, Texts};
use crate::http::pages::{AccountPage, LoginPage, render};
use crate::http::state::AppState;

const DEFAULT_NEXT: &str = "/account/";

/// Accepts only a path on this site: `/…`, but not `//host` or `/\host`, which browsers treat
/// as another origin, and no control characters.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.chars().any(|c| c.is_control()) => n,
        _ => DEFAULT_NEXT,
    }
}

fn login_page(t: &'static Texts, status: StatusCode, csrf: &str, next: &str, username: &str, error: Option<&'static str>) -> Response {
    render(status, &LoginPage { t, action: "/account/login/", csrf_token: csrf, next, username, error })
}

pub async fn login_form(State(state): State<AppState>, Lang(t): Lang, jar: CookieJar, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes()).unwrap_or_default();
    let next = params.get("next").ok().flatten();
    // OpenID Connect's login_hint, passed on by the authorization endpoint.
    let hint: String = params.get("login_hint").ok().flatten().unwrap_or("").chars().filter(|c| !c.is_control()).take(254).collect();
    let (jar, csrf) = csrf_token(&state, jar);
    (jar, login_page(t, StatusCode::OK, &csrf, safe_next(next), &hint, None)).into_response()
}

#[tracing::instrument(skip_all)]
pub async fn login(State(state): State<AppState>, Lang(t): Lang, ClientAddr(addr): ClientAddr, jar: CookieJar, form: PageForm) -> Response {
    let params = form.0;
    let field = |name: &str| params.get(name).ok().flatten().unwrap_or("");
    let next = safe_next(params.get("next").ok().flatten()).to_string();
    if !sign_in_csrf_ok(&state, &jar, params.get("csrf_token").ok().flatten()) {
        return PageError::new(StatusCode::FORBIDDEN, t, None, t.csrf_failed).into_response();
    }
    let secure = state.settings.secure_cookies;
    let (username, password) = (field("username"), field("password"));
    let (jar, csrf) = csrf_token(&state, jar);
    if username.is_empty() || password.is_empty() || username.len() > 254 || password.len() > 1024 {
        return (jar, login_page(t, StatusCode::OK, &csrf, &next, username, Some(t.bad_credentials))).into_response();
    }
    match login::sign_in(state.store.as_ref(), username, password, addr, state.clock.now(), &next).await {
        Ok(SignedIn::Session(started)) => {
            let jar = signed_in(&state, jar, &started).await;
            (jar, Redirect::to(&next)).into_response()
        }
        Ok(SignedIn::SecondStepDue { flow, user }) => {
            tracing::info!(user = %user.username, "password accepted; second step due");
            let cookie = SIGN_IN_FLOW.build_expiring(flow.expose(), login::SECOND_STEP_SECONDS as u32, secure, SameSite::Lax);
            let jar = match cookie {
                Some(cookie) => jar.add(cookie),
                None => jar,
            };
            (jar, Redirect::to(SECOND_STEP_PATH)).into_response()
        }
        Err(Error::AccessDenied) => (jar, login_page(t, StatusCode::OK, &csrf, &next, username, Some(t.bad_credentials))).into_response(),
        Err(Error::RateLimited { retry_after }) => {
            let page = login_page(t, StatusCode::TOO_MANY_REQUESTS, &csrf, &next, username, Some(t.rate_limited));
            (jar, [(header::RETRY_AFTER, retry_after.max(1).to_string())], page).into_response()
        }
        Err(e) => PageError::from_domain(e, t).into_response(),
    }
}

/// Where a sign-in whose password was right takes its second step.
pub const SECOND_STEP_PATH: &str = "/account/login/verify/";

/// Gives the browser the cookie of its new session: a new session id at every sign-in and at
/// every step (session fixation), the old session, if any, dropped.
pub async fn signed_in(state: &AppState, jar: CookieJar, started: &login::StartedSession) -> CookieJar {
    let secure = state.settings.secure_cookies;
    if let Some(old) = SESSION.get(&jar, secure) {
        let _ = session::discard(state.store.as_ref(), &SecretDigest::of(old)).await;
    }
    tracing::info!(user = %started.user.username, "signed in");
    let jar = SIGN_IN_FLOW.removed_from(jar, secure);
    jar.add(SESSION.build(started.id.expose().to_string(), secure, SameSite::Lax))
}

pub async fn logout(State(state): State<AppState>, Lang(t): Lang, jar: CookieJar, form: PageForm) -> Response {
    if !csrf_ok(&state, &jar, form.0.get("csrf_token").ok().flatten()) {
        return PageError::new(StatusCode::FORBIDDEN, t, None, t.csrf_failed).into_response();
    }
    match end_session(&state, jar).await {
        Ok(jar) => (jar, Redirect::to("/account/login/")).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Signs the browser out: ends its session (which tells the applications signed in through it
/// by back-channel logout) and removes the cookie.
pub async fn end_session(state: &AppState, jar: CookieJar) -> Result<CookieJar, PageError> {
    let secure = state.settings.secure_cookies;
    if let Some(session) = SESSION.get(&jar, secure) {
        let ended = session::sign_out(state.store.as_ref(), &SecretDigest::of(session), state.clock.now()).await.map_err(|e| PageError::from_domain(e, &crate::http::i18n::EN))?;
        if let Some(ended) = ended {
            tracing::info!(user = ended.user_id.0, applications = ended.notified.len(), "signed out");
        }
    }
    Ok(SESSION.removed_from(jar, secure))
}

pub async fn account(State(state): State<AppState>, Lang(t): Lang, MaybeSession(session): MaybeSession, jar: CookieJar) -> Response {
    let Some(session) = session else { return Redirect::to("/account/login/?next=/account/").into_response() };
    let (jar, csrf) = csrf_token(&state, jar);
    (jar, render(StatusCode::OK, &AccountPage { t, username: &session.username, csrf_token: &csrf })).into_response()
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_accepts_only_same_site_paths() {
        assert_eq!(safe_next(Some("/provider/o/authorize/?a=b")), "/provider/o/authorize/?a=b");
        for bad in ["//evil.example/", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "", "/a\nb"] {
            assert_eq!(safe_next(Some(bad)), "/account/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/account/");
    }
}
