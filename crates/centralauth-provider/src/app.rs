//! The running provider: store, migrations, first administrator, listener, background purge,
//! graceful shutdown. Tests build it on port 0 and read `local_addr`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::ServeConfig;
use crate::delivery::Delivery;
use crate::domain::keyring::KeyRing;
use crate::domain::signing::MasterKey;
use crate::domain::admin;
use crate::domain::clock::SharedClock;
use crate::domain::mfa::Requirement;
use crate::domain::grants::refresh_token::RefreshPolicy;
use crate::http::router::router;
use crate::http::server::{self, Limits};
use crate::http::shared::TrustedProxies;
use crate::http::state::{AppState, HttpSettings};
use crate::domain::clock::UnixTime;
use crate::domain::ports::{Store, StoreResult};
use crate::store;

/// Rows of each kind the purge deletes per round; small, so that no round holds a lock long.
const PURGE_BATCH: i64 = 500;
const PURGE_INTERVAL: Duration = Duration::from_secs(30);
/// Rounds per interval at most (100,000 rows of each kind every 30 s), so that a backlog after a
/// long outage is worked off over several intervals instead of holding the writer for minutes.
const MAX_PURGE_ROUNDS: usize = 200;

pub struct App {
    listener: TcpListener,
    /// The `/metrics` listener, when one is configured.
    metrics: Option<TcpListener>,
    limits: Limits,
    state: AppState,
    /// The administrator created on this start, with their one-time password.
    pub created_administrator: Option<(String, String)>,
}

impl App {
    /// Builds the provider on `config.listen` (port 0 picks a free one). Every rule about time
    /// reads `clock`: `clock::system()` in production, a `TestClock` in tests.
    pub async fn build(database_url: &str, config: &ServeConfig, master_key: MasterKey, clock: SharedClock) -> anyhow::Result<App> {
        config.validate().map_err(anyhow::Error::msg)?;
        let store = store::connect_with(database_url, clock.clone(), config.database_limits()).await?;
        store.migrate().await?;
        let (csrf_key, refresh_key) = (master_key.derive("csrf tokens"), master_key.derive("refresh successors"));
        let keys = Arc::new(KeyRing::new(master_key));
        keys.ensure_keys(store.as_ref(), clock.now()).await?;
        let created_administrator = admin::ensure_administrator(store.as_ref()).await?.map(|(user, password)| (user.username, password));
        let listener = TcpListener::bind(config.listen).await?;
        let metrics = match config.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let local = listener.local_addr()?;
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{local}")).trim_end_matches('/').to_string();
        let settings = HttpSettings {
            secure_cookies: public_url.starts_with("https://"),
            public_url,
            prefix: config.prefix.clone(),
            refresh: RefreshPolicy { grace_seconds: config.refresh_grace_seconds, chain_max_seconds: config.refresh_chain_max_seconds },
            trusted_proxies: TrustedProxies { networks: config.trusted_proxies.clone(), hops: usize::from(config.trust_forwarded_for) },
            write_deadline: Duration::from_secs(config.write_deadline_seconds),
            ready_timeout: Duration::from_millis(config.database_acquire_timeout_ms),
            admin_requirement: if config.require_admin_mfa { Requirement::SecondFactor } else { Requirement::None },
        };
        let limits = Limits {
            max_connections: config.max_connections,
            header_timeout: Duration::from_secs(config.header_timeout_seconds),
            request_timeout: Duration::from_secs(config.request_timeout_seconds),
        };
        let state = AppState { store, settings: Arc::new(settings), keys, clock, csrf_key, refresh_key };
        Ok(App { listener, metrics, limits, state, created_administrator })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let purge = tokio::spawn(purge_expired(self.state.store.clone(), self.state.clock.clone()));
        let delivery = tokio::spawn(Delivery::new(self.state.store.clone(), self.state.keys.clone(), self.state.issuer(), self.state.clock.clone()).run());
        let metrics = self.metrics.map(|listener| tokio::spawn(async move { axum::serve(listener, crate::metrics::router()).await }));
        let result = server::serve(self.listener, router(self.state), self.limits, shutdown).await;
        purge.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        delivery.abort();
        result
    }
}

/// Expired codes, tokens, sessions and sign-in throttle counts go without an external cron.
async fn purge_expired(store: Arc<dyn Store>, clock: SharedClock) {
    let mut interval = tokio::time::interval(PURGE_INTERVAL);
    loop {
        interval.tick().await;
        match purge_caught_up(store.as_ref(), clock.now(), PURGE_BATCH, MAX_PURGE_ROUNDS).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(purged = n, "expired rows purged"),
            // The database away: logged once by the store (`store::health`).
            Err(crate::domain::ports::StoreError::Unavailable(_)) => {}
            Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
        }
    }
}

/// Purges in rounds of at most `batch` rows of each kind until a round comes back short (or
/// `max_rounds` have run). One batch per interval fell behind as soon as tokens were issued
/// faster than 1,000 a minute (bench/README.md, Soak); short rounds keep each statement's hold
/// on the writer brief, and other writers get their turn between rounds.
pub async fn purge_caught_up(store: &dyn Store, now: UnixTime, batch: i64, max_rounds: usize) -> StoreResult<u64> {
    let mut total = 0;
    for _ in 0..max_rounds {
        let purged = store.purge_expired(now, batch).await?;
        total += purged;
        // Fewer rows than one batch in all: no kind filled its batch, so none is left behind.
        if purged < batch.max(1) as u64 {
            break;
        }
        tokio::task::yield_now().await;
    }
    Ok(total)
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
