//! Signing in at the provider: a password check admitted by the throttle (per account and per
//! client address, reserved before the check: `domain::throttle`), and the same answer for an
//! unknown user and a wrong password (DESIGN §6). A user with a second factor then has a second
//! step to take: the password opens a short-lived sign-in flow, not a session, and the session
//! starts (with a new id) only when the step is done.

use std::net::IpAddr;

use super::clock::UnixTime;
use super::mfa::{Amr, Method};
use super::password::{self, Verification};
use super::secret::{Secret, SecretDigest};
use super::session::{LIFETIME_SECONDS, SessionUser};
use super::throttle::{self, Reservation};
use super::user::User;
use super::{Error, Result};
use crate::domain::ports::{FactorStore, FlowPurpose, LoginThrottleStore, SessionStore, SignInFlow, SignInFlowStore, UserStore};

/// How long a sign-in may wait between its password and its second step.
pub const SECOND_STEP_SECONDS: i64 = 10 * 60;

/// A started session: the plain id goes into the cookie, only its digest into the database.
#[derive(Debug)]
pub struct StartedSession {
    pub id: Secret,
    pub user: User,
    pub expires_at: UnixTime,
}

/// What a right password leads to.
#[derive(Debug)]
pub enum SignedIn {
    /// The user has no second factor: signed in.
    Session(StartedSession),
    /// The user has a second factor: `flow` (for the browser) names the sign-in until the
    /// second step is taken.
    SecondStepDue { flow: Secret, user: User },
}

/// Checks the password. `next` is kept with a second step, for where to go once it is done.
pub async fn sign_in<S: UserStore + SessionStore + LoginThrottleStore + FactorStore + SignInFlowStore + ?Sized>(
    store: &S, identifier: &str, password: &str, address: IpAddr, now: UnixTime, next: &str) -> Result<SignedIn> {
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
    let amr = Amr::of(&[Method::Pwd]);
    if store.list_factors(user.id).await?.is_empty() {
        return Ok(SignedIn::Session(start_session(store, user, &amr, now).await?));
    }
    let flow = Secret::generate();
    let pending = SignInFlow {
        purpose: FlowPurpose::SecondStep,
        user_id: Some(user.id),
        amr,
        state: next.to_string(),
        created_at: now,
        expires_at: now + SECOND_STEP_SECONDS,
    };
    store.insert_flow(&flow.digest(), &pending).await?;
    Ok(SignedIn::SecondStepDue { flow, user })
}

/// Starts a session for a user whose sign-in is complete (a password alone, a password and
/// second step, or a passkey), with a new random id.
pub async fn start_session<S: SessionStore + ?Sized>(store: &S, user: User, amr: &Amr, now: UnixTime) -> Result<StartedSession> {
    let id = Secret::generate();
    let expires_at = now + LIFETIME_SECONDS;
    // The public id of the session (OpenID Connect `sid`) is unrelated to the secret cookie value.
    let sid = Secret::generate().expose()[..22].to_string();
    store.insert_session(&id.digest(), user.id, &sid, amr, now, expires_at).await?;
    Ok(StartedSession { id, user, expires_at })
}

/// A second step taken by a signed-in session (step-up for an application that asks for more,
/// or re-authentication for `max_age`): the session proves `proven` as well, as of `now`, under
/// a new id, which is returned for the cookie. `AccessDenied` when the session has ended.
pub async fn step_up<S: SessionStore + ?Sized>(store: &S, session: &SecretDigest, user: &SessionUser, proven: &Amr, now: UnixTime) -> Result<Secret> {
    let id = Secret::generate();
    let amr = user.amr.with(proven);
    if store.step_up_session(session, &id.digest(), &amr, now, now).await? { Ok(id) } else { Err(Error::AccessDenied) }
}

/// The second step of a sign-in is done: the flow (taken by the caller, so used once) becomes a
/// session proving the flow's methods and `proven`. `AccessDenied` when the user has been
/// deactivated or removed meanwhile.
pub async fn complete_second_step<S: UserStore + SessionStore + ?Sized>(store: &S, flow: &SignInFlow, proven: &Amr, now: UnixTime) -> Result<StartedSession> {
    let user = match flow.user_id {
        Some(id) => store.find_user_by_id(id).await?.filter(|u| u.is_active).ok_or(Error::AccessDenied)?,
        None => return Err(Error::AccessDenied),
    };
    start_session(store, user, &flow.amr.with(proven), now).await
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

