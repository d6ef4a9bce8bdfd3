//! The import plan of what hangs on applications and users: permissions, groups,
//! memberships and refresh tokens.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::{Decision, GroupState, MembershipState, NewTokenFamily, PermissionState, Planner, Step};
use crate::domain::application::ApplicationId;
use crate::domain::effects;
use crate::domain::django_import::merge::Prints;
use crate::domain::django_import::{Kind, Outcome, TokenImport};
use crate::domain::membership::{MembershipFlags, parse_group_name};
use crate::domain::permission::{PermissionId, PermissionKey};
use crate::domain::scope;
use crate::domain::secret::SecretDigest;
use crate::domain::user::{UserId, username_key};

impl Planner<'_> {
    // -- permissions -----------------------------------------------------------------------------

    pub(super) fn permissions(&mut self) {
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

    pub(super) fn client_id_of(&self, django_app_id: i64) -> String {
        self.app_index.get(&django_app_id).map_or_else(|| format!("(application {django_app_id})"), |&i| self.app_client_ids[i].clone())
    }

    /// Export indexes of the permissions `ids`, which must belong to application `app` and be
    /// imported; sorted and without duplicates.
    pub(super) fn resolve_permissions(&self, app: usize, ids: &[i64]) -> Result<Vec<usize>, String> {
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

    pub(super) fn permission_keys(&self, indexes: &[usize]) -> Vec<&str> {
        let mut keys: Vec<&str> = indexes.iter().map(|&i| self.perm_keys[i].as_str()).collect();
        keys.sort_unstable();
        keys
    }

    pub(super) fn our_permission_keys(&self, ids: &[PermissionId]) -> Vec<&str> {
        let mut keys: Vec<&str> = ids.iter().filter_map(|id| self.our_perm_keys.get(id).map(String::as_str)).collect();
        keys.sort_unstable();
        keys
    }

    // -- groups ----------------------------------------------------------------------------------

    pub(super) fn groups(&mut self) {
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

    pub(super) fn resolve_groups(&self, app: usize, ids: &[i64]) -> Result<Vec<usize>, String> {
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

    pub(super) fn memberships(&mut self) {
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
                    if let (Some(app), Some(user), true) = (ids.0, ids.1, our_flags.is_some_and(|f| f.is_active) && !merged.is_active) {
                        self.plan.withdrawals.push(effects::membership_withdrawal(UserId(user), ApplicationId(app)));
                    }
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

    pub(super) fn tokens(&mut self) {
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
