//! The passkey endpoints of the browser (JSON, called by `static/passkeys.js`): registration on
//! the security page, and authentication passwordless, as the second step after a password, or
//! as a step-up of a signed-in session (`domain::mfa::passkey`).
//!
//! CSRF: every call carries the page's token in `X-CSRF-Token` (a header no other site can set
//! without a CORS preflight, which is refused). The ceremony in progress is named by its own
//! random id in a SameSite=Strict, HttpOnly cookie (`PASSKEY_CEREMONY`), not by the pre-session
//! or session: a ceremony must be single-use and short-lived, and a signed-in browser has no
//! pre-session, while the session outlives many ceremonies.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::SameSite;
use serde::Deserialize;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential, Webauthn};

use crate::domain::mfa::passkey::{self, PasskeyError, Purpose};
use crate::domain::ports::FlowPurpose;
use crate::domain::secret::{Secret, SecretDigest};
use crate::domain::session::SessionUser;
use crate::domain::{Error, login};
use crate::http::account::login::{safe_next, signed_in};
use crate::http::error::ApiError;
use crate::http::i18n::Texts;
use crate::http::shared::cookies::{PASSKEY_CEREMONY, SESSION, SIGN_IN_FLOW};
use crate::http::shared::{MaybeSession, csrf_ok, sign_in_csrf_ok};
use crate::http::state::AppState;

/// The header that carries the page's CSRF token.
const CSRF_HEADER: &str = "x-csrf-token";

impl From<PasskeyError> for ApiError {
    fn from(err: PasskeyError) -> Self {
        let description = err.to_string();
        match err {
            PasskeyError::Unavailable(_) => ApiError::new(StatusCode::BAD_REQUEST, "passkeys_unavailable", description),
            PasskeyError::FlowGone => ApiError::new(StatusCode::BAD_REQUEST, "expired_request", description),
            PasskeyError::Malformed(_) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description),
            PasskeyError::NoPasskey => ApiError::new(StatusCode::BAD_REQUEST, "no_passkey", description),
            PasskeyError::AlreadyRegistered => ApiError::new(StatusCode::BAD_REQUEST, "already_registered", description),
            PasskeyError::UnknownCredential => ApiError::new(StatusCode::UNAUTHORIZED, "unknown_credential", description),
            PasskeyError::VerificationFailed => ApiError::new(StatusCode::UNAUTHORIZED, "verification_failed", description),
            PasskeyError::ForeignCredential | PasskeyError::Denied => ApiError::new(StatusCode::FORBIDDEN, "access_denied", description),
            PasskeyError::Domain(e) => ApiError::from(e),
        }
    }
}

/// What every answer here gets: never cached (they carry challenges and sessions).
fn answer(jar: CookieJar, result: Result<serde_json::Value, ApiError>) -> Response {
    let mut response = match result {
        Ok(body) => (jar, Json(body)).into_response(),
        Err(err) => (jar, err).into_response(),
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn csrf_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok())
}

fn csrf_refused() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "csrf_failed", "the request was not sent from this site's page; reload the page and try again")
}

/// The JSON body, or a 400 (413 past the body limit) that says what is wrong with it.
fn parse<T: serde::de::DeserializeOwned>(body: Result<Bytes, BytesRejection>, what: &str) -> Result<T, ApiError> {
    let body = body.map_err(|e| ApiError::new(e.status(), "invalid_request", e.body_text()))?;
    serde_json::from_slice(&body).map_err(|e| ApiError::invalid("body", format!("{what} is not valid: {e}")))
}

/// The relying party of this installation. Built per request: it is a few string copies next
/// to a database round trip, and keeps the app state unchanged.
fn relying_party(state: &AppState) -> Result<Webauthn, ApiError> {
    passkey::relying_party(&state.settings.public_url).map_err(ApiError::from)
}

fn ceremony_cookie(state: &AppState, jar: CookieJar, flow: &Secret) -> CookieJar {
    let secure = state.settings.secure_cookies;
    match PASSKEY_CEREMONY.build_expiring(flow.expose(), passkey::CEREMONY_SECONDS as u32, secure, SameSite::Strict) {
        Some(cookie) => jar.add(cookie),
        None => jar,
    }
}

