//! API tokens of the admin API: random, shown once, acting as their owner. Anyone who
//! administers something holds tokens of their own; only a full administrator revokes others'.

use crate::domain::authz::Administrator;
use crate::domain::ports::{ApiToken, ApiTokenStore, StoreError};
use crate::domain::secret::Secret;
use crate::domain::user::UserId;
use crate::domain::{Error, Result};

/// Whose tokens a revocation may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// The acting administrator's own tokens.
    Own,
    /// Anyone's, for a full administrator (a delegated one is held to their own).
    Any,
}

/// A new API token for `owner`, returned in plain text this once. Only a full administrator
/// makes tokens for someone else.
pub async fn create_api_token<S: ApiTokenStore + ?Sized>(admin: &Administrator, store: &S, owner: UserId, name: &str) -> Result<(ApiToken, Secret)> {
    if !admin.is_administrator() || (!admin.is(owner) && !admin.is_full()) {
        return Err(Error::Forbidden);
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "must be 1 to 100 characters"));
    }
    let secret = Secret::generate();
    Ok((store.insert_api_token(&secret.digest(), name, owner, &admin.actor()).await?, secret))
}

/// Revokes a live token; `NotFound` when there is none with this id within `scope`. Anyone
/// may revoke their own tokens (giving up access widens nothing).
pub async fn revoke_api_token<S: ApiTokenStore + ?Sized>(admin: &Administrator, store: &S, id: i64, scope: TokenScope) -> Result<()> {
    let owner = match scope {
        TokenScope::Any if admin.is_full() => None,
        _ => Some(admin.user_id),
    };
    store.revoke_api_token(id, owner, &admin.actor()).await.map_err(|e| match e {
        StoreError::NotFound => Error::not_found("API token"),
        other => other.into(),
    })
}
