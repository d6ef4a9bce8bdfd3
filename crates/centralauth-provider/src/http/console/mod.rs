//! The web console under `/console/`: server-rendered pages (askama) for administrators,
//! delegated administrators and every signed-in user's own account. Sign-in is the provider's
//! own, every form carries the session-bound CSRF token, and every change answers 303 (PRG).

mod account;
mod applications;
mod audit;
mod factors;
pub(crate) mod form;
mod groups;
mod members;
mod once;
pub mod texts;
mod users;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;

use self::form::Form;
use self::texts::ConsoleTexts;
use super::error::PageError;
use super::account::login::SECOND_STEP_PATH;
use super::routes::Routes;
use super::shared::cookies::SESSION;
use super::shared::{PageForm, csrf_ok, csrf_token};
use super::i18n::{Lang, Texts};
use super::state::AppState;
use crate::domain::application::{Application, ApplicationId};
use crate::domain::authz::Administrator;
use crate::domain::secret::SecretDigest;
use crate::domain::Error;

pub fn routes() -> Routes {
    Routes::new()
        .read("/console/", get(home))
        .read("/static/console.css", get(stylesheet))
        .read("/static/console.js", get(script))
        .read("/console/account/", get(account::show))
        .write("/console/account/password", post(account::change_password))
        .write("/console/account/sign-out-everywhere", post(account::sign_out_everywhere))
        .write("/console/account/tokens/", get(account::tokens).post(account::create_token))
        .write("/console/account/tokens/{id}/revoke", post(account::revoke_token))
        .write("/console/users/", get(users::list).post(users::create))
        .read("/console/users/new", get(users::new_form))
        .write("/console/users/{id}/", get(users::edit_form).post(users::update))
        .write("/console/users/{id}/password", post(users::set_password))
        .write("/console/users/{id}/deactivate", post(users::deactivate))
        .write("/console/users/{id}/end-sessions", post(users::end_sessions))
        .write("/console/users/{id}/delegation", post(users::delegate))
        .write("/console/users/{id}/factors/{factor}/remove", get(factors::remove_form).post(factors::remove))
        .write("/console/users/{id}/factors/reset", get(factors::reset_form).post(factors::reset))
        .write("/console/applications/", get(applications::list).post(applications::create))
        .read("/console/applications/new", get(applications::new_form))
        .write("/console/applications/{id}/", get(applications::edit_form).post(applications::update))
        .write("/console/applications/{id}/secret", get(applications::secret).post(applications::rotate_secret))
        .write("/console/applications/{id}/delete", get(applications::delete_form).post(applications::delete))
        .read("/console/applications/{id}/permissions/", get(applications::permissions))
        .write("/console/applications/{id}/groups/", get(groups::list).post(groups::create))
        .read("/console/applications/{id}/groups/new", get(groups::new_form))
        .write("/console/applications/{id}/groups/{group}/", get(groups::edit_form).post(groups::update))
        .write("/console/applications/{id}/groups/{group}/delete", post(groups::delete))
        .write("/console/applications/{id}/members/", get(members::list).post(members::create))
        .write("/console/applications/{id}/members/{user}/", get(members::edit_form).post(members::update))
        .write("/console/applications/{id}/members/{user}/delete", post(members::delete))
        .read("/console/audit/", get(audit::list))
}

/// The signed-in user at the console: who they are, what they may administer, the page
/// language and the CSRF token the page's forms carry.
pub struct Console {
    pub state: AppState,
    pub t: &'static Texts,
    pub ct: &'static ConsoleTexts,
    pub admin: Administrator,
    pub csrf: String,
    /// A notice named by `?notice=` after a redirect (Post/Redirect/Get).
    pub notice: Option<&'static str>,
    jar: CookieJar,
}

/// An answer that ends a console request early: a sign-in redirect or an error page.
pub struct ConsoleError(Box<Response>);

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Response> for ConsoleError {
    fn from(response: Response) -> Self {
        Self(Box::new(response))
    }
}

