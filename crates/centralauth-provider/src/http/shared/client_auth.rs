//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
//! HTTP Basic or the body's `client_id`/`client_secret`, checked in constant time.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;

use super::Params;
use crate::domain::application::Application;
use crate::domain::ports::ApplicationStore;
use crate::domain::secret::SecretDigest;
use crate::http::error::OAuthError;

/// Client credentials from HTTP Basic (RFC 6749 §2.3.1) or from the body.
#[derive(Debug)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Option<String>,
}

impl ClientCredentials {
    /// HTTP Basic, or the body's `client_id` and `client_secret`: one method per request (RFC
    /// 6749 §2.3). Beside Basic the body may still name the same `client_id` (§3.2.1 lets a
    /// client send it, and the original's wire notes record a client sending it so), but
    /// a body `client_secret` is a second method and another `client_id` a second identity, and
    /// either would leave it to us which to believe. Both are `invalid_request` (400), the code
    /// RFC 6749 §5.2 gives a request that "includes multiple credentials, utilizes more than one
    /// mechanism for authenticating the client"; `invalid_client` (401) stays for credentials
    /// that are missing or wrong. Others choose for the client (Hydra believes Basic and ignores
    /// the body; Keycloak lets the body's `client_id` override Basic's); refusing is the reading
    /// of §2.3 that guesses nothing, and no client we know sends both (README, deliberate
    /// differences).
    pub fn from_request(headers: &HeaderMap, params: &Params) -> Result<Option<Self>, OAuthError> {
        let client_id = params.get("client_id").map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        let client_secret = params.get("client_secret").map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            if let Some((scheme, encoded)) = value.split_once(' ') {
                if scheme.eq_ignore_ascii_case("basic") {
                    let basic =
                        decode_basic(encoded.trim()).ok_or_else(|| OAuthError::new(centralauth_wire::OAuthErrorCode::InvalidClient))?;
                    if client_secret.is_some() {
                        return Err(OAuthError::invalid_request(
                            "Use one client authentication method: HTTP Basic or client_secret in the body, not both (RFC 6749 §2.3).",
                        ));
                    }
                    if client_id.is_some_and(|id| id != basic.client_id) {
                        return Err(OAuthError::invalid_request(
                            "client_id in the body differs from the client of HTTP Basic (RFC 6749 §2.3).",
                        ));
                    }
                    return Ok(Some(basic));
                }
            }
        }
        Ok(client_id.map(|id| Self { client_id: id.to_string(), client_secret: client_secret.map(str::to_string) }))
    }

    /// Authenticates a confidential client in constant time; `None` on any failure.
    pub async fn authenticate(&self, store: &dyn ApplicationStore) -> Result<Option<Application>, crate::domain::Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")));
        headers.insert(AUTHORIZATION, value.parse().unwrap());
        headers
    }

    fn code(result: Result<Option<ClientCredentials>, OAuthError>) -> Option<(axum::http::StatusCode, String)> {
        use axum::response::IntoResponse;
        result.err().map(|e| {
            let response = e.into_response();
            (response.status(), response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default())
        })
    }

    #[test]
    fn one_authentication_method_and_one_identity_per_request() {
        let body = |raw: &str| Params::parse(raw.as_bytes()).unwrap();
        let with_basic = basic("client1", "s3cret");
        // Basic alone, or beside the same client_id (oauthlib-based clients send it).
        for raw in ["grant_type=x", "client_id=client1", "client_id="] {
            let creds = ClientCredentials::from_request(&with_basic, &body(raw)).unwrap().unwrap();
            assert_eq!((creds.client_id.as_str(), creds.client_secret.as_deref()), ("client1", Some("s3cret")), "{raw}");
        }
        // The body alone.
        let creds = ClientCredentials::from_request(&HeaderMap::new(), &body("client_id=c2&client_secret=x")).unwrap().unwrap();
        assert_eq!((creds.client_id.as_str(), creds.client_secret.as_deref()), ("c2", Some("x")));
        // Two methods, or two identities: invalid_request, 400, no Basic challenge.
        for raw in
            ["client_secret=s3cret", "client_id=client1&client_secret=s3cret", "client_id=client2", "client_id=client2&client_secret=x"]
        {
            assert_eq!(
                code(ClientCredentials::from_request(&with_basic, &body(raw))),
                Some((axum::http::StatusCode::BAD_REQUEST, String::new())),
                "{raw}"
            );
        }
        // A malformed Basic header is a failed authentication (401 with the challenge).
        let mut bad = HeaderMap::new();
        bad.insert(AUTHORIZATION, "Basic !!!".parse().unwrap());
        let (status, challenge) = code(ClientCredentials::from_request(&bad, &body("client_id=client1"))).unwrap();
        assert_eq!(status, axum::http::StatusCode::UNAUTHORIZED);
        assert!(challenge.starts_with("Basic"));
    }

    #[test]
    fn basic_credentials_are_url_decoded() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%3Aclient:p%40ss");
        let creds = decode_basic(&encoded).unwrap();
        assert_eq!(creds.client_id, "my:client");
        assert_eq!(creds.client_secret.as_deref(), Some("p@ss"));
        assert!(decode_basic("!!!").is_none());
    }
}
