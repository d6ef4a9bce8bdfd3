//! `GET|POST {prefix}/o/authorize/` (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2). Fatal errors
//! (unknown client, unregistered redirect URI, no membership) are an error page and never a
//! redirect; the others are redirected to the client with `error` and `state` (§4.1.2.1). No
//! consent screen: these are first-party applications, as in the original. OpenID Connect adds
//! `nonce`, `prompt` (`none`, `login`; `consent` and `select_account` need nothing here),
//! `max_age`, `login_hint` and `acr_values`; request objects are refused as unsupported. A
//! session that proved less than the application's policy or `acr_values` ask is sent to the
//! second-step page first (step-up), which brings it back here.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use centralauth_wire::OAuthErrorCode;
use url::Url;

use crate::domain::grants::authorization_code::{self, Authorization, AuthorizationRequest};
use crate::domain::mfa::Requirement;
use crate::domain::pkce::CodeChallenge;
use crate::domain::redirect_uri;
use crate::domain::scope::Scope;
use crate::http::error::PageError;
use crate::http::account::login::SECOND_STEP_PATH;
use crate::http::shared::{MaybeSession, PageForm, ParamError, Params};
use crate::http::i18n::Lang;
use crate::http::state::AppState;

/// Where the answer to a known client with a valid redirect URI is sent: the code or the
/// error, the client's `state`, and our issuer (RFC 9207), so that a client talking to several
/// authorization servers can tell which one answered (mix-up attacks, RFC 9700 §4.4).
struct ClientRedirect {
    uri: String,
    state: Option<String>,
    issuer: String,
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
            query.append_pair("iss", &self.issuer);
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

/// `prompt` (OpenID Connect Core §3.1.2.1).
#[derive(Debug, Default, PartialEq, Eq)]
struct Prompt {
    none: bool,
    login: bool,
}

impl Prompt {
    fn parse(raw: Option<&str>) -> Result<Self, &'static str> {
        let mut prompt = Prompt::default();
        for value in raw.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" | "select_account" => {}
                _ => return Err("Unsupported prompt value."),
            }
        }
        if prompt.none && (prompt.login || raw.is_some_and(|r| r.split(' ').filter(|v| !v.is_empty()).count() > 1)) {
            return Err("prompt=none cannot be combined with other values.");
        }
        Ok(prompt)
    }
}

#[tracing::instrument(skip_all, fields(client_id))]
pub async fn authorize_get(
    State(state): State<AppState>,
    Lang(t): Lang,
    MaybeSession(session): MaybeSession,
    RawQuery(query): RawQuery,
) -> Response {
    match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => authorize(state, t, session, params).await,
        Err(e) => PageError::new(StatusCode::BAD_REQUEST, t, Some("invalid_request"), e.to_string()).into_response(),
    }
}

/// OpenID Connect Core §3.1.2.1: the authorization request may also be a form POST.
#[tracing::instrument(skip_all, fields(client_id))]
pub async fn authorize_post(
    State(state): State<AppState>,
    Lang(t): Lang,
    MaybeSession(session): MaybeSession,
    PageForm(params): PageForm,
) -> Response {
    authorize(state, t, session, params).await
}

/// The authorization request again as a query string, without `dropped` parameters.
fn query_without(params: &Params, dropped: &[&str]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.raw_pairs().iter().filter(|(k, _)| !dropped.contains(&k.as_str())) {
        query.append_pair(k, v);
    }
    query.finish()
}

