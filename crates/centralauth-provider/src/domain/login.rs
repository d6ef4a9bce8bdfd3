//! Signing in at the provider: a password check admitted by the throttle (per account and per
//! client address, reserved before the check: `domain::throttle`), and the same answer for an
//! unknown user and a wrong password (DESIGN §6).

use std::net::IpAddr;

use super::clock::UnixTime;
use super::password::{self, Verification};
use super::secret::Secret;
use super::session::LIFETIME_SECONDS;
use super::throttle::{self, Reservation};
use super::user::User;
use super::{Error, Result};
use crate::domain::ports::{LoginThrottleStore, SessionStore, UserStore};

/// A started session: the plain id goes into the cookie, only its digest into the database.
#[derive(Debug)]
pub struct StartedSession {
    pub id: Secret,
    pub user: User,
    pub expires_at: UnixTime,
}

pub async fn sign_in<S: UserStore + SessionStore + LoginThrottleStore + ?Sized>(
    store: &S, identifier: &str, password: &str, address: IpAddr, now: UnixTime) -> Result<StartedSession> {
    // Resolved first, so that an account's name and its e-mail address share one budget.
    let user = store.find_user_for_login(identifier).await?;
    let account_key = match &user {
        Some(u) => throttle::account_key(u.id),
        None => throttle::unknown_account_key(identifier),
    };
    let (account, address_reservation) = reserve_both(store, account_key, address, now).await.inspect_err(|e| {
        if let Error::RateLimited { retry_after } = e {
            tracing::warn!(target: "centralauth::security", event = "sign_in_throttled", user = user.as_ref().map(|u| u.id.0), %address, retry_after, "sign-in refused: too many failed attempts");
        }
    })?;
    let checked = match user.as_ref().and_then(|u| u.password_hash.clone().map(|h| (u, h))) {
        Some((u, hash)) if u.is_active => password::verify(password.to_string(), hash).await,
        _ => password::verify_dummy(password.to_string()).await.map(|()| Verification::Mismatch),
    };
    let verified = match checked {
        Ok(verified) => verified,
        Err(e) => {
            // Not checked (the server was too busy): no attempt was spent.
            account.cancel(store).await?;
            address_reservation.cancel(store).await?;
            return Err(e);
        }
    };
    let rehash = match verified {
        Verification::Mismatch => {
            // The reservations stay counted as failures. The log names the account (if any),
            // never what was typed as the password.
            tracing::warn!(target: "centralauth::security", event = "sign_in_failed", user = user.as_ref().map(|u| u.id.0), %address, "sign-in failed");
            return Err(Error::AccessDenied);
        }
        Verification::Match => None,
        Verification::MatchNeedsRehash(hash) => Some(hash),
    };
    let user = user.ok_or(Error::AccessDenied)?;
    account.succeeded(store, true).await?;
    address_reservation.succeeded(store, false).await?;
    store.record_login(user.id, now, rehash.as_deref()).await?;
    let id = Secret::generate();
    let expires_at = now + LIFETIME_SECONDS;
    // The public id of the session (OpenID Connect `sid`) is unrelated to the secret cookie value.
    let sid = Secret::generate().expose()[..22].to_string();
    store.insert_session(&id.digest(), user.id, &sid, now, expires_at).await?;
    Ok(StartedSession { id, user, expires_at })
}

/// Reserves an attempt on the account and on the address, or neither.
async fn reserve_both<S: LoginThrottleStore + ?Sized>(store: &S, account_key: String, address: IpAddr, now: UnixTime) -> Result<(Reservation, Reservation)> {
    let account = throttle::reserve(store, account_key, &throttle::ACCOUNT, now).await?;
    match throttle::reserve(store, throttle::address_key(address), &throttle::ADDRESS, now).await {
        Ok(address) => Ok((account, address)),
        Err(e) => {
            account.cancel(store).await?;
            Err(e)
        }
    }
}

