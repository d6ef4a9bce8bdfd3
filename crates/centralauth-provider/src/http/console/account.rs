//! Every signed-in user's own account: change the password (proving the current one), the
//! applications they may use, and signing out everywhere.

use askama::Template;
use axum::response::{IntoResponse, Redirect};

use super::form::{Choice, FormErrors};
use super::once::ShownOnce;
use super::{Chrome, Console, ConsolePost, OrFail, Outcome};
use axum::http::StatusCode;

use crate::domain::admin::api_tokens::{DEFAULT_LIFETIME_DAYS, MAX_LIFETIME_DAYS};
use crate::domain::admin::{self, TokenLifetime, TokenLimits, TokenScope};
use crate::domain::application::ApplicationId;
use crate::domain::clock::utc_text;
use crate::domain::ports::ApiToken;
use crate::domain::{Error, session};
use crate::http::shared::cookies::{SESSION, TOKEN_ONCE};

/// An application the user may sign in to, with where it lives.
struct MyApplication {
    name: String,
    url: Option<String>,
}

#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage<'a> {
    c: Chrome<'a>,
    email: String,
    applications: Vec<MyApplication>,
    errors: FormErrors,
}

async fn page(c: &Console, errors: FormErrors) -> Outcome {
    let store = c.store();
    let user = store.find_user_by_id(c.admin.user_id).await.or_fail(c)?.ok_or_else(|| c.not_found())?;
    let applications = store
        .memberships_of_user(user.id)
        .await
        .or_fail(c)?
        .into_iter()
        .filter(|m| m.flags.is_active)
        .map(|m| MyApplication {
            // The application's home: the origin of its first redirect URI (web origins only).
            url: m.application.redirect_uris.first().and_then(|u| url::Url::parse(u.as_str()).ok()).and_then(|u| {
                let origin = u.origin();
                origin.is_tuple().then(|| format!("{}/", origin.ascii_serialization())).filter(|_| matches!(u.scheme(), "http" | "https"))
            }),
            name: m.application.name,
        })
        .collect();
    let page = AccountPage { c: c.chrome("account"), email: user.email, applications, errors };
    if page.errors.any() { c.invalid(&page) } else { c.page(&page) }
}

pub async fn show(c: Console) -> Outcome {
    page(&c, FormErrors::default()).await
}

pub async fn change_password(ConsolePost(c, form): ConsolePost) -> Outcome {
    let current = form.text(&c, "current_password")?;
    let new = form.text(&c, "new_password")?;
    let mut errors = FormErrors::default();
    if current.is_empty() {
        errors.add("current_password", c.ct.current_password_wrong);
    } else if new != form.text(&c, "new_password_again")? {
        errors.add("new_password_again", c.ct.passwords_differ);
    } else {
        // A wrong current password counts against the account's sign-in budget (the domain
        // reserves the attempt before the check), so a session left open is no way to guess it.
        // This browser's session stays signed in; every other one ends.
        match admin::change_own_password(c.store(), c.admin.user_id, &c.session(), &current, &new, c.state.clock.now()).await {
            Ok(_) => return c.redirect("/console/account/?notice=password"),
            Err(Error::RateLimited { .. }) => return Err(c.error(StatusCode::TOO_MANY_REQUESTS, c.t.rate_limited)),
            Err(Error::Invalid { field: "current_password", .. }) => errors.add("current_password", c.ct.current_password_wrong),
            Err(err) => errors = FormErrors::from_domain(c.ct, err, &[("password", "new_password")]).map_err(|e| c.fail(e))?,
        }
    }
    page(&c, errors).await
}

/// Ends every session of the user (each application signed in through one is told by
/// back-channel logout), this browser's included.
pub async fn sign_out_everywhere(ConsolePost(c, _form): ConsolePost) -> Outcome {
    let ended = session::sign_out_everywhere(c.store(), c.admin.user_id, c.state.clock.now()).await.or_fail(&c)?;
    tracing::info!(user = c.admin.user_id.0, sessions = ended.len(), "signed out everywhere");
    let jar = SESSION.removed_from(c.jar(), c.state.settings.secure_cookies);
    Ok((jar, Redirect::to("/account/login/?next=/console/account/")).into_response())
}

fn token_shown_once() -> ShownOnce {
    ShownOnce { cookie: &TOKEN_ONCE, page: "/console/account/tokens/".to_string() }
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage<'a> {
    c: Chrome<'a>,
    tokens: Vec<TokenLine>,
    new_token: Option<String>,
    form: TokenForm,
    /// The lifetimes offered, in days; "never" besides for full administrators.
    lifetimes: &'static [i64],
    may_choose_never: bool,
    applications: Vec<Choice>,
    errors: FormErrors,
}

