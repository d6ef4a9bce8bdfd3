//! Sign-in sessions at the provider: a random id in an HttpOnly cookie, its digest in the
//! database (DESIGN §6), so every instance sees the same sessions and a leak reveals none.

use super::clock::UnixTime;
use super::user::UserId;

/// Django's default session lifetime: two weeks.
pub const LIFETIME_SECONDS: i64 = 14 * 24 * 3600;

#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user_id: UserId,
    pub username: String,
    pub is_admin: bool,
    pub auth_time: UnixTime,
    /// The public id of the session (`sid` of OpenID Connect); none for sessions started before
    /// the provider spoke OpenID Connect.
    pub sid: Option<String>,
}
