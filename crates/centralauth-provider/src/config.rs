//! One typed configuration tree. Precedence: flags > environment (`CENTRALAUTH_*`) >
//! `centralauth.toml` > defaults. The file is applied by filling in the environment variables
//! that are not set, so clap's own flag-over-env precedence does the rest.

use std::net::SocketAddr;
use std::path::Path;

use clap::{Args, ValueEnum};

use crate::domain::signing::MasterKey;

/// Settings of the HTTP server.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "CENTRALAUTH_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Public base URL as browsers and clients reach the provider (default: http://LISTEN).
    /// An https URL turns on Secure cookies.
    #[arg(long, env = "CENTRALAUTH_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Mount prefix of the django-centralauth routes (`/o/…`, `/user/`, `/perms/`).
    #[arg(long, env = "CENTRALAUTH_PREFIX", default_value = "/provider")]
    pub prefix: String,
    /// Seconds in which a rotated refresh token still works (concurrent requests of one session).
    #[arg(long, env = "CENTRALAUTH_REFRESH_GRACE_SECONDS", default_value_t = 10)]
    pub refresh_grace_seconds: i64,
    /// Seconds from an authorization after which its chain of refresh tokens ends, however often
    /// it was rotated (90 days by default); then the application has to send the user to sign in.
    #[arg(long, env = "CENTRALAUTH_REFRESH_CHAIN_MAX_SECONDS", default_value_t = crate::domain::grants::refresh_token::DEFAULT_CHAIN_MAX_SECONDS)]
    pub refresh_chain_max_seconds: i64,
    /// The reverse proxies in front of the provider, as addresses or networks (`10.0.0.0/8`,
    /// repeatable or comma-separated): behind them the client address, for the per-address
    /// sign-in limit, is the right-most `X-Forwarded-For` address that is not one of them.
    #[arg(long = "trusted-proxy", env = "CENTRALAUTH_TRUSTED_PROXIES", value_delimiter = ',', value_name = "CIDR")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Treat the connection's peer as a trusted proxy whatever its address (one proxy in front,
    /// whose address is not fixed): the client is the right-most `X-Forwarded-For` address.
    #[arg(long, env = "CENTRALAUTH_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,
    /// Address of a second listener that serves only `/metrics` (Prometheus text format); none
    /// by default. Never the public one: bind it to an address only the monitoring reaches.
    #[arg(long, env = "CENTRALAUTH_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Connections served at once; further ones wait in the operating system's listen queue
    /// (keep it below the process's open-file limit).
    #[arg(long, env = "CENTRALAUTH_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers before the connection is closed
    /// (a client that sends them slowly holds a connection).
    #[arg(long, env = "CENTRALAUTH_HEADER_TIMEOUT_SECONDS", default_value_t = 10)]
    pub header_timeout_seconds: u64,
    /// Seconds for a whole request, body and answer included, before it is answered 408.
    #[arg(long, env = "CENTRALAUTH_REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    pub request_timeout_seconds: u64,
    /// Milliseconds a request waits for a database connection (connecting included) before it
    /// is answered 503 with `Retry-After`: a stopped database fails fast instead of hanging.
    #[arg(long, env = "CENTRALAUTH_DATABASE_ACQUIRE_TIMEOUT_MS", default_value_t = 2000)]
    pub database_acquire_timeout_ms: u64,
    /// Milliseconds one statement may run (PostgreSQL's `statement_timeout`, lock waits
    /// included); one second more bounds, on this side, a wait for a server that stopped
    /// answering. Past it: 503 with `Retry-After`.
    #[arg(long, env = "CENTRALAUTH_DATABASE_STATEMENT_TIMEOUT_MS", default_value_t = 5000)]
    pub database_statement_timeout_ms: u64,
    /// Seconds from a writing request's arrival within which its change must commit; after
    /// that it is rolled back and answered 503, so that a grant its client has given up on
    /// (clients time out after about 30 s) is never carried out later.
    #[arg(long, env = "CENTRALAUTH_WRITE_DEADLINE_SECONDS", default_value_t = 10)]
    pub write_deadline_seconds: u64,
    /// Every administrator (full or delegated) must have signed in with a second factor to use
    /// the console; one who has not is sent to take the step (or to enrol a factor first). Off
    /// by default: the administrator created at the first start has no factor yet. API tokens
    /// and the command line are not affected.
    #[arg(long, env = "CENTRALAUTH_REQUIRE_ADMIN_MFA", default_value_t = false)]
    pub require_admin_mfa: bool,
}

