//! Ports of the grants: authorization codes and token families. The single-use and rotation
//! guarantees are the store's (conditional updates in one transaction); what is allowed is the domain's.

use std::sync::Arc;

use async_trait::async_trait;

use super::{MembershipView, StoreResult};
use crate::domain::application::ApplicationId;
use crate::domain::clock::UnixTime;
use crate::domain::mfa::Amr;
use crate::domain::scope::Scope;
use crate::domain::secret::SecretDigest;
use crate::domain::user::UserId;

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
    /// What the session had proven (RFC 8176), for the id_token's `amr` and `acr`.
    pub amr: Amr,
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
        amr: Amr,
    },
    Rejected(CodeRejection),
    /// The code had been used before: the tokens issued from it are now revoked.
    Replayed,
    /// No such code for this application.
    Unknown,
}

/// A stored refresh token and what a refresh must know of its family, as the token endpoint
/// reads it; judged by the domain (`grants::refresh_token::judge`).
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    /// The scope the family was granted.
    pub scope: Scope,
    pub expires_at: UnixTime,
    /// When this token was exchanged for a newer one, if it was.
    pub rotated_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
    pub family_revoked_at: Option<UnixTime>,
    pub user_id: UserId,
    pub user_active: bool,
    /// `None`: the user holds no membership of the application (any more).
    pub membership_active: Option<bool>,
    /// The sign-in's, kept by the family for the id_token.
    pub auth_time: UnixTime,
    pub sid: Option<String>,
    /// What the sign-in had proven, kept by the family for the id_token.
    pub amr: Amr,
    /// When the family began (the code exchange): its chain of refreshes ends a fixed time later.
    pub family_created_at: UnixTime,
}

/// What the store is to do with a refresh token the domain accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDecision {
    /// First use: mark the token rotated, revoke its access token, issue the pair with `scope`,
    /// its refresh token expiring at `refresh_expires_at` (in place of the pair's own).
    Rotate { scope: Scope, refresh_expires_at: UnixTime },
    /// A reuse within the grace window: answer the pair already issued for this token (the same
    /// digests), storing it as for `Rotate` only if it is not there.
    Reissue { scope: Scope, refresh_expires_at: UnixTime },
    /// A reuse after the grace window: revoke the whole family (RFC 9700 §4.14.2).
    RevokeFamily,
}

/// Why a refresh token may not become tokens; decided by the domain. Nothing is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshRejection {
    Expired,
    /// The token or its family was revoked.
    Revoked,
    /// The user or their membership was deactivated or removed.
    AccessWithdrawn,
    ScopeTooWide,
}

#[derive(Debug)]
pub enum RefreshOutcome {
    Rotated {
        user_id: UserId,
        /// The pair's as stored: a reissued pair keeps what its first issue had.
        scope: Scope,
        access_expires_at: UnixTime,
        auth_time: UnixTime,
        sid: Option<String>,
        amr: Amr,
    },
    Rejected(RefreshRejection),
    /// Used again after the grace window: the whole token family is now revoked.
    Replayed,
    /// No such refresh token for this application.
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
    pub user_active: bool,
    /// `None`: the user holds no membership of the application (any more).
    pub membership_active: Option<bool>,
}

impl ActiveToken {
    /// Whether the token still stands for its user now (`grants::access_stands`): a token of a
    /// deactivated user or membership is inactive whatever its own state.
    pub fn grants_access(&self) -> bool {
        crate::domain::grants::access_stands(self.user_active, self.membership_active)
    }
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
pub trait GrantStore: Send + Sync {
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
    /// Reads the refresh token, lets `judge` decide, and carries the decision out in one
    /// transaction: a rotation (once, ever: a conditional update), a further pair within the
    /// grace window, or the family's revocation on a replay.
    async fn rotate_refresh_token(
        &self,
        refresh: &SecretDigest,
        app: ApplicationId,
        now: UnixTime,
        judge: &(dyn for<'g> Fn(&'g RefreshGrant) -> Result<RefreshDecision, RefreshRejection> + Send + Sync),
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