pub type Outcome = Result<Response, ConsoleError>;

impl FromRequestParts<AppState> for Console {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Lang(t) = Lang::from_header(parts.headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
        let ct = texts::for_lang(t);
        let jar = CookieJar::from_headers(&parts.headers);
        // After sign-in (or a step) the browser comes back with a GET: to the page itself, or
        // to the console's start for a form whose session had expired.
        let next = match parts.method {
            Method::GET => parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/console/"),
            _ => "/console/",
        };
        let sign_in = || {
            let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
            ConsoleError::from(Redirect::to(&format!("/account/login/?{query}")).into_response())
        };
        let Some(session_id) = SESSION.get(&jar, state.settings.secure_cookies) else { return Err(sign_in()) };
        let store = state.store.as_ref();
        let failed = |e: crate::domain::ports::StoreError| ConsoleError::from(PageError::store(e, t).into_response());
        let session = store.find_session(&SecretDigest::of(session_id), state.clock.now()).await.map_err(failed)?;
        let Some(session) = session else { return Err(sign_in()) };
        let user = store.find_user_by_id(session.user_id).await.map_err(failed)?;
        let Some(user) = user.filter(|u| u.is_active) else { return Err(sign_in()) };
        let admin = Administrator::load(store, &user).await.map_err(|e| ConsoleError::from(PageError::from_domain(e.into(), t).into_response()))?;
        // The provider-wide rule for administrators (`--require-admin-mfa`), here so that no
        // console page can forget it. Checked on every request against what this session
        // proved, nothing cached: a delegation given applies at its holder's next request. The
        // account pages under `/account/` are not console pages, so an administrator without a
        // factor can still enrol one there (the step-up page sends them).
        if admin.is_administrator() && !session.amr.satisfies(state.settings.admin_requirement) {
            let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).append_pair("require", "mfa").finish();
            return Err(ConsoleError::from(Redirect::to(&format!("{SECOND_STEP_PATH}?{query}")).into_response()));
        }
        let (jar, csrf) = csrf_token(state, jar);
        let notice = parts
            .uri
            .query()
            .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "notice").and_then(|(_, v)| ct.notice(&v)));
        Ok(Self { state: state.clone(), t, ct, admin, csrf, notice, jar })
    }
}

/// A console form submission: a signed-in user, and a body whose CSRF token matches the cookie.
pub struct ConsolePost(pub Console, pub Form);

impl FromRequest<AppState> for ConsolePost {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let console = Console::from_request_parts(&mut parts, state).await?;
        let jar = CookieJar::from_headers(&parts.headers);
        let PageForm(params) =
            PageForm::from_request(Request::from_parts(parts, body), state).await.map_err(|e| ConsoleError::from(e.into_response()))?;
        if !csrf_ok(state, &jar, params.get("csrf_token").ok().flatten()) {
            return Err(console.error(StatusCode::FORBIDDEN, console.t.csrf_failed));
        }
        Ok(Self(console, Form(params)))
    }
}

/// What every console page shows around its content.
pub struct Chrome<'a> {
    pub t: &'static Texts,
    pub ct: &'static ConsoleTexts,
    pub csrf: &'a str,
    pub username: &'a str,
    pub full: bool,
    pub administrator: bool,
    pub section: &'static str,
    pub notice: Option<&'static str>,
}

