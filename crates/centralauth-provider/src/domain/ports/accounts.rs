//! Ports of accounts: users, browser sessions, sign-in throttling and the admin API's tokens.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::application::ApplicationId;
use crate::domain::audit::Actor;
use crate::domain::clock::UnixTime;
use crate::domain::effects::Withdrawn;
use crate::domain::mfa::Amr;
use crate::domain::secret::SecretDigest;
use crate::domain::session::SessionUser;
use crate::domain::user::{NewUser, User, UserChanges, UserId};

/// Search, filters and keyset pagination of the user list. Without a search the list is in
/// username order from `after_username_key`. A search is a case-insensitive prefix of the
/// username, the e-mail address, the first or the last name, answered best match first (username
/// matches, then e-mail, first name, last name) as one page of at most `limit`, without a cursor:
/// index range scans, so that a page costs the same at a million users however many match.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub search: Option<String>,
    pub active: Option<bool>,
    pub administrator: Option<bool>,
    pub after_username_key: Option<String>,
    pub limit: i64,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user; `Conflict` when the username is taken (case-insensitively).
    async fn insert_user(&self, user: &NewUser, actor: &Actor) -> StoreResult<User>;
    async fn find_user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    /// Looks a user up by username, case-insensitively.
    async fn find_user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    /// Looks a user up by username, or by an e-mail address that exactly one user has.
    async fn find_user_for_login(&self, identifier: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self, query: &UserQuery) -> StoreResult<Vec<User>>;
    /// Applies the changes and writes one audit entry; `NotFound` for an unknown user.
    async fn update_user(&self, id: UserId, changes: &UserChanges, actor: &Actor) -> StoreResult<User>;
    /// Records a successful sign-in, and stores an upgraded password hash when there is one.
    async fn record_login(&self, id: UserId, now: UnixTime, rehashed_password: Option<&str>) -> StoreResult<()>;
    async fn count_administrators(&self) -> StoreResult<i64>;
    /// The applications a delegated administrator manages (empty for everyone else).
    async fn delegated_applications(&self, user: UserId) -> StoreResult<Vec<ApplicationId>>;
    /// Replaces the applications `user` administers; one audit entry.
    async fn set_delegated_applications(&self, user: UserId, apps: &[ApplicationId], actor: &Actor) -> StoreResult<()>;
    /// Ends every session of the user ("sign out everywhere"), as `end_session` does each.
    async fn end_user_sessions(&self, user: UserId, now: UnixTime) -> StoreResult<Vec<EndedSession>>;
    /// An administrator ends every session of the user and, with `revoke_tokens`, revokes their
    /// token families (`effects::user_sessions_ended`), in one transaction with its audit
    /// entry; `NotFound` for an unknown user.
    async fn end_user_access(&self, user: UserId, revoke_tokens: bool, actor: &Actor) -> StoreResult<Withdrawn>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// `sid` is the session's public id (OpenID Connect's `sid` claim); `id` the cookie's digest;
    /// `amr` what the sign-in proved.
    async fn insert_session(&self, id: &SecretDigest, user: UserId, sid: &str, amr: &Amr, now: UnixTime, expires_at: UnixTime) -> StoreResult<()>;
    /// A step-up: the live session `old` gets the id `new` (a new session id after each step)
    /// and proves `amr` as of `auth_time`, keeping its `sid` and expiry. False when `old` is no
    /// longer live.
    async fn step_up_session(&self, old: &SecretDigest, new: &SecretDigest, amr: &Amr, auth_time: UnixTime, now: UnixTime) -> StoreResult<bool>;
    /// The session's user, if the session is live and the user active.
    async fn find_session(&self, id: &SecretDigest, now: UnixTime) -> StoreResult<Option<SessionUser>>;
    async fn delete_session(&self, id: &SecretDigest) -> StoreResult<()>;
    /// Signs out, in one transaction: deletes the session, revokes the grants made in it
    /// (except `offline_access` ones, which outlive the session by definition) and queues a
    /// logout token for every application that had one. `None` when there was no session.
    async fn end_session(&self, id: &SecretDigest, now: UnixTime) -> StoreResult<Option<EndedSession>>;
}

#[derive(Debug, Clone)]
pub struct EndedSession {
    pub user_id: UserId,
    pub sid: Option<String>,
    /// Applications told by a queued logout token.
    pub notified: Vec<ApplicationId>,
}

/// Password attempts counted per key (an account or a client address) for rate limiting
/// (`domain::throttle`).
#[async_trait]
pub trait LoginThrottleStore: Send + Sync {
    async fn find_throttle(&self, key: &str) -> StoreResult<Option<ThrottleState>>;
    /// Compare-and-set: stores `new` only if the key is still as `seen` (`None`: no row), in one
    /// atomic statement; false when another attempt changed it first.
    async fn swap_throttle(&self, key: &str, seen: Option<ThrottleState>, new: ThrottleState) -> StoreResult<bool>;
    async fn clear_throttle(&self, key: &str) -> StoreResult<()>;
}

/// The attempts counted under one throttle key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    pub failures: i64,
    pub last_attempt_at: UnixTime,
}

/// API tokens of the JSON admin API: random, stored as digests, acting as their owner.
#[async_trait]
pub trait ApiTokenStore: Send + Sync {
    async fn insert_api_token(&self, token: &NewApiToken, actor: &Actor) -> StoreResult<ApiToken>;
    async fn list_api_tokens(&self, owner: Option<UserId>) -> StoreResult<Vec<ApiToken>>;
    /// Revokes a token; `NotFound` when there is no live token with this id (of `owner`, if given).
    async fn revoke_api_token(&self, id: i64, owner: Option<UserId>, actor: &Actor) -> StoreResult<()>;
    /// The token with this digest, revoked or not, and its owner, active or not: the domain
    /// judges (and the log says) why a token is refused.
    async fn find_api_token(&self, digest: &SecretDigest) -> StoreResult<Option<(ApiToken, User)>>;
    /// Sets the token's last use to `now` unless it was set less than `resolution` seconds
    /// before (one write per token and period, not one per request).
    async fn record_api_token_use(&self, id: i64, now: UnixTime, resolution: i64) -> StoreResult<()>;
}

/// What a new token is stored with; the domain has checked every field.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub digest: SecretDigest,
    pub name: String,
    pub owner: UserId,
    pub expires_at: Option<UnixTime>,
    pub read_only: bool,
    /// `Some`: the token reaches only these applications (within its owner's).
    pub applications: Option<Vec<ApplicationId>>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub owner: UserId,
    pub owner_username: String,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// `None`: never (only tokens made before expiry existed, or asked for by an administrator).
    pub expires_at: Option<UnixTime>,
    /// Up to [`crate::domain::admin::api_tokens::LAST_USED_RESOLUTION`] seconds behind.
    pub last_used_at: Option<UnixTime>,
    /// Reads only: `GET` requests of the admin API.
    pub read_only: bool,
    /// `Some`: limited to these applications, as a delegated administrator of them.
    pub applications: Option<Vec<TokenApplication>>,
}

/// An application a token is limited to, named for lists.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenApplication {
    pub id: ApplicationId,
    pub client_id: String,
}
