//! `keys list|rotate`: the OpenID Connect signing keys.

use clap::Subcommand;

use crate::domain::audit::Actor;
use crate::domain::keyring::KeyRing;
use crate::domain::oidc::ROTATION_GRACE_SECONDS;
use crate::domain::signing::{Algorithm, MasterKey};
use crate::domain::clock::UnixTime;
use crate::domain::ports::Store;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the published keys: kid, algorithm, created, retired, leaves the JWKS at.
    List,
    /// Sign with a new key from now on; the old one stays published until its tokens expired.
    Rotate {
        #[arg(long, value_parser = ["RS256", "EdDSA"], default_value = "RS256")]
        algorithm: String,
        /// Seconds the old key stays in the JWKS (default: an id_token's lifetime and some).
        #[arg(long, default_value_t = ROTATION_GRACE_SECONDS)]
        retire_after: i64,
    },
}

pub async fn run(store: &dyn Store, master_key: MasterKey, command: &KeysCommand, now: UnixTime) -> anyhow::Result<()> {
    let keys = KeyRing::new(master_key);
    keys.ensure_keys(store, now).await?;
    match command {
        KeysCommand::List => {
            for key in store.published_signing_keys(now).await? {
                let show = |t: Option<i64>| t.map_or("-".to_string(), |t| t.to_string());
                println!("{}\t{}\t{}\t{}\t{}", key.kid, key.algorithm, key.created_at, show(key.retired_at), show(key.expires_at));
            }
        }
        KeysCommand::Rotate { algorithm, retire_after } => {
            anyhow::ensure!((0..=30 * 86_400).contains(retire_after), "--retire-after must be between 0 and 30 days");
            let key = keys.rotate(store, Algorithm::parse(algorithm)?, *retire_after, now, &Actor::cli()).await?;
            println!("new {} key: {}", key.algorithm, key.kid);
        }
    }
    Ok(())
}
