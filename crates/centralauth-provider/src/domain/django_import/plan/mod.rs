//! The import plan: every source row matched with what is here by its natural key (username,
//! client_id, permission key, group name, user and application), merged, and decided: create,
//! update, keep or leave. Pure: the store loads the [`CurrentState`], calls [`plan`] inside its
//! transaction, and writes what the plan says.
//!
//! A conflict is a compared field that differs here and in Django when the import record of
//! the previous run cannot tell which side changed it: both sides changed it since that run, or
//! the entity exists here but was never imported (created by hand). A conflicting row is left
//! as it is here. Its dependants (an application's permissions, groups, memberships and tokens;
//! a user's memberships and tokens) are still imported when the previous run established that
//! both sides are the same entity, and skipped otherwise. The import never deletes anything.

mod access;
mod accounts;

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::merge::{Merge, Prints, merge};
use super::report::{ImportReport, Kind, Outcome};
use super::{CurrentState, DjangoExport, ImportMode, ImportRecord, ImportSettings};
use crate::domain::application::{ApplicationId, PkcePolicy, TokenLifetimes};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::clock::UnixTime;
use crate::domain::effects::Withdrawal;
use crate::domain::membership::{GroupId, MembershipFlags, MembershipId};
use crate::domain::permission::{PermissionId, PermissionKey};
use crate::domain::redirect_uri::{RedirectUri, RedirectUriMatch};
use crate::domain::secret::SecretDigest;
use crate::domain::user::{Role, UserId};

/// How many created keys per kind the run's audit entry lists; its counters are complete.
const AUDIT_KEYS: usize = 100;

/// What to do with one source row. Rows refer to each other by their index in the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<S, Id> {
    Create(S),
    Update {
        id: Id,
        state: S,
    },
    /// Nothing to write; the row here serves the rows that depend on it.
    Keep(Id),
    /// Nothing to write, and the rows that depend on it are skipped.
    Leave,
}

impl<S, Id: Copy> Step<S, Id> {
    /// The id of the row here, when there is one already.
    pub fn existing_id(&self) -> Option<Id> {
        match self {
            Self::Update { id, .. } | Self::Keep(id) => Some(*id),
            Self::Create(_) | Self::Leave => None,
        }
    }

