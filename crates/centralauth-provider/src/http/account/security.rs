//! The signed-in user's own sign-in security at `/account/security/`: their factors (kind, name,
//! added, last used) with a remove button each, TOTP enrolment with a QR code, and recovery
//! codes shown once. Every form carries the session's CSRF token; a signed-in session is all it
//! takes (no fresh re-authentication to remove a factor, kept simple on purpose).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::SameSite;

use super::login::safe_next;
use crate::domain::clock::utc_text;
use crate::domain::mfa::recovery::{self, RecoveryCode};
use crate::domain::mfa::step;
use crate::domain::mfa::totp::{self, TotpSecret};
use crate::domain::mfa::{Amr, FactorKind, Method};
use crate::domain::secret::SecretDigest;
use crate::domain::session::SessionUser;
use crate::domain::audit::Actor;
use crate::domain::{Error, login};
use crate::http::error::PageError;
use crate::http::i18n::{Lang, Texts};
use crate::http::pages::render;
use crate::http::shared::cookies::SESSION;
use crate::http::shared::{MaybeSession, PageForm, Params, csrf_ok, csrf_token};
use crate::http::state::AppState;

const SECURITY: &str = "/account/security/";

/// A factor as the page lists it.
pub struct FactorRow {
    pub id: i64,
    pub kind: &'static str,
    pub name: String,
    pub created: String,
    pub last_used: String,
}

/// The security page. The passkeys' include (`passkeys/security.html`) sees its fields.
#[derive(Template)]
#[template(path = "security.html")]
pub struct SecurityPage<'a> {
    pub t: &'static Texts,
    pub csrf_token: &'a str,
    /// Where to continue after enrolling (a same-site path), or the security page itself.
    pub next: &'a str,
    /// Why the user was sent here (an application needs a factor they do not have).
    pub required: Option<&'static str>,
    pub notice: Option<&'static str>,
    pub factors: Vec<FactorRow>,
    pub has_totp: bool,
    pub has_passkeys: bool,
    pub recovery_codes_left: i64,
    /// The TOTP enrolment's address, with `next`.
    pub totp_href: &'a str,
}

#[derive(Template)]
#[template(path = "totp.html")]
pub struct TotpPage<'a> {
    pub t: &'static Texts,
    pub csrf_token: &'a str,
    pub next: &'a str,
    /// The enrolment's id (the flow holding the sealed secret).
    pub enrolment: &'a str,
    pub secret: &'a str,
    pub qr_svg: &'a str,
    pub name: &'a str,
    pub error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage<'a> {
    pub t: &'static Texts,
    pub codes: Vec<&'a str>,
    pub next: &'a str,
    pub notice: Option<&'static str>,
}

/// `/account/login/?next=PATH`.
pub fn login_then(next: &str) -> String {
    format!("/account/login/?{}", url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish())
}

/// `PATH?next=NEXT`, or `PATH` when `next` is the security page itself.
fn with_next(path: &str, next: &str) -> String {
    if next == SECURITY {
        return path.to_string();
    }
    format!("{path}?{}", url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish())
}

fn query_params(query: Option<String>) -> Params {
    Params::parse(query.unwrap_or_default().as_bytes()).unwrap_or_default()
}

/// `next` of a security page: a same-site path, the security page by default.
fn next_of(params: &Params) -> String {
    match params.get("next").ok().flatten() {
        Some(next) => safe_next(Some(next)).to_string(),
        None => SECURITY.to_string(),
    }
}

fn no_store(response: Response) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], response).into_response()
}

