//! `demo-client [serve|register-permissions]`, configured by the environment:
//! CENTRALAUTH_PROVIDER_URL, CENTRALAUTH_CLIENT_ID, CENTRALAUTH_CLIENT_SECRET, DEMO_LISTEN
//! (default 127.0.0.1:9000) and CENTRALAUTH_APP_URL (default: http:// and the address bound,
//! so that `DEMO_LISTEN=127.0.0.1:0` works for tests).

use centralauth_client::{CentralAuthConfig, ClientSecret};
use demo_client::{Directory, app, central_auth, permissions};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let command = std::env::args().nth(1);
    let listener = match command.as_deref() {
        None | Some("serve") => {
            Some(tokio::net::TcpListener::bind(std::env::var("DEMO_LISTEN").as_deref().unwrap_or("127.0.0.1:9000")).await?)
        }
        Some("register-permissions") => None,
        Some(other) => return Err(format!("unknown command {other:?}; use serve or register-permissions").into()),
    };
    let app_url = match (std::env::var("CENTRALAUTH_APP_URL"), &listener) {
        (Ok(url), _) => url,
        (Err(_), Some(l)) => format!("http://{}", l.local_addr()?),
        (Err(_), None) => "http://127.0.0.1:9000".to_string(),
    };
    let config = CentralAuthConfig::new(
        &env("CENTRALAUTH_PROVIDER_URL")?,
        env("CENTRALAUTH_CLIENT_ID")?,
        ClientSecret::new(env("CENTRALAUTH_CLIENT_SECRET")?),
        &app_url,
    )?;
    let directory = Directory::default();
    let auth = central_auth(config, &directory)?;
    match listener {
        None => {
            let c = auth.register_permissions(&permissions()).await?;
            println!("{} permissions synced, {} created, {} deleted; the application now has {}.", c.synced, c.created, c.deleted, c.count);
        }
        Some(listener) => {
            println!(
                "listening on {app_url} (redirect URI {}, back-channel URI {})",
                auth.config().redirect_uri(),
                auth.config().backchannel_uri()
            );
            axum::serve(listener, app(&auth, directory))
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
        }
    }
    Ok(())
}
