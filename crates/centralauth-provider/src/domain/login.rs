//! Signing in at the provider: password check with a rate limit per account and per client
//! address, the same answer for an unknown user and a wrong password (DESIGN §6).

use std::net::IpAddr;

use super::clock::UnixTime;
use super::password::{self, Verification};
use super::secret::Secret;
use super::session::LIFETIME_SECONDS;
use super::user::{User, username_key};
use super::{Error, Result};
use crate::domain::ports::{LoginThrottleStore, SessionStore, UserStore};

/// Failed attempts allowed per window before sign-in is refused for a while.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 10;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 100;
pub const WINDOW_SECONDS: i64 = 15 * 60;

/// A started session: the plain id goes into the cookie, only its digest into the database.
#[derive(Debug)]
pub struct StartedSession {
    pub id: Secret,
    pub user: User,
    pub expires_at: UnixTime,
}

/// The throttle key of an account: sign-ins and password changes share its budget.
pub fn account_key(identifier: &str) -> String {
    format!("account:{}", username_key(identifier))
}

fn address_key(address: IpAddr) -> String {
    // An IPv6 client controls its whole /64, so it is counted as one address.
    match address {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

pub async fn sign_in<S: UserStore + SessionStore + LoginThrottleStore + ?Sized>(
    store: &S, identifier: &str, password: &str, address: IpAddr, now: UnixTime) -> Result<StartedSession> {
    let keys = [account_key(identifier), address_key(address)];
    let since = now - WINDOW_SECONDS;
    if store.count_login_failures(&keys[0], since).await? >= MAX_FAILURES_PER_ACCOUNT
        || store.count_login_failures(&keys[1], since).await? >= MAX_FAILURES_PER_ADDRESS
    {
        return Err(Error::RateLimited);
    }
    let user = store.find_user_for_login(identifier).await?;
    let verified = match user.as_ref().and_then(|u| u.password_hash.clone().map(|h| (u, h))) {
        Some((u, hash)) if u.is_active => password::verify(password.to_string(), hash).await?,
        _ => {
            password::verify_dummy(password.to_string()).await?;
            Verification::Mismatch
        }
    };
    let rehash = match verified {
        Verification::Mismatch => {
            store.record_login_failure(&keys, now).await?;
            return Err(Error::AccessDenied);
        }
        Verification::Match => None,
        Verification::MatchNeedsRehash(hash) => Some(hash),
    };
    let user = user.ok_or(Error::AccessDenied)?;
    store.record_login(user.id, now, rehash.as_deref()).await?;
    store.clear_login_failures(&keys[0]).await?;
    let id = Secret::generate();
    let expires_at = now + LIFETIME_SECONDS;
    // The public id of the session (OpenID Connect `sid`) is unrelated to the secret cookie value.
    let sid = Secret::generate().expose()[..22].to_string();
    store.insert_session(&id.digest(), user.id, &sid, now, expires_at).await?;
    Ok(StartedSession { id, user, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_per_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_key("10.0.0.1".parse().unwrap()), "ip:10.0.0.1");
    }

    #[test]
    fn account_keys_ignore_case() {
        assert_eq!(account_key("Alice"), account_key("alice"));
    }
}
