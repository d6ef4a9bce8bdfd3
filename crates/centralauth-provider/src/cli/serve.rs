//! `serve` and `check`.

use crate::app::{App, shutdown_signal};
use crate::config::ServeConfig;
use crate::domain::clock::SharedClock;
use crate::domain::signing::MasterKey;

pub async fn serve(database_url: &str, config: ServeConfig, master_key: MasterKey, clock: SharedClock) -> anyhow::Result<()> {
    let app = App::build(database_url, &config, master_key, clock).await?;
    if let Some((username, password)) = &app.created_administrator {
        println!("created administrator {username:?} with one-time password: {password}");
        println!("sign in at /account/login/ and keep this password safe; it is not shown again");
    }
    let addr = app.local_addr()?;
    println!("listening on http://{addr}");
    tracing::info!(%addr, prefix = %config.prefix, "centralauth started");
    app.run(shutdown_signal()).await?;
    tracing::info!("centralauth stopped");
    Ok(())
}

pub async fn check(database_url: &str, config: ServeConfig, clock: SharedClock) -> anyhow::Result<()> {
    config.validate().map_err(anyhow::Error::msg)?;
    let store = crate::store::connect(database_url, clock).await?;
    store.ping().await?;
    println!("database_url = {:?}", redact(database_url));
    println!("listen = {:?}", config.listen.to_string());
    println!("public_url = {:?}", config.public_url.unwrap_or_else(|| format!("http://{}", config.listen)));
    println!("prefix = {:?}", config.prefix);
    println!("refresh_grace_seconds = {}", config.refresh_grace_seconds);
    println!("trust_forwarded_for = {}", config.trust_forwarded_for);
    let proxies: Vec<String> = config.trusted_proxies.iter().map(|net| format!("{:?}", net.to_string())).collect();
    println!("trusted_proxies = [{}]", proxies.join(", "));
    println!("configuration OK");
    Ok(())
}

/// Hides a password in a database URL.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
