//! How a route is declared: every route says whether it reads or writes, and there is no other
//! way to add one, so a new writing route cannot forget the rule that writing routes run to
//! completion.

use std::time::Instant;

use axum::Router;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

use super::error::PageError;
use super::state::AppState;

/// The routes of one surface, each declared as reading or writing.
#[must_use]
pub struct Routes(Router<AppState>);

impl Routes {
    pub fn new() -> Self {
        Self(Router::new())
    }

    /// A route that changes state (any of its methods may): it runs on a task of its own, so it
    /// finishes whatever its client does.
    pub fn write(self, path: &str, methods: MethodRouter<AppState>) -> Self {
        Self(self.0.route(path, methods.layer(middleware::from_fn(run_to_completion))))
    }

    /// A route none of whose methods changes state; it skips the task (`bench/run`: 6 µs of
    /// CPU per request, 10 % of `/user/`).
    pub fn read(self, path: &str, methods: MethodRouter<AppState>) -> Self {
        Self(self.0.route(path, methods))
    }

    /// A whole surface whose routes may all write (the admin API, built by its OpenAPI router).
    pub fn write_all(self, routes: Router<AppState>) -> Self {
        Self(self.0.merge(routes.layer(middleware::from_fn(run_to_completion))))
    }

    pub fn merge(self, other: Routes) -> Self {
        Self(self.0.merge(other.0))
    }

    /// Mounts `other` under `prefix` (the wire contract's `/provider`; empty: at the root).
    pub fn nest(self, prefix: &str, other: Routes) -> Self {
        if prefix.is_empty() { self.merge(other) } else { Self(self.0.nest(prefix, other.0)) }
    }

    pub fn into_router(self) -> Router<AppState> {
        self.0
    }
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

/// The last instant at which the request's changes may commit, put on every request when it
/// arrives (`router::router`) and applied to writing routes by [`run_to_completion`].
#[derive(Debug, Clone, Copy)]
pub struct WriteDeadline(pub Instant);

/// Hyper drops a handler's future when the client goes away. Dropped in the middle of a
/// database transaction (worst: between `BEGIN` and the moment sqlx knows it began), the
/// connection goes back to the pool still inside a transaction that nobody commits, and on
/// SQLite it keeps the write lock. A writing request therefore runs on a task of its own, so
/// that it always finishes: every transaction is committed or rolled back.
///
/// Running on after the client has gone must not mean carrying the change out whenever the
/// database lets it: the task runs under the request's write deadline, past which the store
/// rolls back instead of committing (`domain::ports::deadline`). A client that timed out
/// (30 s is usual) thus never finds its grant carried out behind its back, a refresh token
/// rotated that it still holds, say.
async fn run_to_completion(request: axum::extract::Request, next: middleware::Next) -> Response {
    let deadline = request.extensions().get::<WriteDeadline>().copied();
    let work = next.run(request);
    let task = match deadline {
        Some(WriteDeadline(deadline)) => tokio::spawn(crate::domain::ports::with_write_deadline(deadline, work)),
        None => tokio::spawn(work),
    };
    match task.await {
        Ok(response) => response,
        Err(err) => PageError::internal(err).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use axum::Router;
    use axum::middleware;
    use axum::routing::get;

    use super::run_to_completion;

    #[tokio::test]
    async fn a_writing_request_finishes_even_when_its_client_hangs_up() {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        // Stands for a handler in the middle of a transaction when the client goes away: real
        // time is the point here (the client gives up after 50 ms, the handler needs 300).
        let slow = move || {
            let flag = flag.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                flag.store(true, Ordering::SeqCst);
                "done"
            }
        };
        let app = Router::new().route("/slow", get(slow).layer(middleware::from_fn(run_to_completion)));
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
