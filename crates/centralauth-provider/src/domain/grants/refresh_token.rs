//! The refresh token grant (RFC 6749 §6) with rotation, a grace window for concurrent reuse,
//! and revocation of the whole family on a later replay (RFC 9700 §4.14.2).

use super::{IssuedTokens, new_pair};
use crate::domain::application::Application;
use crate::domain::clock::UnixTime;
use crate::domain::scope::Scope;
use crate::domain::secret::SecretDigest;
use crate::domain::{Error, Result};
use crate::domain::ports::{GrantStore, RefreshOutcome};

pub async fn refresh(
    store: &dyn GrantStore,
    app: &Application,
    refresh_token: &str,
    requested_scope: Option<&str>,
    grace_seconds: i64,
    now: UnixTime,
) -> Result<IssuedTokens> {
    let requested = match requested_scope.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => Some(Scope::parse_requested(Some(raw)).ok_or(Error::InvalidScope)?),
        None => None,
    };
    let (access, refresh, digests) = new_pair(app, now);
    let outcome =
        store.rotate_refresh_token(&SecretDigest::of(refresh_token), app.id, now, grace_seconds, requested.as_ref(), &digests).await?;
    match outcome {
        // No nonce on refresh (OpenID Connect Core §12.2); auth_time and sid stay the sign-in's.
        RefreshOutcome::Rotated { user_id, scope, auth_time, sid } => Ok(IssuedTokens {
            access_token: access,
            refresh_token: refresh,
            expires_in: app.lifetimes.access_token,
            scope,
            user_id,
            auth_time,
            nonce: None,
            sid,
        }),
        RefreshOutcome::ScopeTooWide => Err(Error::InvalidScope),
        RefreshOutcome::Replayed | RefreshOutcome::AccessWithdrawn | RefreshOutcome::Unknown => Err(Error::invalid_grant()),
    }
}
