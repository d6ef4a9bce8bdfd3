//! Storage behind narrow traits that speak domain types only. One SQL implementation serves
//! SQLite and PostgreSQL (see `sql/`), chosen once from the database URL by [`connect`].

mod errors;
mod point;
mod postgres;
mod sqlite;
mod epoch_cache;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::application::{Application, ApplicationId, NewApplication};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::clock::UnixTime;
use crate::domain::django_import::{DjangoExport, ImportReport, ImportSettings, Progress};
use crate::domain::membership::{Group, GroupId, Membership, MembershipFlags, MembershipSpec};
use crate::domain::permission::{Declared, Permission, PermissionId, PermissionKey, SyncCounts};
use crate::domain::oidc::EventKind;
use crate::domain::scope::Scope;
use crate::domain::signing::StoredKey;
use crate::domain::secret::SecretDigest;
use crate::domain::session::SessionUser;
use crate::domain::user::{NewUser, User, UserChanges, UserId};

/// Storage failures, mapped from the driver's errors in one place (`sql::map_err`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0} already exists")]
    Conflict(String),
    /// A reference the rules forbid (a permission of another application).
    #[error("invalid reference: {0}")]
    Invalid(String),
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

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
pub trait UserStore {
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
}

#[async_trait]
pub trait ApplicationStore {
    /// Creates an application; `Conflict` when the client id is taken.
    async fn insert_application(&self, app: &NewApplication, actor: &Actor) -> StoreResult<Application>;
    async fn find_application_by_client_id(&self, client_id: &str) -> StoreResult<Option<Application>>;
    async fn list_applications(&self) -> StoreResult<Vec<Application>>;
    /// Stores every editable field of `app` (name, secret digest, redirect URIs, options).
    async fn update_application(&self, app: &Application, actor: &Actor) -> StoreResult<Application>;
    async fn find_application_by_id(&self, id: ApplicationId) -> StoreResult<Option<Application>>;
    /// What goes with the application when it is deleted.
    async fn application_usage(&self, id: ApplicationId) -> StoreResult<ApplicationUsage>;
    /// Deletes the application with its permissions, groups, memberships and grants; one audit entry.
    async fn delete_application(&self, id: ApplicationId, actor: &Actor) -> StoreResult<ApplicationUsage>;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplicationUsage {
    pub permissions: i64,
    pub groups: i64,
    pub memberships: i64,
    pub active_grants: i64,
}

#[async_trait]
pub trait PermissionStore {
    async fn list_permissions(&self, app: ApplicationId) -> StoreResult<Vec<Permission>>;
    /// Makes the application's permission set equal to `declared` in one transaction: creates
    /// new ones, renames changed ones, deletes the rest with their grants; one audit entry.
    async fn sync_permissions(&self, app: ApplicationId, declared: Vec<Declared>, synced: u64, actor: &Actor) -> StoreResult<SyncCounts>;
    /// The permissions of `app` among `keys`; unknown keys are simply absent.
    async fn find_permissions(&self, app: ApplicationId, keys: &[PermissionKey]) -> StoreResult<Vec<Permission>>;
    /// Each permission of `app` with the groups that hold it and how many members hold it directly.
    async fn permission_usage(&self, app: ApplicationId) -> StoreResult<Vec<PermissionUsage>>;
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PermissionUsage {
    pub permission: Permission,
    pub groups: Vec<String>,
    pub direct_members: i64,
}

#[async_trait]
pub trait GroupStore {
    /// Creates a group; `Conflict` when the name is taken in the application. Every permission
    /// must belong to the group's application.
    async fn insert_group(&self, app: ApplicationId, name: &str, permissions: &[PermissionId], actor: &Actor) -> StoreResult<Group>;
    async fn list_groups(&self, app: ApplicationId) -> StoreResult<Vec<Group>>;
    /// Renames the group and replaces its permissions (all of `app`); members whose effective
    /// permissions change are told (access-change events). `NotFound` for a group of another app.
    async fn update_group(&self, app: ApplicationId, group: GroupId, name: &str, permissions: &[PermissionId], actor: &Actor)
    -> StoreResult<Group>;
    /// Deletes the group (its members lose what it gave); `NotFound` for a group of another app.
    async fn delete_group(&self, app: ApplicationId, group: GroupId, actor: &Actor) -> StoreResult<()>;
    /// The users whose membership in `app` includes the group, by username.
    async fn group_members(&self, app: ApplicationId, group: GroupId) -> StoreResult<Vec<User>>;
    /// Makes exactly `members` (users with a membership in `app`) the group's members.
    async fn set_group_members(&self, app: ApplicationId, group: GroupId, members: &[UserId], actor: &Actor) -> StoreResult<()>;
    /// Creates (`group` none) or changes a group and, when `members` is given, makes exactly them
    /// its members: one transaction, one audit entry.
    async fn save_group_with_members(
        &self,
        app: ApplicationId,
        group: Option<GroupId>,
        name: &str,
        permissions: &[PermissionId],
        members: Option<&[UserId]>,
        actor: &Actor,
    ) -> StoreResult<Group>;
}

#[async_trait]
pub trait MembershipStore {
    async fn find_membership(&self, app: ApplicationId, user: UserId) -> StoreResult<Option<Membership>>;
    /// Creates a membership; `Conflict` when one exists. Groups and permissions must belong to
    /// the membership's application.
    async fn insert_membership(&self, spec: &MembershipSpec, actor: &Actor) -> StoreResult<Membership>;
    /// Replaces flags, groups and direct permissions of an existing membership.
    async fn update_membership(&self, spec: &MembershipSpec, actor: &Actor) -> StoreResult<Membership>;
    /// Deletes a membership; `NotFound` when there is none.
    async fn delete_membership(&self, app: ApplicationId, user: UserId, actor: &Actor) -> StoreResult<()>;
    /// Who the user is to the application: their account, membership flags and effective
    /// permissions; `None` when there is no membership.
    async fn membership_view(&self, app: ApplicationId, user: UserId) -> StoreResult<Option<MembershipView>>;
    /// The members of `app`, by username, searched and paged like the user list.
    async fn list_memberships(&self, app: ApplicationId, query: &UserQuery) -> StoreResult<Vec<MemberSummary>>;
    /// Every membership of the user, with its application, by application name.
    async fn memberships_of_user(&self, user: UserId) -> StoreResult<Vec<UserMembership>>;
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MemberSummary {
    pub user: User,
    pub flags: MembershipFlags,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct UserMembership {
    pub application: Application,
    pub flags: MembershipFlags,
}

/// A user as one application sees them (`/user/`).
#[derive(Debug, Clone)]
pub struct MembershipView {
    pub user: User,
    pub flags: MembershipFlags,
    pub permissions: Vec<PermissionKey>,
}

/// A stored authorization code, as the token endpoint needs it.
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub application_id: ApplicationId,
    pub user_id: UserId,
    pub redirect_uri: String,
    pub scope: Scope,
    pub code_challenge: Option<String>,
    pub expires_at: UnixTime,
}

#[derive(Debug, Clone)]
pub struct NewAuthorizationCode {
    pub digest: SecretDigest,
    pub grant: CodeGrant,
    pub auth_time: UnixTime,
    /// The authorization request's `nonce`, for the id_token.
    pub nonce: Option<String>,
    /// The provider session's public id, for the id_token and back-channel logout.
    pub sid: Option<String>,
}

/// Digests and expiries of an access/refresh token pair about to be issued.
#[derive(Debug, Clone)]
pub struct NewTokenPair {
    pub access: SecretDigest,
    pub access_expires_at: UnixTime,
    pub refresh: SecretDigest,
    pub refresh_expires_at: UnixTime,
}

/// Why a consumed code may not become tokens; decided by the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRejection {
    Expired,
    RedirectUriMismatch,
    PkceFailed,
}

#[derive(Debug)]
pub enum CodeExchange {
    Issued {
        user_id: UserId,
        scope: Scope,
        auth_time: UnixTime,
        nonce: Option<String>,
        sid: Option<String>,
    },
    Rejected(CodeRejection),
    /// The code had been used before: the tokens issued from it are now revoked.
    Replayed,
    /// No such code for this application.
    Unknown,
}

#[derive(Debug)]
pub enum RefreshOutcome {
    Rotated {
        user_id: UserId,
        scope: Scope,
        auth_time: UnixTime,
        sid: Option<String>,
    },
    /// Used again after the grace window: the whole token family is now revoked.
    Replayed,
    /// The user or their membership was deactivated or removed.
    AccessWithdrawn,
    ScopeTooWide,
    Unknown,
}

/// An active token as introspection and `/user/` see it.
#[derive(Debug, Clone)]
pub struct ActiveToken {
    pub application_id: ApplicationId,
    pub client_id: String,
    pub user_id: UserId,
    pub username: String,
    pub scope: Scope,
    pub expires_at: Option<UnixTime>,
    pub kind: TokenKind,
}

/// An active access token with its user's membership view (`None`: no membership).
#[derive(Debug, Clone)]
pub struct TokenView {
    pub application_id: ApplicationId,
    pub user_id: UserId,
    pub scope: Scope,
    pub view: Option<Arc<MembershipView>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access_token",
            Self::Refresh => "refresh_token",
        }
    }
}