/// A token as the list shows it.
struct TokenLine {
    id: i64,
    name: String,
    revoked: bool,
    expired: bool,
    /// When it expires, or `None` for never.
    expires: Option<String>,
    last_used: Option<String>,
    read_only: bool,
    /// The client ids it is limited to; `None`: all the owner's rights.
    applications: Option<String>,
}

impl TokenLine {
    fn of(t: ApiToken, now: i64) -> Self {
        Self {
            id: t.id,
            name: t.name,
            revoked: t.revoked_at.is_some(),
            expired: t.expires_at.is_some_and(|at| at <= now),
            expires: t.expires_at.map(utc_text),
            last_used: t.last_used_at.map(utc_text),
            read_only: t.read_only,
            applications: t.applications.map(|apps| apps.into_iter().map(|a| a.client_id).collect::<Vec<_>>().join(", ")),
        }
    }
}

/// What the creation form holds, kept across an error.
struct TokenForm {
    name: String,
    /// Days, or "never".
    expires: String,
    read_only: bool,
    applications: Vec<i64>,
}

impl Default for TokenForm {
    fn default() -> Self {
        Self { name: String::new(), expires: DEFAULT_LIFETIME_DAYS.to_string(), read_only: false, applications: Vec::new() }
    }
}

const LIFETIMES: &[i64] = &[7, 30, DEFAULT_LIFETIME_DAYS, 180, MAX_LIFETIME_DAYS];

/// The administrator's own API tokens; the one just created is shown this once.
pub async fn tokens(c: Console) -> Outcome {
    tokens_page(&c, TokenForm::default(), FormErrors::default()).await
}

async fn tokens_page(c: &Console, form: TokenForm, errors: FormErrors) -> Outcome {
    if !c.admin.is_administrator() {
        return Err(c.forbidden());
    }
    let now = c.state.clock.now();
    let tokens = c.store().list_api_tokens(Some(c.admin.user_id)).await.or_fail(c)?.into_iter().map(|t| TokenLine::of(t, now)).collect();
    let applications = c
        .store()
        .list_applications()
        .await
        .or_fail(c)?
        .into_iter()
        .filter(|a| c.admin.manages(a.id))
        .map(|a| Choice { value: a.id.0, checked: form.applications.contains(&a.id.0), label: a.name, detail: a.client_id })
        .collect();
    let (jar, new_token) = token_shown_once().take(c.jar(), c.state.settings.secure_cookies);
    let page = TokensPage {
        c: c.chrome("account"),
        tokens,
        new_token,
        form,
        lifetimes: LIFETIMES,
        may_choose_never: c.admin.is_full(),
        applications,
        errors,
    };
    let status = if page.errors.any() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let response = c.render(status, &page);
    Ok((jar, response).into_response())
}

/// Creates a token and hands it to the token page, which shows it once.
pub async fn create_token(ConsolePost(c, form): ConsolePost) -> Outcome {
    if !c.admin.is_administrator() {
        return Err(c.forbidden());
    }
    let input = TokenForm {
        name: form.text(&c, "name")?,
        expires: form.text(&c, "expires")?,
        read_only: form.checked("read_only"),
        applications: form.ids(&c, "application")?,
    };
    let lifetime = match input.expires.as_str() {
        "" => TokenLifetime::Default,
        "never" => TokenLifetime::Never,
        days => TokenLifetime::Days(days.parse().map_err(|_| c.bad_request())?),
    };
    let applications = (!input.applications.is_empty()).then(|| input.applications.iter().copied().map(ApplicationId).collect());
    let limits = TokenLimits { lifetime, read_only: input.read_only, applications };
    match admin::create_api_token(&c.admin, c.store(), c.admin.user_id, &input.name, limits, c.state.clock.now()).await {
        Ok((_, secret)) => token_shown_once().hand_over(&c, &secret, "created"),
        Err(err) => {
            let errors = FormErrors::from_domain(c.ct, err, &[("expires_in_days", "expires"), ("never_expires", "expires")]).map_err(|e| c.fail(e))?;
            tokens_page(&c, input, errors).await
        }
    }
}

/// Revokes one of the administrator's own tokens.
pub async fn revoke_token(axum::extract::Path(id): axum::extract::Path<String>, ConsolePost(c, _form): ConsolePost) -> Outcome {
    let id = id.parse::<i64>().map_err(|_| c.not_found())?;
    admin::revoke_api_token(&c.admin, c.store(), id, TokenScope::Own).await.or_fail(&c)?;
    c.redirect("/console/account/tokens/?notice=saved")
}
