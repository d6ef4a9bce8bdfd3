//! `GET {prefix}/o/authorize/` (RFC 6749 §4.1.1). Fatal errors (unknown client, unregistered
//! redirect URI, no membership) are an error page and never a redirect; the others are
//! redirected to the client with `error` and `state` (§4.1.2.1). No consent screen: these are
//! first-party applications, as in the original.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use centralauth_wire::OAuthErrorCode;
use url::Url;

use crate::domain::clock;
use crate::domain::grants::authorization_code::{self, AuthorizationRequest};
use crate::domain::pkce::CodeChallenge;
use crate::domain::redirect_uri;
use crate::domain::scope::Scope;
use crate::http::error::PageError;
use crate::http::extract::{MaybeSession, Params};
use crate::http::i18n::Lang;
use crate::http::state::AppState;

/// Where an error about a known client and a valid redirect URI is sent.
struct ClientRedirect {
    uri: String,
    state: Option<String>,
}

impl ClientRedirect {
    fn to(&self, pairs: &[(&str, &str)]) -> Response {
        let Ok(mut url) = Url::parse(&self.uri) else {
            return PageError::internal("a matched redirect URI did not parse").into_response();
        };
        {
            let mut query = url.query_pairs_mut();
            for (k, v) in pairs {
                query.append_pair(k, v);
            }
            if let Some(state) = &self.state {
                query.append_pair("state", state);
            }
        }
        Redirect::to(url.as_str()).into_response_found()
    }

    fn error(&self, code: OAuthErrorCode, description: Option<&str>) -> Response {
        match description {
            Some(d) => self.to(&[("error", code.as_str()), ("error_description", d)]),
            None => self.to(&[("error", code.as_str())]),
        }
    }
}

/// axum's `Redirect::to` answers 303; the original and RFC 6749's examples use 302.
trait Found {
    fn into_response_found(self) -> Response;
}

impl Found for Redirect {
    fn into_response_found(self) -> Response {
        let mut response = self.into_response();
        *response.status_mut() = StatusCode::FOUND;
        response
    }
}

#[tracing::instrument(skip_all, fields(client_id))]
pub async fn authorize(
    State(state): State<AppState>,
    Lang(t): Lang,
    MaybeSession(session): MaybeSession,
    RawQuery(query): RawQuery,
) -> Response {
    let fatal = |message: &str| PageError::new(StatusCode::BAD_REQUEST, t, Some("invalid_request"), message).into_response();
    let raw_query = query.unwrap_or_default();
    let params = match Params::parse(raw_query.as_bytes()) {
        Ok(p) => p,
        Err(e) => return fatal(&e.to_string()),
    };
    let (client_id, requested_uri) = match (params.get("client_id"), params.get("redirect_uri")) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(e), _) | (_, Err(e)) => return fatal(&e.to_string()),
    };
    let Some(client_id) = client_id else { return fatal(t.unknown_client) };
    tracing::Span::current().record("client_id", client_id);
    let app = match state.store.find_application_by_client_id(client_id).await {
        Ok(Some(app)) => app,
        Ok(None) => return fatal(t.unknown_client),
        Err(e) => return PageError::internal(e).into_response(),
    };
    let Some(redirect_uri) = redirect_uri::resolve(&app.redirect_uris, requested_uri, app.redirect_uri_match) else {
        return fatal(t.bad_redirect_uri);
    };
    let client = ClientRedirect { uri: redirect_uri.clone(), state: params.get("state").ok().flatten().map(str::to_string) };

    // From here on the client is known and the redirect URI trusted: errors go back to it.
    let single = |name: &str| params.get(name).map_err(|e| client.error(OAuthErrorCode::InvalidRequest, Some(&e.to_string())));
    let response_type = match single("response_type") {
        Ok(v) => v,
        Err(r) => return r,
    };
    match response_type {
        None => return client.error(OAuthErrorCode::InvalidRequest, Some("Missing response_type parameter.")),
        Some("code") => {}
        Some("token") => return client.error(OAuthErrorCode::UnauthorizedClient, None),
        Some(_) => return client.error(OAuthErrorCode::UnsupportedResponseType, None),
    }
    let (scope, challenge, method) = match (single("scope"), single("code_challenge"), single("code_challenge_method")) {
        (Ok(s), Ok(c), Ok(m)) => (s, c, m),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    let Some(scope) = Scope::parse_requested(scope) else { return client.error(OAuthErrorCode::InvalidScope, None) };
    let code_challenge = match challenge.map(|c| CodeChallenge::parse(c, method)).transpose() {
        Ok(c) => c,
        Err(e) => return client.error(OAuthErrorCode::InvalidRequest, Some(&e.to_string())),
    };
    if let Err(e) = authorization_code::check_pkce_policy(&app, code_challenge.as_ref()) {
        return client.error(OAuthErrorCode::InvalidRequest, Some(&e.to_string()));
    }

    let Some(session) = session else {
        let here = format!("{}/o/authorize/?{raw_query}", state.settings.prefix);
        let login = format!("/account/login/?{}", url::form_urlencoded::Serializer::new(String::new()).append_pair("next", &here).finish());
        return Redirect::to(&login).into_response_found();
    };

    let request = AuthorizationRequest { redirect_uri, redirect_uri_given: requested_uri.is_some(), scope, code_challenge };
    let now = clock::now();
    match authorization_code::issue_code(state.store.as_ref(), &app, session.user_id, session.auth_time, &request, now).await {
        Ok(code) => client.to(&[("code", code.expose())]),
        // The original shows this as a page (400), not as a redirect to the client.
        Err(crate::domain::Error::AccessDenied) => {
            PageError::new(StatusCode::BAD_REQUEST, t, Some("access_denied"), t.not_member).into_response()
        }
        Err(e) => PageError::from_domain(e, t).into_response(),
    }
}
