//! `{issuer}/logout/`: OpenID Connect RP-Initiated Logout 1.0. The relying party sends the
//! browser here (GET or POST) with `id_token_hint` or `client_id`, and optionally a registered
//! `post_logout_redirect_uri` and `state`. A signed-in browser is asked to confirm with a
//! CSRF-protected form (so that no other site can sign a user out); signing out ends the session
//! and sends a back-channel logout token to every application signed in through it. The browser
//! then goes back to the (exactly matched) registered URI, or sees a signed-out page.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use url::Url;

use crate::domain::signing::verify_own_token;
use crate::http::account::login::end_session;
use crate::http::shared::csrf_token;
use crate::http::error::PageError;
use crate::http::shared::{MaybeSession, PageForm, Params, csrf_ok};
use crate::http::i18n::{Lang, Texts};
use crate::http::pages::{LogoutPage, SignedOutPage, render};
use crate::http::state::AppState;

/// The request's parameters that the confirmation form carries on.
const CARRIED: &[&str] = &["id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales"];

/// Where the browser goes when done: the registered URI with `state`, or nowhere (our page).
async fn validated_return(state: &AppState, params: &Params) -> Result<Option<Url>, ()> {
    // No parameter twice (RFC 6749 §3.1, which the logout request inherits): the confirmation
    // form would carry both copies on, and `csrf_token` or `ui_locales` are read nowhere else.
    if params.repeated().is_some() {
        return Err(());
    }
    let get = |name: &str| params.get(name).map_err(|_| ());
    let (hint, client_id, uri, rp_state) = (get("id_token_hint")?, get("client_id")?, get("post_logout_redirect_uri")?, get("state")?);
    // The hint must be an id_token we signed (expired ones are fine, §2); its audience names
    // the client, and must agree with client_id when both are given.
    let hinted_client = match hint {
        Some(token) => {
            let keys = state.store.published_signing_keys(state.clock.now()).await.map_err(|_| ())?;
            let claims = verify_own_token(token, &keys).ok_or(())?;
            match claims.get("aud") {
                Some(serde_json::Value::String(aud)) => Some(aud.clone()),
                _ => return Err(()),
            }
        }
        None => None,
    };
    let client_id = match (hinted_client.as_deref(), client_id) {
        (Some(a), Some(b)) if a != b => return Err(()),
        (Some(a), _) | (None, Some(a)) => Some(a.to_string()),
        (None, None) => None,
    };
    let Some(uri) = uri else { return Ok(None) };
    // A return address needs a known client that registered it (§3: no open redirect).
    let client_id = client_id.ok_or(())?;
    let app = state.store.find_application_by_client_id(&client_id).await.map_err(|_| ())?.ok_or(())?;
    if !app.oidc.post_logout_redirect_uris.iter().any(|registered| registered.as_str() == uri) {
        return Err(());
    }
    let mut url = Url::parse(uri).map_err(|_| ())?;
    if let Some(rp_state) = rp_state {
        url.query_pairs_mut().append_pair("state", rp_state);
    }
    Ok(Some(url))
}

fn done(jar: CookieJar, t: &'static Texts, target: Option<Url>) -> Response {
    match target {
        Some(url) => (jar, Redirect::to(url.as_str())).into_response(),
        None => (jar, render(StatusCode::OK, &SignedOutPage { t })).into_response(),
    }
}

fn bad_request(t: &'static Texts) -> Response {
    PageError::new(StatusCode::BAD_REQUEST, t, Some("invalid_request"), t.bad_logout_request).into_response()
}

fn confirm(state: &AppState, t: &'static Texts, jar: CookieJar, params: &Params) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let hidden: Vec<(String, String)> = params.raw_pairs().iter().filter(|(k, _)| CARRIED.contains(&k.as_str())).cloned().collect();
    let action = format!("{}/o/logout/", state.settings.prefix);
    (jar, render(StatusCode::OK, &LogoutPage { t, action: &action, csrf_token: &csrf, hidden: &hidden })).into_response()
}

pub async fn logout_get(
    State(state): State<AppState>,
    Lang(t): Lang,
    MaybeSession(session): MaybeSession,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let Ok(params) = Params::parse(query.unwrap_or_default().as_bytes()) else { return bad_request(t) };
    let Ok(target) = validated_return(&state, &params).await else { return bad_request(t) };
    match session {
        Some(_) => confirm(&state, t, jar, &params),
        // Nobody to sign out: straight back.
        None => done(jar, t, target),
    }
}

pub async fn logout_post(
    State(state): State<AppState>,
    Lang(t): Lang,
    MaybeSession(session): MaybeSession,
    jar: CookieJar,
    PageForm(params): PageForm,
) -> Response {
    let Ok(target) = validated_return(&state, &params).await else { return bad_request(t) };
    if session.is_none() {
        return done(jar, t, target);
    }
    match params.get("csrf_token") {
        // The relying party's own POST (§2 allows it): ask the user first.
        Ok(None) => confirm(&state, t, jar, &params),
        Ok(token @ Some(_)) if csrf_ok(&state, &jar, token) => match end_session(&state, jar).await {
            Ok(jar) => done(jar, t, target),
            Err(e) => e.into_response(),
        },
        _ => PageError::new(StatusCode::FORBIDDEN, t, None, t.csrf_failed).into_response(),
    }
}
