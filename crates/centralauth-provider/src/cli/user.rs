//! `user create|list|update|delegate|end-sessions|mfa list|mfa reset`.

use clap::{Args, Subcommand};

use super::{parse_bool, read_stdin_line};
use crate::domain::admin::{self, Administrator, UserInput, UserUpdate};
use crate::domain::Error;
use crate::domain::clock::utc_text;
use crate::domain::user::Role;
use crate::domain::ports::{Store, UserQuery};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints a generated password unless --password-stdin is given.
    Create(CreateArgs),
    /// List users (sorted by username), optionally filtered.
    List {
        /// Part of the username, e-mail or name.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Change a user's details, state or password.
    Update(UpdateArgs),
    /// End every session of a user (the applications signed in through each are told) and revoke
    /// their tokens in every application: an incident response.
    EndSessions {
        username: String,
        /// End only the sessions, as signing out does: the grants made in them go, those that
        /// outlive a session (offline_access) stay. Without it every token family goes too.
        #[arg(long)]
        sessions_only: bool,
    },
    /// Make a user the delegated administrator of exactly these applications (none: no longer one).
    Delegate {
        username: String,
        /// A client id (repeat for several; none removes the delegation).
        #[arg(long = "app")]
        apps: Vec<String>,
    },
    /// A user's second factors and passkeys.
    #[command(subcommand)]
    Mfa(MfaCommand),
}

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// List a user's second factors and passkeys (no secrets).
    List { username: String },
    /// Remove all of a user's second factors, passkeys and recovery codes, and end their
    /// sessions (a lost or stolen device): they sign in with the password until they enrol again.
    Reset { username: String },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    username: String,
    #[arg(long, default_value = "")]
    email: String,
    #[arg(long, default_value = "")]
    first_name: String,
    #[arg(long, default_value = "")]
    last_name: String,
    /// May administer the provider.
    #[arg(long)]
    admin: bool,
    /// Read the password from standard input.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    username: String,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    first_name: Option<String>,
    #[arg(long)]
    last_name: Option<String>,
    #[arg(long, value_parser = parse_bool)]
    active: Option<bool>,
    #[arg(long, value_parser = parse_bool)]
    admin: Option<bool>,
    /// Read a new password from standard input.
    #[arg(long)]
    password_stdin: bool,
}

pub async fn run(store: &dyn Store, command: UserCommand) -> anyhow::Result<()> {
    let cli = Administrator::cli();
    match command {
        UserCommand::Create(args) => {
            let (password, generated) =
                if args.password_stdin { (read_stdin_line("password")?, false) } else { (admin::generate_password(), true) };
            let input = UserInput {
                username: args.username,
                email: args.email,
                first_name: args.first_name,
                last_name: args.last_name,
                administrator: args.admin,
                password: Some(password.clone()),
            };
            let user = admin::create_user(&cli, store, input).await?;
            println!("created user {}", user.username);
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::List { search, limit } => {
            let users = store.list_users(&UserQuery { search, limit, ..Default::default() }).await?;
            for u in users {
                println!(
                    "{}\t{}\t{} {}\t{}\t{}",
                    u.username,
                    u.email,
                    u.first_name,
                    u.last_name,
                    if u.is_active { "active" } else { "inactive" },
                    if u.role == Role::Administrator { "administrator" } else { "user" }
                );
            }
        }
        UserCommand::Update(args) => {
            let user = admin::find_user(store, &args.username).await?;
            let password = if args.password_stdin { Some(read_stdin_line("password")?) } else { None };
            let update = UserUpdate {
                email: args.email,
                first_name: args.first_name,
                last_name: args.last_name,
                is_active: args.active,
                administrator: args.admin,
                password,
            };
            let user = admin::update_user(&cli, store, user.id, update).await?;
            println!("updated user {}", user.username);
        }
        UserCommand::EndSessions { username, sessions_only } => {
            let user = admin::find_user(store, &username).await?;
            let ended = admin::end_user_sessions(&cli, store, user.id, !sessions_only).await?;
            println!("ended {} sessions of {}, revoked {} token families", ended.sessions, user.username, ended.token_families);
        }
        UserCommand::Delegate { username, apps } => {
            let user = admin::find_user(store, &username).await?;
            let apps = admin::set_delegation(&cli, store, &user, &apps).await?;
            if apps.is_empty() {
                println!("{} administers no application", user.username);
            } else {
                let ids: Vec<&str> = apps.iter().map(|a| a.client_id.as_str()).collect();
                println!("{} administers {}", user.username, ids.join(" "));
            }
        }
        UserCommand::Mfa(command) => mfa(store, &cli, command).await?,
    }
    Ok(())
}

async fn mfa(store: &dyn Store, cli: &Administrator, command: MfaCommand) -> anyhow::Result<()> {
    let find = |username: String| async move {
        admin::find_user(store, &username).await.map_err(|e| match e {
            Error::NotFound { .. } => anyhow::anyhow!("no user named {username:?}"),
            other => other.into(),
        })
    };
    let time = |at: Option<i64>| at.map_or_else(|| "-".to_string(), utc_text);
    match command {
        MfaCommand::List { username } => {
            let user = find(username).await?;
            println!("ID\tKIND\tNAME\tCREATED\tLAST USED");
            for f in admin::list_factors(cli, store, user.id).await? {
                println!("{}\t{}\t{}\t{}\t{}", f.id, f.kind.as_str(), f.name, time(Some(f.created_at)), time(f.last_used_at));
            }
        }
        MfaCommand::Reset { username } => {
            let user = find(username).await?;
            let removed = admin::reset_factors(cli, store, user.id).await?;
            if removed.is_empty() {
                println!("{} has no second factor; nothing removed", user.username);
            } else {
                for f in &removed {
                    println!("removed {} {}\t{}", f.kind.as_str(), f.id, f.name);
                }
                println!("removed {} factors and the recovery codes of {}; their sessions are ended", removed.len(), user.username);
            }
        }
    }
    Ok(())
}
