//! `group create|list`.

use clap::Subcommand;

use crate::domain::admin::{self, Administrator};
use crate::domain::ports::Store;

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a permission group in an application.
    Create {
        client_id: String,
        name: String,
        /// A permission as app_label.codename (repeat for several).
        #[arg(long = "perm")]
        perms: Vec<String>,
    },
    /// List an application's groups with their permissions.
    List { client_id: String },
}

pub async fn run(store: &dyn Store, command: GroupCommand) -> anyhow::Result<()> {
    match command {
        GroupCommand::Create { client_id, name, perms } => {
            let app = admin::find_application(store, &client_id).await?;
            let group = admin::create_group(&Administrator::cli(), store, &app, &name, &perms).await?;
            println!("created group {} with {} permissions", group.name, group.permissions.len());
        }
        GroupCommand::List { client_id } => {
            let app = admin::find_application(store, &client_id).await?;
            let perms = store.list_permissions(app.id).await?;
            for group in store.list_groups(app.id).await? {
                let names: Vec<String> = perms.iter().filter(|p| group.permissions.contains(&p.id)).map(|p| p.key.to_string()).collect();
                println!("{}\t{}", group.name, names.join(" "));
            }
        }
    }
    Ok(())
}