pub async fn show(State(state): State<AppState>, Lang(t): Lang, MaybeSession(session): MaybeSession, jar: CookieJar, RawQuery(query): RawQuery) -> Response {
    let params = query_params(query.clone());
    let Some(session) = session else {
        let here = match query {
            Some(q) if !q.is_empty() => format!("{SECURITY}?{q}"),
            _ => SECURITY.to_string(),
        };
        return Redirect::to(&login_then(safe_next(Some(&here)))).into_response();
    };
    let next = next_of(&params);
    let required = params.get("next").ok().flatten().map(|_| match params.get("require").ok().flatten() {
        Some("passkey") => t.totp.needs_passkey,
        _ => t.totp.needs_second_factor,
    });
    let notice = match params.get("notice").ok().flatten() {
        Some("removed") => Some(t.totp.removed),
        Some("enrolled") => Some(t.totp.enrolled),
        _ => None,
    };
    let store = state.store.as_ref();
    let (factors, left) = match (store.list_factors(session.user_id).await, store.count_recovery_codes(session.user_id).await) {
        (Ok(factors), Ok(left)) => (factors, left),
        (Err(e), _) | (_, Err(e)) => return PageError::store(e, t).into_response(),
    };
    let rows: Vec<FactorRow> = factors
        .iter()
        .map(|f| FactorRow {
            id: f.id,
            kind: match f.kind {
                FactorKind::Totp => t.totp.kind_totp,
                FactorKind::Passkey => t.totp.kind_passkey,
            },
            name: f.name.clone(),
            created: utc_text(f.created_at),
            last_used: f.last_used_at.map(utc_text).unwrap_or_else(|| t.totp.never.to_string()),
        })
        .collect();
    let (jar, csrf) = csrf_token(&state, jar);
    let totp_href = with_next("/account/security/totp/", &next);
    let page = SecurityPage {
        t,
        csrf_token: &csrf,
        next: &next,
        required,
        notice,
        has_totp: factors.iter().any(|f| f.kind == FactorKind::Totp),
        has_passkeys: factors.iter().any(|f| f.kind == FactorKind::Passkey),
        factors: rows,
        recovery_codes_left: left,
        totp_href: &totp_href,
    };
    (jar, no_store(render(StatusCode::OK, &page))).into_response()
}

/// The session of a form's POST, after its CSRF check: 403 without the token of this session,
/// to the sign-in page without a session.
fn signed_in_form(state: &AppState, t: &'static Texts, jar: &CookieJar, params: &Params, session: Option<SessionUser>) -> Result<SessionUser, Response> {
    if !csrf_ok(state, jar, params.get("csrf_token").ok().flatten()) {
        return Err(PageError::new(StatusCode::FORBIDDEN, t, None, t.csrf_failed).into_response());
    }
    session.ok_or_else(|| Redirect::to(&login_then(SECURITY)).into_response())
}