/// The ceremony's flow id, and the jar without its cookie (a ceremony is answered once).
fn take_ceremony(state: &AppState, jar: CookieJar) -> (CookieJar, Option<String>) {
    let secure = state.settings.secure_cookies;
    let flow = PASSKEY_CEREMONY.get(&jar, secure).map(str::to_string);
    (PASSKEY_CEREMONY.removed_from(jar, secure), flow)
}

fn not_signed_in() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "login_required", "sign in first")
}

#[derive(Deserialize)]
struct RegisterOptions {
    name: String,
    /// Where the security page continues after the registration (`?next=` of the page).
    #[serde(default)]
    next: Option<String>,
}

/// The answer to a ceremony's options: on success the options, with the cookie that binds the
/// ceremony to this browser; else the error, without one.
fn ceremony_started(state: &AppState, jar: CookieJar, result: Result<(Secret, serde_json::Value), ApiError>) -> Response {
    match result {
        Ok((flow, body)) => answer(ceremony_cookie(state, jar, &flow), Ok(body)),
        Err(e) => answer(jar, Err(e)),
    }
}

/// `POST /account/passkeys/register/options` `{name}`: the creation options.
#[tracing::instrument(skip_all)]
pub async fn register_options(State(state): State<AppState>, MaybeSession(session): MaybeSession, jar: CookieJar, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let result = async {
        let session = session.ok_or_else(not_signed_in)?;
        if !csrf_ok(&state, &jar, csrf_header(&headers)) {
            return Err(csrf_refused());
        }
        let request: RegisterOptions = parse(body, "the request")?;
        let rp = relying_party(&state)?;
        let user = state.store.find_user_by_id(session.user_id).await.map_err(|e| ApiError::from(Error::from(e)))?.ok_or_else(not_signed_in)?;
        let (options, flow) = passkey::start_registration(state.store.as_ref(), &rp, &user, &request.name, state.clock.now()).await?;
        // The continuation rides along with the ceremony, checked when it is used.
        let mut body = options_json(&options)?;
        if let Some(next) = request.next.as_deref() {
            body["next"] = safe_next(Some(next)).into();
        }
        Ok((flow, body))
    }
    .await;
    ceremony_started(&state, jar, result)
}

/// `POST /account/passkeys/register` (the credential from `navigator.credentials.create`):
/// `{ok, id, name}`.
#[tracing::instrument(skip_all)]
pub async fn register(State(state): State<AppState>, MaybeSession(session): MaybeSession, jar: CookieJar, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let Some(session) = session else { return answer(jar, Err(not_signed_in())) };
    if !csrf_ok(&state, &jar, csrf_header(&headers)) {
        return answer(jar, Err(csrf_refused()));
    }
    let (jar, flow) = take_ceremony(&state, jar);
    let result = async {
        let credential: RegisterPublicKeyCredential = parse(body, "the passkey's attestation")?;
        let flow = flow.ok_or(PasskeyError::FlowGone)?;
        let rp = relying_party(&state)?;
        let user = state.store.find_user_by_id(session.user_id).await.map_err(|e| ApiError::from(Error::from(e)))?.ok_or_else(not_signed_in)?;
        let added = passkey::finish_registration(state.store.as_ref(), &rp, &flow, &user, &credential, state.clock.now()).await?;
        // The recovery codes of a first factor, shown once by the script (the answer is no-store).
        let codes: Option<Vec<&str>> = added.recovery_codes.as_ref().map(|codes| codes.iter().map(|c| c.expose()).collect());
        Ok(serde_json::json!({ "ok": true, "id": added.factor.id, "name": added.factor.name, "recovery_codes": codes }))
    }
    .await;
    answer(jar, result)
}

#[derive(Deserialize, Default)]
struct AuthenticateOptions {
    /// Where a passwordless sign-in goes after (the sign-in page's `next`).
    #[serde(default)]
    next: Option<String>,
}

