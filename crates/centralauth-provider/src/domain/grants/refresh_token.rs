//! The refresh token grant (RFC 6749 §6) with rotation, a grace window for concurrent reuse
//! (which answers the pair already issued), revocation of the whole family on a later replay
//! (RFC 9700 §4.14.2), and an absolute end of every chain of refreshes.

use super::{IssuedTokens, successor_pair};
use crate::domain::application::Application;
use crate::domain::clock::UnixTime;
use crate::domain::scope::Scope;
use crate::domain::secret::{MacKey, SecretDigest};
use crate::domain::{Error, Result};
use crate::domain::ports::{GrantStore, RefreshDecision, RefreshGrant, RefreshOutcome, RefreshRejection};

/// Default of `RefreshPolicy::chain_max_seconds`: 90 days, like Keycloak's "SSO Session Max"
/// spirit but for one application's chain; then the user signs in again.
pub const DEFAULT_CHAIN_MAX_SECONDS: i64 = 90 * 24 * 3600;

/// The installation's rules for refresh tokens (`centralauth serve` settings).
#[derive(Debug, Clone, Copy)]
pub struct RefreshPolicy {
    /// Seconds in which a rotated token may be presented again (concurrent requests).
    pub grace_seconds: i64,
    /// Seconds from the original authorization (the code exchange) after which no refresh of its
    /// chain succeeds, however often it was rotated.
    pub chain_max_seconds: i64,
}

/// What a refresh token may still do at `now`. The order matters: a dead token is refused
/// before anything else; a replay revokes its family whatever else is wrong with the request;
/// access and scope are checked only for a pair that would be issued.
pub fn judge(
    grant: &RefreshGrant,
    now: UnixTime,
    policy: RefreshPolicy,
    refresh_lifetime: i64,
    requested: Option<&Scope>,
) -> Result<RefreshDecision, RefreshRejection> {
    if grant.revoked_at.is_some() || grant.family_revoked_at.is_some() {
        return Err(RefreshRejection::Revoked);
    }
    let chain_ends_at = grant.family_created_at + policy.chain_max_seconds;
    if grant.expires_at <= now || chain_ends_at <= now {
        return Err(RefreshRejection::Expired);
    }
    let rotate = match grant.rotated_at {
        None => true,
        // Concurrent requests of one browser session: the losers get the pair the winner got
        // instead of a logout (DESIGN §6).
        Some(rotated_at) if now - rotated_at < policy.grace_seconds => false,
        Some(_) => return Ok(RefreshDecision::RevokeFamily),
    };
    // A refresh re-checks access: no refresh for a deactivated user or membership.
    if !super::access_stands(grant.user_active, grant.membership_active) {
        return Err(RefreshRejection::AccessWithdrawn);
    }
    // RFC 6749 §6: the requested scope must not include any scope not originally granted.
    let scope = match requested {
        Some(requested) if !requested.is_subset_of(&grant.scope) => return Err(RefreshRejection::ScopeTooWide),
        Some(requested) => requested.clone(),
        None => grant.scope.clone(),
    };
    // No refresh token outlives its chain, so introspection never calls one active past its end.
    let refresh_expires_at = (now + refresh_lifetime).min(chain_ends_at);
    Ok(if rotate { RefreshDecision::Rotate { scope, refresh_expires_at } } else { RefreshDecision::Reissue { scope, refresh_expires_at } })
}

