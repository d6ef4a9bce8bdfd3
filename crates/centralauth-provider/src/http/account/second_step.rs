//! The second step of a sign-in, and the step-up of a signed-in session, at
//! `/account/login/verify/`: a TOTP code or a recovery code (and the passkeys' part of the page,
//! `templates/passkeys/step.html`). Only the browser that just gave the right password holds the
//! flow cookie that reaches this page, so nobody else learns whether a password was right; a
//! failed step says only that the code is not right; every completed step gets a new session id.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::SameSite;

use super::login::{safe_next, signed_in};
use crate::domain::login::{self, SECOND_STEP_SECONDS};
use crate::domain::mfa::step::{self, Code};
use crate::domain::ports::{FlowPurpose, SignInFlow};
use crate::domain::secret::{Secret, SecretDigest};
use crate::domain::session::SessionUser;
use crate::domain::Error;
use crate::http::error::PageError;
use crate::http::i18n::{Lang, Texts};
use crate::http::pages::render;
use crate::http::shared::cookies::{SESSION, SIGN_IN_FLOW};
use crate::http::shared::{ClientAddr, MaybeSession, PageForm, Params, csrf_ok, csrf_token, sign_in_csrf_ok};
use crate::http::state::AppState;

/// The page of the second step. The passkeys' include (`passkeys/step.html`) sees its fields.
#[derive(Template)]
#[template(path = "second_step.html")]
pub struct SecondStepPage<'a> {
    pub t: &'static Texts,
    pub csrf_token: &'a str,
    /// Where the browser goes once the step is done (a same-site path).
    pub next: &'a str,
    pub has_totp: bool,
    pub has_passkeys: bool,
    /// A step-up of a signed-in session (else the second step of a sign-in).
    pub step_up: bool,
    /// Only a passkey will do (a step-up asking for one): the code forms are not shown.
    pub require_passkey: bool,
    pub error: Option<&'static str>,
    /// The recovery code form is shown open (its code was wrong).
    pub recovery_open: bool,
}

const LOGIN: &str = "/account/login/";

/// What the form shows, for a flow's user.
struct Shown<'a> {
    next: &'a str,
    step_up: bool,
    require_passkey: bool,
    error: Option<&'static str>,
    recovery_open: bool,
}

async fn page(state: &AppState, t: &'static Texts, jar: CookieJar, status: StatusCode, user: crate::domain::user::UserId, shown: Shown<'_>) -> Response {
    let methods = match step::methods(state.store.as_ref(), user).await {
        Ok(methods) => methods,
        Err(e) => return PageError::from_domain(e, t).into_response(),
    };
    let (jar, csrf) = csrf_token(state, jar);
    let page = SecondStepPage {
        t,
        csrf_token: &csrf,
        next: shown.next,
        has_totp: methods.totp,
        has_passkeys: methods.passkey,
        step_up: shown.step_up,
        require_passkey: shown.require_passkey,
        error: shown.error,
        recovery_open: shown.recovery_open,
    };
    (jar, [(header::CACHE_CONTROL, "no-store")], render(status, &page)).into_response()
}

fn flow_cookie(state: &AppState, jar: CookieJar, flow: &Secret) -> CookieJar {
    match SIGN_IN_FLOW.build_expiring(flow.expose(), SECOND_STEP_SECONDS as u32, state.settings.secure_cookies, SameSite::Lax) {
        Some(cookie) => jar.add(cookie),
        None => jar,
    }
}

/// The live second-step flow the browser's cookie names.
async fn current_flow(state: &AppState, jar: &CookieJar) -> Result<Option<SignInFlow>, Error> {
    let Some(id) = SIGN_IN_FLOW.get(jar, state.settings.secure_cookies) else { return Ok(None) };
    Ok(state.store.find_flow(&SecretDigest::of(id), FlowPurpose::SecondStep, state.clock.now()).await?)
}

/// `/account/security/?next=…&require=…`: where a user without the factor asked for enrols.
fn enrol_first(next: &str, require_passkey: bool) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .append_pair("require", if require_passkey { "passkey" } else { "mfa" })
        .finish();
    format!("/account/security/?{query}")
}

/// GET: the second step of the sign-in the cookie names, or, for a signed-in session asked for
/// more (`?next=…&require=mfa|passkey`), a step-up.
#[tracing::instrument(skip_all)]
pub async fn form(State(state): State<AppState>, Lang(t): Lang, MaybeSession(session): MaybeSession, jar: CookieJar, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes()).unwrap_or_default();
    let asked = params.get("require").ok().flatten();
    let next = safe_next(params.get("next").ok().flatten()).to_string();
    let flow = match current_flow(&state, &jar).await {
        Ok(flow) => flow,
        Err(e) => return PageError::from_domain(e, t).into_response(),
    };
    let signing_in = flow.filter(|f| !step::is_step_up(f) && asked.is_none());
    if let Some(flow) = signing_in {
        let Some(user) = flow.user_id else { return Redirect::to(LOGIN).into_response() };
        let shown = Shown { next: &flow.state, step_up: false, require_passkey: false, error: None, recovery_open: false };
        return page(&state, t, jar, StatusCode::OK, user, shown).await;
    }
    let Some(session) = session else { return Redirect::to(&super::security::login_then(&next)).into_response() };
    step_up_form(&state, t, jar, &session, &next, asked == Some("passkey")).await
}

