//! `app create|list|update|perms`.

use clap::{Args, Subcommand};

use super::read_stdin_line;
use crate::domain::admin::{self, Administrator, ApplicationInput, ApplicationUpdate};
use crate::domain::application::{ApplicationProfile, PkcePolicy, TokenLifetimes};
use crate::domain::redirect_uri::RedirectUriMatch;
use crate::domain::ports::Store;

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application; prints its client_id and client_secret (the secret only now).
    Create(CreateArgs),
    /// List applications.
    List,
    /// Change an application's settings, or rotate its secret.
    Update(UpdateArgs),
    /// List the permissions an application registered.
    Perms { client_id: String },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Profile {
    /// Exact redirect URI matching, PKCE required, introspection by POST only.
    Default,
    /// django-centralauth's client: the registered redirect URI plus `?next=`, no PKCE needed,
    /// introspection by GET as well.
    DjangoCentralauth,
}

impl From<Profile> for ApplicationProfile {
    fn from(p: Profile) -> Self {
        match p {
            Profile::Default => ApplicationProfile::Default,
            Profile::DjangoCentralauth => ApplicationProfile::DjangoCentralauth,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Pkce {
    Optional,
    Required,
}

impl From<Pkce> for PkcePolicy {
    fn from(p: Pkce) -> Self {
        match p {
            Pkce::Optional => PkcePolicy::Optional,
            Pkce::Required => PkcePolicy::Required,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RedirectMatch {
    /// The registered URI plus extra query parameters (what django-centralauth's client needs).
    AllowExtraQuery,
    /// Byte-for-byte equality.
    Exact,
}

impl From<RedirectMatch> for RedirectUriMatch {
    fn from(m: RedirectMatch) -> Self {
        match m {
            RedirectMatch::AllowExtraQuery => RedirectUriMatch::AllowExtraQuery,
            RedirectMatch::Exact => RedirectUriMatch::Exact,
        }
    }
}

/// OpenID Connect settings, the same for `create` and `update`.
#[derive(Debug, Args)]
struct OidcArgs {
    /// Where RP-initiated logout may send the browser afterwards (repeat for several; replaces).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// Receives back-channel logout tokens and access-change events ("" removes it).
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// Signature algorithm of the application's id_tokens and events.
    #[arg(long, value_parser = ["RS256", "EdDSA"])]
    id_token_signing_alg: Option<String>,
}

impl From<OidcArgs> for admin::OidcChanges {
    fn from(a: OidcArgs) -> Self {
        Self {
            post_logout_redirect_uris: (!a.post_logout_redirect_uris.is_empty()).then_some(a.post_logout_redirect_uris),
            backchannel_logout_uri: a.backchannel_logout_uri,
            id_token_signing_alg: a.id_token_signing_alg,
        }
    }
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    name: String,
    /// A redirect URI (repeat for several).
    #[arg(long = "redirect-uri", required = true)]
    redirect_uris: Vec<String>,
    /// Keep a given client id (when moving from another installation); generated otherwise.
    #[arg(long)]
    client_id: Option<String>,
    /// Read a given client secret from standard input instead of generating one.
    #[arg(long)]
    client_secret_stdin: bool,
    /// Presets redirect URI matching, PKCE and introspection by GET; the options below override it.
    #[arg(long, value_enum, default_value = "default")]
    profile: Profile,
    #[arg(long, value_enum)]
    pkce: Option<Pkce>,
    #[arg(long, value_enum)]
    redirect_uri_match: Option<RedirectMatch>,
    /// Answer introspection by GET as well (RFC 7662 says POST; django-centralauth compatibility).
    #[arg(long, value_name = "BOOL", value_parser = super::parse_bool)]
    allow_introspection_get: Option<bool>,
    /// Accept plain http redirect URIs to hosts other than loopback (a test environment).
    #[arg(long)]
    allow_insecure_redirect_uris: bool,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = TokenLifetimes::default().access_token)]
    access_token_lifetime: i64,
    /// Refresh token lifetime in seconds.
    #[arg(long, default_value_t = TokenLifetimes::default().refresh_token)]
    refresh_token_lifetime: i64,
    /// Sign-ins for this application must prove a second factor (a one-time code or a passkey);
    /// a session that signed in with a password alone is asked for it before the code is issued.
    #[arg(long)]
    require_mfa: bool,
    /// Sign-ins for this application must use a passkey with user verification; implies
    /// --require-mfa (such a passkey is two factors).
    #[arg(long)]
    require_passkey: bool,
    #[command(flatten)]
    oidc: OidcArgs,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    client_id: String,
    #[arg(long)]
    name: Option<String>,
    /// Replace the redirect URIs with these (repeat for several).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Sets redirect URI matching, PKCE and introspection by GET as the profile has them.
    #[arg(long, value_enum)]
    profile: Option<Profile>,
    #[arg(long, value_enum)]
    pkce: Option<Pkce>,
    #[arg(long, value_enum)]
    redirect_uri_match: Option<RedirectMatch>,
    #[arg(long, value_name = "BOOL", value_parser = super::parse_bool)]
    allow_introspection_get: Option<bool>,
    #[arg(long, value_name = "BOOL", value_parser = super::parse_bool)]
    allow_insecure_redirect_uris: Option<bool>,
    #[arg(long)]
    access_token_lifetime: Option<i64>,
    #[arg(long)]
    refresh_token_lifetime: Option<i64>,
    /// Generate a new client secret and print it (the old one stops working).
    #[arg(long)]
    rotate_secret: bool,
    /// Sign-ins for this application must prove a second factor (from the next authorization).
    #[arg(long, conflicts_with = "no_require_mfa")]
    require_mfa: bool,
    /// Sign-ins for this application no longer need a second factor (unless --require-passkey).
    #[arg(long)]
    no_require_mfa: bool,
    /// Sign-ins for this application must use a passkey with user verification (implies a
    /// second factor).
    #[arg(long, conflicts_with = "no_require_passkey")]
    require_passkey: bool,
    /// Sign-ins for this application no longer need a passkey.
    #[arg(long)]
    no_require_passkey: bool,
    #[command(flatten)]
    oidc: OidcArgs,
}

/// A `--flag` / `--no-flag` pair of `update`: set, cleared, or kept (clap refuses both).
fn switch(on: bool, off: bool) -> Option<bool> {
    match (on, off) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    }
}

pub async fn run(store: &dyn Store, command: AppCommand) -> anyhow::Result<()> {
    let cli = Administrator::cli();
    match command {
        AppCommand::Create(args) => {
            let client_secret = if args.client_secret_stdin { Some(read_stdin_line("client secret")?) } else { None };
            let input = ApplicationInput {
                name: args.name,
                client_id: args.client_id,
                client_secret,
                redirect_uris: args.redirect_uris,
                profile: args.profile.into(),
                redirect_uri_match: args.redirect_uri_match.map(Into::into),
                pkce: args.pkce.map(Into::into),
                allow_introspection_get: args.allow_introspection_get,
                allow_insecure_redirect_uris: args.allow_insecure_redirect_uris,
                lifetimes: TokenLifetimes { access_token: args.access_token_lifetime, refresh_token: args.refresh_token_lifetime },
                oidc: args.oidc.into(),
                require_mfa: args.require_mfa,
                require_passkey: args.require_passkey,
            };
            let (app, secret) = admin::create_application(&cli, store, input).await?;
            println!("client_id: {}", app.client_id);
            println!("client_secret: {}", secret.expose());
        }
        AppCommand::List => {
            for app in store.list_applications().await? {
                let uris: Vec<&str> = app.redirect_uris.iter().map(|u| u.as_str()).collect();
                println!("{}\t{}\t{}", app.client_id, app.name, uris.join(" "));
            }
        }
        AppCommand::Update(args) => {
            let app = admin::find_application(store, &args.client_id).await?;
            let update = ApplicationUpdate {
                name: args.name,
                redirect_uris: (!args.redirect_uris.is_empty()).then_some(args.redirect_uris),
                profile: args.profile.map(Into::into),
                redirect_uri_match: args.redirect_uri_match.map(Into::into),
                pkce: args.pkce.map(Into::into),
                allow_introspection_get: args.allow_introspection_get,
                allow_insecure_redirect_uris: args.allow_insecure_redirect_uris,
                access_token_lifetime: args.access_token_lifetime,
                refresh_token_lifetime: args.refresh_token_lifetime,
                oidc: args.oidc.into(),
                require_mfa: switch(args.require_mfa, args.no_require_mfa),
                require_passkey: switch(args.require_passkey, args.no_require_passkey),
                rotate_secret: args.rotate_secret,
            };
            let (app, new_secret) = admin::update_application(&cli, store, app, update).await?;
            println!("updated application {}", app.client_id);
            if let Some(secret) = new_secret {
                println!("client_secret: {}", secret.expose());
            }
        }
        AppCommand::Perms { client_id } => {
            let app = admin::find_application(store, &client_id).await?;
            for p in store.list_permissions(app.id).await? {
                println!("{}\t{}", p.key, p.name);
            }
        }
    }
    Ok(())
}
