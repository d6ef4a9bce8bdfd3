//! Request parameters as RFC 6749 §3.1 wants them read: form bodies and query strings decoded
//! strictly (no repeated parameter, UTF-8 only), with rejections that are our error types.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;

use crate::http::error::{OAuthError, PageError};
use crate::http::i18n::Lang;

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

    /// The first parameter sent more than once, if any. RFC 6749 §3.1 forbids repeating any
    /// request parameter, not only the ones an endpoint reads: a repeated one it ignores (say
    /// `state` where it is not read, or `client_secret` beside HTTP Basic) would let two
    /// components in the path read two different requests, so endpoints refuse the whole request.
    /// An empty value counts too: `a=&a=x` names `a` twice.
    pub fn repeated(&self) -> Option<&str> {
        let mut seen = std::collections::HashSet::with_capacity(self.0.len());
        self.0.iter().map(|(k, _)| k.as_str()).find(|k| !seen.insert(*k))
    }

    /// [`repeated`](Self::repeated) as an error.
    pub fn check_unrepeated(&self) -> Result<(), ParamError> {
        match self.repeated() {
            Some(name) => Err(ParamError::Repeated(name.to_string())),
            None => Ok(()),
        }
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

/// Form parameters of an OAuth endpoint (token, revocation, introspection, userinfo); errors are
/// RFC 6749 JSON (a body over the limit, 413). A parameter sent twice, whichever it is, is
/// `invalid_request` (RFC 6749 §3.1, §5.2).
pub struct OAuthForm(pub Params);

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let params = read_form(req, state).await.map_err(|(status, message)| OAuthError::invalid_request(message).with_status(status))?;
        params.check_unrepeated().map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        Ok(Self(params))
    }
}

/// Form parameters of a browser page; errors are an HTML page. Repeats are left to the page:
/// console forms send a multi-select (groups, permissions) as one parameter per choice.
pub struct PageForm(pub Params);

impl<S: Send + Sync> FromRequest<S> for PageForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let texts = Lang::from_header(req.headers().get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())).0;
        read_form(req, state)
            .await
            .map(Self)
            .map_err(|(status, _)| PageError::new(status, texts, Some("invalid_request"), texts.bad_request))
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
    fn any_repeated_parameter_is_found_even_an_empty_one() {
        assert_eq!(Params::parse(b"a=1&b=2&c=3").unwrap().repeated(), None);
        assert_eq!(Params::parse(b"a=1&b=2&b=3&a=4").unwrap().repeated(), Some("b"));
        assert_eq!(Params::parse(b"state=&state=x").unwrap().repeated(), Some("state"));
        // Names are compared decoded: `st%61te` is `state`.
        assert_eq!(Params::parse(b"state=1&st%61te=2").unwrap().check_unrepeated(), Err(ParamError::Repeated("state".into())));
        assert_eq!(Params::parse(b"").unwrap().check_unrepeated(), Ok(()));
    }

    #[test]
    fn non_utf8_parameters_are_refused() {
        assert_eq!(Params::parse(b"a=%ff%fe").unwrap_err(), ParamError::NotUtf8);
        assert!(Params::parse("a=%C3%A4".as_bytes()).is_ok());
    }
}
