//! Extractors: strict form parameters, client authentication, bearer tokens, the provider
//! session, CSRF and the client address. Their rejections are our error types, so bad input
//! never reaches a handler as a 500.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum_extra::extract::CookieJar;
use base64::Engine;

use super::error::OAuthError;
use super::state::{AppState, HttpSettings};
use crate::domain::application::Application;
use crate::domain::secret::{SecretDigest, constant_time_eq};
use crate::domain::session::SessionUser;
use crate::domain::ports::Store;

/// Decoded `application/x-www-form-urlencoded` parameters (a body or a query string).
/// RFC 6749 §3.1: a parameter sent more than once is an error, so look-ups report duplicates.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

#[derive(Debug, PartialEq, Eq)]
pub enum ParamError {
    Repeated(String),
    NotUtf8,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Repeated(name) => write!(f, "Parameter {name} is repeated."),
            Self::NotUtf8 => f.write_str("Parameters must be UTF-8."),
        }
    }
}

impl Params {
    /// Strict decoding: invalid UTF-8 after percent-decoding is refused rather than replaced.
    pub fn parse(raw: &[u8]) -> Result<Self, ParamError> {
        let mut pairs = Vec::new();
        for (k, v) in url::form_urlencoded::parse(raw) {
            if k.contains('\u{FFFD}') || v.contains('\u{FFFD}') {
                return Err(ParamError::NotUtf8);
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Self(pairs))
    }

    /// The parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Result<Option<&str>, ParamError> {
        let mut values = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(ParamError::Repeated(name.to_string()));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    pub fn raw_pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// Reads a form body: parameters when the content type is form-encoded, none otherwise (the
/// endpoint then reports what is missing, as the original does). Errors carry their status.
async fn read_form<S: Send + Sync>(req: Request, state: &S) -> Result<Params, (StatusCode, String)> {
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    let body = Bytes::from_request(req, state).await.map_err(|rejection| (rejection.status(), rejection.body_text()))?;
    if !is_form {
        return Ok(Params::default());
    }
    Params::parse(&body).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))
}

/// Form parameters of an OAuth endpoint; errors are RFC 6749 JSON (a body over the limit, 413).
pub struct OAuthForm(pub Params);

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_form(req, state).await.map(Self).map_err(|(status, message)| OAuthError::invalid_request(message).with_status(status))
    }
}

/// Form parameters of a browser page; errors are an HTML page.
pub struct PageForm(pub Params);

impl<S: Send + Sync> FromRequest<S> for PageForm {
    type Rejection = super::error::PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let texts = super::i18n::Lang::from_header(req.headers().get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())).0;
        read_form(req, state)
            .await
            .map(Self)
            .map_err(|(status, _)| super::error::PageError::new(status, texts, Some("invalid_request"), texts.bad_request))
    }
}

/// Client credentials from HTTP Basic (RFC 6749 §2.3.1) or from the body.
#[derive(Debug)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Option<String>,
}

impl ClientCredentials {
    /// Reads Basic first; body parameters are used only without a Basic header.
    pub fn from_request(headers: &HeaderMap, params: &Params) -> Result<Option<Self>, OAuthError> {
        if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            if let Some((scheme, encoded)) = value.split_once(' ') {
                if scheme.eq_ignore_ascii_case("basic") {
                    return decode_basic(encoded.trim())
                        .map(Some)
                        .ok_or_else(|| OAuthError::new(centralauth_wire::OAuthErrorCode::InvalidClient));
                }
            }
        }
        let client_id = params.get("client_id").map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        let client_secret = params.get("client_secret").map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        Ok(client_id.map(|id| Self { client_id: id.to_string(), client_secret: client_secret.map(str::to_string) }))
    }

    /// Authenticates a confidential client in constant time; `None` on any failure.
    pub async fn authenticate(&self, store: &dyn Store) -> Result<Option<Application>, crate::domain::Error> {
        let app = store.find_application_by_client_id(&self.client_id).await?;
        let secret = self.client_secret.as_deref().unwrap_or("");
        Ok(match app {
            Some(app) if self.client_secret.is_some() && app.authenticates(secret) => Some(app),
            Some(_) => None,
            None => {
                // Same work for an unknown client as for a wrong secret.
                let _ = SecretDigest::of("no such client").matches(secret);
                None
            }
        })
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))`.
fn decode_basic(encoded: &str) -> Option<ClientCredentials> {
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| -> Option<String> {
        let bytes: Vec<u8> = url::form_urlencoded::parse(format!("x={s}").as_bytes()).next()?.1.into_owned().into_bytes();
        String::from_utf8(bytes).ok()
    };
    let (id, secret) = (unescape(id)?, unescape(secret)?);
    (!id.is_empty()).then_some(ClientCredentials { client_id: id, client_secret: Some(secret) })
}

/// The bearer token of RFC 6750 §2.1 (header only; the scheme is case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 512).then_some(token)
}

pub const SESSION_COOKIE: &str = "centralauth_session";
pub const CSRF_COOKIE: &str = "centralauth_csrf";

/// The signed-in provider user, if any.
pub struct MaybeSession(pub Option<SessionUser>);

impl<S> FromRequestParts<S> for MaybeSession
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = super::error::PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(SESSION_COOKIE) else { return Ok(Self(None)) };
        let session =
            state.store.find_session(&SecretDigest::of(cookie.value()), state.clock.now()).await.map_err(super::error::PageError::internal)?;
        Ok(Self(session))
    }
}

/// The client address for rate limiting: the socket peer, or the first `X-Forwarded-For` hop
/// when the provider is configured to sit behind a proxy.
pub struct ClientAddr(pub IpAddr);

impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    Arc<HttpSettings>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let settings = Arc::<HttpSettings>::from_ref(state);
        if settings.trust_forwarded_for {
            let forwarded = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if let Some(ip) = forwarded {
                return Ok(Self(ip));
            }
        }
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(Self(peer.unwrap_or(IpAddr::from([0, 0, 0, 0]))))
    }
}

/// Double-submit CSRF check: the form's token must equal the HttpOnly, SameSite=Strict cookie.
pub fn csrf_ok(jar: &CookieJar, submitted: Option<&str>) -> bool {
    match (jar.get(CSRF_COOKIE), submitted) {
        (Some(cookie), Some(token)) => !token.is_empty() && constant_time_eq(cookie.value(), token),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_reported() {
        let p = Params::parse(b"a=1&b=2&a=3").unwrap();
        assert_eq!(p.get("b"), Ok(Some("2")));
        assert_eq!(p.get("a"), Err(ParamError::Repeated("a".into())));
        assert_eq!(p.get("c"), Ok(None));
    }

    #[test]
    fn non_utf8_parameters_are_refused() {
        assert_eq!(Params::parse(b"a=%ff%fe").unwrap_err(), ParamError::NotUtf8);
        assert!(Params::parse("a=%C3%A4".as_bytes()).is_ok());
    }

    #[test]
    fn basic_credentials_are_url_decoded() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%3Aclient:p%40ss");
        let creds = decode_basic(&encoded).unwrap();
        assert_eq!(creds.client_id, "my:client");
        assert_eq!(creds.client_secret.as_deref(), Some("p@ss"));
        assert!(decode_basic("!!!").is_none());
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, "Bearer".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }
}
