//! The layer that keeps a session in step with the provider: on each request of a signed-in
//! user whose access token has expired, it refreshes the token, fetches `/user/` again and
//! updates the session; when the provider refuses, the session ends. Concurrent requests of
//! one session share one refresh in flight, so none of them logs the user out because another
//! one rotated the refresh token first.
//!
//! It also applies the provider's back-channel events (received by [`crate::backchannel`], kept
//! in [`crate::AccessEvents`]): a session of a user logged out at or after its sign-in ends at
//! its next request, and a session of a user whose access changed at or after its last sync
//! syncs at its next request, as if its access token had expired.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tokio::sync::OnceCell;
use tower::{Layer, Service};
use tower_sessions::Session;

use crate::CentralAuth;
use crate::events::SubjectEvents;
use crate::pages::{self, PROVIDER_UNAVAILABLE};
use crate::principal::Principal;
use crate::provider::{StoredToken, now_micros, unix_micros};
use crate::session::{SignIn, SyncRecord, signed_in, store_sign_in};

/// The signed-in user of this request, put into the request extensions by [`SyncLayer`].
#[derive(Clone, Debug)]
pub(crate) struct SignedIn(pub Principal);

/// How a sync ended, shareable between the requests that waited for it.
#[derive(Clone, Debug)]
pub(crate) enum SyncOutcome {
    Synced {
        token: StoredToken,
        user: Principal,
        sub: Option<String>,
        /// Unix microseconds when the sync started: what it saw is at least as new as that.
        started_at: u64,
    },
    /// The provider refused the refresh or the user: the session ends.
    Refused(String),
    /// The provider could not be asked: the session stays, the request gets a 502.
    Unavailable(String),
    /// The application's hook failed.
    HookFailed(String),
}

/// Refreshes in flight (and just finished), keyed by the refresh token they use. A finished
/// one is kept while its new access token is valid, so that requests that read the old token a
/// moment later get its result; failures and expired results are never reused (a provider that
/// does not rotate refresh tokens sends the same one again, and must be asked again).
#[derive(Default)]
pub(crate) struct InFlight {
    entries: Mutex<HashMap<String, Started>>,
}

/// When a refresh started (monotonic, and unix microseconds), and the cell its outcome lands in.
struct Started {
    at: Instant,
    at_micros: u64,
    cell: Arc<OnceCell<SyncOutcome>>,
}

const KEEP_FINISHED: Duration = Duration::from_secs(60);

impl InFlight {
    /// The cell of the refresh with `refresh_token`; a new one when there is none, or when the
    /// existing one started before `not_before` (unix microseconds: an access change arrived
    /// since, so its answer may be stale).
    pub fn cell(&self, refresh_token: &str, not_before: Option<u64>, now: u64) -> (u64, Arc<OnceCell<SyncOutcome>>) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.retain(|_, started| {
            started.at.elapsed() < KEEP_FINISHED
                && match started.cell.get() {
                    None => true,
                    Some(SyncOutcome::Synced { token, .. }) => !token.is_expired(now),
                    Some(_) => false,
                }
        });
        let fresh = || Started { at: Instant::now(), at_micros: now_micros(), cell: Arc::new(OnceCell::new()) };
        let entry = entries.entry(refresh_token.to_string()).or_insert_with(fresh);
        if not_before.is_some_and(|t| entry.at_micros <= t) {
            *entry = fresh();
        }
        (entry.at_micros, entry.cell.clone())
    }
}

impl CentralAuth {
    /// Refreshes once per refresh token, however many requests ask at the same moment; with
    /// `not_before`, never reuses a refresh that started at or before it.
    pub(crate) async fn refresh_and_sync(&self, token: &StoredToken, not_before: Option<u64>) -> SyncOutcome {
        let Some(refresh_token) = token.refresh_token.clone() else {
            return SyncOutcome::Refused("no refresh token".into());
        };
        let (started_at, cell) = self.in_flight().cell(&refresh_token, not_before, self.config().clock.unix_seconds());
        cell.get_or_init(|| async {
            let provider = self.provider();
            let fresh = match provider.refresh(&refresh_token).await {
                Ok(t) => t,
                Err(e) if e.is_refusal() => return SyncOutcome::Refused(e.to_string()),
                Err(e) => return SyncOutcome::Unavailable(e.to_string()),
            };
            let fetched = match provider.fetch_user(&fresh.access_token).await {
                Ok(u) if u.principal.is_active => u,
                Ok(_) => return SyncOutcome::Refused("the membership is inactive".into()),
                Err(e) if e.is_refusal() => return SyncOutcome::Refused(e.to_string()),
                Err(e) => return SyncOutcome::Unavailable(e.to_string()),
            };
            match self.run_hook(&fetched.principal).await {
                Ok(()) => SyncOutcome::Synced { token: fresh, user: fetched.principal, sub: fetched.sub, started_at },
                Err(e) => SyncOutcome::HookFailed(e.to_string()),
            }
        })
        .await
        .clone()
    }
}

