//! Ports of running the provider: signing keys, the back-channel outbox, the audit log,
//! migrations and purge, and the Django import.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::application::ApplicationId;
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::clock::UnixTime;
use crate::domain::django_import::{DjangoExport, ImportReport, ImportSettings, Progress};
use crate::domain::oidc::EventKind;
use crate::domain::signing::StoredKey;
use crate::domain::user::UserId;

/// The signing keys, shared by every instance (DESIGN §5).
#[async_trait]
pub trait KeyStore: Send + Sync {
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
pub trait EventStore: Send + Sync {
    /// Leases up to `limit` due deliveries until `lease_until`, so that another instance does not
    /// send them at the same time.
    async fn claim_due_events(&self, now: UnixTime, lease_until: UnixTime, limit: i64) -> StoreResult<Vec<PendingEvent>>;
    /// Removes a delivery that arrived or was given up.
    async fn finish_event(&self, id: i64) -> StoreResult<()>;
    async fn retry_event(&self, id: i64, attempts: i64, next_attempt_at: UnixTime, error: &str) -> StoreResult<()>;
    async fn count_pending_events(&self) -> StoreResult<i64>;
}


#[async_trait]
pub trait AuditStore: Send + Sync {
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
pub trait MaintenanceStore: Send + Sync {
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Deletes at most `batch` expired rows of each kind; returns how many went.
    async fn purge_expired(&self, now: UnixTime, batch: i64) -> StoreResult<u64>;
    async fn ping(&self) -> StoreResult<()>;
}

#[async_trait]
pub trait ImportStore: Send + Sync {
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
