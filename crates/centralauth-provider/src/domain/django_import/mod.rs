//! Moving a running django-centralauth 2.0 installation here: what is read from its database
//! (the source model below), how it merges with what is already here (`plan`, a three-way merge
//! against what the previous run imported), and what the run reports.

mod merge;
mod plan;
mod report;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet};

pub use plan::{ImportPlan, NewTokenFamily, Step, plan};
pub use report::{Counts, ImportReport, Kind, Outcome, ReportLine};

use super::application::{Application, ApplicationId, TokenLifetimes};
use super::clock::UnixTime;
use super::membership::{Group, Membership};
use super::permission::Permission;
use super::secret::Secret;
use super::user::User;

/// Django apps whose add, change or delete permissions let a staff user change provider data in
/// Django's admin: such staff users, and superusers, become administrators here. Staff alone is
/// not enough, because the documented set-up (`LOGIN_URL = /admin/login/`) makes every user
/// who signs in at the provider a staff user.
pub const PROVIDER_APP_LABELS: [&str; 3] = ["auth", "oauth2_provider", "provider"];

/// Where the import records of this source live (`import_records.source`).
pub const SOURCE: &str = "django";

/// Everything the import reads from a django-centralauth provider database. Ids are Django's
/// primary keys, used only to connect the rows of one export.
#[derive(Default)]
pub struct DjangoExport {
    pub users: Vec<SourceUser>,
    pub applications: Vec<SourceApplication>,
    pub permissions: Vec<SourcePermission>,
    pub groups: Vec<SourceGroup>,
    pub memberships: Vec<SourceMembership>,
    /// Refresh tokens that are not revoked (only read with `--with-tokens`).
    pub refresh_tokens: Vec<SourceRefreshToken>,
}

/// A row of `auth_user`.
#[derive(Clone)]
pub struct SourceUser {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Django's encoded password hash (`pbkdf2_sha256$…`), or `!…` for an unusable password.
    pub password: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    /// Holds an add, change or delete permission of a [`PROVIDER_APP_LABELS`] app, directly or
    /// through a Django group.
    pub may_change_provider_data: bool,
    pub date_joined: UnixTime,
    pub last_login: Option<UnixTime>,
}

/// A row of `provider_application` (centralauth's swapped django-oauth-toolkit application).
pub struct SourceApplication {
    pub id: i64,
    pub client_id: String,
    /// django-oauth-toolkit 1.x keeps it in plain text; only its digest is stored here.
    pub client_secret: Secret,
    pub name: String,
    /// Space-separated, as django-oauth-toolkit stores them.
    pub redirect_uris: String,
    pub client_type: String,
    pub authorization_grant_type: String,
}

/// A row of `provider_applicationpermission`.
#[derive(Clone)]
pub struct SourcePermission {
    pub id: i64,
    pub application_id: i64,
    pub app_label: String,
    pub codename: String,
    pub repr: String,
}

/// A row of `provider_applicationpermissiongroup` with its permission ids.
#[derive(Clone)]
pub struct SourceGroup {
    pub id: i64,
    pub application_id: i64,
    pub name: String,
    pub permissions: Vec<i64>,
}

/// A row of `provider_applicationuser` with its group and permission ids.
#[derive(Clone)]
pub struct SourceMembership {
    pub id: i64,
    pub application_id: i64,
    pub user_id: i64,
    pub is_superuser: bool,
    pub is_staff: bool,
    pub is_active: bool,
    pub groups: Vec<i64>,
    pub permissions: Vec<i64>,
}

/// A live row of `oauth2_provider_refreshtoken`, with the access token it was issued with.
pub struct SourceRefreshToken {
    pub application_id: i64,
    pub user_id: i64,
    /// Plain text in django-oauth-toolkit; only its digest is stored here.
    pub token: Secret,
    pub created: UnixTime,
    pub access_token: Option<SourceAccessToken>,
}

pub struct SourceAccessToken {
    pub token: Secret,
    pub expires: UnixTime,
    pub scope: String,
}

/// Whether the run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Plan and report only; nothing is written.
    DryRun,
    Apply,
}

/// Whether live refresh tokens are carried over, so that signed-in users stay signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenImport {
    Skip,
    Import,
}

/// How a run imports.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    pub mode: ImportMode,
    pub tokens: TokenImport,
    /// Token lifetimes of the applications the run creates: django-oauth-toolkit keeps them in
    /// the Django settings, not in the database.
    pub lifetimes: TokenLifetimes,
    /// The source as the audit log names it (a URL without password).
    pub source: String,
    pub now: UnixTime,
}

/// What is here already, as the plan compares it: loaded by the store inside the import's
/// transaction, so that nothing changes between the comparison and the writes.
#[derive(Default)]
pub struct CurrentState {
    pub users: Vec<User>,
    pub applications: Vec<Application>,
    pub permissions: Vec<(ApplicationId, Permission)>,
    pub groups: Vec<Group>,
    pub memberships: Vec<Membership>,
    /// What the previous runs imported, by kind and key.
    pub records: Vec<ImportRecord>,
    /// Digests of the export's refresh tokens that exist here already (imported before, or
    /// rotated since: either way they must not be brought back).
    pub known_refresh_tokens: HashSet<Vec<u8>>,
}

/// What an import last wrote for one entity: a fingerprint per compared field. Fingerprints
/// are truncated SHA-256 digests, so a record of a password hash holds nothing a cracker can use
/// (the salt stays in the hash itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    pub kind: Kind,
    pub key: String,
    pub fields: BTreeMap<String, String>,
}

/// Where a long import says how far it is: the CLI draws a bar on a terminal and prints
/// occasional lines otherwise.
pub trait Progress: Send + Sync {
    /// A new phase with `total` steps (0 when unknown).
    fn start(&self, phase: &str, total: u64);
    /// `steps` more steps of the current phase are done.
    fn advance(&self, steps: u64);
}

/// Progress that goes nowhere (tests, and callers that do not show any).
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _phase: &str, _total: u64) {}
    fn advance(&self, _steps: u64) {}
}

/// Merges a django-centralauth installation into this database (`centralauth import-django`):
/// an administrator's act, one transaction (the store loads what is here, [`plan`] decides, and
/// the plan is written with its import records and audit entries, unless a dry run).
pub async fn run(
    admin: &super::authz::Administrator,
    store: &dyn crate::domain::ports::ImportStore,
    export: &DjangoExport,
    settings: &ImportSettings,
    progress: &dyn Progress,
) -> super::Result<ImportReport> {
    admin.require_full()?;
    Ok(store.import_django(export, settings, &admin.actor(), progress).await?)
}
