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

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};

use super::merge::{Merge, Prints, fingerprint, merge};
use super::report::{ImportReport, Kind, Outcome};
use super::{CurrentState, DjangoExport, ImportMode, ImportRecord, ImportSettings, SourceApplication, SourceUser, TokenImport};
use crate::domain::application::{ApplicationId, ClientId, PkcePolicy, TokenLifetimes, join_redirect_uris, parse_name as parse_app_name};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::clock::UnixTime;
use crate::domain::membership::{GroupId, MembershipFlags, MembershipId, parse_group_name};
use crate::domain::password;
use crate::domain::permission::{PermissionId, PermissionKey};
use crate::domain::redirect_uri::{RedirectUri, RedirectUriMatch};
use crate::domain::scope;
use crate::domain::secret::SecretDigest;
use crate::domain::user::{Email, Role, User, UserId, Username, parse_name as parse_person_name, username_key};

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

    // -- users -----------------------------------------------------------------------------------

    fn users(&mut self) {
        let export = self.export;
        let current = self.current;
        let ours: HashMap<String, &User> = current.users.iter().map(|u| (username_key(&u.username), u)).collect();
        // Django compares usernames case-sensitively, we do not: names that only differ in case
        // would be one account here, so none of them is imported.
        let mut spellings: HashMap<String, Vec<&str>> = HashMap::new();
        for u in &export.users {
            if let Ok(name) = Username::parse(&u.username) {
                spellings.entry(name.key()).or_default().push(&u.username);
            }
        }
        for u in &export.users {
            self.user_labels.push(u.username.clone());
            let theirs = match self.user_state(u) {
                Ok(state) => state,
                Err(reason) => {
                    self.skip(Kind::User, &u.username, reason);
                    self.plan.users.push(Step::Leave);
                    continue;
                }
            };
            let same = &spellings[&theirs.username_key];
            if same.len() > 1 {
                let reason = format!("usernames {} are one account here (compared case-insensitively)", same.join(", "));
                self.skip(Kind::User, &u.username, reason);
                self.plan.users.push(Step::Leave);
                continue;
            }
            let our_state = ours.get(&theirs.username_key).map(|u| user_state_of(u));
            let extra = match &our_state {
                Some(o) if theirs.last_login > o.last_login => vec!["last_login"],
                _ => Vec::new(),
            };
            let our = our_state.as_ref().map(|o| (ours[&theirs.username_key].id, user_prints(o)));
            let step = match self.decide(Kind::User, &theirs.username_key, our, &user_prints(&theirs), extra) {
                Decision::Create => Step::Create(theirs),
                Decision::Update(id, fields) => {
                    let ours = our_state.unwrap_or_else(|| theirs.clone());
                    let mut state = ours.clone();
                    for field in &fields {
                        match *field {
                            "username" => state.username = theirs.username.clone(),
                            "email" => state.email = theirs.email.clone(),
                            "first_name" => state.first_name = theirs.first_name.clone(),
                            "last_name" => state.last_name = theirs.last_name.clone(),
                            "is_active" => state.is_active = theirs.is_active,
                            "role" => state.role = theirs.role,
                            "password" => state.password_hash = theirs.password_hash.clone(),
                            "last_login" => state.last_login = theirs.last_login,
                            _ => {}
                        }
                    }
                    self.audit_update("user.update", &state.username, (None, Some(id.0)), &fields, user_json(&ours), user_json(&state));
                    Step::Update { id, state }
                }
                Decision::Keep(id) | Decision::Conflict(Some(id)) => Step::Keep(id),
                Decision::Conflict(None) | Decision::Removed => Step::Leave,
            };
            self.plan.users.push(step);
        }
    }

    fn user_state(&mut self, u: &SourceUser) -> Result<UserState, String> {
        let username = Username::parse(&u.username).map_err(|e| e.to_string())?;
        let email = Email::parse(&u.email).map_err(|e| e.to_string())?;
        let first_name = parse_person_name("first_name", &u.first_name).map_err(|e| e.to_string())?;
        let last_name = parse_person_name("last_name", &u.last_name).map_err(|e| e.to_string())?;
        let password_hash = if password::is_verifiable(&u.password) {
            Some(u.password.clone())
        } else {
            // Django's unusable passwords (`!…`) are no password here either; a legacy format
            // we cannot check (md5, sha1, crypt) is dropped, and the operator told so.
            if !u.password.is_empty() && !u.password.starts_with('!') {
                let format = u.password.split('$').next().unwrap_or_default();
                self.plan.report.warnings.push(format!(
                    "user {}: its Django password hash ({format}) cannot be checked here; give the user a new password",
                    u.username
                ));
            }
            None
        };
        let administrator = u.is_superuser || (u.is_staff && u.may_change_provider_data);
        Ok(UserState {
            username_key: username.key(),
            username: username.as_str().to_string(),
            email: email.as_str().to_string(),
            first_name,
            last_name,
            is_active: u.is_active,
            role: if administrator { Role::Administrator } else { Role::User },
            password_hash,
            date_joined: u.date_joined,
            last_login: u.last_login,
        })
    }

    // -- applications ----------------------------------------------------------------------------

    fn applications(&mut self) {
        let export = self.export;
        let current = self.current;
        for a in &export.applications {
            self.app_client_ids.push(a.client_id.clone());
            let theirs = match self.application_state(a) {
                Ok(state) => state,
                Err(reason) => {
                    self.skip(Kind::Application, &a.client_id, reason);
                    self.app_refresh_lifetimes.push(0);
                    self.plan.applications.push(Step::Leave);
                    continue;
                }
            };
            let ours = current.applications.iter().find(|o| o.client_id == theirs.client_id).map(|o| ApplicationState {
                name: o.name.clone(),
                client_id: o.client_id.clone(),
                client_secret_digest: o.client_secret_digest.clone(),
                redirect_uris: o.redirect_uris.clone(),
                redirect_uri_match: o.redirect_uri_match,
                pkce: o.pkce,
                lifetimes: o.lifetimes,
            });
            let id = current.applications.iter().find(|o| o.client_id == theirs.client_id).map(|o| o.id);
            self.app_refresh_lifetimes.push(ours.as_ref().map_or(theirs.lifetimes, |o| o.lifetimes).refresh_token);
            let our = ours.as_ref().zip(id).map(|(o, id)| (id, application_prints(o)));
            let step = match self.decide(Kind::Application, &a.client_id, our, &application_prints(&theirs), Vec::new()) {
                Decision::Create => Step::Create(theirs),
                Decision::Update(id, fields) => {
                    let ours = ours.unwrap_or_else(|| theirs.clone());
                    let mut state = ours.clone();
                    for field in &fields {
                        match *field {
                            "name" => state.name = theirs.name.clone(),
                            "client_secret" => state.client_secret_digest = theirs.client_secret_digest.clone(),
                            "redirect_uris" => state.redirect_uris = theirs.redirect_uris.clone(),
                            _ => {}
                        }
                    }
                    let action = if fields.contains(&"client_secret") { "application.rotate_secret" } else { "application.update" };
                    self.audit_update(
                        action,
                        &state.client_id,
                        (Some(id.0), None),
                        &fields,
                        application_json(&ours),
                        application_json(&state),
                    );
                    Step::Update { id, state }
                }
                Decision::Keep(id) | Decision::Conflict(Some(id)) => Step::Keep(id),
                Decision::Conflict(None) | Decision::Removed => Step::Leave,
            };
            self.plan.applications.push(step);
        }
    }

    fn application_state(&self, a: &SourceApplication) -> Result<ApplicationState, String> {
        // centralauth's Application.save() makes every application confidential with the
        // authorization code grant; a row that is not was not written through it.
        if a.client_type != "confidential" || a.authorization_grant_type != "authorization-code" {
            return Err(format!(
                "client type {:?} with grant {:?} is not supported (only confidential, authorization-code)",
                a.client_type, a.authorization_grant_type
            ));
        }
        let client_id = ClientId::parse(&a.client_id).map_err(|e| e.to_string())?;
        let secret = a.client_secret.expose();
        if ["pbkdf2_", "argon2", "bcrypt"].iter().any(|p| secret.starts_with(p)) && secret.contains('$') {
            return Err(
                "its client secret is stored hashed (django-oauth-toolkit 2 or later); only plain-text secrets can be carried over".into(),
            );
        }
        if secret.chars().count() < 16 {
            return Err("its client secret is shorter than 16 characters; rotate it in Django first".into());
        }
        let name = if a.name.trim().is_empty() { a.client_id.clone() } else { parse_app_name(&a.name).map_err(|e| e.to_string())? };
        let redirect_uris: Vec<RedirectUri> =
            a.redirect_uris.split_whitespace().map(RedirectUri::parse).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
        if redirect_uris.is_empty() {
            return Err("it has no redirect URI".into());
        }
        Ok(ApplicationState {
            name,
            client_id: client_id.as_str().to_string(),
            client_secret_digest: a.client_secret.digest(),
            redirect_uris,
            // What django-centralauth's client needs (it adds `next` to the query), and
            // django-oauth-toolkit 1.5's default of optional PKCE.
            redirect_uri_match: RedirectUriMatch::AllowExtraQuery,
            pkce: PkcePolicy::Optional,
            lifetimes: self.settings.lifetimes,
        })
    }

    /// The export index of an application whose dependants may be imported, or why not.
    fn usable_application(&self, django_id: i64) -> Result<usize, String> {
        let Some(&i) = self.app_index.get(&django_id) else {
            return Err(format!("its application (Django id {django_id}) is not in the database"));
        };
        if self.plan.applications[i].usable() { Ok(i) } else { Err(format!("application {} is not imported", self.app_client_ids[i])) }
    }

    fn usable_user(&self, django_id: i64) -> Result<usize, String> {
        let Some(&i) = self.user_index.get(&django_id) else {
            return Err(format!("its user (Django id {django_id}) is not in the database"));
        };
        if self.plan.users[i].usable() { Ok(i) } else { Err(format!("user {} is not imported", self.user_labels[i])) }
    }

    // -- permissions -----------------------------------------------------------------------------

    fn permissions(&mut self) {
        let export = self.export;
        let current = self.current;
        let ours: HashMap<(ApplicationId, &PermissionKey), PermissionId> =
            current.permissions.iter().map(|(app, p)| ((*app, &p.key), p.id)).collect();
        let our_names: HashMap<PermissionId, &str> = current.permissions.iter().map(|(_, p)| (p.id, p.name.as_str())).collect();
        for p in &export.permissions {
            let label = format!("{}.{}", p.app_label, p.codename);
            self.perm_keys.push(label.clone());
            let app = match self.usable_application(p.application_id) {
                Ok(i) => i,
                Err(reason) => {
                    let key = format!("{} {label}", self.client_id_of(p.application_id));
                    self.skip(Kind::Permission, &key, reason);
                    self.plan.permissions.push(Step::Leave);
                    continue;
                }
            };
            let record_key = format!("{} {label}", self.app_client_ids[app]);
            let key = match PermissionKey::new(&p.app_label, &p.codename) {
                Ok(key) if p.repr.chars().count() <= 255 && !p.repr.chars().any(char::is_control) => key,
                Ok(_) => {
                    self.skip(Kind::Permission, &record_key, "its name is longer than 255 characters or has control characters");
                    self.plan.permissions.push(Step::Leave);
                    continue;
                }
                Err(e) => {
                    self.skip(Kind::Permission, &record_key, e.to_string());
                    self.plan.permissions.push(Step::Leave);
                    continue;
                }
            };
            let our = self.plan.applications[app]
                .existing_id()
                .and_then(|app_id| ours.get(&(app_id, &key)))
                .map(|id| (*id, Prints::new().with("name", &our_names[id])));
            let theirs = Prints::new().with("name", &p.repr);
            let state = PermissionState { application: app, key, name: p.repr.clone() };
            let step = match self.decide(Kind::Permission, &record_key, our, &theirs, Vec::new()) {
                Decision::Create => Step::Create(state),
                Decision::Update(id, fields) => {
                    let app_id = self.plan.applications[app].existing_id().map(|a| a.0);
                    let before = json!({ "name": our_names[&id] });
                    self.audit_update("permission.update", &record_key, (app_id, None), &fields, before, json!({ "name": p.repr }));
                    Step::Update { id, state }
                }
                Decision::Keep(id) | Decision::Conflict(Some(id)) => Step::Keep(id),
                Decision::Conflict(None) | Decision::Removed => Step::Leave,
            };
            self.plan.permissions.push(step);
        }
    }

    fn client_id_of(&self, django_app_id: i64) -> String {
        self.app_index.get(&django_app_id).map_or_else(|| format!("(application {django_app_id})"), |&i| self.app_client_ids[i].clone())
    }

    /// Export indexes of the permissions `ids`, which must belong to application `app` and be
    /// imported; sorted and without duplicates.
    fn resolve_permissions(&self, app: usize, ids: &[i64]) -> Result<Vec<usize>, String> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(&i) = self.perm_index.get(id) else {
                return Err(format!("its permission (Django id {id}) is not in the database"));
            };
            if self.app_index.get(&self.export.permissions[i].application_id) != Some(&app) {
                return Err(format!("permission {} belongs to another application", self.perm_keys[i]));
            }
            if !self.plan.permissions[i].usable() {
                return Err(format!("permission {} is not imported", self.perm_keys[i]));
            }
            found.push(i);
        }
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    fn permission_keys(&self, indexes: &[usize]) -> Vec<&str> {
        let mut keys: Vec<&str> = indexes.iter().map(|&i| self.perm_keys[i].as_str()).collect();
        keys.sort_unstable();
        keys
    }

    fn our_permission_keys(&self, ids: &[PermissionId]) -> Vec<&str> {
        let mut keys: Vec<&str> = ids.iter().filter_map(|id| self.our_perm_keys.get(id).map(String::as_str)).collect();
        keys.sort_unstable();
        keys
    }

    // -- groups ----------------------------------------------------------------------------------

    fn groups(&mut self) {
        let export = self.export;
        let current = self.current;
        let ours: HashMap<(ApplicationId, &str), _> = current.groups.iter().map(|g| ((g.application_id, g.name.as_str()), g)).collect();
        // Names equal after trimming would be one group here.
        let mut per_name: HashMap<(i64, String), usize> = HashMap::new();
        for g in &export.groups {
            *per_name.entry((g.application_id, g.name.trim().to_string())).or_default() += 1;
        }
        for g in &export.groups {
            self.group_names.push(g.name.trim().to_string());
            let key = format!("{} {}", self.client_id_of(g.application_id), g.name.trim());
            let resolved = self.usable_application(g.application_id).and_then(|app| {
                let name = parse_group_name(&g.name).map_err(|e| e.to_string())?;
                if per_name[&(g.application_id, name.clone())] > 1 {
                    return Err("several groups of its application have this name once trimmed".to_string());
                }
                Ok((app, name, self.resolve_permissions(app, &g.permissions)?))
            });
            let (app, name, permissions) = match resolved {
                Ok(r) => r,
                Err(reason) => {
                    self.skip(Kind::Group, &key, reason);
                    self.plan.groups.push(Step::Leave);
                    continue;
                }
            };
            let theirs_keys = self.permission_keys(&permissions);
            let theirs = Prints::new().with("permissions", &theirs_keys);
            let ours_group = self.plan.applications[app].existing_id().and_then(|app_id| ours.get(&(app_id, name.as_str())).copied());
            let ours_keys = ours_group.map(|o| self.our_permission_keys(&o.permissions));
            let our = ours_group.zip(ours_keys.as_ref()).map(|(o, keys)| (o.id, Prints::new().with("permissions", keys)));
            let (before, after) = (json!({ "permissions": ours_keys }), json!({ "permissions": theirs_keys }));
            let state = GroupState { application: app, name, permissions };
            let step = match self.decide(Kind::Group, &key, our, &theirs, Vec::new()) {
                Decision::Create => Step::Create(state),
                Decision::Update(id, fields) => {
                    let app_id = self.plan.applications[app].existing_id().map(|a| a.0);
                    self.audit_update("group.update", &key, (app_id, None), &fields, before, after);
                    Step::Update { id, state }
                }
                Decision::Keep(id) | Decision::Conflict(Some(id)) => Step::Keep(id),
                Decision::Conflict(None) | Decision::Removed => Step::Leave,
            };
            self.plan.groups.push(step);
        }
    }

    fn resolve_groups(&self, app: usize, ids: &[i64]) -> Result<Vec<usize>, String> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(&i) = self.group_index.get(id) else {
                return Err(format!("its group (Django id {id}) is not in the database"));
            };
            if self.app_index.get(&self.export.groups[i].application_id) != Some(&app) {
                return Err(format!("group {} belongs to another application", self.group_names[i]));
            }
            if !self.plan.groups[i].usable() {
                return Err(format!("group {} is not imported", self.group_names[i]));
            }
            found.push(i);
        }
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    // -- memberships -----------------------------------------------------------------------------

    fn memberships(&mut self) {
        let export = self.export;
        let current = self.current;
        let ours: HashMap<(ApplicationId, UserId), _> = current.memberships.iter().map(|m| ((m.application_id, m.user_id), m)).collect();
        for m in &export.memberships {
            let user_label =
                self.user_index.get(&m.user_id).map_or_else(|| format!("(user {})", m.user_id), |&i| self.user_labels[i].clone());
            let key = format!("{} {}", self.client_id_of(m.application_id), username_key(&user_label));
            let resolved = self.usable_application(m.application_id).and_then(|app| {
                let user = self.usable_user(m.user_id)?;
                Ok((app, user, self.resolve_groups(app, &m.groups)?, self.resolve_permissions(app, &m.permissions)?))
            });
            let (app, user, groups, permissions) = match resolved {
                Ok(r) => r,
                Err(reason) => {
                    self.skip(Kind::Membership, &key, reason);
                    self.plan.memberships.push(Step::Leave);
                    continue;
                }
            };
            let flags = MembershipFlags { is_superuser: m.is_superuser, is_staff: m.is_staff, is_active: m.is_active };
            let mut group_names: Vec<&str> = groups.iter().map(|&i| self.group_names[i].as_str()).collect();
            group_names.sort_unstable();
            let perm_keys = self.permission_keys(&permissions);
            let theirs = membership_prints(flags, &group_names, &perm_keys);
            let ours_membership =
                self.plan.applications[app].existing_id().zip(self.plan.users[user].existing_id()).and_then(|ids| ours.get(&ids).copied());
            let ours_view = ours_membership.map(|o| {
                let mut names: Vec<&str> = o.groups.iter().filter_map(|g| self.our_group_names.get(g).copied()).collect();
                names.sort_unstable();
                (o.id, o.flags, names, self.our_permission_keys(&o.permissions))
            });
            let our = ours_view.as_ref().map(|(id, f, names, keys)| (*id, membership_prints(*f, names, keys)));
            let before = ours_view.as_ref().map(|(_, f, names, keys)| membership_json(*f, names, keys));
            let after = membership_json(flags, &group_names, &perm_keys);
            let our_flags = ours_view.as_ref().map(|v| v.1);
            let step = match self.decide(Kind::Membership, &key, our, &theirs, Vec::new()) {
                Decision::Create => {
                    Step::Create(MembershipState { application: app, user, flags, groups: Some(groups), permissions: Some(permissions) })
                }
                Decision::Update(id, fields) => {
                    let mut merged = our_flags.unwrap_or(flags);
                    for field in &fields {
                        match *field {
                            "is_superuser" => merged.is_superuser = flags.is_superuser,
                            "is_staff" => merged.is_staff = flags.is_staff,
                            "is_active" => merged.is_active = flags.is_active,
                            _ => {}
                        }
                    }
                    let ids = (self.plan.applications[app].existing_id().map(|a| a.0), self.plan.users[user].existing_id().map(|u| u.0));
                    self.audit_update("membership.update", &key, ids, &fields, before.unwrap_or(Value::Null), after);
                    Step::Update {
                        id,
                        state: MembershipState {
                            application: app,
                            user,
                            flags: merged,
                            groups: fields.contains(&"groups").then_some(groups),
                            permissions: fields.contains(&"permissions").then_some(permissions),
                        },
                    }
                }
                Decision::Keep(id) | Decision::Conflict(Some(id)) => Step::Keep(id),
                Decision::Conflict(None) | Decision::Removed => Step::Leave,
            };
            self.plan.memberships.push(step);
        }
    }

    // -- refresh tokens --------------------------------------------------------------------------

    fn tokens(&mut self) {
        if self.settings.tokens == TokenImport::Skip {
            return;
        }
        let now = self.settings.now;
        let export = self.export;
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        for t in &export.refresh_tokens {
            let user_label =
                self.user_index.get(&t.user_id).map_or_else(|| format!("(user {})", t.user_id), |&i| self.user_labels[i].clone());
            // Never the token itself: the report and the log must not carry it.
            let key = format!("{} {}", self.client_id_of(t.application_id), user_label);
            let owners = self.usable_application(t.application_id).and_then(|app| Ok((app, self.usable_user(t.user_id)?)));
            let (app, user) = match owners {
                Ok(o) => o,
                Err(reason) => {
                    self.skip(Kind::RefreshToken, &key, reason);
                    continue;
                }
            };
            let refresh = t.token.digest();
            if self.current.known_refresh_tokens.contains(&refresh.0) || !seen.insert(refresh.0.clone()) {
                self.plan.report.record(Kind::RefreshToken, key, Outcome::Unchanged);
                continue;
            }
            let (access, access_expires_at, scope) = match &t.access_token {
                Some(a) => {
                    (a.token.digest(), (a.expires > now).then_some(a.expires), a.scope.split_whitespace().collect::<Vec<_>>().join(" "))
                }
                // The column wants a digest; this one matches no access token.
                None => (SecretDigest::of(&format!("no access token for {}", t.token.expose())), None, String::new()),
            };
            self.plan.token_families.push(NewTokenFamily {
                application: app,
                user,
                scope: if scope.is_empty() { scope::DEFAULT.to_string() } else { scope },
                auth_time: t.created,
                refresh,
                // Refresh tokens of django-oauth-toolkit never expire by default; here they get
                // the application's sliding lifetime from now on.
                refresh_expires_at: now + self.app_refresh_lifetimes[app],
                access,
                access_expires_at,
            });
            self.plan.report.record(Kind::RefreshToken, key, Outcome::Created);
        }
    }
}