#[tracing::instrument(skip_all)]
pub async fn remove_factor(
    State(state): State<AppState>, Lang(t): Lang, MaybeSession(session): MaybeSession, jar: CookieJar, Path(id): Path<String>, form: PageForm,
) -> Response {
    let session = match signed_in_form(&state, t, &jar, &form.0, session) {
        Ok(session) => session,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<i64>() else { return PageError::new(StatusCode::NOT_FOUND, t, None, t.not_found).into_response() };
    match step::remove_own_factor(state.store.as_ref(), session.user_id, &session.username, id).await {
        Ok(removed) => {
            tracing::info!(user = %session.username, kind = removed.kind.as_str(), "second factor removed");
            Redirect::to("/account/security/?notice=removed").into_response()
        }
        Err(Error::NotFound { .. }) => PageError::new(StatusCode::NOT_FOUND, t, None, t.not_found).into_response(),
        Err(e) => PageError::from_domain(e, t).into_response(),
    }
}

/// The enrolment page for `secret` (new, or still pending after a wrong code).
fn totp_page(state: &AppState, t: &'static Texts, jar: CookieJar, session: &SessionUser, enrolment: &str, secret: &TotpSecret, next: &str, name: &str, error: Option<&'static str>) -> Response {
    let uri = totp::otpauth_uri(&totp::issuer_of(&state.settings.public_url), &session.username, secret);
    let Some(svg) = totp::qr_svg(&uri) else { return PageError::internal("the otpauth URI does not fit a QR code").into_response() };
    let (jar, csrf) = csrf_token(state, jar);
    let base32 = secret.base32();
    let page = TotpPage { t, csrf_token: &csrf, next, enrolment, secret: &base32, qr_svg: &svg, name, error };
    (jar, no_store(render(StatusCode::OK, &page))).into_response()
}

async fn new_enrolment(state: &AppState, t: &'static Texts, jar: CookieJar, session: &SessionUser, next: &str, name: &str, error: Option<&'static str>) -> Response {
    match totp::begin_enrolment(state.store.as_ref(), &state.keys, session.user_id, state.clock.now()).await {
        Ok(pending) => totp_page(state, t, jar, session, pending.id.expose(), &pending.secret, next, name, error),
        Err(e) => PageError::from_domain(e, t).into_response(),
    }
}

pub async fn totp_form(State(state): State<AppState>, Lang(t): Lang, MaybeSession(session): MaybeSession, jar: CookieJar, RawQuery(query): RawQuery) -> Response {
    let params = query_params(query);
    let next = next_of(&params);
    let Some(session) = session else { return Redirect::to(&login_then(&with_next("/account/security/totp/", &next))).into_response() };
    new_enrolment(&state, t, jar, &session, &next, t.totp.totp_default_name, None).await
}

#[tracing::instrument(skip_all)]
pub async fn enrol_totp(State(state): State<AppState>, Lang(t): Lang, MaybeSession(session): MaybeSession, jar: CookieJar, form: PageForm) -> Response {
    let params = form.0;
    let session = match signed_in_form(&state, t, &jar, &params, session) {
        Ok(session) => session,
        Err(response) => return response,
    };
    let field = |name: &str| params.get(name).ok().flatten().unwrap_or("");
    let next = next_of(&params);
    let (enrolment, code) = (field("enrolment"), field("code"));
    let now = state.clock.now();
    let name = match totp::parse_name(field("name"), t.totp.totp_default_name) {
        Ok(name) => name,
        Err(_) => return again(&state, t, jar, &session, enrolment, &next, "", t.totp.bad_name).await,
    };
    let confirmed = totp::confirm_enrolment(state.store.as_ref(), &state.keys, enrolment, session.user_id, &session.username, &name, code, now).await;
    let enrolled = match confirmed {
        Ok(enrolled) => enrolled,
        Err(Error::Invalid { field: "code", .. }) => return again(&state, t, jar, &session, enrolment, &next, &name, t.totp.wrong_code).await,
        Err(Error::NotFound { .. }) => return new_enrolment(&state, t, jar, &session, &next, &name, Some(t.totp.totp_expired)).await,
        Err(e) => return PageError::from_domain(e, t).into_response(),
    };
    tracing::info!(user = %session.username, factor = enrolled.factor.id, "authenticator app enrolled");
    // The first code proved the new factor: the session has now proven a one-time code too
    // (under a new id), so that an application asking for a second factor lets it through
    // without waiting for the app's next code.
    let secure = state.settings.secure_cookies;
    let jar = match SESSION.get(&jar, secure).map(SecretDigest::of) {
        Some(old) => match login::step_up(state.store.as_ref(), &old, &session, &Amr::of(&[Method::Otp]), now).await {
            Ok(id) => jar.add(SESSION.build(id.expose().to_string(), secure, SameSite::Lax)),
            Err(_) => jar,
        },
        None => jar,
    };
    match enrolled.recovery_codes {
        Some(codes) => (jar, codes_page(t, &codes, &next, Some(t.totp.enrolled))).into_response(),
        None if next == SECURITY => (jar, Redirect::to("/account/security/?notice=enrolled")).into_response(),
        None => (jar, Redirect::to(&next)).into_response(),
    }
}

/// The enrolment page again after a refused code or name: the same secret while its enrolment
/// lives, else a new one.
async fn again(state: &AppState, t: &'static Texts, jar: CookieJar, session: &SessionUser, enrolment: &str, next: &str, name: &str, error: &'static str) -> Response {
    match totp::pending_secret(state.store.as_ref(), &state.keys, enrolment, session.user_id, state.clock.now()).await {
        Ok(Some(secret)) => totp_page(state, t, jar, session, enrolment, &secret, next, name, Some(error)),
        Ok(None) => new_enrolment(state, t, jar, session, next, name, Some(t.totp.totp_expired)).await,
        Err(e) => PageError::from_domain(e, t).into_response(),
    }
}

fn codes_page(t: &'static Texts, codes: &[RecoveryCode], next: &str, notice: Option<&'static str>) -> Response {
    let page = RecoveryCodesPage { t, codes: codes.iter().map(RecoveryCode::expose).collect(), next, notice };
    no_store(render(StatusCode::OK, &page))
}

#[tracing::instrument(skip_all)]
pub async fn regenerate_recovery_codes(State(state): State<AppState>, Lang(t): Lang, MaybeSession(session): MaybeSession, jar: CookieJar, form: PageForm) -> Response {
    let params = form.0;
    let session = match signed_in_form(&state, t, &jar, &params, session) {
        Ok(session) => session,
        Err(response) => return response,
    };
    let next = next_of(&params);
    match recovery::regenerate(state.store.as_ref(), session.user_id, &Actor::User(session.username.clone()), state.clock.now()).await {
        Ok(codes) => {
            tracing::info!(user = %session.username, "recovery codes regenerated");
            codes_page(t, &codes, &next, None)
        }
        Err(Error::Invalid { .. }) => PageError::new(StatusCode::BAD_REQUEST, t, Some("invalid_request"), t.totp.no_factor_for_codes).into_response(),
        Err(e) => PageError::from_domain(e, t).into_response(),
    }
}