    fn usable(&self) -> bool {
        !matches!(self, Self::Leave)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserState {
    pub username: String,
    pub username_key: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub role: Role,
    pub password_hash: Option<String>,
    pub date_joined: UnixTime,
    pub last_login: Option<UnixTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationState {
    pub name: String,
    pub client_id: String,
    pub client_secret_digest: SecretDigest,
    pub redirect_uris: Vec<RedirectUri>,
    pub redirect_uri_match: RedirectUriMatch,
    pub pkce: PkcePolicy,
    pub allow_introspection_get: bool,
    pub allow_insecure_redirect_uris: bool,
    pub lifetimes: TokenLifetimes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionState {
    /// Index of the application in the export.
    pub application: usize,
    pub key: PermissionKey,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    pub application: usize,
    pub name: String,
    /// Indexes of the permissions in the export.
    pub permissions: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipState {
    pub application: usize,
    pub user: usize,
    pub flags: MembershipFlags,
    /// The complete new group set (export indexes), or `None` to leave the one here.
    pub groups: Option<Vec<usize>>,
    /// The complete new direct permission set (export indexes), or `None` to leave the one here.
    pub permissions: Option<Vec<usize>>,
}

/// A refresh token carried over: a token family of its own, as if issued here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTokenFamily {
    pub application: usize,
    pub user: usize,
    pub scope: String,
    pub auth_time: UnixTime,
    pub refresh: SecretDigest,
    pub refresh_expires_at: UnixTime,
    /// The access token issued with it; revoked by the first rotation, as here.
    pub access: SecretDigest,
    /// Set when that access token is still valid: it is then carried over as well.
    pub access_expires_at: Option<UnixTime>,
}

/// Everything a run writes, aligned with the export: `users[i]` decides `export.users[i]`.
#[derive(Debug)]
pub struct ImportPlan {
    pub users: Vec<Step<UserState, UserId>>,
    pub applications: Vec<Step<ApplicationState, ApplicationId>>,
    pub permissions: Vec<Step<PermissionState, PermissionId>>,
    pub groups: Vec<Step<GroupState, GroupId>>,
    pub memberships: Vec<Step<MembershipState, MembershipId>>,
    pub token_families: Vec<NewTokenFamily>,
    /// What the updates take from users here (`effects::account_withdrawal`,
    /// `effects::membership_withdrawal`): an import that deactivates an account or a membership,
    /// or brings a new password, ends what a change in the console would.
    pub withdrawals: Vec<Withdrawal>,
    /// Import records to write: the new base of every row created, updated or adopted.
    pub records: Vec<ImportRecord>,
    pub audit: Vec<AuditEntry>,
    pub report: ImportReport,
}

/// Plans the import of `export` into `current`.
pub fn plan(export: &DjangoExport, current: &CurrentState, settings: &ImportSettings, actor: &Actor) -> ImportPlan {
    let mut planner = Planner::new(export, current, settings, actor);
    planner.users();
    planner.applications();
    planner.permissions();
    planner.groups();
    planner.memberships();
    planner.tokens();
    planner.finish()
}

/// How a row that passed validation compares with what is here.
enum Decision<Id> {
    Create,
    Update(Id, Vec<&'static str>),
    Keep(Id),
    /// Nothing written; `Some` when the base shows both sides are the same entity.
    Conflict(Option<Id>),
    Removed,
}

struct Planner<'a> {
    export: &'a DjangoExport,
    current: &'a CurrentState,
    settings: &'a ImportSettings,
    actor: &'a Actor,
    plan: ImportPlan,
    records: HashMap<Kind, HashMap<&'a str, &'a BTreeMap<String, String>>>,
    created_keys: BTreeMap<Kind, Vec<String>>,
    // Export rows by Django id.
    user_index: HashMap<i64, usize>,
    app_index: HashMap<i64, usize>,
    perm_index: HashMap<i64, usize>,
    group_index: HashMap<i64, usize>,
    // Per export row, filled as the kinds are planned.
    user_labels: Vec<String>,
    app_client_ids: Vec<String>,
    app_refresh_lifetimes: Vec<i64>,
    perm_keys: Vec<String>,
    group_names: Vec<String>,
    // Here, by natural key and id.
    our_perm_keys: HashMap<PermissionId, String>,
    our_group_names: HashMap<GroupId, &'a str>,
}

impl<'a> Planner<'a> {
    fn new(export: &'a DjangoExport, current: &'a CurrentState, settings: &'a ImportSettings, actor: &'a Actor) -> Self {
        let index = |ids: Vec<i64>| ids.into_iter().enumerate().map(|(i, id)| (id, i)).collect::<HashMap<i64, usize>>();
        Self {
            export,
            current,
            settings,
            actor,
            plan: ImportPlan {
                users: Vec::with_capacity(export.users.len()),
                applications: Vec::new(),
                permissions: Vec::new(),
                groups: Vec::new(),
                memberships: Vec::with_capacity(export.memberships.len()),
                token_families: Vec::new(),
                withdrawals: Vec::new(),
                records: Vec::new(),
                audit: Vec::new(),
                report: ImportReport::new(settings.mode),
            },
            records: current.records.iter().fold(HashMap::new(), |mut by_kind, r| {
                by_kind.entry(r.kind).or_insert_with(HashMap::new).insert(r.key.as_str(), &r.fields);
                by_kind
            }),
            created_keys: BTreeMap::new(),
            user_index: index(export.users.iter().map(|u| u.id).collect()),
            app_index: index(export.applications.iter().map(|a| a.id).collect()),
            perm_index: index(export.permissions.iter().map(|p| p.id).collect()),
            group_index: index(export.groups.iter().map(|g| g.id).collect()),
            user_labels: Vec::new(),
            app_client_ids: Vec::new(),
            app_refresh_lifetimes: Vec::new(),
            perm_keys: Vec::new(),
            group_names: Vec::new(),
            our_perm_keys: current.permissions.iter().map(|(_, p)| (p.id, p.key.to_string())).collect(),
            our_group_names: current.groups.iter().map(|g| (g.id, g.name.as_str())).collect(),
        }
    }

    fn finish(mut self) -> ImportPlan {
        if self.settings.mode == ImportMode::Apply {
            let counts: BTreeMap<&str, _> = self.plan.report.counts.iter().map(|(k, c)| (k.as_str(), *c)).collect();
            let created: BTreeMap<&str, &Vec<String>> = self.created_keys.iter().map(|(k, v)| (k.as_str(), v)).collect();
            // Created rows are summed up in this one entry per run (with the first keys), as
            // `permissions.sync` does: an entry per created row would double the writes of a
            // 100,000-user import and bury every other entry of the log. Rows that change what
            // was here get entries of their own, with before and after (see `audit_update`).
            let mut entry = AuditEntry::new(self.actor, "import.django", &self.settings.source);
            entry.after = Some(json!({ "counts": counts, "created": created, "warnings": self.plan.report.warnings.len() }));
            self.plan.audit.push(entry);
        }
        self.plan
    }

    /// Compares a valid source row with the row here (if any) and its import record, records
    /// the new base and the outcome. `extra` are fields that changed outside the merge.
    fn decide<Id: Copy>(
        &mut self,
        kind: Kind,
        key: &str,
        ours: Option<(Id, Prints)>,
        theirs: &Prints,
        extra: Vec<&'static str>,
    ) -> Decision<Id> {
        let base = self.records.get(&kind).and_then(|by_key| by_key.get(key)).copied();
        let decision = match (ours, base) {
            (None, None) => Decision::Create,
            (None, Some(base)) if theirs.equals(base) => {
                self.plan.report.record(kind, key, Outcome::Skipped { reason: "removed here since the last import".into() });
                return Decision::Removed;
            }
            (None, Some(_)) => {
                let reason = "removed here, and changed in Django since the last import".to_string();
                self.plan.report.record(kind, key, Outcome::Conflict { fields: Vec::new(), reason });
                return Decision::Removed;
            }
            (Some((id, ours)), base) => match merge(base, &ours, theirs) {
                Merge::Conflict(fields) => {
                    let reason = if base.is_some() {
                        "changed here and in Django since the last import"
                    } else {
                        "differs here, and was not imported before"
                    };
                    self.plan.report.record(kind, key, Outcome::Conflict { fields, reason: reason.into() });
                    return Decision::Conflict(base.map(|_| id));
                }
                Merge::Take(mut fields) => {
                    fields.extend(extra);
                    Decision::Update(id, fields)
                }
                Merge::Same if !extra.is_empty() => Decision::Update(id, extra),
                Merge::Same => Decision::Keep(id),
            },
        };
        match &decision {
            Decision::Create => {
                self.plan.report.record(kind, key, Outcome::Created);
                let keys = self.created_keys.entry(kind).or_default();
                if keys.len() < AUDIT_KEYS {
                    keys.push(key.to_string());
                }
            }
            Decision::Update(_, fields) => self.plan.report.record(kind, key, Outcome::Updated { fields: fields.clone() }),
            _ => self.plan.report.record(kind, key, Outcome::Unchanged),
        }
        if !base.is_some_and(|b| theirs.equals(b)) {
            self.plan.records.push(ImportRecord { kind, key: key.to_string(), fields: theirs.to_map() });
        }
        decision
    }

    fn skip(&mut self, kind: Kind, key: &str, reason: impl Into<String>) {
        self.plan.report.record(kind, key, Outcome::Skipped { reason: reason.into() });
    }

    /// One audit entry for a row this run changes, with the changed fields before and after.
    fn audit_update(
        &mut self,
        action: &'static str,
        target: &str,
        ids: (Option<i64>, Option<i64>),
        fields: &[&str],
        before: Value,
        after: Value,
    ) {
        let only = |v: Value| -> Value {
            match v {
                Value::Object(map) => Value::Object(map.into_iter().filter(|(k, _)| fields.contains(&k.as_str())).collect()),
                other => other,
            }
        };
        let mut entry = AuditEntry::new(self.actor, action, target);
        entry.application_id = ids.0;
        entry.user_id = ids.1;
        entry.before = Some(only(before));
        entry.after = Some(only(after));
        self.plan.audit.push(entry);
    }
}