/// The single-use and rotation guarantees live here, enforced by conditional updates inside
/// transactions so that they hold across provider instances (DESIGN §5).
#[async_trait]
pub trait GrantStore {
    async fn insert_authorization_code(&self, code: &NewAuthorizationCode) -> StoreResult<()>;
    /// Consumes the code (once, ever), lets `check` judge it, and issues `tokens` as a new token
    /// family, all in one transaction. A second use revokes that family.
    async fn exchange_authorization_code(
        &self,
        code: &SecretDigest,
        app: ApplicationId,
        now: UnixTime,
        check: &(dyn for<'g> Fn(&'g CodeGrant) -> Result<(), CodeRejection> + Send + Sync),
        tokens: &NewTokenPair,
    ) -> StoreResult<CodeExchange>;
    /// Rotates a refresh token: the old one stops working (after `grace_seconds`, in which a
    /// reuse gets a further pair of the same family), its access token is revoked.
    async fn rotate_refresh_token(
        &self,
        refresh: &SecretDigest,
        app: ApplicationId,
        now: UnixTime,
        grace_seconds: i64,
        requested_scope: Option<&Scope>,
        tokens: &NewTokenPair,
    ) -> StoreResult<RefreshOutcome>;
    async fn find_active_access_token(&self, token: &SecretDigest, now: UnixTime) -> StoreResult<Option<ActiveToken>>;
    /// The active access token with this digest and its user as the token's application sees
    /// them, from memory while nothing they depend on changed (`epoch_cache`): what `/user/`
    /// and userinfo answer from.
    async fn access_token_view(&self, token: &SecretDigest, now: UnixTime) -> StoreResult<Option<TokenView>>;
    async fn find_active_refresh_token(&self, token: &SecretDigest, now: UnixTime) -> StoreResult<Option<ActiveToken>>;
    /// Revokes an access token, or a refresh token with its whole family, if it belongs to
    /// `app`. Returns whether anything was revoked.
    async fn revoke_token(&self, token: &SecretDigest, app: ApplicationId, now: UnixTime) -> StoreResult<bool>;
}

