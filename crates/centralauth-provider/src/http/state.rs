//! Shared state of every handler: the store and the settings of the HTTP surface.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::domain::clock::SharedClock;
use crate::domain::grants::refresh_token::RefreshPolicy;
use crate::domain::keyring::KeyRing;
use crate::domain::secret::MacKey;
use crate::domain::ports::Store;
use crate::http::shared::TrustedProxies;

/// What the HTTP layer needs to know beyond the store.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Public base URL, without trailing slash (`https://id.example.org`).
    pub public_url: String,
    /// Mount prefix of the wire contract, `/provider` by default; empty for the root.
    pub prefix: String,
    /// The refresh grace window and the end of refresh chains (DESIGN §6).
    pub refresh: RefreshPolicy,
    /// The reverse proxies whose `X-Forwarded-For` entries are believed (`shared::client_addr`).
    pub trusted_proxies: TrustedProxies,
    /// Set the `Secure` flag on cookies (public URL is https).
    pub secure_cookies: bool,
    /// From a writing request's arrival to the last moment its change may commit
    /// (`domain::ports::deadline`, set by `routes::run_to_completion`).
    pub write_deadline: std::time::Duration,
    /// How long `/readyz` waits for the database: the pool's wait for a connection, so that
    /// it says 503 when requests do.
    pub ready_timeout: std::time::Duration,
    /// What an administrator's session must have proven to use the console
    /// (`--require-admin-mfa`: a second factor; otherwise nothing beyond signing in).
    pub admin_requirement: crate::domain::mfa::Requirement,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<HttpSettings>,
    /// The OpenID Connect signing keys.
    pub keys: Arc<KeyRing>,
    /// Where every handler reads the time (`domain::clock`).
    pub clock: SharedClock,
    /// The key of the forms' CSRF tokens (`shared::csrf`), derived from the master key.
    pub csrf_key: MacKey,
    /// The key that derives a refresh token's successor pair (`domain::grants::refresh_token`).
    pub refresh_key: MacKey,
}

impl AppState {
    /// The issuer identifier of this installation (DESIGN §3): `{public_url}{prefix}/o`.
    pub fn issuer(&self) -> String {
        format!("{}{}/o", self.settings.public_url, self.settings.prefix)
    }
}

impl FromRef<AppState> for Arc<dyn Store> {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}

impl FromRef<AppState> for Arc<HttpSettings> {
    fn from_ref(state: &AppState) -> Self {
        state.settings.clone()
    }
}

impl FromRef<AppState> for SharedClock {
    fn from_ref(state: &AppState) -> Self {
        state.clock.clone()
    }
}
