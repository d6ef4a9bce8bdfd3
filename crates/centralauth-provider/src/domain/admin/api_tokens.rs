//! API tokens of the admin API: random, shown once, acting as their owner within the owner's
//! rights of the moment (evaluated at each use), for a limited time, and optionally only for
//! reading or only for some applications. Anyone who administers something holds tokens of
//! their own; only a full administrator revokes others'.
//!
//! Lifetimes follow GitHub's fine-grained and GitLab's personal access tokens: every token
//! expires, after 90 days unless asked otherwise and after 366 at most; a token that never
//! expires exists only when a full administrator asks for one explicitly (ZITADEL's personal
//! access tokens of service users, whose expiry is optional).

use crate::domain::application::ApplicationId;
use crate::domain::authz::Administrator;
use crate::domain::clock::UnixTime;
use crate::domain::ports::{ApiToken, NewApiToken, Store, StoreError};
use crate::domain::secret::{Secret, SecretDigest};
use crate::domain::user::UserId;
use crate::domain::{Error, Result};

/// Days a token lives when its creator does not say.
pub const DEFAULT_LIFETIME_DAYS: i64 = 90;
/// The longest lifetime one may choose (a year, and a leap day).
pub const MAX_LIFETIME_DAYS: i64 = 366;
/// A token's last use is kept to this many seconds: at most one write per token and minute,
/// whatever the request rate.
pub const LAST_USED_RESOLUTION: i64 = 60;
const DAY: i64 = 86_400;

/// Whose tokens a revocation may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// The acting administrator's own tokens.
    Own,
    /// Anyone's, for a full administrator (a delegated one is held to their own).
    Any,
}

/// How long a new token lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenLifetime {
    /// [`DEFAULT_LIFETIME_DAYS`].
    #[default]
    Default,
    /// 1 to [`MAX_LIFETIME_DAYS`] days.
    Days(i64),
    /// No expiry: a full administrator's explicit choice.
    Never,
}

/// What a new token may do beyond acting as its owner: less, never more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenLimits {
    pub lifetime: TokenLifetime,
    /// Only reads (`GET`) of the admin API.
    pub read_only: bool,
    /// `Some`: only these applications, as their delegated administrator.
    pub applications: Option<Vec<ApplicationId>>,
}

/// A new API token for `owner`, returned in plain text this once. Only a full administrator
/// makes tokens for someone else, or tokens that never expire; a token limited to applications
/// makes none (a new one could be wider).
pub async fn create_api_token(
    admin: &Administrator,
    store: &dyn Store,
    owner: UserId,
    name: &str,
    limits: TokenLimits,
    now: UnixTime,
) -> Result<(ApiToken, Secret)> {
    if !admin.is_administrator() || admin.is_narrowed() || (!admin.is(owner) && !admin.is_full()) {
        return Err(Error::Forbidden);
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "must be 1 to 100 characters"));
    }
    let expires_at = match limits.lifetime {
        TokenLifetime::Default => Some(now + DEFAULT_LIFETIME_DAYS * DAY),
        TokenLifetime::Days(days) if (1..=MAX_LIFETIME_DAYS).contains(&days) => Some(now + days * DAY),
        TokenLifetime::Days(_) => return Err(Error::invalid("expires_in_days", format!("must be 1 to {MAX_LIFETIME_DAYS} days"))),
        TokenLifetime::Never if admin.is_full() => None,
        TokenLifetime::Never => return Err(Error::invalid("never_expires", "only an administrator may make a token that never expires")),
    };
    let applications = match limits.applications {
        Some(apps) => {
            let mut apps = apps;
            apps.sort_by_key(|a| a.0);
            apps.dedup();
            if apps.is_empty() {
                return Err(Error::invalid("applications", "name at least one application, or none to limit nothing"));
            }
            // A delegated administrator limits a token to their own applications; an unknown
            // id is refused alike, so that the answer tells nothing about others'.
            for app in &apps {
                if !admin.manages(*app) || store.find_application_by_id(*app).await?.is_none() {
                    return Err(Error::invalid("applications", "not an application you administer"));
                }
            }
            Some(apps)
        }
        None => None,
    };
    let secret = Secret::generate();
    let new = NewApiToken { digest: secret.digest(), name: name.to_string(), owner, expires_at, read_only: limits.read_only, applications };
    Ok((store.insert_api_token(&new, &admin.actor()).await?, secret))
}

/// Revokes a live token; `NotFound` when there is none with this id within `scope`. Anyone
/// may revoke their own tokens (giving up access widens nothing).
pub async fn revoke_api_token(admin: &Administrator, store: &dyn Store, id: i64, scope: TokenScope) -> Result<()> {
    let owner = match scope {
        TokenScope::Any if admin.is_full() => None,
        _ => Some(admin.user_id),
    };
    store.revoke_api_token(id, owner, &admin.actor()).await.map_err(|e| match e {
        StoreError::NotFound => Error::not_found("API token"),
        other => other.into(),
    })
}

/// What a request means to do with its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Why a presented token was refused: the first four are RFC 6750 `invalid_token` (401),
/// the last two a 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    Unknown,
    Revoked,
    Expired,
    OwnerInactive,
    /// The owner administers nothing (any more).
    OwnerNotAdministrator,
    /// A write with a read-only token: RFC 6750 `insufficient_scope`.
    ReadOnly,
}

impl TokenRefusal {
    /// The reason as the security log names it.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::OwnerInactive => "owner_inactive",
            Self::OwnerNotAdministrator => "owner_not_administrator",
            Self::ReadOnly => "read_only",
        }
    }
}

/// A refused token, with its id when it is one of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub refusal: TokenRefusal,
    pub token_id: Option<i64>,
}

/// The administrator a presented token acts as for `access`, its owner's rights of this moment
/// narrowed by the token's limits; the token's last use is recorded (once a minute at most).
pub async fn authenticate_api_token(
    store: &dyn Store,
    digest: &SecretDigest,
    access: Access,
    now: UnixTime,
) -> Result<std::result::Result<(ApiToken, Administrator), Refused>> {
    let Some((token, owner)) = store.find_api_token(digest).await? else {
        return Ok(Err(Refused { refusal: TokenRefusal::Unknown, token_id: None }));
    };
    let refuse = |refusal| Ok(Err(Refused { refusal, token_id: Some(token.id) }));
    if token.revoked_at.is_some() {
        return refuse(TokenRefusal::Revoked);
    }
    if token.expires_at.is_some_and(|at| at <= now) {
        return refuse(TokenRefusal::Expired);
    }
    if !owner.is_active {
        return refuse(TokenRefusal::OwnerInactive);
    }
    let mut admin = Administrator::load(store, &owner).await?;
    if let Some(apps) = &token.applications {
        admin = admin.restricted_to(&apps.iter().map(|a| a.id).collect::<Vec<_>>());
    }
    if !admin.is_administrator() {
        return refuse(TokenRefusal::OwnerNotAdministrator);
    }
    if token.read_only && access == Access::Write {
        return refuse(TokenRefusal::ReadOnly);
    }
    if token.last_used_at.is_none_or(|at| now - at >= LAST_USED_RESOLUTION) {
        store.record_api_token_use(token.id, now, LAST_USED_RESOLUTION).await?;
    }
    Ok(Ok((token, admin)))
}
