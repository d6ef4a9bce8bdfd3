//! The rules of the identity and permission service: users, applications, permissions, groups,
//! memberships, tokens and grants. Nothing here knows HTTP or SQL; storage is reached through
//! the ports it defines (`ports`), which the `store` module implements.

pub mod admin;
pub mod application;
pub mod audit;
pub mod authz;
pub mod clock;
pub mod django_import;
pub mod effects;
pub mod grants;
pub mod keyring;
pub mod login;
pub mod membership;
pub mod mfa;
pub mod oidc;
pub mod page;
pub mod password;
pub mod password_policy;
pub mod ports;
pub mod permission;
pub mod pkce;
pub mod redirect_uri;
pub mod scope;
pub mod secret;
pub mod session;
pub mod signing;
pub mod throttle;
pub mod user;

use ports::StoreError;

/// Everything a domain operation can fail with, by meaning.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("{what} already exists")]
    Conflict { what: String },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("invalid grant")]
    InvalidGrant { description: Option<&'static str> },
    #[error("invalid scope")]
    InvalidScope,
    #[error("invalid client")]
    InvalidClient,
    /// Too many failed attempts: the next one is admitted in `retry_after` seconds.
    #[error("too many failed attempts")]
    RateLimited { retry_after: i64 },
    /// The server is too busy for this request now (a queue did not clear in time); try again
    /// in `retry_after` seconds.
    #[error("temporarily unavailable")]
    Unavailable { retry_after: i64 },
    #[error("access denied")]
    AccessDenied,
    #[error("forbidden")]
    Forbidden,
    /// An administrator would lock themselves out: deactivate themselves or give up their own
    /// administrator role (the named fields).
    #[error("you cannot deactivate yourself or give up your own administrator role")]
    SelfLockout { fields: Vec<&'static str> },
    /// A delegated administrator would change their own access (no self-escalation).
    #[error("{reason}")]
    OwnAccess { reason: &'static str },
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl Error {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { field, reason: reason.into() }
    }
    pub fn not_found(what: &'static str) -> Self {
        Self::NotFound { what }
    }
    pub fn invalid_grant() -> Self {
        Self::InvalidGrant { description: None }
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(err: tokio::task::JoinError) -> Self {
        Error::Internal(InternalError::Join(err))
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Error::NotFound { what: "record" },
            StoreError::Conflict(what) => Error::Conflict { what },
            StoreError::Invalid(reason) => Error::Invalid { field: "reference", reason },
            // The cause was logged once by the store (`store::health`), not per request.
            StoreError::Unavailable(_) => Error::Unavailable { retry_after: DATABASE_RETRY_AFTER_SECONDS },
            StoreError::Other(err) => Error::Internal(InternalError::Store(err)),
        }
    }
}

/// `Retry-After` of an answer given while the database is unavailable: a restarting or failing
/// over PostgreSQL is usually back within seconds.
pub const DATABASE_RETRY_AFTER_SECONDS: i64 = 5;

/// Internal failures, kept apart so that they are logged once and never shown to a caller.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    #[error("storage failed: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("serialising an answer failed: {0}")]
    Serialize(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
