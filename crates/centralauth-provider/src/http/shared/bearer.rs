//! Bearer tokens (RFC 6750): reading one from the `Authorization` header, and the
//! `WWW-Authenticate` challenge of a refusal (§3), written once for every endpoint that takes one.

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue};

/// The bearer token of RFC 6750 §2.1 (header only; the scheme is case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 512).then_some(token)
}

/// The RFC 6750 §3 challenge: `error` is absent when the request carried no token; `scope`
/// names what an `insufficient_scope` refusal lacks.
pub fn challenge(error: Option<&str>, scope: Option<&str>) -> HeaderValue {
    let mut value = String::from("Bearer realm=\"centralauth\"");
    if let Some(error) = error {
        value.push_str(&format!(", error=\"{error}\""));
    }
    if let Some(scope) = scope {
        value.push_str(&format!(", scope=\"{scope}\""));
    }
    // Error codes and scopes are our own constants, always valid header text.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer realm=\"centralauth\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, "Bearer".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn challenges_name_the_error_and_the_missing_scope() {
        assert_eq!(challenge(None, None), "Bearer realm=\"centralauth\"");
        assert_eq!(challenge(Some("invalid_token"), None), "Bearer realm=\"centralauth\", error=\"invalid_token\"");
        assert_eq!(
            challenge(Some("insufficient_scope"), Some("openid")),
            "Bearer realm=\"centralauth\", error=\"insufficient_scope\", scope=\"openid\""
        );
    }
}