/// Which authentication this browser is in: a second step after its password (the
/// `SIGN_IN_FLOW` cookie's flow), a step-up of its session (the same cookie, a flow of the
/// session's own user), or neither: passwordless.
enum Mode {
    Passwordless,
    SecondStep { flow_id: String, user: crate::domain::user::UserId },
    StepUp { flow_id: String, session: SessionUser },
}

async fn mode(state: &AppState, jar: &CookieJar, session: Option<SessionUser>) -> Result<Mode, ApiError> {
    let secure = state.settings.secure_cookies;
    let Some(flow_id) = SIGN_IN_FLOW.get(jar, secure) else { return Ok(Mode::Passwordless) };
    let flow = state
        .store
        .find_flow(&SecretDigest::of(flow_id), FlowPurpose::SecondStep, state.clock.now())
        .await
        .map_err(|e| ApiError::from(Error::from(e)))?;
    let Some(user) = flow.and_then(|f| f.user_id) else { return Ok(Mode::Passwordless) };
    Ok(match session {
        Some(session) if session.user_id == user => Mode::StepUp { flow_id: flow_id.to_string(), session },
        _ => Mode::SecondStep { flow_id: flow_id.to_string(), user },
    })
}

/// `POST /account/passkeys/authenticate/options` `{next?}`: the request options for this
/// browser's sign-in (see [`Mode`]).
#[tracing::instrument(skip_all)]
pub async fn authenticate_options(State(state): State<AppState>, MaybeSession(session): MaybeSession, jar: CookieJar, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let result = async {
        if !sign_in_csrf_ok(&state, &jar, csrf_header(&headers)) {
            return Err(csrf_refused());
        }
        // An empty body is the same as `{}`.
        let request: AuthenticateOptions = match &body {
            Ok(bytes) if bytes.is_empty() => AuthenticateOptions::default(),
            _ => parse(body, "the request")?,
        };
        let rp = relying_party(&state)?;
        let next = safe_next(request.next.as_deref()).to_string();
        let purpose = match mode(&state, &jar, session).await? {
            Mode::Passwordless => Purpose::Passwordless { next: &next },
            Mode::SecondStep { user, .. } => Purpose::User(user),
            Mode::StepUp { session, .. } => Purpose::User(session.user_id),
        };
        let (options, flow) = passkey::start_authentication(state.store.as_ref(), &rp, purpose, state.clock.now()).await?;
        let body = options_json(&options)?;
        Ok((flow, body))
    }
    .await;
    ceremony_started(&state, jar, result)
}

