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

    #[test]
    fn basic_credentials_are_url_decoded() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%3Aclient:p%40ss");
        let creds = decode_basic(&encoded).unwrap();
        assert_eq!(creds.client_id, "my:client");
        assert_eq!(creds.client_secret.as_deref(), Some("p@ss"));
        assert!(decode_basic("!!!").is_none());
    }
}
