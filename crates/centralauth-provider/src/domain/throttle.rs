//! How many password checks an account or a client address may have, and when the next one.
//!
//! An attempt is *reserved* before the password is checked: the reservation counts it as a
//! failure in the store by compare-and-set, so guesses sent at the same moment — to one instance
//! or to several on one database — are admitted one by one against the same count, and at most
//! the free budget of them is ever evaluated. A correct password gives its reservation back.
//!
//! Past the free budget the next attempt waits, doubling per failure up to a cap, instead of a
//! hard lock: whoever knows a user's name can slow their sign-in to one attempt per cap, but
//! cannot lock them out for long (Keycloak's "wait increment" with "max wait" is the model; the
//! caps here are lower than its 15 minutes for the account).

use std::net::IpAddr;

use super::clock::UnixTime;
use super::user::{UserId, username_key};
use super::{Error, Result};
use crate::domain::ports::{LoginThrottleStore, ThrottleState};

/// Free failures, then a wait that doubles from `first_delay` up to `max_delay` seconds; a key
/// that has had no failure for `forget_after` seconds starts again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub free: i64,
    pub first_delay: i64,
    pub max_delay: i64,
    pub forget_after: i64,
}

/// One account, from any number of addresses: ten free failures, then at most one guess per
/// five minutes — a legitimate user waits at most that long, whatever an attacker does.
pub const ACCOUNT: Budget = Budget { free: 10, first_delay: 1, max_delay: 5 * 60, forget_after: 15 * 60 };

/// One client address (an IPv6 /64), over all accounts: room for an office behind one NAT,
/// then at most one guess per fifteen minutes.
pub const ADDRESS: Budget = Budget { free: 100, first_delay: 1, max_delay: 15 * 60, forget_after: 15 * 60 };

/// Compare-and-set rounds before a reservation gives up and refuses. A lost round means that
/// another attempt was counted first (or given back), so within `free` lost rounds the budget
/// is spent and the answer is "wait" anyway; the margin covers the give-backs of successes.
fn max_rounds(budget: &Budget) -> usize {
    usize::try_from(budget.free).unwrap_or(0) + 16
}

impl Budget {
    /// The wait after `failures` failures.
    pub fn delay(&self, failures: i64) -> i64 {
        if failures < self.free {
            return 0;
        }
        let doublings = (failures - self.free).min(40) as u32;
        self.first_delay.saturating_mul(1i64 << doublings).min(self.max_delay)
    }

    /// The count that applies at `now`: none once the last failure is forgotten.
    fn current(&self, state: Option<ThrottleState>, now: UnixTime) -> ThrottleState {
        match state {
            Some(s) if now - s.last_attempt_at < self.forget_after => s,
            _ => ThrottleState { failures: 0, last_attempt_at: now },
        }
    }

    /// Admits an attempt at `now` (returning the state that counts it) or says how many
    /// seconds to wait.
    pub fn admit(&self, state: Option<ThrottleState>, now: UnixTime) -> Result<ThrottleState, i64> {
        let current = self.current(state, now);
        let wait = current.last_attempt_at + self.delay(current.failures) - now;
        if current.failures >= self.free && wait > 0 {
            return Err(wait);
        }
        Ok(ThrottleState { failures: current.failures + 1, last_attempt_at: now })
    }
}

/// The throttle key of an account, once the identifier given at sign-in is resolved: its name
/// and its e-mail address share one budget.
pub fn account_key(user: UserId) -> String {
    format!("account:{}", user.0)
}

/// The key of an identifier that names no account, so that guessing at it is throttled exactly
/// like guessing at a real one (the answers must not tell which accounts exist).
pub fn unknown_account_key(identifier: &str) -> String {
    format!("account?{}", username_key(identifier))
}

