//! `token create|list|revoke`: API tokens of the admin API (`/api/v1/`).

use clap::Subcommand;

use crate::domain::Error;
use crate::domain::admin::{self, Administrator, TokenLifetime, TokenLimits, TokenScope};
use crate::domain::clock::{Clock, utc_text};
use crate::domain::ports::{ApiToken, Store};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token acting as USERNAME; prints the token (only now).
    Create {
        /// What the token is for.
        name: String,
        /// The administrator (or delegated administrator) the token acts as.
        #[arg(long)]
        user: String,
        /// Days until it expires (1 to 366; default 90), or `never`.
        #[arg(long, value_name = "DAYS|never")]
        expires: Option<Expiry>,
        /// Only reads (GET requests).
        #[arg(long)]
        read_only: bool,
        /// Limit the token to this application (repeat for several): it then acts as the
        /// delegated administrator of these only, within its owner's rights.
        #[arg(long = "app", value_name = "CLIENT_ID")]
        apps: Vec<String>,
    },
    /// List API tokens (every user's, or one user's).
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke an API token by its id: it stops working at once.
    Revoke { id: i64 },
}

/// `--expires`: a number of days or `never`.
#[derive(Debug, Clone, Copy)]
pub enum Expiry {
    Days(i64),
    Never,
}

impl std::str::FromStr for Expiry {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "never" => Ok(Self::Never),
            days => days.parse().map(Self::Days).map_err(|_| format!("{days:?} is neither a number of days nor `never`")),
        }
    }
}

/// In UTC, or `-` for none.
fn time(at: Option<i64>) -> String {
    at.map_or_else(|| "-".to_string(), utc_text)
}

fn scope(t: &ApiToken) -> String {
    let reach = match &t.applications {
        Some(apps) => format!("apps:{}", apps.iter().map(|a| a.client_id.as_str()).collect::<Vec<_>>().join(",")),
        None => "owner".to_string(),
    };
    if t.read_only { format!("read-only,{reach}") } else { reach }
}

fn describe(t: &ApiToken) -> String {
    let expiry = t.expires_at.map_or_else(|| "never expires".to_string(), |at| format!("expires {}", time(Some(at))));
    format!("{expiry}, scope {}", scope(t))
}

pub async fn run(store: &dyn Store, clock: &dyn Clock, command: TokenCommand) -> anyhow::Result<()> {
    let cli = Administrator::cli();
    match command {
        TokenCommand::Create { name, user, expires, read_only, apps } => {
            let owner = admin::find_user(store, &user).await?;
            let mut applications = Vec::with_capacity(apps.len());
            for client_id in &apps {
                applications.push(admin::find_application(store, client_id).await?.id);
            }
            let lifetime = match expires {
                None => TokenLifetime::Default,
                Some(Expiry::Days(days)) => TokenLifetime::Days(days),
                Some(Expiry::Never) => TokenLifetime::Never,
            };
            let limits = TokenLimits { lifetime, read_only, applications: (!applications.is_empty()).then_some(applications) };
            let (token, secret) = admin::create_api_token(&cli, store, owner.id, &name, limits, clock.now()).await?;
            println!("created API token {} ({}) for {}, {}", token.id, token.name, token.owner_username, describe(&token));
            println!("token: {}", secret.expose());
        }
        TokenCommand::List { user } => {
            let owner = match user {
                Some(username) => Some(admin::find_user(store, &username).await?.id),
                None => None,
            };
            let now = clock.now();
            println!("ID\tNAME\tOWNER\tCREATED\tSTATE\tEXPIRES\tLAST USED\tSCOPE");
            for t in store.list_api_tokens(owner).await? {
                let state = match (t.revoked_at, t.expires_at) {
                    (Some(_), _) => "revoked",
                    (None, Some(at)) if at <= now => "expired",
                    _ => "live",
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.name,
                    t.owner_username,
                    time(Some(t.created_at)),
                    state,
                    t.expires_at.map_or_else(|| "never".to_string(), |at| time(Some(at))),
                    time(t.last_used_at),
                    scope(&t)
                );
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