#[async_trait]
pub trait SessionStore {
    /// `sid` is the session's public id (OpenID Connect's `sid` claim); `id` the cookie's digest.
    async fn insert_session(&self, id: &SecretDigest, user: UserId, sid: &str, now: UnixTime, expires_at: UnixTime) -> StoreResult<()>;
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

/// The signing keys, shared by every instance (DESIGN §5).
#[async_trait]
pub trait KeyStore {
    /// Adds a key when the algorithm has no active one yet (first start); returns whether it did.
    async fn insert_first_signing_key(&self, key: &StoredKey) -> StoreResult<bool>;
    /// Adds `key` and retires the other keys of its algorithm: they sign no more and leave the
    /// JWKS at `retired_keys_expire_at`. One transaction and one audit entry.
    async fn rotate_signing_key(&self, key: &StoredKey, now: UnixTime, retired_keys_expire_at: UnixTime, actor: &Actor) -> StoreResult<()>;
    /// The newest key of the algorithm that is not retired.
    async fn active_signing_key(&self, algorithm: &str) -> StoreResult<Option<StoredKey>>;
    /// Every key still published (active, or retired and not yet expired), newest first.
    async fn published_signing_keys(&self, now: UnixTime) -> StoreResult<Vec<StoredKey>>;
}

/// A queued back-channel delivery, with what it takes to sign and send it.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    pub id: i64,
    pub client_id: String,
    pub uri: String,
    pub signing_alg: String,
    pub kind: EventKind,
    pub subject: String,
    pub sid: Option<String>,
    pub jti: String,
    pub created_at: UnixTime,
    pub attempts: i64,
}

