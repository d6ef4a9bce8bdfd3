//! Whether the database is reachable, as this process last saw it: so that an outage is logged
//! once when it begins, with its cause, and once when it ends, with its length, instead of once
//! per failed request (a busy provider would write thousands of identical lines a second).
//!
//! Failures are reported where driver errors become `StoreError::Unavailable` (`errors.rs`);
//! successes by every COMMIT, which a busy provider runs all the time (each token request,
//! sign-in, refresh). Not by reads: on a full disk (SQLite, or PostgreSQL's class 53) reads go
//! on while writes fail, and an outage that ended at every read would be logged at every write.
//! One state per process: a provider has one database.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The process's view of its database.
pub static DATABASE: Health = Health::new();

/// What a report changed.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing to log (the same state as before).
    None,
    /// The first failure after a time of successes: the outage begins.
    WentAway,
    /// The first success after an outage of this length.
    CameBack(Duration),
}

pub struct Health {
    /// Read on every success: one relaxed load while all is well.
    away: AtomicBool,
    /// Since when, while away.
    since: Mutex<Option<Instant>>,
}

impl Health {
    pub const fn new() -> Self {
        Self { away: AtomicBool::new(false), since: Mutex::new(None) }
    }

    /// A statement failed because the database is unavailable.
    pub fn failed(&self, now: Instant) -> Change {
        if self.away.load(Ordering::Relaxed) {
            return Change::None;
        }
        let mut since = self.since.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if since.is_some() {
            return Change::None;
        }
        *since = Some(now);
        self.away.store(true, Ordering::Relaxed);
        Change::WentAway
    }

    /// A statement succeeded.
    pub fn succeeded(&self, now: Instant) -> Change {
        if !self.away.load(Ordering::Relaxed) {
            return Change::None;
        }
        let mut since = self.since.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match since.take() {
            Some(began) => {
                self.away.store(false, Ordering::Relaxed);
                Change::CameBack(now.saturating_duration_since(began))
            }
            None => Change::None,
        }
    }

    /// Reports a failure, and logs it if it begins an outage.
    pub fn report_failure(&self, cause: &dyn std::fmt::Display) {
        match self.failed(Instant::now()) {
            Change::WentAway => tracing::error!(error = %cause, "database unavailable: answering 503 until it is reachable again"),
            _ => tracing::debug!(error = %cause, "database still unavailable"),
        }
    }

    /// Reports a success, and logs it if it ends an outage.
    pub fn report_success(&self) {
        if let Change::CameBack(outage) = self.succeeded(Instant::now()) {
            tracing::warn!(outage_ms = outage.as_millis() as u64, "database reachable again after {:.1} s", outage.as_secs_f64());
        }
    }

}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{Change, Health};

    #[test]
    fn an_outage_is_reported_once_when_it_begins_and_once_when_it_ends() {
        let health = Health::new();
        let t0 = Instant::now();
        assert_eq!(health.succeeded(t0), Change::None, "successes while all is well say nothing");
        assert_eq!(health.failed(t0), Change::WentAway);
        for i in 1..100 {
            assert_eq!(health.failed(t0 + Duration::from_millis(i)), Change::None, "later failures are not logged again");
        }
        assert_eq!(health.succeeded(t0 + Duration::from_secs(7)), Change::CameBack(Duration::from_secs(7)));
        assert_eq!(health.succeeded(t0 + Duration::from_secs(8)), Change::None, "only the first success after is logged");
        // A second outage is a new one, measured from its own beginning.
        assert_eq!(health.failed(t0 + Duration::from_secs(10)), Change::WentAway);
        assert_eq!(health.succeeded(t0 + Duration::from_secs(12)), Change::CameBack(Duration::from_secs(2)));
    }

    #[test]
    fn concurrent_failures_begin_one_outage() {
        let health = std::sync::Arc::new(Health::new());
        let now = Instant::now();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let health = health.clone();
                std::thread::spawn(move || (0..1000).filter(|_| health.failed(now) == Change::WentAway).count())
            })
            .collect();
        let began: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(began, 1);
    }
}
