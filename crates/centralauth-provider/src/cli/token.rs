//! `token create|list|revoke`: API tokens of the admin API (`/api/v1/`).

use clap::Subcommand;

use crate::domain::Error;
use crate::domain::admin::{self, Administrator, TokenScope};
use crate::domain::ports::Store;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token acting as USERNAME; prints the token (only now).
    Create {
        /// What the token is for.
        name: String,
        /// The administrator (or delegated administrator) the token acts as.
        #[arg(long)]
        user: String,
    },
    /// List API tokens (every user's, or one user's).
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke an API token by its id: it stops working at once.
    Revoke { id: i64 },
}

pub async fn run(store: &dyn Store, command: TokenCommand) -> anyhow::Result<()> {
    let cli = Administrator::cli();
    match command {
        TokenCommand::Create { name, user } => {
            let owner = admin::find_user(store, &user).await?;
            let (token, secret) = admin::create_api_token(&cli, store, owner.id, &name).await?;
            println!("created API token {} ({}) for {}", token.id, token.name, token.owner_username);
            println!("token: {}", secret.expose());
        }
        TokenCommand::List { user } => {
            let owner = match user {
                Some(username) => Some(admin::find_user(store, &username).await?.id),
                None => None,
            };
            for t in store.list_api_tokens(owner).await? {
                let state = t.revoked_at.map_or_else(|| "live".to_string(), |at| format!("revoked {at}"));
                println!("{}\t{}\t{}\t{}\t{}", t.id, t.name, t.owner_username, t.created_at, state);
            }
        }
        TokenCommand::Revoke { id } => {
            admin::revoke_api_token(&cli, store, id, TokenScope::Any).await.map_err(|e| match e {
                Error::NotFound { .. } => anyhow::anyhow!("no live API token with id {id}"),
                other => other.into(),
            })?;
            println!("revoked API token {id}");
        }
    }
    Ok(())
}