/// The outbox of back-channel deliveries: rows are written in the transaction of the change
/// they announce, so that none is lost, and survive restarts until delivered or given up.
#[async_trait]
pub trait EventStore {
    /// Leases up to `limit` due deliveries until `lease_until`, so that another instance does not
    /// send them at the same time.
    async fn claim_due_events(&self, now: UnixTime, lease_until: UnixTime, limit: i64) -> StoreResult<Vec<PendingEvent>>;
    /// Removes a delivery that arrived or was given up.
    async fn finish_event(&self, id: i64) -> StoreResult<()>;
    async fn retry_event(&self, id: i64, attempts: i64, next_attempt_at: UnixTime, error: &str) -> StoreResult<()>;
    async fn count_pending_events(&self) -> StoreResult<i64>;
}

/// Failed sign-ins, counted per key (an account or a client address) for rate limiting.
#[async_trait]
pub trait LoginThrottleStore {
    async fn record_login_failure(&self, keys: &[String], now: UnixTime) -> StoreResult<()>;
    async fn count_login_failures(&self, key: &str, since: UnixTime) -> StoreResult<i64>;
    async fn clear_login_failures(&self, key: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait AuditStore {
    /// Writes an entry on its own, for changes that are not a store write (a secret shown).
    async fn insert_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    async fn recent_audit(&self, limit: i64) -> StoreResult<Vec<AuditRecord>>;
    /// Entries matching the filter, newest first, paged by id.
    async fn query_audit(&self, query: &AuditQuery) -> StoreResult<Vec<AuditRecord>>;
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// An actor label (`user:alice`, `cli:root`, …).
    pub actor: Option<String>,
    pub application_id: Option<ApplicationId>,
    pub user_id: Option<UserId>,
    /// Only entries older than this id (the next page).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// API tokens of the JSON admin API: random, stored as digests, acting as their owner.
#[async_trait]
pub trait ApiTokenStore {
    async fn insert_api_token(&self, digest: &SecretDigest, name: &str, owner: UserId, actor: &Actor) -> StoreResult<ApiToken>;
    async fn list_api_tokens(&self, owner: Option<UserId>) -> StoreResult<Vec<ApiToken>>;
    /// Revokes a token; `NotFound` when there is no live token with this id (of `owner`, if given).
    async fn revoke_api_token(&self, id: i64, owner: Option<UserId>, actor: &Actor) -> StoreResult<()>;
    /// The live token with this digest and its owner, if the owner is active.
    async fn find_api_token(&self, digest: &SecretDigest) -> StoreResult<Option<(ApiToken, User)>>;
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub owner: UserId,
    pub owner_username: String,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub application_id: Option<i64>,
    pub user_id: Option<i64>,
    pub at: UnixTime,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[async_trait]
pub trait MaintenanceStore {
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Deletes at most `batch` expired rows of each kind; returns how many went.
    async fn purge_expired(&self, now: UnixTime, batch: i64) -> StoreResult<u64>;
    async fn ping(&self) -> StoreResult<()>;
}

#[async_trait]
pub trait ImportStore {
    /// Merges a django-centralauth installation into this database in one transaction: loads
    /// what is here, lets [`crate::domain::django_import::plan`] decide, and, unless the
    /// settings ask for a dry run, writes the plan with its import records and audit entries.
    /// A failure leaves nothing written.
    async fn import_django(
        &self,
        export: &DjangoExport,
        settings: &ImportSettings,
        actor: &Actor,
        progress: &dyn Progress,
    ) -> StoreResult<ImportReport>;
}

/// Everything the provider stores.
pub trait Store:
    UserStore
    + ApplicationStore
    + PermissionStore
    + GroupStore
    + MembershipStore
    + GrantStore
    + SessionStore
    + LoginThrottleStore
    + AuditStore
    + MaintenanceStore
    + ImportStore
    + KeyStore
    + EventStore
    + ApiTokenStore
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: UserStore
        + ApplicationStore
        + PermissionStore
        + GroupStore
        + MembershipStore
        + GrantStore
        + SessionStore
        + LoginThrottleStore
        + AuditStore
        + MaintenanceStore
        + ImportStore
        + KeyStore
        + EventStore
        + ApiTokenStore
        + Send
        + Sync
{
}

/// Opens the database named by `url`: `sqlite://…` or `postgres://…`.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::connect(url).await?))
    } else {
        Err(StoreError::Other(format!("unsupported database URL {url:?}: use sqlite://… or postgres://…").into()))
    }
}
