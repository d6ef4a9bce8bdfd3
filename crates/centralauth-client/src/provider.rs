//! The requests this client makes to the provider: token grants through the `oauth2` crate,
//! `/user/`, `/perms/`, revocation, and OpenID Connect discovery with the signing keys (for
//! back-channel events) with its HTTP client. Redirects are never followed.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use centralauth_wire::{PermsSyncRequest, PermsSyncResponse, UserInfo};
use jsonwebtoken::jwk::JwkSet;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::config::CentralAuthConfig;
use crate::error::{ProviderError, RegisterError};
use crate::permissions::PermissionSet;
use crate::principal::Principal;

type OAuthClient = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The tokens of a session, kept server-side in the session store only.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredToken {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Unix seconds; the access token is refreshed from then on.
    pub expires_at: u64,
}

impl StoredToken {
    /// Whether the access token has expired at `now` (Unix seconds).
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Unix microseconds of `time` (0 before 1970).
pub(crate) fn unix_micros(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map(|d| d.as_micros().try_into().unwrap_or(u64::MAX)).unwrap_or(0)
}

/// Now, in unix microseconds.
pub(crate) fn now_micros() -> u64 {
    unix_micros(SystemTime::now())
}

/// The user as `/user/` describes them: the principal, and their stable id when the provider
/// names it (centralauth does, django-centralauth does not).
#[derive(Debug, Clone)]
pub(crate) struct FetchedUser {
    pub principal: Principal,
    pub sub: Option<String>,
}

/// The part of the provider's OpenID Connect discovery document the client uses.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
}

/// The start of a sign-in: where to send the browser, and what the callback must check.
pub(crate) struct AuthorizationStart {
    pub url: String,
    pub state: String,
    pub pkce_verifier: String,
}

pub(crate) struct ProviderClient {
    config: CentralAuthConfig,
    oauth: OAuthClient,
    http: oauth2::reqwest::Client,
    declared: Option<BTreeSet<String>>,
}

fn token_error<RE: std::error::Error + 'static, T: oauth2::ErrorResponse + 'static>(err: RequestTokenError<RE, T>) -> ProviderError {
    match err {
        RequestTokenError::ServerResponse(answer) => ProviderError::Refused(answer.to_string()),
        RequestTokenError::Request(e) => ProviderError::Unreachable(e.to_string()),
        RequestTokenError::Parse(e, _) => ProviderError::BadAnswer(format!("token answer: {e}")),
        RequestTokenError::Other(e) => ProviderError::BadAnswer(e),
    }
}

fn transport(err: oauth2::reqwest::Error) -> ProviderError {
    ProviderError::Unreachable(err.to_string())
}

impl ProviderClient {
    pub fn new(config: CentralAuthConfig, declared: Option<BTreeSet<String>>) -> Result<Self, crate::ConfigError> {
        let bad = |name: &'static str, value: String| crate::ConfigError::BadUrl { name, value };
        let oauth = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(oauth2::ClientSecret::new(config.client_secret.expose().to_string()))
            .set_auth_uri(AuthUrl::new(config.endpoint("/o/authorize/")).map_err(|e| bad("authorize URL", e.to_string()))?)
            .set_token_uri(TokenUrl::new(config.endpoint("/o/token/")).map_err(|e| bad("token URL", e.to_string()))?)
            .set_redirect_uri(RedirectUrl::new(config.redirect_uri()).map_err(|e| bad("redirect URI", e.to_string()))?)
            // Credentials in the body, as django-centralauth's client sends them.
            .set_auth_type(AuthType::RequestBody);
        let http = oauth2::reqwest::Client::builder()
            .redirect(oauth2::reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .build()
            .map_err(|e| bad("HTTP client", e.to_string()))?;
        Ok(Self { config, oauth, http, declared })
    }

    pub fn config(&self) -> &CentralAuthConfig {
        &self.config
    }

    /// An authorization request with a random `state` and a PKCE S256 challenge.
    pub fn start_authorization(&self) -> AuthorizationStart {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self.oauth.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge).url();
        AuthorizationStart { url: url.to_string(), state: state.secret().clone(), pkce_verifier: verifier.secret().clone() }
    }

