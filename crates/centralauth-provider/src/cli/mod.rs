//! The command line: one file per subcommand group. Everything needed to set up an
//! installation without a browser.

mod app;
mod group;
mod import_django;
mod keys;
mod member;
mod serve;
mod token;
mod user;

use std::io::BufRead;

use clap::{Parser, Subcommand};

use crate::config::{LogFormat, ServeConfig};
use crate::domain::clock::{self, SharedClock};
use crate::domain::ports::Store;
use crate::store;

#[derive(Debug, Parser)]
#[command(name = "centralauth", version, about = "Central identity and permission provider, wire-compatible with django-centralauth")]
pub struct Cli {
    /// Database URL: sqlite://FILE (created if missing) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "CENTRALAUTH_DATABASE_URL", default_value = "sqlite://centralauth.db")]
    pub database_url: String,
    /// Log output format.
    #[arg(long, global = true, env = "CENTRALAUTH_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Seals the signing keys in the database (base64url of 32 bytes); the same on every instance.
    #[arg(long, global = true, env = "CENTRALAUTH_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// Where the master key is kept when none is given; created on first use.
    #[arg(long, global = true, env = "CENTRALAUTH_MASTER_KEY_FILE", default_value = "centralauth.key")]
    pub master_key_file: std::path::PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    fn master_key(&self) -> anyhow::Result<crate::domain::signing::MasterKey> {
        crate::config::load_master_key(self.master_key.as_deref(), &self.master_key_file)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, create a first administrator if there is none, and serve HTTP.
    Serve(ServeConfig),
    /// Apply pending database migrations.
    Migrate,
    /// Validate the configuration and the database connection, and print the settings.
    Check(ServeConfig),
    /// Provider user accounts.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Client applications.
    #[command(subcommand)]
    App(app::AppCommand),
    /// Permission groups of an application.
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// Users' memberships in applications: flags, groups and direct permissions.
    #[command(subcommand)]
    Member(member::MemberCommand),
    /// Carry a django-centralauth provider over from its database: users (with their
    /// passwords), applications (with their credentials), permissions, groups, memberships.
    ImportDjango(import_django::ImportDjangoArgs),
    /// OpenID Connect signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// API tokens of the admin API (`/api/v1/`).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Show the newest audit log entries.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // The one place the CLI takes the time from: every command runs on the system's clock.
    let clock = clock::system();
    match cli.command {
        Command::Serve(ref config) => {
            let password_file = serve::initial_password_file(&cli.database_url, &cli.master_key_file);
            serve::serve(&cli.database_url, config.clone(), cli.master_key()?, clock, &password_file).await
        }
        Command::Keys(ref cmd) => keys::run(open(&cli.database_url, clock.clone()).await?.as_ref(), cli.master_key()?, cmd, clock.now()).await,
        Command::Check(config) => serve::check(&cli.database_url, config, clock).await,
        Command::Migrate => {
            open(&cli.database_url, clock.clone()).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::User(cmd) => user::run(open(&cli.database_url, clock.clone()).await?.as_ref(), cmd).await,
        Command::App(cmd) => app::run(open(&cli.database_url, clock.clone()).await?.as_ref(), cmd).await,
        Command::Group(cmd) => group::run(open(&cli.database_url, clock.clone()).await?.as_ref(), cmd).await,
        Command::Member(cmd) => member::run(open(&cli.database_url, clock.clone()).await?.as_ref(), cmd).await,
        Command::Token(cmd) => token::run(open(&cli.database_url, clock.clone()).await?.as_ref(), clock.as_ref(), cmd).await,
        Command::ImportDjango(args) => import_django::run(&cli.database_url, args, clock).await,
        Command::Audit { limit } => {
            let store = open(&cli.database_url, clock.clone()).await?;
            for entry in store.recent_audit(limit).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    entry.at,
                    entry.actor,
                    entry.action,
                    entry.target,
                    entry.before.unwrap_or_default(),
                    entry.after.unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}

/// Opens the database and applies pending migrations, so every command works on a fresh file.
async fn open(url: &str, clock: SharedClock) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    let store = store::connect(url, clock).await?;
    store.migrate().await?;
    Ok(store)
}

/// One line from standard input, without its line ending (for passwords and secrets, which
/// never belong on a command line where `ps` shows them).
fn read_stdin_line(what: &str) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let value = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(!value.is_empty(), "expected the {what} on standard input");
    Ok(value)
}

/// `true`/`false` flags for updates, as values so that "not given" stays distinct.
fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("expected true or false, got {raw:?}")),
    }
}

/// Logs go to standard error, so standard output stays for what commands print.
/// The security log's events are counted for `/metrics` whatever the log level.
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("CENTRALAUTH_LOG").unwrap_or_else(|_| "info,sqlx=warn".into());
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let lines = match format {
        LogFormat::Json => lines.json().with_filter(filter).boxed(),
        LogFormat::Text => lines.with_filter(filter).boxed(),
    };
    tracing_subscriber::registry().with(lines).with(crate::metrics::SecurityEventCounter).init();
}
