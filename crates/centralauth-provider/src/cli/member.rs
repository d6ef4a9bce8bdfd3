//! `member add|update|remove|show`.

use clap::{Args, Subcommand};

use super::parse_bool;
use crate::domain::admin::{self, Administrator, MembershipChanges};
use crate::domain::membership::effective_pairs;
use crate::domain::ports::Store;

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Give a user a membership in an application.
    Add(AddArgs),
    /// Change a membership; given groups or permissions replace the current ones.
    Update(UpdateArgs),
    /// Remove a membership: the user loses access to the application.
    Remove { client_id: String, username: String },
    /// Show a membership with its effective permissions, as the application will see it (JSON).
    Show { client_id: String, username: String },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    client_id: String,
    username: String,
    #[arg(long)]
    superuser: bool,
    #[arg(long)]
    staff: bool,
    /// Create the membership deactivated.
    #[arg(long)]
    inactive: bool,
    /// A group name (repeat for several).
    #[arg(long = "group")]
    groups: Vec<String>,
    /// A direct permission as app_label.codename (repeat for several).
    #[arg(long = "perm")]
    perms: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    client_id: String,
    username: String,
    #[arg(long, value_parser = parse_bool)]
    superuser: Option<bool>,
    #[arg(long, value_parser = parse_bool)]
    staff: Option<bool>,
    #[arg(long, value_parser = parse_bool)]
    active: Option<bool>,
    #[arg(long = "group")]
    groups: Vec<String>,
    #[arg(long = "perm")]
    perms: Vec<String>,
    /// Remove every group.
    #[arg(long)]
    clear_groups: bool,
    /// Remove every direct permission.
    #[arg(long)]
    clear_perms: bool,
}

/// A replacement list: given values, an explicit clear, or nothing (keep).
fn replacement(values: Vec<String>, clear: bool) -> Option<Vec<String>> {
    if clear || !values.is_empty() { Some(values) } else { None }
}

pub async fn run(store: &dyn Store, command: MemberCommand) -> anyhow::Result<()> {
    let cli = Administrator::cli();
    match command {
        MemberCommand::Add(a) => {
            let app = admin::find_application(store, &a.client_id).await?;
            let user = admin::find_user(store, &a.username).await?;
            let changes = MembershipChanges {
                is_superuser: Some(a.superuser),
                is_staff: Some(a.staff),
                is_active: Some(!a.inactive),
                groups: Some(a.groups),
                permissions: Some(a.perms),
            };
            admin::add_membership(&cli, store, &app, &user, changes).await?;
            println!("added {} to {}", user.username, app.client_id);
        }
        MemberCommand::Update(a) => {
            let app = admin::find_application(store, &a.client_id).await?;
            let user = admin::find_user(store, &a.username).await?;
            let changes = MembershipChanges {
                is_superuser: a.superuser,
                is_staff: a.staff,
                is_active: a.active,
                groups: replacement(a.groups, a.clear_groups),
                permissions: replacement(a.perms, a.clear_perms),
            };
            admin::update_membership(&cli, store, &app, &user, changes).await?;
            println!("updated membership of {} in {}", user.username, app.client_id);
        }
        MemberCommand::Remove { client_id, username } => {
            let app = admin::find_application(store, &client_id).await?;
            let user = admin::find_user(store, &username).await?;
            admin::delete_membership(&cli, store, &app, user.id).await?;
            println!("removed {} from {}", user.username, app.client_id);
        }
        MemberCommand::Show { client_id, username } => {
            let app = admin::find_application(store, &client_id).await?;
            let user = admin::find_user(store, &username).await?;
            let view = store
                .membership_view(app.id, user.id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("{username} has no membership in {client_id}"))?;
            let body = serde_json::json!({
                "username": view.user.username,
                "is_superuser": view.flags.is_superuser,
                "is_staff": view.flags.is_staff,
                "is_active": view.flags.is_active && view.user.is_active,
                "permissions": effective_pairs(view.permissions),
            });
            println!("{}", serde_json::to_string_pretty(&body)?);
        }
    }
    Ok(())
}
