//! Configuration: where the provider is, who this application is, and where its routes live.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::Url;

/// The application's client secret. Never printed: `Debug` shows `***`.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The plain secret. Dangerous: only for the requests that authenticate the client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// Paths of the routes [`crate::CentralAuth::router`] mounts. The defaults are
/// django-centralauth's, so an app can replace a Django project without new redirect URIs.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Starts a sign-in: `GET {login}?next=/path`.
    pub login: String,
    /// Where the provider sends the browser back; registered as the redirect URI.
    pub callback: String,
    /// Ends the session and revokes the token at the provider.
    pub logout: String,
    /// A ready "Proceed with login" page for apps that want one.
    pub sign_in: String,
    /// Where the browser goes after logout.
    pub after_logout: String,
    /// Receives the provider's back-channel events (logout tokens and access-changed security
    /// event tokens); registered as the application's back-channel URI at the provider. Mounted
    /// by [`crate::CentralAuth::backchannel_router`], not by `router`.
    pub backchannel: String,
}

impl Default for Paths {
    fn default() -> Self {
        Self {
            login: "/centralauth/login/".into(),
            callback: "/centralauth/login/callback/".into(),
            logout: "/centralauth/logout/".into(),
            sign_in: "/centralauth/sign-in/".into(),
            after_logout: "/".into(),
            backchannel: "/centralauth/backchannel/".into(),
        }
    }
}

/// Everything the client needs to know.
#[derive(Debug, Clone)]
pub struct CentralAuthConfig {
    /// The provider's base URL including its prefix, as in django-centralauth's
    /// `CENTRALAUTH_PROVIDER_URL` (`https://id.example.org/provider`).
    pub provider_url: Url,
    /// This application's client id.
    pub client_id: String,
    /// This application's client secret.
    pub client_secret: ClientSecret,
    /// This application's own public base URL (`https://app.example.org`), for the redirect URI.
    pub app_url: Url,
    /// Route paths.
    pub paths: Paths,
    /// Timeout of each request to the provider.
    pub timeout: Duration,
    /// How old (by its `iat`) a back-channel event may be and still be accepted. The provider
    /// retries a delivery while the application is down, so this is generous; default one hour.
    pub event_max_age: Duration,
    /// The provider's signing keys are fetched again when an event names an unknown key id (the
    /// keys rotate), but at most once per this interval; default 10 seconds.
    pub key_refetch_interval: Duration,
    /// Where the client reads the time (when an access token has expired, how old an event
    /// is): the system's clock, unless a test gives one it can move.
    pub clock: Clock,
}

/// The client's source of the current time.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl Clock {
    /// The operating system's clock.
    pub fn system() -> Self {
        Self(Arc::new(SystemTime::now))
    }

    /// A clock that reads the time from `now` (a test's clock).
    pub fn from_fn(now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        (self.0)()
    }

    /// The current time in whole Unix seconds.
    pub(crate) fn unix_seconds(&self) -> u64 {
        self.now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({:?})", self.now())
    }
}

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required environment variable is missing.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// A URL does not parse or is not http(s).
    #[error("{name} is not an http(s) URL: {value:?}")]
    BadUrl {
        /// Which setting.
        name: &'static str,
        /// The value given.
        value: String,
    },
}

fn parse_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let trimmed = value.trim().trim_end_matches('/');
    match Url::parse(trimmed) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(ConfigError::BadUrl { name, value: value.to_string() }),
    }
}

impl CentralAuthConfig {
    /// A configuration with the default paths, a 10 second timeout, and back-channel events
    /// accepted up to an hour after they were signed.
    pub fn new(provider_url: &str, client_id: impl Into<String>, client_secret: ClientSecret, app_url: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            provider_url: parse_url("provider URL", provider_url)?,
            client_id: client_id.into(),
            client_secret,
            app_url: parse_url("app URL", app_url)?,
            paths: Paths::default(),
            timeout: Duration::from_secs(10),
            event_max_age: Duration::from_secs(3600),
            key_refetch_interval: Duration::from_secs(10),
            clock: Clock::system(),
        })
    }

    /// Reads `CENTRALAUTH_PROVIDER_URL`, `CENTRALAUTH_CLIENT_ID`, `CENTRALAUTH_CLIENT_SECRET` and
    /// `CENTRALAUTH_APP_URL` (the names django-centralauth uses, plus the app's own URL).
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name: &'static str| std::env::var(name).map_err(|_| ConfigError::Missing(name));
        Self::new(
            &var("CENTRALAUTH_PROVIDER_URL")?,
            var("CENTRALAUTH_CLIENT_ID")?,
            ClientSecret::new(var("CENTRALAUTH_CLIENT_SECRET")?),
            &var("CENTRALAUTH_APP_URL")?,
        )
    }

    /// A provider endpoint: `endpoint("/o/token/")`.
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.provider_url.as_str().trim_end_matches('/'))
    }

    /// The redirect URI to register at the provider: app URL + callback path.
    pub fn redirect_uri(&self) -> String {
        format!("{}{}", self.app_url.as_str().trim_end_matches('/'), self.paths.callback)
    }

    /// The back-channel URI to register at the provider: app URL + back-channel path.
    pub fn backchannel_uri(&self) -> String {
        format!("{}{}", self.app_url.as_str().trim_end_matches('/'), self.paths.backchannel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised_and_checked() {
        let c = CentralAuthConfig::new("http://127.0.0.1:8000/provider/", "id", ClientSecret::new("s"), "http://app.test/").unwrap();
        assert_eq!(c.endpoint("/o/token/"), "http://127.0.0.1:8000/provider/o/token/");
        assert_eq!(c.redirect_uri(), "http://app.test/centralauth/login/callback/");
        assert_eq!(c.backchannel_uri(), "http://app.test/centralauth/backchannel/");
        assert!(CentralAuthConfig::new("ftp://x", "id", ClientSecret::new("s"), "http://a").is_err());
        assert!(format!("{:?}", c.client_secret).contains("***"));
    }
}
