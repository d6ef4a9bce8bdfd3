//! `serve` and `check`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::app::{App, shutdown_signal};
use crate::config::ServeConfig;
use crate::domain::clock::SharedClock;
use crate::domain::signing::MasterKey;

/// Where the first administrator's password is written: next to the SQLite database file, or,
/// on PostgreSQL, next to the master key file (by default both in the working directory).
pub fn initial_password_file(database_url: &str, master_key_file: &Path) -> PathBuf {
    let sqlite_file = database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:")).map(|rest| rest.split('?').next().unwrap_or(rest));
    let beside = sqlite_file.map(Path::new).unwrap_or(master_key_file);
    beside.parent().unwrap_or(Path::new("")).join(INITIAL_PASSWORD_FILE)
}

const INITIAL_PASSWORD_FILE: &str = "centralauth-initial-admin-password";

pub async fn serve(
    database_url: &str,
    config: ServeConfig,
    master_key: MasterKey,
    clock: SharedClock,
    password_file: &Path,
) -> anyhow::Result<()> {
    let app = App::build(database_url, &config, master_key, clock).await?;
    if let Some((username, password)) = &app.created_administrator {
        // Not on standard output, which ends up in journald or a container's log for anyone
        // who can read those: in a file only this user can read.
        write_private(password_file, &format!("{password}\n"))
            .map_err(|e| anyhow::anyhow!("writing the first administrator's password to {}: {e}", password_file.display()))?;
        println!("created administrator {username:?}; its one-time password is in {} (readable by this user only)", password_file.display());
        println!("sign in at /account/login/, change the password, and delete the file");
    }
    if let Some(metrics) = app.metrics_addr() {
        println!("metrics on http://{metrics}/metrics");
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
    let store = crate::store::connect_with(database_url, clock, config.database_limits()).await?;
    store.ping().await?;
    println!("database_url = {:?}", redact(database_url));
    println!("listen = {:?}", config.listen.to_string());
    println!("public_url = {:?}", config.public_url.unwrap_or_else(|| format!("http://{}", config.listen)));
    println!("prefix = {:?}", config.prefix);
    println!("refresh_grace_seconds = {}", config.refresh_grace_seconds);
    println!("refresh_chain_max_seconds = {}", config.refresh_chain_max_seconds);
    println!("trust_forwarded_for = {}", config.trust_forwarded_for);
    let proxies: Vec<String> = config.trusted_proxies.iter().map(|net| format!("{:?}", net.to_string())).collect();
    println!("trusted_proxies = [{}]", proxies.join(", "));
    if let Some(metrics) = config.metrics_listen {
        println!("metrics_listen = {:?}", metrics.to_string());
    }
    println!("max_connections = {}", config.max_connections);
    println!("header_timeout_seconds = {}", config.header_timeout_seconds);
    println!("request_timeout_seconds = {}", config.request_timeout_seconds);
    println!("database_acquire_timeout_ms = {}", config.database_acquire_timeout_ms);
    println!("database_statement_timeout_ms = {}", config.database_statement_timeout_ms);
    println!("write_deadline_seconds = {}", config.write_deadline_seconds);
    println!("require_admin_mfa = {}", config.require_admin_mfa);
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

/// Writes `text` to `path`, readable and writable by this user only (0600), replacing a file
/// left there before.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    // A file that existed keeps its mode through open(): narrow it as well.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(text.as_bytes())?;
    std::fs::File::sync_all(&file)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::initial_password_file;

    #[test]
    fn the_password_file_lies_beside_the_sqlite_file_or_the_master_key() {
        let key = Path::new("/etc/centralauth/centralauth.key");
        assert_eq!(initial_password_file("sqlite:///var/lib/ca/centralauth.db?mode=rwc", key), Path::new("/var/lib/ca/centralauth-initial-admin-password"));
        assert_eq!(initial_password_file("sqlite://centralauth.db", key), Path::new("centralauth-initial-admin-password"));
        assert_eq!(initial_password_file("postgres://db/ca", key), Path::new("/etc/centralauth/centralauth-initial-admin-password"));
        assert_eq!(initial_password_file("postgres://db/ca", Path::new("centralauth.key")), Path::new("centralauth-initial-admin-password"));
    }
}
