//! Time as whole Unix seconds, the unit every expiry in the database is kept in, read from a
//! [`Clock`] that the app is built with: the system's in production, a [`TestClock`] in tests,
//! so that every rule about time (expiries, grace windows, rate-limit windows, key retirement,
//! purge) can be tested by moving the clock instead of waiting for it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch.
pub type UnixTime = i64;

/// Where the domain and the store read the time from.
/// `YYYY-MM-DD HH:MM:SS UTC` (the proleptic Gregorian calendar, from days since 1970), for
/// people reading times in the console and at the command line.
pub fn utc_text(at: UnixTime) -> String {
    let (days, secs) = (at.div_euclid(86_400), at.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs % 3600 / 60, secs % 60)
}

pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> UnixTime;
}

/// The clock of every running provider and CLI command.
pub type SharedClock = Arc<dyn Clock>;

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    }
}

/// The system clock, shared.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock that stands still until a test moves it. Clones share one time.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    /// Starts at the current wall-clock time, so that rows written with it look ordinary.
    pub fn new() -> Self {
        Self::at(SystemClock.now())
    }

    pub fn at(now: UnixTime) -> Self {
        Self(Arc::new(AtomicI64::new(now)))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn set(&self, now: UnixTime) {
        self.0.store(now, Ordering::SeqCst);
    }

    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TestClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TestClock({})", self.now())
    }
}

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_moves_only_when_told_and_its_clones_move_with_it() {
        let clock = TestClock::at(1_000);
        let shared = clock.shared();
        assert_eq!(shared.now(), 1_000);
        clock.advance(61);
        assert_eq!(shared.now(), 1_061);
        clock.set(5);
        assert_eq!(shared.now(), 5);
    }
}