impl ServeConfig {
    /// How long the store waits for the database.
    pub fn database_limits(&self) -> crate::store::Limits {
        crate::store::Limits {
            acquire_timeout: std::time::Duration::from_millis(self.database_acquire_timeout_ms),
            statement_timeout: Some(std::time::Duration::from_millis(self.database_statement_timeout_ms)),
        }
    }

    /// Checks what clap cannot: prefix and public URL shapes.
    pub fn validate(&self) -> Result<(), String> {
        if !self.prefix.is_empty() && (!self.prefix.starts_with('/') || self.prefix.ends_with('/')) {
            return Err(format!("prefix {:?} must start with '/' and not end with one (or be empty)", self.prefix));
        }
        if let Some(url) = &self.public_url {
            let parsed = url::Url::parse(url).map_err(|e| format!("public URL {url:?}: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                return Err(format!("public URL {url:?} must be http(s)://host[:port]"));
            }
        }
        if !(0..=300).contains(&self.refresh_grace_seconds) {
            return Err("refresh grace must be between 0 and 300 seconds".into());
        }
        if self.max_connections == 0 {
            return Err("max connections must be at least 1".into());
        }
        for (name, seconds) in [("header timeout", self.header_timeout_seconds), ("request timeout", self.request_timeout_seconds)] {
            if !(1..=3600).contains(&seconds) {
                return Err(format!("{name} must be between 1 and 3600 seconds"));
            }
        }
        if !(100..=60_000).contains(&self.database_acquire_timeout_ms) {
            return Err("database acquire timeout must be between 100 and 60000 ms".into());
        }
        if !(100..=600_000).contains(&self.database_statement_timeout_ms) {
            return Err("database statement timeout must be between 100 and 600000 ms".into());
        }
        if !(1..=300).contains(&self.write_deadline_seconds) {
            return Err("write deadline must be between 1 and 300 seconds".into());
        }
        if !(60..=86_400 * 3650).contains(&self.refresh_chain_max_seconds) {
            return Err("refresh chain maximum must be between 60 seconds and 10 years".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The master key that seals the signing keys in the database: given (`CENTRALAUTH_MASTER_KEY`,
/// base64url of 32 bytes; every instance on one database needs the same), or else read from
/// `file`, which is created with a new key (mode 0600) when it does not exist, so that
/// `centralauth serve` works with nothing configured.
pub fn load_master_key(given: Option<&str>, file: &Path) -> anyhow::Result<MasterKey> {
    if let Some(encoded) = given.filter(|k| !k.trim().is_empty()) {
        return Ok(MasterKey::parse(encoded)?);
    }
    match std::fs::read_to_string(file) {
        Ok(text) => MasterKey::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut out = options.open(file).map_err(|e| anyhow::anyhow!("creating {}: {e}", file.display()))?;
            std::io::Write::write_all(&mut out, format!("{}\n", key.encode()).as_bytes())?;
            tracing::warn!(file = %file.display(), "created a new master key file; keep it with the database (set CENTRALAUTH_MASTER_KEY on every instance of a shared database)");
            Ok(key)
        }
        Err(e) => Err(anyhow::anyhow!("reading {}: {e}", file.display())),
    }
}

/// Keys of `centralauth.toml` and the environment variables they fill in.
const FILE_KEYS: &[(&str, &str)] = &[
    ("database_url", "CENTRALAUTH_DATABASE_URL"),
    ("listen", "CENTRALAUTH_LISTEN"),
    ("public_url", "CENTRALAUTH_PUBLIC_URL"),
    ("prefix", "CENTRALAUTH_PREFIX"),
    ("refresh_grace_seconds", "CENTRALAUTH_REFRESH_GRACE_SECONDS"),
    ("refresh_chain_max_seconds", "CENTRALAUTH_REFRESH_CHAIN_MAX_SECONDS"),
    ("trust_forwarded_for", "CENTRALAUTH_TRUST_FORWARDED_FOR"),
    ("trusted_proxies", "CENTRALAUTH_TRUSTED_PROXIES"),
    ("metrics_listen", "CENTRALAUTH_METRICS_LISTEN"),
    ("max_connections", "CENTRALAUTH_MAX_CONNECTIONS"),
    ("header_timeout_seconds", "CENTRALAUTH_HEADER_TIMEOUT_SECONDS"),
    ("request_timeout_seconds", "CENTRALAUTH_REQUEST_TIMEOUT_SECONDS"),
    ("database_acquire_timeout_ms", "CENTRALAUTH_DATABASE_ACQUIRE_TIMEOUT_MS"),
    ("database_statement_timeout_ms", "CENTRALAUTH_DATABASE_STATEMENT_TIMEOUT_MS"),
    ("write_deadline_seconds", "CENTRALAUTH_WRITE_DEADLINE_SECONDS"),
    ("require_admin_mfa", "CENTRALAUTH_REQUIRE_ADMIN_MFA"),
    ("log_format", "CENTRALAUTH_LOG_FORMAT"),
    ("master_key", "CENTRALAUTH_MASTER_KEY"),
    ("master_key_file", "CENTRALAUTH_MASTER_KEY_FILE"),
];

/// Reads the file (the `CENTRALAUTH_CONFIG` path, or `centralauth.toml` if it exists) and
/// returns the variables it would set. Unknown keys are an error, so typos do not go unnoticed.
pub fn file_settings(path: Option<&Path>) -> Result<Vec<(&'static str, String)>, String> {
    let default = Path::new("centralauth.toml");
    let path = match path {
        Some(p) => p,
        None if default.exists() => default,
        None => return Ok(Vec::new()),
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let table: toml::Table = text.parse().map_err(|e| format!("{}: {e}", path.display()))?;
    let mut settings = Vec::new();
    for (key, value) in table {
        let Some((_, var)) = FILE_KEYS.iter().find(|(k, _)| *k == key) else {
            return Err(format!("{}: unknown setting {key:?}", path.display()));
        };
        let value = match value {
            toml::Value::String(s) => s,
            // A list becomes the comma-separated form the environment variable takes.
            toml::Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        settings.push((*var, value));
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_settings_map_to_environment_variables_and_reject_typos() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\nrefresh_grace_seconds = 5\n").unwrap();
        let got = file_settings(Some(&file)).unwrap();
        assert!(got.contains(&("CENTRALAUTH_LISTEN", "0.0.0.0:9000".to_string())));
        assert!(got.contains(&("CENTRALAUTH_REFRESH_GRACE_SECONDS", "5".to_string())));
        std::fs::write(&file, "trusted_proxies = [\"10.0.0.0/8\", \"::1/128\"]\n").unwrap();
        assert_eq!(file_settings(Some(&file)).unwrap(), vec![("CENTRALAUTH_TRUSTED_PROXIES", "10.0.0.0/8,::1/128".to_string())]);
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        assert!(file_settings(Some(&file)).is_err());
    }

    #[test]
    fn prefix_must_be_a_clean_path() {
        let mut c = ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: None,
            prefix: "/provider".into(),
            refresh_grace_seconds: 10,
            refresh_chain_max_seconds: 90 * 86_400,
            trusted_proxies: Vec::new(),
            trust_forwarded_for: false,
            metrics_listen: None,
            max_connections: 4096,
            header_timeout_seconds: 10,
            request_timeout_seconds: 30,
            database_acquire_timeout_ms: 2000,
            database_statement_timeout_ms: 5000,
            write_deadline_seconds: 10,
            require_admin_mfa: false,
        };
        assert!(c.validate().is_ok());
        c.prefix = "provider/".into();
        assert!(c.validate().is_err());
        c.prefix = String::new();
        assert!(c.validate().is_ok());
        c.request_timeout_seconds = 0;
        assert!(c.validate().is_err());
        c.request_timeout_seconds = 30;
        c.write_deadline_seconds = 0;
        assert!(c.validate().is_err());
        c.write_deadline_seconds = 10;
        c.database_acquire_timeout_ms = 0;
        assert!(c.validate().is_err());
    }
}
