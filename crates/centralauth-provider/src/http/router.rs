//! Assembles the routes and the layers around them.

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::trace::TraceLayer;

use super::error::PageError;
use super::i18n::Lang;
use super::state::AppState;
use super::routes::{Routes, WriteDeadline};
use super::{account, admin_api, console, pages, provider};

/// Forms and OAuth requests are small; larger bodies are refused before they are read.
const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let prefix = state.settings.prefix.clone();
    let write_deadline = state.settings.write_deadline;
    // Served over https (the public URL says so, since TLS usually ends at a proxy in front):
    // browsers are told to use nothing else for a year (RFC 6797). Not includeSubDomains: the
    // provider's host says nothing about its siblings.
    let hsts = state.settings.secure_cookies.then_some((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"));
    // connect-src: the passkey script's fetch() calls to this origin (`static/passkeys.js`).
    let security_headers = [
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    let routes = Routes::new()
        .nest(&prefix, provider::routes())
        .merge(account::routes())
        .merge(console::routes())
        .merge(admin_api::routes())
        .read("/", get(|| async { Redirect::to("/account/") }))
        .read("/static/style.css", get(pages::stylesheet))
        .read(&provider::oauth::metadata::well_known_path(&prefix), get(provider::oauth::metadata::metadata))
        .read("/healthz", get(|| async { "ok" }))
        .read("/readyz", get(ready));
    let mut router = routes
        .into_router()
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT))
        // The write deadline counts from the request's arrival, before anything waits.
        .layer(axum::middleware::map_request(move |mut request: axum::extract::Request| async move {
            request.extensions_mut().insert(WriteDeadline(Instant::now() + write_deadline));
            request
        }))
        .with_state(state);
    for (name, value) in security_headers.into_iter().chain(hsts) {
        router = router.layer(SetResponseHeaderLayer::if_not_present(HeaderName::from(name), HeaderValue::from_static(value)));
    }
    router.layer(
        TraceLayer::new_for_http()
            .make_span_with(|req: &axum::http::Request<_>| tracing::info_span!("request", method = %req.method(), path = %req.uri().path()))
            .on_failure(|class: ServerErrorsFailureClass, latency: std::time::Duration, _: &tracing::Span| match class {
                // 503s come in thousands while the database is away, which the store logs
                // once (`store::health`); a 500's cause is logged where it is answered.
                ServerErrorsFailureClass::StatusCode(StatusCode::SERVICE_UNAVAILABLE) => tracing::debug!(?latency, "answered 503"),
                other => tracing::error!(classification = %other, ?latency, "response failed"),
            }),
    )
}

/// 200 while the database answers, else 503 within the pool's wait for a connection: the
/// same bound after which requests are answered 503.
async fn ready(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(state.settings.ready_timeout, state.store.ping()).await {
        Ok(Ok(())) => "ready".into_response(),
        _ => {
            let retry_after = (header::RETRY_AFTER, HeaderValue::from(crate::domain::DATABASE_RETRY_AFTER_SECONDS));
            (StatusCode::SERVICE_UNAVAILABLE, [retry_after], "database unavailable").into_response()
        }
    }
}

async fn not_found(Lang(t): Lang) -> Response {
    PageError::new(StatusCode::NOT_FOUND, t, None, t.not_found).into_response()
}
