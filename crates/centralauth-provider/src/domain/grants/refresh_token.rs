//! The refresh token grant (RFC 6749 §6) with rotation, a grace window for concurrent reuse,
//! and revocation of the whole family on a later replay (RFC 9700 §4.14.2).

use super::{IssuedTokens, new_pair};
use crate::domain::application::Application;
use crate::domain::clock::UnixTime;
use crate::domain::scope::Scope;
use crate::domain::secret::SecretDigest;
use crate::domain::{Error, Result};
use crate::domain::ports::{GrantStore, RefreshDecision, RefreshGrant, RefreshOutcome, RefreshRejection};

/// What a refresh token may still do at `now`. The order matters: a dead token is refused
/// before anything else; a replay revokes its family whatever else is wrong with the request;
/// access and scope are checked only for a pair that would be issued.
pub fn judge(grant: &RefreshGrant, now: UnixTime, grace_seconds: i64, requested: Option<&Scope>) -> Result<RefreshDecision, RefreshRejection> {
    if grant.revoked_at.is_some() || grant.family_revoked_at.is_some() {
        return Err(RefreshRejection::Revoked);
    }
    if grant.expires_at <= now {
        return Err(RefreshRejection::Expired);
    }
    let rotate = match grant.rotated_at {
        None => true,
        // Concurrent requests of one browser session: the losers get a further pair of the
        // same family instead of a logout (DESIGN §6).
        Some(rotated_at) if now - rotated_at < grace_seconds => false,
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
    Ok(if rotate { RefreshDecision::Rotate { scope } } else { RefreshDecision::Reissue { scope } })
}

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
    let check = |grant: &RefreshGrant| judge(grant, now, grace_seconds, requested.as_ref());
    match store.rotate_refresh_token(&SecretDigest::of(refresh_token), app.id, now, &check, &digests).await? {
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
        }
    }

    fn scope(raw: &str) -> Scope {
        Scope::from_stored(raw)
    }

    #[test]
    fn a_fresh_token_rotates_with_the_granted_scope_or_a_narrower_one() {
        assert_eq!(judge(&grant(), 100, GRACE, None), Ok(RefreshDecision::Rotate { scope: scope("read write") }));
        assert_eq!(judge(&grant(), 100, GRACE, Some(&scope("read"))), Ok(RefreshDecision::Rotate { scope: scope("read") }));
    }

    #[test]
    fn a_reuse_within_the_grace_window_gets_a_further_pair() {
        let g = RefreshGrant { rotated_at: Some(100), ..grant() };
        assert_eq!(judge(&g, 100, GRACE, None), Ok(RefreshDecision::Reissue { scope: scope("read write") }));
        assert_eq!(judge(&g, 129, GRACE, Some(&scope("write"))), Ok(RefreshDecision::Reissue { scope: scope("write") }));
    }

    #[test]
    fn a_reuse_after_the_grace_window_revokes_the_family_whatever_else_is_wrong() {
        let g = RefreshGrant { rotated_at: Some(100), ..grant() };
        assert_eq!(judge(&g, 130, GRACE, None), Ok(RefreshDecision::RevokeFamily));
        let withdrawn = RefreshGrant { user_active: false, membership_active: None, ..g };
        assert_eq!(judge(&withdrawn, 500, GRACE, Some(&scope("admin"))), Ok(RefreshDecision::RevokeFamily));
        assert_eq!(judge(&RefreshGrant { rotated_at: Some(100), ..grant() }, 101, 0, None), Ok(RefreshDecision::RevokeFamily));
    }

    #[test]
    fn the_scope_must_not_widen() {
        assert_eq!(judge(&grant(), 100, GRACE, Some(&scope("read admin"))), Err(RefreshRejection::ScopeTooWide));
        let reused = RefreshGrant { rotated_at: Some(100), ..grant() };
        assert_eq!(judge(&reused, 110, GRACE, Some(&scope("admin"))), Err(RefreshRejection::ScopeTooWide));
    }

    #[test]
    fn a_deactivated_or_removed_user_or_membership_withdraws_access() {
        for (user_active, membership_active) in [(false, Some(true)), (true, Some(false)), (true, None)] {
            let g = RefreshGrant { user_active, membership_active, ..grant() };
            assert_eq!(judge(&g, 100, GRACE, None), Err(RefreshRejection::AccessWithdrawn));
            let reused = RefreshGrant { rotated_at: Some(100), ..g };
            assert_eq!(judge(&reused, 110, GRACE, None), Err(RefreshRejection::AccessWithdrawn));
        }
    }

    #[test]
    fn expired_or_revoked_tokens_are_refused_even_when_replayed() {
        assert_eq!(judge(&grant(), 1_000, GRACE, None), Err(RefreshRejection::Expired));
        assert_eq!(judge(&RefreshGrant { revoked_at: Some(5), ..grant() }, 100, GRACE, None), Err(RefreshRejection::Revoked));
        let family_revoked = RefreshGrant { family_revoked_at: Some(5), rotated_at: Some(1), ..grant() };
        assert_eq!(judge(&family_revoked, 100, GRACE, None), Err(RefreshRejection::Revoked));
        let expired_replay = RefreshGrant { rotated_at: Some(1), ..grant() };
        assert_eq!(judge(&expired_replay, 2_000, GRACE, None), Err(RefreshRejection::Expired));
    }
}
