//! The few pages this crate answers itself: the sign-in page and error pages, as HTML for
//! browsers and as JSON for API clients.

use askama::Template;
use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
    link: Option<&'a str>,
    link_text: &'a str,
}

/// Whether the request comes from a browser page (HTML wanted) rather than an API client.
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

/// A page with a title, a message and an optional link.
pub(crate) fn page(status: StatusCode, title: &str, message: &str, link: Option<(&str, &str)>) -> Response {
    let page = MessagePage { title, message, link: link.map(|l| l.0), link_text: link.map(|l| l.1).unwrap_or("") };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, message.to_string()).into_response(),
    }
}

/// An error for a browser (page) or an API client (JSON), by the request's `Accept`.
pub(crate) fn error(headers: &HeaderMap, status: StatusCode, code: &str, message: &str) -> Response {
    if wants_html(headers) {
        page(status, status.canonical_reason().unwrap_or("Error"), message, Some(("/", "Back to the start page")))
    } else {
        (status, Json(serde_json::json!({"error": code, "error_description": message}))).into_response()
    }
}

pub(crate) const PROVIDER_UNAVAILABLE: &str = "The sign-in service is not available right now. Please try again in a moment.";