fn user_state_of(u: &User) -> UserState {
    UserState {
        username: u.username.clone(),
        username_key: username_key(&u.username),
        email: u.email.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        is_active: u.is_active,
        role: u.role,
        password_hash: u.password_hash.clone(),
        date_joined: u.date_joined,
        last_login: u.last_login,
    }
}

fn user_prints(s: &UserState) -> Prints {
    Prints::new()
        .with("username", &s.username)
        .with("email", &s.email)
        .with("first_name", &s.first_name)
        .with("last_name", &s.last_name)
        .with("is_active", &s.is_active)
        .with("role", &s.role)
        .with("password", &s.password_hash)
}

/// A user as its audit entries show it: the password only as a fingerprint.
fn user_json(s: &UserState) -> Value {
    json!({
        "username": s.username,
        "email": s.email,
        "first_name": s.first_name,
        "last_name": s.last_name,
        "is_active": s.is_active,
        "role": s.role,
        "password": fingerprint(&s.password_hash),
        "last_login": s.last_login,
    })
}

fn application_prints(s: &ApplicationState) -> Prints {
    Prints::new()
        .with("name", &s.name)
        .with("client_secret", &s.client_secret_digest.0)
        .with("redirect_uris", &join_redirect_uris(&s.redirect_uris))
}

fn application_json(s: &ApplicationState) -> Value {
    json!({
        "name": s.name,
        "client_secret": fingerprint(&s.client_secret_digest.0),
        "redirect_uris": join_redirect_uris(&s.redirect_uris),
    })
}

fn membership_prints(flags: MembershipFlags, groups: &[&str], permissions: &[&str]) -> Prints {
    Prints::new()
        .with("is_superuser", &flags.is_superuser)
        .with("is_staff", &flags.is_staff)
        .with("is_active", &flags.is_active)
        .with("groups", &groups)
        .with("permissions", &permissions)
}

fn membership_json(flags: MembershipFlags, groups: &[&str], permissions: &[&str]) -> Value {
    json!({
        "is_superuser": flags.is_superuser,
        "is_staff": flags.is_staff,
        "is_active": flags.is_active,
        "groups": groups,
        "permissions": permissions,
    })
}