/// `POST /account/passkeys/authenticate` (the assertion from `navigator.credentials.get`):
/// signs in, or completes the second step or the step-up, with a new session id;
/// `{redirect}`.
#[tracing::instrument(skip_all)]
pub async fn authenticate(State(state): State<AppState>, MaybeSession(session): MaybeSession, jar: CookieJar, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    if !sign_in_csrf_ok(&state, &jar, csrf_header(&headers)) {
        return answer(jar, Err(csrf_refused()));
    }
    let (jar, flow) = take_ceremony(&state, jar);
    let result = async {
        let credential: PublicKeyCredential = parse(body, "the passkey's assertion")?;
        let flow = flow.ok_or(PasskeyError::FlowGone)?;
        let rp = relying_party(&state)?;
        let mode = mode(&state, &jar, session).await?;
        let expected = match &mode {
            Mode::Passwordless => None,
            Mode::SecondStep { user, .. } => Some(*user),
            Mode::StepUp { session, .. } => Some(session.user_id),
        };
        let store = state.store.as_ref();
        let now = state.clock.now();
        let proven = passkey::finish_authentication(store, &rp, &flow, expected, &credential, now).await?;
        let denied = || ApiError::from(PasskeyError::FlowGone);
        match mode {
            Mode::Passwordless => {
                let next = safe_next(proven.next.as_deref()).to_string();
                let started = login::start_session(store, proven.user, &proven.amr, now).await?;
                Ok((signed_in(&state, jar, &started).await, next))
            }
            Mode::SecondStep { flow_id, .. } => {
                // The password's flow, used once: of two answers at once only one signs in.
                let pending = store.take_flow(&SecretDigest::of(&flow_id), FlowPurpose::SecondStep, now).await.map_err(|e| ApiError::from(Error::from(e)))?.ok_or_else(denied)?;
                let next = safe_next(Some(&pending.state)).to_string();
                let started = login::complete_second_step(store, &pending, &proven.amr, now).await.map_err(|e| match e {
                    Error::AccessDenied => ApiError::from(PasskeyError::Denied),
                    other => ApiError::from(other),
                })?;
                tracing::info!(user = %started.user.username, "second step done with a passkey");
                Ok((signed_in(&state, jar, &started).await, next))
            }
            Mode::StepUp { flow_id, session } => {
                let pending = store.take_flow(&SecretDigest::of(&flow_id), FlowPurpose::SecondStep, now).await.map_err(|e| ApiError::from(Error::from(e)))?.ok_or_else(denied)?;
                let next = safe_next(Some(&pending.state)).to_string();
                let digest = SESSION.get(&jar, state.settings.secure_cookies).map(SecretDigest::of).ok_or_else(not_signed_in)?;
                let id = login::step_up(store, &digest, &session, &proven.amr, now).await.map_err(|_| not_signed_in())?;
                let started = login::StartedSession { id, user: proven.user, expires_at: now };
                tracing::info!(user = %session.username, "stepped up with a passkey");
                // The session was renamed in place (its expiry kept): `signed_in` finds no old
                // session to drop and sets the new id's cookie.
                Ok((signed_in(&state, jar, &started).await, next))
            }
        }
    }
    .await;
    match result {
        Ok((jar, next)) => answer(jar, Ok(serde_json::json!({ "redirect": next }))),
        Err(e) => answer(jar_without_ceremony(&state, &headers), Err(e)),
    }
}

/// On a failure the ceremony's cookie is removed all the same (its flow is gone).
fn jar_without_ceremony(state: &AppState, headers: &HeaderMap) -> CookieJar {
    PASSKEY_CEREMONY.removed_from(CookieJar::from_headers(headers), state.settings.secure_cookies)
}

/// The passkey part of the second-step page (`templates/passkeys/step.html`, included there).
#[derive(Template)]
#[template(path = "passkeys/step.html")]
pub struct StepFragment<'a> {
    pub t: &'static Texts,
    pub csrf_token: &'a str,
    pub next: &'a str,
    /// The user has a passkey: without one the page offers none.
    pub has_passkeys: bool,
}

/// The passkey part of the security page (`templates/passkeys/security.html`, included there).
#[derive(Template)]
#[template(path = "passkeys/security.html")]
pub struct SecurityFragment<'a> {
    pub t: &'static Texts,
    pub csrf_token: &'a str,
    pub next: &'a str,
}

/// `GET /static/passkeys.js`.
pub async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../../static/passkeys.js"),
    )
        .into_response()
}

/// The ceremony's options as the JSON the script hands to `navigator.credentials`.
fn options_json(options: &impl serde::Serialize) -> Result<serde_json::Value, ApiError> {
    // webauthn-rs's option types always serialise; a failure would be a bug, answered as one.
    serde_json::to_value(options).map_err(|e| ApiError::from(Error::Internal(crate::domain::InternalError::Serialize(e.to_string()))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::i18n::{DE, EN};

    #[test]
    fn the_fragments_render_with_the_pages_fields_and_load_the_script() {
        for t in [&EN, &DE] {
            let step = StepFragment { t, csrf_token: "tok&en", next: "/next", has_passkeys: true }.render().unwrap();
            assert!(step.contains("data-csrf-token=\"tok&#38;en\"") && step.contains("/static/passkeys.js") && step.contains(t.passkey_use), "{step}");
            let without = StepFragment { t, csrf_token: "token", next: "/next", has_passkeys: false }.render().unwrap();
            assert!(!without.contains("passkey-step"), "no passkey offered to a user without one: {without}");
            let security = SecurityFragment { t, csrf_token: "token", next: "/next" }.render().unwrap();
            assert!(security.contains("id=\"passkey-name\"") && security.contains(t.passkey_add), "{security}");
        }
    }
}
