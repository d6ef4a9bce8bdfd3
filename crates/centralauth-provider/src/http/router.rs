//! Assembles the routes and the layers around them.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use super::error::PageError;
use super::i18n::Lang;
use super::state::AppState;
use super::{account, api, console, oauth, pages};

/// Forms and OAuth requests are small; larger bodies are refused before they are read.
const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let prefix = state.settings.prefix.clone();
    let under_prefix = |routes: Router<AppState>| if prefix.is_empty() { routes } else { Router::new().nest(&prefix, routes) };
    let security_headers = [
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    let writes = Router::new()
        .merge(under_prefix(oauth::router().merge(api::router())))
        .merge(account::router())
        .merge(console::router())
        .merge(api::v1::router())
        .route("/", get(|| async { Redirect::to("/account/") }))
        .fallback(not_found);
    // Only what can be left half-done needs its own task: read-only routes skip that cost
    // (`bench/run`: 6 µs of CPU per request, 10 % of `/user/`).
    let mut router = finish_every_request(writes)
        .merge(under_prefix(oauth::read_router().merge(api::read_router())))
        .route("/static/style.css", get(pages::stylesheet))
        .route(&oauth::metadata::well_known_path(&prefix), get(oauth::metadata::metadata))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT))
        .with_state(state);
    for (name, value) in security_headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(HeaderName::from(name), HeaderValue::from_static(value)));
    }
    router.layer(
        TraceLayer::new_for_http().make_span_with(
            |req: &axum::http::Request<_>| tracing::info_span!("request", method = %req.method(), path = %req.uri().path()),
        ),
    )
}

/// Hyper drops a handler's future when the client goes away. Dropped in the middle of a
/// database transaction (worst: between `BEGIN` and the moment sqlx knows it began), the
/// connection goes back to the pool still inside a transaction that nobody commits, and on
/// SQLite it keeps the write lock. Run every request on a task of its own, so that it always
/// finishes: every transaction is committed or rolled back, whatever the client does.
fn finish_every_request<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(middleware::from_fn(run_to_completion))
}

async fn run_to_completion(request: axum::extract::Request, next: middleware::Next) -> Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(err) => PageError::internal(err).into_response(),
    }
}

async fn ready(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => "ready".into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

async fn not_found(Lang(t): Lang) -> Response {
    PageError::new(StatusCode::NOT_FOUND, t, None, t.not_found).into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use axum::Router;
    use axum::routing::get;

    use super::finish_every_request;

    #[tokio::test]
    async fn a_request_finishes_even_when_its_client_hangs_up() {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        // Stands for a handler in the middle of a transaction when the client goes away.
        let slow = move || {
            let flag = flag.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                flag.store(true, Ordering::SeqCst);
                "done"
            }
        };
        let app = finish_every_request(Router::new().route("/slow", get(slow)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let client = reqwest::Client::builder().timeout(Duration::from_millis(50)).build().unwrap();
        assert!(client.get(format!("http://{addr}/slow")).send().await.is_err(), "the client gave up");
        for _ in 0..40 {
            if finished.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the handler was dropped with its client");
    }
}
