//! Sign-in sessions at the provider: a random id in an HttpOnly cookie, its digest in the
//! database (DESIGN §6), so every instance sees the same sessions and a leak reveals none.

use super::Result;
use super::clock::UnixTime;
use super::mfa::Amr;
use super::secret::SecretDigest;
use super::user::UserId;
use crate::domain::ports::{EndedSession, SessionStore, UserStore};

/// Django's default session lifetime: two weeks.
pub const LIFETIME_SECONDS: i64 = 14 * 24 * 3600;

#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user_id: UserId,
    pub username: String,
    pub is_admin: bool,
    pub auth_time: UnixTime,
    /// What the session has proven (RFC 8176), as of `auth_time`.
    pub amr: Amr,
    /// The public id of the session (`sid` of OpenID Connect); none for sessions started before
    /// the provider spoke OpenID Connect.
    pub sid: Option<String>,
}

/// Signs the browser's session out (the cookie's digest): deletes it, revokes the grants made
/// in it and tells the applications signed in through it (back-channel logout), in one
/// transaction. `None` when there was no such session.
pub async fn sign_out<S: SessionStore + ?Sized>(store: &S, session: &SecretDigest, now: UnixTime) -> Result<Option<EndedSession>> {
    Ok(store.end_session(session, now).await?)
}

/// Ends every session of the user, as [`sign_out`] does each ("sign out everywhere").
pub async fn sign_out_everywhere<S: UserStore + ?Sized>(store: &S, user: UserId, now: UnixTime) -> Result<Vec<EndedSession>> {
    Ok(store.end_user_sessions(user, now).await?)
}

/// Drops a session that a new sign-in replaces (session fixation), without signing anything
/// out: the same browser signs in again at once.
pub async fn discard<S: SessionStore + ?Sized>(store: &S, session: &SecretDigest) -> Result<()> {
    Ok(store.delete_session(session).await?)
}