impl Console {
    pub fn chrome(&self, section: &'static str) -> Chrome<'_> {
        Chrome {
            t: self.t,
            ct: self.ct,
            csrf: &self.csrf,
            username: &self.admin.username,
            full: self.admin.is_full(),
            administrator: self.admin.is_administrator(),
            section,
            notice: self.notice,
        }
    }

    /// The digest of this browser's session (a console request has one, or it is not here).
    pub fn session(&self) -> SecretDigest {
        SecretDigest::of(SESSION.get(&self.jar, self.state.settings.secure_cookies).unwrap_or_default())
    }

    pub fn store(&self) -> &dyn crate::domain::ports::Store {
        self.state.store.as_ref()
    }

    /// A page with the CSRF cookie; console pages show private data, so nothing caches them.
    pub fn render(&self, status: StatusCode, page: &impl askama::Template) -> Response {
        let mut response = (self.jar.clone(), super::pages::render(status, page)).into_response();
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    pub fn page(&self, page: &impl askama::Template) -> Outcome {
        Ok(self.render(StatusCode::OK, page))
    }

    /// A form shown again with its errors.
    pub fn invalid(&self, page: &impl askama::Template) -> Outcome {
        Ok(self.render(StatusCode::BAD_REQUEST, page))
    }

    /// 303 See Other after a change (Post/Redirect/Get).
    pub fn redirect(&self, to: &str) -> Outcome {
        Ok((self.jar.clone(), Redirect::to(to)).into_response())
    }

    pub fn jar(&self) -> CookieJar {
        self.jar.clone()
    }

    pub fn error(&self, status: StatusCode, message: &str) -> ConsoleError {
        let code = match status {
            StatusCode::FORBIDDEN => Some("forbidden"),
            StatusCode::NOT_FOUND => Some("not_found"),
            _ => Some("invalid_request"),
        };
        ConsoleError::from(PageError::new(status, self.t, code, message).into_response())
    }

    pub fn not_found(&self) -> ConsoleError {
        self.error(StatusCode::NOT_FOUND, self.t.not_found)
    }

    pub fn forbidden(&self) -> ConsoleError {
        self.error(StatusCode::FORBIDDEN, self.ct.forbidden)
    }

    pub fn bad_request(&self) -> ConsoleError {
        self.error(StatusCode::BAD_REQUEST, self.t.bad_request)
    }

    /// A domain error outside a form: 404, 403, 400, or a logged 500.
    pub fn fail(&self, err: impl Into<Error>) -> ConsoleError {
        match err.into() {
            Error::NotFound { .. } => self.not_found(),
            Error::Forbidden | Error::AccessDenied | Error::OwnAccess { .. } => self.forbidden(),
            // 500, or 503 with `Retry-After` while the database is unavailable.
            err @ (Error::Internal(_) | Error::Unavailable { .. } | Error::RateLimited { .. }) => {
                ConsoleError::from(PageError::from_domain(err, self.t).into_response())
            }
            Error::Invalid { field, reason } => self.error(StatusCode::BAD_REQUEST, &self.ct.reason(field, &reason)),
            other => self.error(StatusCode::BAD_REQUEST, &other.to_string()),
        }
    }

    /// Users' accounts, applications' settings, delegation and the audit log: administrators only.
    pub fn require_full(&self) -> Result<(), ConsoleError> {
        if self.admin.is_full() { Ok(()) } else { Err(self.forbidden()) }
    }

    /// The application, if it is one this administrator manages; 404 otherwise, so that a
    /// delegated administrator cannot even learn which ids exist.
    pub async fn application(&self, id: i64) -> Result<Application, ConsoleError> {
        if !self.admin.is_administrator() {
            return Err(self.forbidden());
        }
        if !self.admin.manages(ApplicationId(id)) {
            return Err(self.not_found());
        }
        self.store().find_application_by_id(ApplicationId(id)).await.or_fail(self)?.ok_or_else(|| self.not_found())
    }
}

/// `?`-friendly conversion of store and domain results into console errors.
pub trait OrFail<T> {
    fn or_fail(self, console: &Console) -> Result<T, ConsoleError>;
}

impl<T, E: Into<Error>> OrFail<T> for Result<T, E> {
    fn or_fail(self, console: &Console) -> Result<T, ConsoleError> {
        self.map_err(|e| console.fail(e))
    }
}

async fn home(console: Console) -> Outcome {
    if console.admin.is_administrator() { console.redirect("/console/applications/") } else { console.redirect("/console/account/") }
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../../static/console.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../../static/console.js"),
    )
        .into_response()
}