    fn stored<TT: TokenResponse>(&self, token: &TT) -> StoredToken {
        // Without expires_in the token is checked again on every request, as the original does.
        let lifetime = token.expires_in().map(|d| d.as_secs()).unwrap_or(0);
        StoredToken {
            access_token: token.access_token().secret().clone(),
            refresh_token: token.refresh_token().map(|r| r.secret().clone()),
            expires_at: self.config.clock.unix_seconds() + lifetime,
        }
    }

    pub async fn exchange_code(&self, code: &str, pkce_verifier: &str) -> Result<StoredToken, ProviderError> {
        let token = self
            .oauth
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        Ok(self.stored(&token))
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<StoredToken, ProviderError> {
        let token = self
            .oauth
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_string()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let mut stored = self.stored(&token);
        // RFC 6749 §6: a provider that does not rotate keeps the old refresh token valid.
        if stored.refresh_token.is_none() {
            stored.refresh_token = Some(refresh_token.to_string());
        }
        Ok(stored)
    }

    /// `GET /user/`: who the token's user is here. 401 and 403 mean access is gone.
    pub async fn fetch_user(&self, access_token: &str) -> Result<FetchedUser, ProviderError> {
        let response = self.http.get(self.config.endpoint("/user/")).bearer_auth(access_token).send().await.map_err(transport)?;
        let status = response.status();
        if status == 401 || status == 403 {
            return Err(ProviderError::Refused(format!("/user/ answered {status}")));
        }
        if !status.is_success() {
            return Err(ProviderError::BadAnswer(format!("/user/ answered {status}")));
        }
        let mut info: UserInfo = response.json().await.map_err(|e| ProviderError::BadAnswer(format!("/user/: {e}")))?;
        let sub = info.sub.take();
        Ok(FetchedUser { principal: Principal::from_user_info(info, self.declared.as_ref()), sub })
    }

    /// `GET {provider}/o/.well-known/openid-configuration`: the issuer and its `jwks_uri`.
    pub async fn fetch_discovery(&self) -> Result<Discovery, ProviderError> {
        self.get_json(&self.config.endpoint("/o/.well-known/openid-configuration"), "discovery").await
    }

    /// The provider's signing keys, from the discovery's `jwks_uri`.
    pub async fn fetch_jwks(&self, jwks_uri: &str) -> Result<JwkSet, ProviderError> {
        self.get_json(jwks_uri, "JWKS").await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str, what: &str) -> Result<T, ProviderError> {
        let response = self.http.get(url).send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ProviderError::BadAnswer(format!("{what} ({url}) answered {status}")));
        }
        response.json().await.map_err(|e| ProviderError::BadAnswer(format!("{what} ({url}): {e}")))
    }

    /// RFC 7009 revocation of a refresh token (and with it, at our provider, its whole grant).
    pub async fn revoke(&self, token: &str) -> Result<(), ProviderError> {
        let form = [
            ("token", token),
            ("token_type_hint", "refresh_token"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose()),
        ];
        let response = self.http.post(self.config.endpoint("/o/revoke_token/")).form(&form).send().await.map_err(transport)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(ProviderError::BadAnswer(format!("revocation answered {}", response.status())))
        }
    }

    pub async fn register_permissions(&self, permissions: &PermissionSet) -> Result<PermsSyncResponse, RegisterError> {
        let body = PermsSyncRequest {
            client_id: self.config.client_id.clone(),
            client_secret: self.config.client_secret.expose().to_string(),
            perms: permissions.declarations.clone(),
        };
        let response = self.http.post(self.config.endpoint("/perms/")).json(&body).send().await.map_err(transport)?;
        let status = response.status();
        if status == 401 || status == 403 {
            return Err(RegisterError::Credentials { status: status.as_u16() });
        }
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(
                ProviderError::BadAnswer(format!("/perms/ answered {status}: {}", text.chars().take(200).collect::<String>())).into()
            );
        }
        Ok(response.json().await.map_err(|e| ProviderError::BadAnswer(format!("/perms/: {e}")))?)
    }
}
