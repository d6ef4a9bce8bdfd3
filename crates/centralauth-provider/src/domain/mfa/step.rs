//! The second step of a sign-in, or a step-up of a signed-in session, with a code: a TOTP code
//! or a recovery code. It has its own attempt budget per account (apart from the password's)
//! and shares the password's budget per client address, both reserved before the code is
//! checked (`domain::throttle`); each failure is audited and logged as a security event.

use std::net::IpAddr;

use super::super::audit::{Actor, AuditEntry};
use super::super::clock::UnixTime;
use super::super::keyring::KeyRing;
use super::super::login::SECOND_STEP_SECONDS;
use super::super::secret::Secret;
use super::super::throttle::{self, Budget, Reservation};
use super::super::user::UserId;
use super::super::{Error, Result};
use super::totp::{TotpSecret, normalize_code};
use super::{Amr, FactorKind, Method, recovery};
use crate::domain::ports::{
    AuditStore, FactorStore, FlowPurpose, LoginThrottleStore, RecoveryCodeStore, SignInFlow, SignInFlowStore, TotpStore, UserStore,
};

/// One account's second steps: five free failures, then a wait doubling from 30 seconds to 15
/// minutes. With the password known, a guesser gets about a hundred tries a day at a code
/// space of a million (three codes valid at once); the user waits at most 15 minutes.
pub const SECOND_STEP: Budget = Budget { free: 5, first_delay: 30, max_delay: 15 * 60, forget_after: 60 * 60 };

/// The budget's key: distinct from the password's (`throttle::account_key`).
pub fn throttle_key(user: UserId) -> String {
    format!("second-step:{}", user.0)
}

/// A code as typed into the second step's form.
#[derive(Debug, Clone, Copy)]
pub enum Code<'a> {
    Totp(&'a str),
    Recovery(&'a str),
}

/// What the user can take a second step with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Methods {
    pub totp: bool,
    pub passkey: bool,
}

pub async fn methods<S: FactorStore + ?Sized>(store: &S, user: UserId) -> Result<Methods> {
    let factors = store.list_factors(user).await?;
    Ok(Methods { totp: factors.iter().any(|f| f.kind == FactorKind::Totp), passkey: factors.iter().any(|f| f.kind == FactorKind::Passkey) })
}

/// Opens a step-up for a signed-in session of `user`: a `SecondStep` flow carrying `next`.
/// Its `amr` is empty (nothing is proven in it yet), which is what tells it from a sign-in's
/// second step (`pwd`): a step-up flow completes only on the session of its user
/// (`login::step_up`), never into a session of its own.
pub async fn begin_step_up<S: SignInFlowStore + ?Sized>(store: &S, user: UserId, next: &str, now: UnixTime) -> Result<Secret> {
    let id = Secret::generate();
    let flow = SignInFlow {
        purpose: FlowPurpose::SecondStep,
        user_id: Some(user),
        amr: Amr::default(),
        state: next.to_string(),
        created_at: now,
        expires_at: now + SECOND_STEP_SECONDS,
    };
    store.insert_flow(&id.digest(), &flow).await?;
    Ok(id)
}

/// Whether a `SecondStep` flow is a step-up of a signed-in session (see [`begin_step_up`]).
pub fn is_step_up(flow: &SignInFlow) -> bool {
    flow.amr.is_empty()
}

/// Checks a code of `user`'s: the methods it proves (`otp`), or `AccessDenied` for a wrong,
/// used or malformed code (counted against the budgets), or `RateLimited`.
pub async fn check_code<S>(store: &S, keys: &KeyRing, user: UserId, code: Code<'_>, address: IpAddr, now: UnixTime) -> Result<Amr>
where
    S: UserStore + FactorStore + TotpStore + RecoveryCodeStore + LoginThrottleStore + AuditStore + ?Sized,
{
    let account = store.find_user_by_id(user).await?.filter(|u| u.is_active).ok_or(Error::AccessDenied)?;
    let (own, per_address) = reserve(store, user, address, now).await?;
    let actor = Actor::User(account.username.clone());
    let right = match verify(store, keys, user, code, &actor, now).await {
        Ok(right) => right,
        Err(e) => {
            // Not checked: no attempt was spent.
            own.cancel(store).await?;
            per_address.cancel(store).await?;
            return Err(e);
        }
    };
    if !right {
        let kind = match code {
            Code::Totp(_) => "totp",
            Code::Recovery(_) => "recovery code",
        };
        tracing::warn!(target: "centralauth::security", event = "second_step_failed", user = user.0, %address, kind, "second step failed: wrong code");
        store.insert_audit(&AuditEntry::new(&actor, "mfa.step_failed", kind).user(user.0)).await?;
        // The reservations stay counted as failures.
        return Err(Error::AccessDenied);
    }
    own.succeeded(store, true).await?;
    per_address.succeeded(store, false).await?;
    Ok(Amr::of(&[Method::Otp]))
}

async fn verify<S: TotpStore + RecoveryCodeStore + ?Sized>(store: &S, keys: &KeyRing, user: UserId, code: Code<'_>, actor: &Actor, now: UnixTime) -> Result<bool> {
    match code {
        Code::Totp(typed) => {
            let Some(typed) = normalize_code(typed) else { return Ok(false) };
            for factor in store.list_totp_factors(user).await? {
                let secret = TotpSecret::unseal(&factor.sealed_secret, keys)?;
                if let Some(step) = secret.matching_step(&typed, now, factor.last_step) {
                    // Of two requests with the same code, only one moves the step forward.
                    if store.claim_totp_step(user, factor.id, step, now).await? {
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        }
        Code::Recovery(typed) => match recovery::digest_of(typed) {
            Some(digest) => Ok(store.consume_recovery_code(user, &digest, now, actor).await?),
            None => Ok(false),
        },
    }
}

/// Reserves an attempt on the account's second-step budget and on the address, or neither.
async fn reserve<S: LoginThrottleStore + ?Sized>(store: &S, user: UserId, address: IpAddr, now: UnixTime) -> Result<(Reservation, Reservation)> {
    let throttled = |e: Error| {
        if let Error::RateLimited { retry_after } = e {
            tracing::warn!(target: "centralauth::security", event = "second_step_throttled", user = user.0, %address, retry_after, "second step refused: too many wrong codes");
        }
        e
    };
    let own = throttle::reserve(store, throttle_key(user), &SECOND_STEP, now).await.map_err(throttled)?;
    match throttle::reserve(store, throttle::address_key(address), &throttle::ADDRESS, now).await {
        Ok(per_address) => Ok((own, per_address)),
        Err(e) => {
            own.cancel(store).await?;
            Err(throttled(e))
        }
    }
}

/// Removes one of the user's own factors (the security page), audited `mfa.remove`; the
/// recovery codes go with the last one. `NotFound` when the user has no such factor.
pub async fn remove_own_factor<S: FactorStore + ?Sized>(store: &S, user: UserId, username: &str, id: i64) -> Result<super::FactorSummary> {
    store.delete_factor(user, id, &Actor::User(username.to_string())).await.map_err(|e| match e {
        crate::domain::ports::StoreError::NotFound => Error::not_found("factor"),
        other => other.into(),
    })
}
