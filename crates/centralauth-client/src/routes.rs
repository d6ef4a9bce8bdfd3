//! Login, callback, logout and the sign-in page.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_sessions::Session;

use crate::CentralAuth;
use crate::error::ProviderError;
use crate::pages::{self, PROVIDER_UNAVAILABLE};
use crate::provider::{StoredToken, now_micros};
use crate::session::{LOGIN_KEY, PendingLogin, SignIn, SyncRecord, TOKEN_KEY, safe_next, store_sign_in};

pub(crate) fn router<S: Clone + Send + Sync + 'static>(auth: &CentralAuth) -> Router<S> {
    let paths = &auth.config().paths;
    Router::new()
        .route(&paths.login, get(login))
        .route(&paths.callback, get(callback))
        .route(&paths.logout, get(logout).post(logout))
        .route(&paths.sign_in, get(sign_in_page))
        .with_state(auth.clone())
}

fn query_param(query: &Option<String>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn internal(headers: &HeaderMap, err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "centralauth client failure");
    pages::error(headers, StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Something went wrong. Please try again.")
}

/// `GET {login}?next=/path`: remembers `state`, the PKCE verifier and `next`, then sends the
/// browser to the provider's authorization endpoint.
async fn login(State(auth): State<CentralAuth>, session: Session, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let next = safe_next(query_param(&query, "next").as_deref());
    let start = auth.provider().start_authorization();
    let pending = PendingLogin { state: start.state, pkce_verifier: start.pkce_verifier, next };
    if let Err(e) = session.insert(LOGIN_KEY, pending).await {
        return internal(&headers, e);
    }
    Redirect::to(&start.url).into_response()
}

fn refused(headers: &HeaderMap, message: &str, auth: &CentralAuth) -> Response {
    if pages::wants_html(headers) {
        let login = auth.config().paths.login.clone();
        pages::page(StatusCode::FORBIDDEN, "Sign-in failed", message, Some((&login, "Sign in again")))
    } else {
        pages::error(headers, StatusCode::FORBIDDEN, "access_denied", message)
    }
}

fn provider_failure(headers: &HeaderMap, auth: &CentralAuth, err: ProviderError) -> Response {
    if err.is_refusal() {
        tracing::info!(error = %err, "sign-in refused by the provider");
        refused(headers, "The sign-in service refused the sign-in. Your account may have no access to this application.", auth)
    } else {
        tracing::warn!(error = %err, "sign-in failed: provider unavailable");
        pages::error(headers, StatusCode::BAD_GATEWAY, "provider_unavailable", PROVIDER_UNAVAILABLE)
    }
}

/// `GET {callback}?code=…&state=…`: checks `state`, exchanges the code with the PKCE verifier,
/// fetches the user, and only then starts the session under a new id.
async fn callback(State(auth): State<CentralAuth>, session: Session, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    // Back-channel events from now on apply to this session (a logout during the sign-in ends it).
    let started_at = now_micros();
    // One use only: a second callback with the same state finds nothing.
    let pending: Option<PendingLogin> = match session.remove(LOGIN_KEY).await {
        Ok(p) => p,
        Err(e) => return internal(&headers, e),
    };
    let Some(pending) = pending.filter(|p| query_param(&query, "state").as_deref() == Some(p.state.as_str())) else {
        return refused(&headers, "This sign-in link has expired or was not started here. Please sign in again.", &auth);
    };
    // RFC 9207: an answer that names its issuer must name ours, or it comes from another
    // sign-in service the browser was sent to (a mix-up attack). A Django provider names none.
    if let Some(iss) = query_param(&query, "iss") {
        match auth.keys().issuer(auth.provider()).await {
            Ok(issuer) if issuer == iss => {}
            Ok(issuer) => {
                tracing::warn!(%iss, %issuer, "sign-in answer from another issuer refused");
                return refused(&headers, "This sign-in answer came from another sign-in service. Please sign in again.", &auth);
            }
            Err(e) => return provider_failure(&headers, &auth, ProviderError::Unreachable(e)),
        }
    }
    if let Some(error) = query_param(&query, "error") {
        let message = if error == "access_denied" {
            "Your account has no access to this application.".to_string()
        } else {
            format!("The sign-in service refused the request ({error}).")
        };
        return refused(&headers, &message, &auth);
    }
    let Some(code) = query_param(&query, "code") else {
        return pages::error(&headers, StatusCode::BAD_REQUEST, "invalid_request", "The sign-in answer has no code. Please sign in again.");
    };
    let provider = auth.provider();
    let token = match provider.exchange_code(&code, &pending.pkce_verifier).await {
        Ok(t) => t,
        Err(e) => return provider_failure(&headers, &auth, e),
    };
    let fetched = match provider.fetch_user(&token.access_token).await {
        Ok(u) if u.principal.is_active => u,
        Ok(_) => return refused(&headers, "Your account is not active for this application.", &auth),
        Err(e) => return provider_failure(&headers, &auth, e),
    };
    if let Err(e) = auth.run_hook(&fetched.principal).await {
        return internal(&headers, e);
    }
    // A new session id at sign-in (session fixation), then the tokens and the user.
    if let Err(e) = session.cycle_id().await {
        return internal(&headers, e);
    }
    let record = SyncRecord { sub: fetched.sub, signed_in_at: started_at, synced_at: started_at };
    let sign_in = SignIn { token, user: fetched.principal, record };
    if let Err(e) = store_sign_in(&session, &sign_in).await {
        return internal(&headers, e);
    }
    tracing::info!(user = %sign_in.user.username, "signed in");
    Redirect::to(&pending.next).into_response()
}

/// Ends the session here and revokes the token at the provider (best effort: a provider that
/// is down must not keep the user signed in here).
async fn logout(State(auth): State<CentralAuth>, session: Session, headers: HeaderMap) -> Response {
    if let Ok(Some(StoredToken { refresh_token: Some(refresh), .. })) = session.get::<StoredToken>(TOKEN_KEY).await
        && let Err(e) = auth.provider().revoke(&refresh).await
    {
        tracing::warn!(error = %e, "revoking the token at logout failed");
    }
    if let Err(e) = session.flush().await {
        return internal(&headers, e);
    }
    Redirect::to(&auth.config().paths.after_logout).into_response()
}

/// The original's "Proceed with login" page, for apps that want a page before the redirect.
async fn sign_in_page(State(auth): State<CentralAuth>, RawQuery(query): RawQuery) -> Response {
    let next = safe_next(query_param(&query, "next").as_deref());
    let href = format!(
        "{}?{}",
        auth.config().paths.login,
        url::form_urlencoded::Serializer::new(String::new()).append_pair("next", &next).finish()
    );
    pages::page(StatusCode::OK, "Sign in", "This application uses your central account.", Some((&href, "Proceed with login")))
}
