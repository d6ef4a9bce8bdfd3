//! Every signed-in user's own account: change the password (proving the current one), the
//! applications they may use, and signing out everywhere.

use askama::Template;
use axum::response::{IntoResponse, Redirect};

use super::form::FormErrors;
use super::once::ShownOnce;
use super::{Chrome, Console, ConsolePost, OrFail, Outcome};
use axum::http::StatusCode;

use crate::domain::admin::{self, TokenScope};
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
        // records it), so a session left open is no way to guess the password.
        match admin::change_own_password(c.store(), c.admin.user_id, &current, &new, c.state.clock.now()).await {
            Ok(_) => return c.redirect("/console/account/?notice=password"),
            Err(Error::RateLimited) => return Err(c.error(StatusCode::TOO_MANY_REQUESTS, c.t.rate_limited)),
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
    tokens: Vec<crate::domain::ports::ApiToken>,
    new_token: Option<String>,
    name: String,
    errors: FormErrors,
}

/// The administrator's own API tokens; the one just created is shown this once.
pub async fn tokens(c: Console) -> Outcome {
    tokens_page(&c, String::new(), FormErrors::default()).await
}

async fn tokens_page(c: &Console, name: String, errors: FormErrors) -> Outcome {
    if !c.admin.is_administrator() {
        return Err(c.forbidden());
    }
    let tokens = c.store().list_api_tokens(Some(c.admin.user_id)).await.or_fail(c)?;
    let (jar, new_token) = token_shown_once().take(c.jar(), c.state.settings.secure_cookies);
    let page = TokensPage { c: c.chrome("account"), tokens, new_token, name, errors };
    let status = if page.errors.any() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let response = c.render(status, &page);
    Ok((jar, response).into_response())
}

/// Creates a token and hands it to the token page, which shows it once.
pub async fn create_token(ConsolePost(c, form): ConsolePost) -> Outcome {
    if !c.admin.is_administrator() {
        return Err(c.forbidden());
    }
    let name = form.text(&c, "name")?;
    match admin::create_api_token(&c.admin, c.store(), c.admin.user_id, &name).await {
        Ok((_, secret)) => token_shown_once().hand_over(&c, &secret, "created"),
        Err(err) => {
            let errors = FormErrors::from_domain(c.ct, err, &[]).map_err(|e| c.fail(e))?;
            tokens_page(&c, name, errors).await
        }
    }
}

/// Revokes one of the administrator's own tokens.
pub async fn revoke_token(axum::extract::Path(id): axum::extract::Path<String>, ConsolePost(c, _form): ConsolePost) -> Outcome {
    let id = id.parse::<i64>().map_err(|_| c.not_found())?;
    admin::revoke_api_token(&c.admin, c.store(), id, TokenScope::Own).await.or_fail(&c)?;
    c.redirect("/console/account/tokens/?notice=saved")
}
