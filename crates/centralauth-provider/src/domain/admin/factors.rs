//! Users' second factors and passkeys as administrators see them: list, remove one, reset all.
//! Full administrators only (a delegated administrator manages no account). An administrator's
//! removal ends the user's sessions, as an administrator's password change does (DESIGN §6):
//! a session keeps the methods it proved (`amr`), and one that proved a factor now gone (lost
//! or stolen, the usual reason for a removal) must not go on claiming it. Application tokens
//! issued in those sessions go with them, as at sign-out; `offline_access` ones stay.

use crate::domain::authz::Administrator;
use crate::domain::mfa::FactorSummary;
use crate::domain::ports::{FactorStore, StoreError, UserStore};
use crate::domain::user::UserId;
use crate::domain::{Error, Result};

/// The user's factors, oldest first: kind, name, created, last used; never a secret.
pub async fn list_factors<S: FactorStore + ?Sized>(admin: &Administrator, store: &S, user: UserId) -> Result<Vec<FactorSummary>> {
    admin.require_full()?;
    Ok(store.list_factors(user).await?)
}

/// Removes one of the user's factors (audited `mfa.remove`; with the last factor go the recovery
/// codes) and ends the user's sessions. `NotFound` for a factor that is not this user's.
pub async fn remove_factor<S: FactorStore + UserStore + ?Sized>(admin: &Administrator, store: &S, user: UserId, factor: i64) -> Result<FactorSummary> {
    admin.require_full()?;
    if !store.list_factors(user).await?.iter().any(|f| f.id == factor) {
        return Err(Error::not_found("factor"));
    }
    end_sessions(admin, store, user).await?;
    store.delete_factor(user, factor, &admin.actor()).await.map_err(|e| match e {
        StoreError::NotFound => Error::not_found("factor"),
        other => other.into(),
    })
}

/// Removes all of the user's factors and recovery codes (audited `mfa.reset`) and, when there
/// were any, ends the user's sessions; the factors removed. The user signs in with the password
/// alone until they enrol again (and is asked to at once where a policy requires a factor).
pub async fn reset_factors<S: FactorStore + UserStore + ?Sized>(admin: &Administrator, store: &S, user: UserId) -> Result<Vec<FactorSummary>> {
    admin.require_full()?;
    if !store.list_factors(user).await?.is_empty() {
        end_sessions(admin, store, user).await?;
    }
    Ok(store.delete_all_factors(user, &admin.actor()).await?)
}

/// Ends the sessions before the factors go: should the removal then fail, the user is signed
/// out with their factors intact (safe, and a retry completes it), never the other way round.
async fn end_sessions<S: UserStore + ?Sized>(admin: &Administrator, store: &S, user: UserId) -> Result<()> {
    store.end_user_access(user, false, &admin.actor()).await?;
    Ok(())
}
