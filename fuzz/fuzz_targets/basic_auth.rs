//! The `Authorization` header at the token, revocation and introspection endpoints: HTTP Basic
//! client credentials (RFC 6749 §2.3.1, `http::shared::ClientCredentials`) and bearer tokens
//! (RFC 6750 §2.1, `http::shared::bearer_token`). Input: header value, NUL, form body.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use centralauth_fuzz::split_nul;
use centralauth_provider::http::shared::{ClientCredentials, Params, bearer_token};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fuzz_target!(|data: &[u8]| {
    let (header, body) = split_nul(data);
    let params = Params::parse(body).unwrap_or_default();
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(header) {
        headers.insert(AUTHORIZATION, value);
    }
    let is_basic = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    match ClientCredentials::from_request(&headers, &params) {
        Ok(Some(creds)) => {
            assert!(!creds.client_id.is_empty());
            if is_basic {
                // Basic always carries a secret, and encoding what was decoded decodes to it again.
                let secret = creds.client_secret.as_deref().expect("Basic carries a secret");
                let encoded = STANDARD.encode(format!("{}:{}", urlencode(&creds.client_id), urlencode(secret)));
                let mut again = HeaderMap::new();
                again.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Basic {encoded}")).unwrap());
                let round = ClientCredentials::from_request(&again, &Params::default()).unwrap().unwrap();
                assert_eq!((round.client_id.as_str(), round.client_secret.as_deref()), (creds.client_id.as_str(), Some(secret)));
            } else {
                // From the body: exactly its single, non-empty client_id.
                assert_eq!(params.get("client_id").ok().flatten(), Some(creds.client_id.as_str()));
            }
        }
        // A malformed Basic header is a refusal, never a fall-back to the body.
        Ok(None) => assert!(!is_basic),
        Err(_) => {}
    }
    if let Some(token) = bearer_token(&headers) {
        assert!(!token.is_empty() && token.len() <= 512);
        assert_eq!(token, token.trim());
    }
});
