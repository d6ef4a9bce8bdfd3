//! The signing keys in use: created on first start, unsealed once per process and cached by
//! `kid`, looked up per signature so that a rotation by any instance (or the CLI) takes effect
//! everywhere at once.

use std::collections::HashMap;
use std::sync::Mutex;

use super::audit::Actor;
use super::clock::UnixTime;
use super::signing::{self, Algorithm, MasterKey, SigningKey, StoredKey};
use super::{Error, Result};
use crate::domain::ports::KeyStore;

pub struct KeyRing {
    master: MasterKey,
    unsealed: Mutex<HashMap<String, SigningKey>>,
}

impl KeyRing {
    pub fn new(master: MasterKey) -> Self {
        Self { master, unsealed: Mutex::new(HashMap::new()) }
    }

    /// Creates the first key of every algorithm that has none, and checks that the master key
    /// opens the keys already there (a wrong one is a configuration error, found at start).
    pub async fn ensure_keys(&self, store: &dyn KeyStore, now: UnixTime) -> Result<()> {
        for algorithm in Algorithm::ALL {
            match store.active_signing_key(algorithm.as_str()).await? {
                Some(stored) => {
                    self.unseal(&stored)?;
                }
                None => {
                    let key = generate(algorithm, &self.master, now).await?;
                    // Another instance starting at the same moment may have won: fine, both publish.
                    store.insert_first_signing_key(&key).await?;
                }
            }
        }
        Ok(())
    }

    /// The key that signs for `algorithm` now.
    pub async fn signing_key(&self, store: &dyn KeyStore, algorithm: Algorithm) -> Result<SigningKey> {
        let stored = store.active_signing_key(algorithm.as_str()).await?.ok_or(Error::not_found("signing key"))?;
        self.unseal(&stored)
    }

    /// Seals another secret the provider must read back (a TOTP secret) with the master key,
    /// as the signing keys are sealed (AES-256-GCM, a random nonce each), so that the database
    /// alone never yields it.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        self.master.seal(plaintext)
    }

    /// Opens what [`Self::seal`] sealed; an error when another master key sealed it.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        self.master.open(sealed)
    }

    fn unseal(&self, stored: &StoredKey) -> Result<SigningKey> {
        if let Some(key) = self.unsealed.lock().unwrap_or_else(|p| p.into_inner()).get(&stored.kid) {
            return Ok(key.clone());
        }
        let key = SigningKey::unseal(stored, &self.master)?;
        self.unsealed.lock().unwrap_or_else(|p| p.into_inner()).insert(stored.kid.clone(), key.clone());
        Ok(key)
    }

    /// Replaces the active key of `algorithm`; the old one stays published for `retire_after`
    /// seconds, so that tokens it signed keep verifying until they expire.
    pub async fn rotate(&self, store: &dyn KeyStore, algorithm: Algorithm, retire_after: i64, now: UnixTime, actor: &Actor) -> Result<StoredKey> {
        let key = generate(algorithm, &self.master, now).await?;
        store.rotate_signing_key(&key, now, now + retire_after, actor).await?;
        Ok(key)
    }
}

/// RSA key generation takes a good part of a second of CPU: off the async runtime.
async fn generate(algorithm: Algorithm, master: &MasterKey, now: UnixTime) -> Result<StoredKey> {
    let master = master.clone();
    tokio::task::spawn_blocking(move || signing::generate(algorithm, &master, now)).await?
}
