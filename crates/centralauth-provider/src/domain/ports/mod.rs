//! The ports of the domain: the storage traits, split by concern, and the types they speak.
//! The domain defines them and the `store` module implements them (SQLite and PostgreSQL), so that
//! nothing here knows SQL, and a rule can be tested against a fake of the one trait it needs.

mod access;
mod accounts;
mod deadline;
mod factors;
mod grants;
mod operations;

pub use access::*;
pub use accounts::*;
pub use deadline::*;
pub use factors::*;
pub use grants::*;
pub use operations::*;

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
    /// The database cannot be reached or cannot take the change now (connection refused or
    /// lost, no connection free within the pool's wait, a statement past its timeout, a full
    /// disk), or the request's write deadline passed before the change could commit: nothing
    /// was written, and the same request may succeed when tried again.
    #[error("database unavailable: {0}")]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

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
    + FactorStore
    + SignInFlowStore
    + TotpStore
    + RecoveryCodeStore
    + PasskeyStore
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
        + FactorStore
        + SignInFlowStore
        + TotpStore
        + RecoveryCodeStore
        + PasskeyStore
        + Send
        + Sync
{
}