pub fn address_key(address: IpAddr) -> String {
    // An IPv6 client controls its whole /64, so it is counted as one address.
    match address {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// An admitted attempt, counted as a failure until [`Reservation::succeeded`] gives it back.
#[must_use = "a reservation is settled by dropping it (a failure) or by `succeeded`"]
#[derive(Debug)]
pub struct Reservation {
    key: String,
}

/// Reserves an attempt under `key`; `RateLimited` with the seconds to wait when the budget says
/// no.
pub async fn reserve<S: LoginThrottleStore + ?Sized>(store: &S, key: String, budget: &Budget, now: UnixTime) -> Result<Reservation> {
    for _ in 0..max_rounds(budget) {
        let seen = store.find_throttle(&key).await?;
        let next = budget.admit(seen, now).map_err(|retry_after| Error::RateLimited { retry_after })?;
        if store.swap_throttle(&key, seen, next).await? {
            return Ok(Reservation { key });
        }
    }
    tracing::warn!(target: "centralauth::security", event = "sign_in_contended", key = %key, "too many simultaneous attempts on one key");
    Err(Error::RateLimited { retry_after: budget.first_delay })
}

impl Reservation {
    /// The password was right: an account's failures are forgiven; an address gets this attempt
    /// back (so that the sign-ins of one office do not spend its budget).
    pub async fn succeeded<S: LoginThrottleStore + ?Sized>(self, store: &S, forgive: bool) -> Result<()> {
        if forgive {
            store.clear_throttle(&self.key).await?;
            return Ok(());
        }
        for _ in 0..max_rounds(&ADDRESS) {
            let Some(seen) = store.find_throttle(&self.key).await? else { return Ok(()) };
            let back = ThrottleState { failures: (seen.failures - 1).max(0), ..seen };
            if store.swap_throttle(&self.key, Some(seen), back).await? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Gives a reservation back unused: another limit refused the attempt before the password
    /// was checked.
    pub async fn cancel<S: LoginThrottleStore + ?Sized>(self, store: &S) -> Result<()> {
        self.succeeded(store, false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Budget = Budget { free: 3, first_delay: 2, max_delay: 10, forget_after: 100 };

    fn state(failures: i64, last_attempt_at: UnixTime) -> Option<ThrottleState> {
        Some(ThrottleState { failures, last_attempt_at })
    }

    #[test]
    fn free_failures_then_a_doubling_wait_up_to_the_cap() {
        assert_eq!([0, 2, 3, 4, 5, 6, 7, 60].map(|f| B.delay(f)), [0, 0, 2, 4, 8, 10, 10, 10]);
        assert_eq!(ACCOUNT.delay(i64::MAX), ACCOUNT.max_delay, "no overflow");
    }

    #[test]
    fn admits_within_the_free_budget_and_counts_the_attempt() {
        assert_eq!(B.admit(None, 50), Ok(ThrottleState { failures: 1, last_attempt_at: 50 }));
        assert_eq!(B.admit(state(2, 49), 50), Ok(ThrottleState { failures: 3, last_attempt_at: 50 }));
    }

    #[test]
    fn past_the_free_budget_the_next_attempt_waits() {
        assert_eq!(B.admit(state(3, 50), 50), Err(2));
        assert_eq!(B.admit(state(3, 50), 51), Err(1));
        assert_eq!(B.admit(state(3, 50), 52), Ok(ThrottleState { failures: 4, last_attempt_at: 52 }));
        assert_eq!(B.admit(state(6, 50), 55), Err(5), "capped at max_delay");
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_period() {
        assert_eq!(B.admit(state(9, 0), 100), Ok(ThrottleState { failures: 1, last_attempt_at: 100 }));
        assert_eq!(B.admit(state(9, 95), 99), Err(6), "not yet forgotten: the capped wait applies");
    }

    #[test]
    fn keys() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(address_key(a), address_key(b), "IPv6 clients are counted per /64");
        assert_eq!(address_key("10.0.0.1".parse().unwrap()), "ip:10.0.0.1");
        assert_eq!(unknown_account_key("Nobody"), unknown_account_key("nobody"));
        assert_ne!(unknown_account_key("1"), account_key(UserId(1)));
    }
}