pub async fn refresh(
    store: &dyn GrantStore,
    app: &Application,
    refresh_token: &str,
    requested_scope: Option<&str>,
    policy: RefreshPolicy,
    key: &MacKey,
    now: UnixTime,
) -> Result<IssuedTokens> {
    let requested = match requested_scope.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => Some(Scope::parse_requested(Some(raw)).ok_or(Error::InvalidScope)?),
        None => None,
    };
    let (access, refresh, digests) = successor_pair(app, key, refresh_token, now);
    let check = |grant: &RefreshGrant| judge(grant, now, policy, app.lifetimes.refresh_token, requested.as_ref());
    match store.rotate_refresh_token(&SecretDigest::of(refresh_token), app.id, now, &check, &digests).await? {
        // No nonce on refresh (OpenID Connect Core §12.2); auth_time, sid and amr stay the
        // sign-in's: a refresh authenticates nobody.
        RefreshOutcome::Rotated { user_id, scope, access_expires_at, auth_time, sid, amr } => Ok(IssuedTokens {
            access_token: access,
            refresh_token: refresh,
            // A reissued pair is as old as its first issue.
            expires_in: (access_expires_at - now).max(0),
            scope,
            user_id,
            auth_time,
            nonce: None,
            sid,
            amr,
        }),
        RefreshOutcome::Rejected(RefreshRejection::ScopeTooWide) => Err(Error::InvalidScope),
        RefreshOutcome::Rejected(RefreshRejection::Expired | RefreshRejection::Revoked | RefreshRejection::AccessWithdrawn)
        | RefreshOutcome::Replayed
        | RefreshOutcome::Unknown => Err(Error::invalid_grant()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::UserId;

    const GRACE: i64 = 30;
    const LIFETIME: i64 = 900;

    fn policy(grace_seconds: i64) -> RefreshPolicy {
        RefreshPolicy { grace_seconds, chain_max_seconds: 5_000 }
    }

    fn rotate(scope: Scope, now: UnixTime) -> RefreshDecision {
        RefreshDecision::Rotate { scope, refresh_expires_at: now + LIFETIME }
    }

    fn reissue(scope: Scope, now: UnixTime) -> RefreshDecision {
        RefreshDecision::Reissue { scope, refresh_expires_at: now + LIFETIME }
    }

    fn grant() -> RefreshGrant {
        RefreshGrant {
            scope: Scope::from_stored("read write"),
            expires_at: 1_000,
            rotated_at: None,
            revoked_at: None,
            family_revoked_at: None,
            user_id: UserId(1),
            user_active: true,
            membership_active: Some(true),
            auth_time: 10,
            sid: None,
            amr: crate::domain::mfa::Amr::default(),
            family_created_at: 0,
        }
    }

    fn scope(raw: &str) -> Scope {
        Scope::from_stored(raw)
    }

    #[test]
    fn a_fresh_token_rotates_with_the_granted_scope_or_a_narrower_one() {
        assert_eq!(judge(&grant(), 100, policy(GRACE), LIFETIME, None), Ok(rotate(scope("read write"), 100)));
        assert_eq!(judge(&grant(), 100, policy(GRACE), LIFETIME, Some(&scope("read"))), Ok(rotate(scope("read"), 100)));
    }

    #[test]
    fn a_reuse_within_the_grace_window_gets_a_further_pair() {
        let g = RefreshGrant { rotated_at: Some(100), ..grant() };
        assert_eq!(judge(&g, 100, policy(GRACE), LIFETIME, None), Ok(reissue(scope("read write"), 100)));
        assert_eq!(judge(&g, 129, policy(GRACE), LIFETIME, Some(&scope("write"))), Ok(reissue(scope("write"), 129)));
    }

    #[test]
    fn a_reuse_after_the_grace_window_revokes_the_family_whatever_else_is_wrong() {
        let g = RefreshGrant { rotated_at: Some(100), ..grant() };
        assert_eq!(judge(&g, 130, policy(GRACE), LIFETIME, None), Ok(RefreshDecision::RevokeFamily));
        let withdrawn = RefreshGrant { user_active: false, membership_active: None, ..g };
        assert_eq!(judge(&withdrawn, 500, policy(GRACE), LIFETIME, Some(&scope("admin"))), Ok(RefreshDecision::RevokeFamily));
        assert_eq!(judge(&RefreshGrant { rotated_at: Some(100), ..grant() }, 101, policy(0), LIFETIME, None), Ok(RefreshDecision::RevokeFamily));
    }

    #[test]
    fn the_scope_must_not_widen() {
        assert_eq!(judge(&grant(), 100, policy(GRACE), LIFETIME, Some(&scope("read admin"))), Err(RefreshRejection::ScopeTooWide));
        let reused = RefreshGrant { rotated_at: Some(100), ..grant() };
        assert_eq!(judge(&reused, 110, policy(GRACE), LIFETIME, Some(&scope("admin"))), Err(RefreshRejection::ScopeTooWide));
    }

    #[test]
    fn a_deactivated_or_removed_user_or_membership_withdraws_access() {
        for (user_active, membership_active) in [(false, Some(true)), (true, Some(false)), (true, None)] {
            let g = RefreshGrant { user_active, membership_active, ..grant() };
            assert_eq!(judge(&g, 100, policy(GRACE), LIFETIME, None), Err(RefreshRejection::AccessWithdrawn));
            let reused = RefreshGrant { rotated_at: Some(100), ..g };
            assert_eq!(judge(&reused, 110, policy(GRACE), LIFETIME, None), Err(RefreshRejection::AccessWithdrawn));
        }
    }

    #[test]
    fn expired_or_revoked_tokens_are_refused_even_when_replayed() {
        assert_eq!(judge(&grant(), 1_000, policy(GRACE), LIFETIME, None), Err(RefreshRejection::Expired));
        assert_eq!(judge(&RefreshGrant { revoked_at: Some(5), ..grant() }, 100, policy(GRACE), LIFETIME, None), Err(RefreshRejection::Revoked));
        let family_revoked = RefreshGrant { family_revoked_at: Some(5), rotated_at: Some(1), ..grant() };
        assert_eq!(judge(&family_revoked, 100, policy(GRACE), LIFETIME, None), Err(RefreshRejection::Revoked));
        let expired_replay = RefreshGrant { rotated_at: Some(1), ..grant() };
        assert_eq!(judge(&expired_replay, 2_000, policy(GRACE), LIFETIME, None), Err(RefreshRejection::Expired));
    }

    #[test]
    fn a_chain_ends_at_its_maximum_age_however_often_it_was_rotated() {
        let young = RefreshGrant { family_created_at: 0, expires_at: 10_000, ..grant() };
        // A pair issued near the end expires with the chain, not a full lifetime later.
        assert_eq!(judge(&young, 4_500, policy(GRACE), LIFETIME, None), Ok(RefreshDecision::Rotate { scope: scope("read write"), refresh_expires_at: 5_000 }));
        assert_eq!(judge(&young, 5_000, policy(GRACE), LIFETIME, None), Err(RefreshRejection::Expired));
        let rotated = RefreshGrant { rotated_at: Some(4_999), ..young };
        assert_eq!(judge(&rotated, 5_001, policy(GRACE), LIFETIME, None), Err(RefreshRejection::Expired));
    }
}