async fn step_up_form(state: &AppState, t: &'static Texts, jar: CookieJar, session: &SessionUser, next: &str, require_passkey: bool) -> Response {
    let methods = match step::methods(state.store.as_ref(), session.user_id).await {
        Ok(methods) => methods,
        Err(e) => return PageError::from_domain(e, t).into_response(),
    };
    // Nothing to step up with (for a passkey: no passkey): enrol first, then come back.
    if !(methods.totp || methods.passkey) || (require_passkey && !methods.passkey) {
        return Redirect::to(&enrol_first(next, require_passkey)).into_response();
    }
    let flow = match step::begin_step_up(state.store.as_ref(), session.user_id, next, state.clock.now()).await {
        Ok(flow) => flow,
        Err(e) => return PageError::from_domain(e, t).into_response(),
    };
    let jar = flow_cookie(state, jar, &flow);
    let shown = Shown { next, step_up: true, require_passkey, error: None, recovery_open: false };
    page(state, t, jar, StatusCode::OK, session.user_id, shown).await
}

/// POST: checks a code (`code`: TOTP, or `recovery_code`) for the flow the cookie names; on
/// success the sign-in gets its session, or the session its step-up, under a new id.
#[tracing::instrument(skip_all)]
pub async fn verify(
    State(state): State<AppState>, Lang(t): Lang, ClientAddr(addr): ClientAddr, MaybeSession(session): MaybeSession, jar: CookieJar, form: PageForm,
) -> Response {
    let params = form.0;
    if !sign_in_csrf_ok(&state, &jar, params.get("csrf_token").ok().flatten()) {
        return PageError::new(StatusCode::FORBIDDEN, t, None, t.csrf_failed).into_response();
    }
    let flow = match current_flow(&state, &jar).await {
        Ok(Some(flow)) => flow,
        Ok(None) => return Redirect::to(LOGIN).into_response(),
        Err(e) => return PageError::from_domain(e, t).into_response(),
    };
    let Some(user) = flow.user_id else { return Redirect::to(LOGIN).into_response() };
    let step_up = step::is_step_up(&flow);
    // A step-up acts on the session: it needs that session, of that user, and its CSRF token.
    let session = session.filter(|s| s.user_id == user);
    if step_up && (session.is_none() || !csrf_ok(&state, &jar, params.get("csrf_token").ok().flatten())) {
        return PageError::new(StatusCode::FORBIDDEN, t, None, t.csrf_failed).into_response();
    }
    let (Ok(code), Ok(recovery_code)) = (params.get("code"), params.get("recovery_code")) else {
        return PageError::new(StatusCode::BAD_REQUEST, t, Some("invalid_request"), t.bad_request).into_response();
    };
    let code = match (code, recovery_code) {
        (Some(code), None) => Code::Totp(code),
        (None, Some(code)) => Code::Recovery(code),
        (None, None) => {
            let shown = Shown { next: &flow.state, step_up, require_passkey: false, error: Some(t.totp.enter_code), recovery_open: false };
            return page(&state, t, jar, StatusCode::OK, user, shown).await;
        }
        (Some(_), Some(_)) => return PageError::new(StatusCode::BAD_REQUEST, t, Some("invalid_request"), t.bad_request).into_response(),
    };
    let recovery_open = matches!(code, Code::Recovery(_));
    let now = state.clock.now();
    let proven = match step::check_code(state.store.as_ref(), &state.keys, user, code, addr, now).await {
        Ok(proven) => proven,
        Err(Error::AccessDenied) => {
            let shown = Shown { next: &flow.state, step_up, require_passkey: false, error: Some(t.totp.wrong_code), recovery_open };
            return page(&state, t, jar, StatusCode::OK, user, shown).await;
        }
        Err(Error::RateLimited { retry_after }) => {
            let shown = Shown { next: &flow.state, step_up, require_passkey: false, error: Some(t.totp.rate_limited), recovery_open };
            let page = page(&state, t, jar, StatusCode::TOO_MANY_REQUESTS, user, shown).await;
            return ([(header::RETRY_AFTER, retry_after.max(1).to_string())], page).into_response();
        }
        Err(e) => return PageError::from_domain(e, t).into_response(),
    };
    // The flow is used once: of two right codes sent at once, one completes it.
    let Some(id) = SIGN_IN_FLOW.get(&jar, state.settings.secure_cookies) else { return Redirect::to(LOGIN).into_response() };
    let flow = match state.store.take_flow(&SecretDigest::of(id), FlowPurpose::SecondStep, now).await {
        Ok(Some(flow)) => flow,
        Ok(None) => return Redirect::to(LOGIN).into_response(),
        Err(e) => return PageError::store(e, t).into_response(),
    };
    let next = safe_next(Some(&flow.state)).to_string();
    let secure = state.settings.secure_cookies;
    match session {
        Some(session) if step_up => {
            let Some(old) = SESSION.get(&jar, secure).map(SecretDigest::of) else { return Redirect::to(LOGIN).into_response() };
            match login::step_up(state.store.as_ref(), &old, &session, &proven, now).await {
                Ok(id) => {
                    tracing::info!(user = %session.username, "stepped up");
                    let jar = SIGN_IN_FLOW.removed_from(jar, secure).add(SESSION.build(id.expose().to_string(), secure, SameSite::Lax));
                    (jar, Redirect::to(&next)).into_response()
                }
                Err(Error::AccessDenied) => Redirect::to(LOGIN).into_response(),
                Err(e) => PageError::from_domain(e, t).into_response(),
            }
        }
        _ => match login::complete_second_step(state.store.as_ref(), &flow, &proven, now).await {
            Ok(started) => {
                let jar = signed_in(&state, jar, &started).await;
                (jar, Redirect::to(&next)).into_response()
            }
            Err(Error::AccessDenied) => Redirect::to(LOGIN).into_response(),
            Err(e) => PageError::from_domain(e, t).into_response(),
        },
    }
}
