//! `demo-client [serve|register-permissions]`, configured by the environment:
//! CENTRALAUTH_PROVIDER_URL, CENTRALAUTH_CLIENT_ID, CENTRALAUTH_CLIENT_SECRET,
//! CENTRALAUTH_APP_URL, and DEMO_LISTEN (default 127.0.0.1:9000).

use centralauth_client::CentralAuthConfig;
use demo_client::{Directory, app, central_auth, permissions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let config = CentralAuthConfig::from_env()?;
    let directory = Directory::default();
    let auth = central_auth(config, &directory)?;
    match std::env::args().nth(1).as_deref() {
        Some("register-permissions") => {
            let c = auth.register_permissions(&permissions()).await?;
            println!("{} permissions synced, {} created, {} deleted; the application now has {}.", c.synced, c.created, c.deleted, c.count);
        }
        None | Some("serve") => {
            let listen = std::env::var("DEMO_LISTEN").unwrap_or_else(|_| "127.0.0.1:9000".into());
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            println!("listening on http://{}", listener.local_addr()?);
            axum::serve(listener, app(&auth, directory))
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
        }
        Some(other) => return Err(format!("unknown command {other:?}; use serve or register-permissions").into()),
    }
    Ok(())
}