async fn authorize(state: AppState, t: &'static crate::http::i18n::Texts, session: Option<crate::domain::session::SessionUser>, params: Params) -> Response {
    let fatal = |message: &str| PageError::new(StatusCode::BAD_REQUEST, t, Some("invalid_request"), message).into_response();
    // A repeated client_id or redirect_uri is an error page: with two, neither can be trusted
    // as the place to send the error to (RFC 6749 §4.1.2.1).
    let (client_id, requested_uri) = match (params.get("client_id"), params.get("redirect_uri")) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(e), _) | (_, Err(e)) => return fatal(&e.to_string()),
    };
    let Some(client_id) = client_id else { return fatal(t.unknown_client) };
    tracing::Span::current().record("client_id", client_id);
    let app = match state.store.find_application_by_client_id(client_id).await {
        Ok(Some(app)) => app,
        Ok(None) => return fatal(t.unknown_client),
        Err(e) => return PageError::store(e, t).into_response(),
    };
    let Some(redirect_uri) = redirect_uri::resolve(&app.redirect_uris, requested_uri, app.redirect_uri_match) else {
        return fatal(t.bad_redirect_uri);
    };
    let client =
        ClientRedirect { uri: redirect_uri.clone(), state: params.get("state").ok().flatten().map(str::to_string), issuer: state.issuer() };

    // From here on the client is known and the redirect URI trusted: errors go back to it.
    // RFC 6749 §3.1: no parameter may repeat, read here or not; a repeated `state` is sent back
    // not at all (there is no one value to echo), so the client's own state check fails too.
    if let Some(name) = params.repeated() {
        return client.error(OAuthErrorCode::InvalidRequest, Some(&ParamError::Repeated(name.to_string()).to_string()));
    }
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
    // Request objects (OpenID Connect Core §6) are not supported, and say so (§6.1, §6.2).
    if params.raw_pairs().iter().any(|(k, _)| k == "request") {
        return client.to(&[("error", "request_not_supported")]);
    }
    if params.raw_pairs().iter().any(|(k, _)| k == "request_uri") {
        return client.to(&[("error", "request_uri_not_supported")]);
    }
    let (nonce, prompt, max_age, login_hint) = match (single("nonce"), single("prompt"), single("max_age"), single("login_hint")) {
        (Ok(n), Ok(p), Ok(m), Ok(l)) => (n, p, m, l),
        (Err(r), ..) | (_, Err(r), ..) | (_, _, Err(r), _) | (.., Err(r)) => return r,
    };
    if nonce.is_some_and(|n| n.len() > 512) {
        return client.error(OAuthErrorCode::InvalidRequest, Some("nonce is too long."));
    }
    let prompt = match Prompt::parse(prompt) {
        Ok(p) => p,
        Err(e) => return client.error(OAuthErrorCode::InvalidRequest, Some(e)),
    };
    let acr_values = match single("acr_values") {
        Ok(v) => v,
        Err(r) => return r,
    };
    let max_age = match max_age.map(str::parse::<i64>) {
        None => None,
        Some(Ok(seconds)) if seconds >= 0 => Some(seconds),
        Some(_) => return client.error(OAuthErrorCode::InvalidRequest, Some("max_age must be a number of seconds.")),
    };
    let code_challenge = match challenge.map(|c| CodeChallenge::parse(c, method)).transpose() {
        Ok(c) => c,
        Err(e) => return client.error(OAuthErrorCode::InvalidRequest, Some(&e.to_string())),
    };
    if let Err(e) = authorization_code::check_pkce_policy(&app, code_challenge.as_ref()) {
        return client.error(OAuthErrorCode::InvalidRequest, Some(&e.to_string()));
    }

    let now = state.clock.now();
    // A sign-in is needed without a session, when the client demands a fresh one (prompt=login),
    // or when the session's sign-in is older than max_age (OpenID Connect Core §3.1.2.1).
    let session = session.filter(|s| !prompt.login && max_age.is_none_or(|m| now - s.auth_time <= m));
    let Some(session) = session else {
        if prompt.none {
            return client.to(&[("error", "login_required")]);
        }
        // After the sign-in the request comes back without what asked for it, or it would loop.
        let here = format!("{}/o/authorize/?{}", state.settings.prefix, query_without(&params, &["prompt", "max_age"]));
        let mut login = url::form_urlencoded::Serializer::new(String::new());
        login.append_pair("next", &here);
        if let Some(hint) = login_hint {
            login.append_pair("login_hint", hint);
        }
        return Redirect::to(&format!("/account/login/?{}", login.finish())).into_response_found();
    };

    let request = AuthorizationRequest {
        redirect_uri,
        redirect_uri_given: requested_uri.is_some(),
        scope,
        code_challenge,
        nonce: nonce.map(str::to_string),
        acr_required: acr_values.map_or(Requirement::None, Requirement::of_acr_values),
    };
    match authorization_code::issue_code(state.store.as_ref(), &app, &session, &request, now).await {
        Ok(Authorization::Code(code)) => client.to(&[("code", code.expose())]),
        // OpenID Connect Core §3.1.2.6: without interaction the sign-in cannot be made
        // stronger; `login_required` as for no session at all, since what is missing is an
        // authentication step, and a client handles both alike (it asks again interactively).
        Ok(Authorization::StepUp(_)) if prompt.none => client.to(&[("error", "login_required")]),
        Ok(Authorization::StepUp(required)) => {
            // The whole request comes back after the step, and is judged again then (the
            // step-up's session has a new auth_time, so max_age holds).
            let here = format!("{}/o/authorize/?{}", state.settings.prefix, query_without(&params, &[]));
            let mut verify = url::form_urlencoded::Serializer::new(String::new());
            verify.append_pair("next", &here);
            if let Some(require) = required.step_up_param() {
                verify.append_pair("require", require);
            }
            Redirect::to(&format!("{SECOND_STEP_PATH}?{}", verify.finish())).into_response_found()
        }
        // The original shows this as a page (400), not as a redirect to the client.
        Err(crate::domain::Error::AccessDenied) => {
            PageError::new(StatusCode::BAD_REQUEST, t, Some("access_denied"), t.not_member).into_response()
        }
        Err(e) => PageError::from_domain(e, t).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::Prompt;

    #[test]
    fn prompt_none_stands_alone_and_unknown_values_are_refused() {
        assert_eq!(Prompt::parse(Some("login consent")), Ok(Prompt { none: false, login: true }));
        assert_eq!(Prompt::parse(Some("none")), Ok(Prompt { none: true, login: false }));
        assert!(Prompt::parse(Some("none login")).is_err());
        assert!(Prompt::parse(Some("none consent")).is_err());
        assert!(Prompt::parse(Some("bogus")).is_err());
        assert_eq!(Prompt::parse(None), Ok(Prompt::default()));
    }
}
