//! The provider's issuer and signing keys, fetched lazily (OpenID Connect discovery, then its
//! JWKS) and cached. An unknown key id makes the cache fetch again, at most once per
//! [`crate::CentralAuthConfig::key_refetch_interval`], so that rotated keys are picked up while
//! forged key ids cannot make the client hammer the provider.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use tokio::sync::Mutex;

use crate::provider::ProviderClient;

/// What a lookup of a key id found.
#[derive(Debug)]
pub(crate) enum KeyLookup {
    /// The key, and the issuer its tokens must name.
    Found { key: Box<Jwk>, issuer: String },
    /// The provider does not publish this key id (after a fresh fetch, or one within the interval).
    Unknown,
    /// The provider's keys could not be fetched: the sender should try again later.
    Unavailable(String),
}

#[derive(Default)]
struct State {
    issuer: Option<String>,
    keys: JwkSet,
    /// When the last fetch started, and whether it failed.
    attempted: Option<Instant>,
    failure: Option<String>,
}

pub(crate) struct KeyCache {
    refetch_interval: Duration,
    // Held across the fetch: concurrent lookups of a new key id wait for one fetch.
    state: Mutex<State>,
}

impl KeyCache {
    pub fn new(refetch_interval: Duration) -> Self {
        Self { refetch_interval, state: Mutex::new(State::default()) }
    }

    pub async fn lookup(&self, provider: &ProviderClient, kid: &str) -> KeyLookup {
        let mut state = self.state.lock().await;
        if let Some(found) = state.find(kid) {
            return found;
        }
        if state.attempted.is_some_and(|at| at.elapsed() < self.refetch_interval) {
            return match &state.failure {
                Some(failure) => KeyLookup::Unavailable(failure.clone()),
                None => KeyLookup::Unknown,
            };
        }
        state.attempted = Some(Instant::now());
        match fetch(provider).await {
            Ok((issuer, keys)) => {
                tracing::debug!(%issuer, keys = keys.keys.len(), "centralauth: fetched the provider's signing keys");
                state.issuer = Some(issuer);
                state.keys = keys;
                state.failure = None;
                state.find(kid).unwrap_or(KeyLookup::Unknown)
            }
            Err(failure) => {
                state.failure = Some(failure.clone());
                KeyLookup::Unavailable(failure)
            }
        }
    }
}

impl KeyCache {
    /// The provider's issuer, from the cached discovery or a fetch of it (at most one per
    /// refetch interval after a failure).
    pub async fn issuer(&self, provider: &ProviderClient) -> Result<String, String> {
        let mut state = self.state.lock().await;
        if let Some(issuer) = &state.issuer {
            return Ok(issuer.clone());
        }
        if let (Some(at), Some(failure)) = (state.attempted, &state.failure)
            && at.elapsed() < self.refetch_interval
        {
            return Err(failure.clone());
        }
        state.attempted = Some(Instant::now());
        match fetch(provider).await {
            Ok((issuer, keys)) => {
                state.issuer = Some(issuer.clone());
                state.keys = keys;
                state.failure = None;
                Ok(issuer)
            }
            Err(failure) => {
                state.failure = Some(failure.clone());
                Err(failure)
            }
        }
    }
}

impl State {
    fn find(&self, kid: &str) -> Option<KeyLookup> {
        let issuer = self.issuer.as_ref()?;
        let key = self.keys.find(kid)?;
        Some(KeyLookup::Found { key: Box::new(key.clone()), issuer: issuer.clone() })
    }
}

async fn fetch(provider: &ProviderClient) -> Result<(String, JwkSet), String> {
    let discovery = provider.fetch_discovery().await.map_err(|e| e.to_string())?;
    let keys = provider.fetch_jwks(&discovery.jwks_uri).await.map_err(|e| e.to_string())?;
    Ok((discovery.issuer, keys))
}