/// Installs the sync on every route it wraps. Needs tower-sessions' `SessionManagerLayer`
/// outside it (added after it with `.layer(…)`).
#[derive(Clone)]
pub struct SyncLayer {
    pub(crate) auth: CentralAuth,
}

impl<S> Layer<S> for SyncLayer {
    type Service = SyncService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SyncService { auth: self.auth.clone(), inner }
    }
}

/// The service of [`SyncLayer`].
#[derive(Clone)]
pub struct SyncService<S> {
    auth: CentralAuth,
    inner: S,
}

/// Where a browser goes to sign in again: the login route with this request as `next`.
pub(crate) fn login_redirect(login_path: &str, request_target: &str) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", request_target).finish();
    let mut response = Redirect::to(&format!("{login_path}?{query}")).into_response();
    // 302 like the original client, so that any method is retried as GET.
    *response.status_mut() = StatusCode::FOUND;
    response
}

impl<S> Service<Request> for SyncService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone that was polled ready is the one that serves (tower's documented pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Box::pin(async move {
            request.extensions_mut().insert(auth.clone());
            let Some(session) = request.extensions().get::<Session>().cloned() else {
                tracing::error!("centralauth: SessionManagerLayer is missing around SyncLayer");
                return Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response());
            };
            let headers = request.headers().clone();
            let target = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
            let session_failed = |e: &dyn std::fmt::Display, what: &str| {
                tracing::error!(error = %e, "centralauth: {what} failed");
                pages::error(&headers, StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Session storage failed.")
            };
            let current = match signed_in(&session).await {
                Ok(c) => c,
                Err(e) => return Ok(session_failed(&e, "reading the session")),
            };
            if let Some(SignIn { token, user, record }) = current {
                let events = match &record.sub {
                    Some(sub) => match auth.access_events().get(sub).await {
                        Ok(events) => events,
                        Err(e) => {
                            tracing::error!(error = %e, "centralauth: reading the back-channel events failed");
                            return Ok(pages::error(&headers, StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Something went wrong."));
                        }
                    },
                    None => SubjectEvents::default(),
                };
                if events.logged_out_at.is_some_and(|at| unix_micros(at) >= record.signed_in_at) {
                    tracing::info!(user = %user.username, "logged out at the provider (back-channel); session ended");
                    return Ok(end_session(&auth, &session, &headers, &target).await);
                }
                let access_changed = events.access_changed_at.map(unix_micros).filter(|&at| at >= record.synced_at);
                let user = if token.is_expired(auth.config().clock.unix_seconds()) || access_changed.is_some() {
                    match auth.refresh_and_sync(&token, access_changed).await {
                        SyncOutcome::Synced { token, user, sub, started_at } => {
                            let record = SyncRecord { sub: sub.or(record.sub), signed_in_at: record.signed_in_at, synced_at: started_at };
                            let synced = SignIn { token, user, record };
                            if let Err(e) = store_sign_in(&session, &synced).await {
                                return Ok(session_failed(&e, "storing the session"));
                            }
                            synced.user
                        }
                        SyncOutcome::Refused(reason) => {
                            tracing::info!(user = %user.username, %reason, "access withdrawn; session ended");
                            return Ok(end_session(&auth, &session, &headers, &target).await);
                        }
                        SyncOutcome::Unavailable(reason) => {
                            tracing::warn!(%reason, "centralauth: provider unavailable during refresh");
                            return Ok(pages::error(&headers, StatusCode::BAD_GATEWAY, "provider_unavailable", PROVIDER_UNAVAILABLE));
                        }
                        SyncOutcome::HookFailed(reason) => {
                            tracing::error!(%reason, "centralauth: the sync hook failed");
                            return Ok(pages::error(&headers, StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Something went wrong."));
                        }
                    }
                } else {
                    user
                };
                request.extensions_mut().insert(SignedIn(user));
            }
            inner.call(request).await
        })
    }
}

/// Ends the session: browsers are sent to sign in again (back to this request), API clients
/// get a 401.
async fn end_session(auth: &CentralAuth, session: &Session, headers: &HeaderMap, target: &str) -> Response {
    if let Err(e) = session.flush().await {
        tracing::error!(error = %e, "centralauth: ending the session failed");
    }
    if pages::wants_html(headers) {
        return login_redirect(&auth.config().paths.login, target);
    }
    pages::error(headers, StatusCode::UNAUTHORIZED, "unauthorized", "Please sign in again.")
}
