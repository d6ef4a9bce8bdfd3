//! `user create|list|update|delegate`.

use clap::{Args, Subcommand};

use super::{parse_bool, read_stdin_line};
use crate::domain::admin::{self, UserInput};
use crate::domain::audit::Actor;
use crate::domain::password;
use crate::domain::user::{Email, Role, UserChanges, parse_name};
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
    /// Make a user the delegated administrator of exactly these applications (none: no longer one).
    Delegate {
        username: String,
        /// A client id (repeat for several; none removes the delegation).
        #[arg(long = "app")]
        apps: Vec<String>,
    },
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
    let actor = Actor::cli();
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
            let user = admin::create_user(store, input, &actor).await?;
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
            let password_hash = if args.password_stdin {
                let password = read_stdin_line("password")?;
                admin::check_password(&password)?;
                Some(password::hash(password).await?)
            } else {
                None
            };
            let changes = UserChanges {
                email: args.email.as_deref().map(Email::parse).transpose()?,
                first_name: args.first_name.as_deref().map(|v| parse_name("first_name", v)).transpose()?,
                last_name: args.last_name.as_deref().map(|v| parse_name("last_name", v)).transpose()?,
                is_active: args.active,
                role: args.admin.map(|a| if a { Role::Administrator } else { Role::User }),
                password_hash,
            };
            let user = store.update_user(user.id, &changes, &actor).await?;
            println!("updated user {}", user.username);
        }
        UserCommand::Delegate { username, apps } => {
            let user = admin::find_user(store, &username).await?;
            let apps = admin::set_delegation(store, &user, &apps, &actor).await?;
            if apps.is_empty() {
                println!("{} administers no application", user.username);
            } else {
                let ids: Vec<&str> = apps.iter().map(|a| a.client_id.as_str()).collect();
                println!("{} administers {}", user.username, ids.join(" "));
            }
        }
    }
    Ok(())
}
