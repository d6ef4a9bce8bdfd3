//! Template structs of the browser pages (askama, auto-escaped) and the shared static files.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::i18n::Texts;

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub t: &'static Texts,
    pub code: Option<&'static str>,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub t: &'static Texts,
    pub action: &'a str,
    pub csrf_token: &'a str,
    pub next: &'a str,
    pub username: &'a str,
    pub error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub t: &'static Texts,
    pub username: &'a str,
    pub csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub t: &'static Texts,
    pub action: &'a str,
    pub csrf_token: &'a str,
    /// The validated request, carried to the confirmation's POST.
    pub hidden: &'a [(String, String)],
}

#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage {
    pub t: &'static Texts,
}

/// Renders a page; a template failure becomes a logged 500.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => super::error::PageError::internal(err).into_response(),
    }
}

pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/style.css"),
    )
        .into_response()
}
