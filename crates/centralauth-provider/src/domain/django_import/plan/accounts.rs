//! The import plan of the entities everything else hangs on: users and applications.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{ApplicationState, Decision, Planner, Step, UserState};
use crate::domain::application::{ApplicationProfile, ClientId, join_redirect_uris, parse_name as parse_app_name};
use crate::domain::django_import::merge::{Prints, fingerprint};
use crate::domain::django_import::{Kind, SourceApplication, SourceUser};
use crate::domain::effects;
use crate::domain::password;
use crate::domain::redirect_uri::RedirectUri;
use crate::domain::user::{Email, Role, User, Username, parse_name as parse_person_name, username_key};

impl Planner<'_> {
    // -- users -----------------------------------------------------------------------------------

    pub(super) fn users(&mut self) {
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
                    let (deactivated, new_password) = (ours.is_active && !state.is_active, ours.password_hash != state.password_hash);
                    self.plan.withdrawals.extend(effects::account_withdrawal(id, deactivated, new_password, None));
                    Step::Update { id, state }
                }
                Decision::Keep(id) | Decision::Conflict(Some(id)) => Step::Keep(id),
                Decision::Conflict(None) | Decision::Removed => Step::Leave,
            };
            self.plan.users.push(step);
        }
    }

    pub(super) fn user_state(&mut self, u: &SourceUser) -> Result<UserState, String> {
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

    pub(super) fn applications(&mut self) {
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
                allow_introspection_get: o.allow_introspection_get,
                allow_insecure_redirect_uris: o.allow_insecure_redirect_uris,
                lifetimes: o.lifetimes,
            });
            let id = current.applications.iter().find(|o| o.client_id == theirs.client_id).map(|o| o.id);
            self.app_refresh_lifetimes.push(ours.as_ref().map_or(theirs.lifetimes, |o| o.lifetimes).refresh_token);
            let our = ours.as_ref().zip(id).map(|(o, id)| (id, application_prints(o)));
            let step = match self.decide(Kind::Application, &a.client_id, our, &application_prints(&theirs), Vec::new()) {
                Decision::Create => {
                    self.warn_insecure_redirect_uris(&theirs);
                    Step::Create(theirs)
                }
                Decision::Update(id, fields) => {
                    let ours = ours.unwrap_or_else(|| theirs.clone());
                    let mut state = ours.clone();
                    for field in &fields {
                        match *field {
                            "name" => state.name = theirs.name.clone(),
                            "client_secret" => state.client_secret_digest = theirs.client_secret_digest.clone(),
                            "redirect_uris" => {
                                state.redirect_uris = theirs.redirect_uris.clone();
                                if theirs.allow_insecure_redirect_uris && !state.allow_insecure_redirect_uris {
                                    state.allow_insecure_redirect_uris = true;
                                    self.warn_insecure_redirect_uris(&state);
                                }
                            }
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

    /// Told because an administrator could not register these URIs here without the allowance.
    fn warn_insecure_redirect_uris(&mut self, state: &ApplicationState) {
        if state.allow_insecure_redirect_uris {
            self.plan.report.warnings.push(format!(
                "application {}: it has plain http redirect URIs to hosts other than loopback; imported with insecure redirect URIs allowed",
                state.client_id
            ));
        }
    }

    pub(super) fn application_state(&self, a: &SourceApplication) -> Result<ApplicationState, String> {
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
        let django = ApplicationProfile::DjangoCentralauth.settings();
        // Kept as Django had them; registering plain http ones here needs the allowance.
        let needs_allowance =
            |u: &RedirectUri| RedirectUri::register(u.as_str(), false).is_err() && RedirectUri::register(u.as_str(), true).is_ok();
        let allow_insecure_redirect_uris = redirect_uris.iter().any(needs_allowance);
        Ok(ApplicationState {
            name,
            client_id: client_id.as_str().to_string(),
            client_secret_digest: a.client_secret.digest(),
            redirect_uris,
            // What django-centralauth's client needs (it adds `next` to the query, sends no
            // PKCE, and its provider answered introspection by GET).
            redirect_uri_match: django.redirect_uri_match,
            pkce: django.pkce,
            allow_introspection_get: django.allow_introspection_get,
            allow_insecure_redirect_uris,
            lifetimes: self.settings.lifetimes,
        })
    }

    /// The export index of an application whose dependants may be imported, or why not.
    pub(super) fn usable_application(&self, django_id: i64) -> Result<usize, String> {
        let Some(&i) = self.app_index.get(&django_id) else {
            return Err(format!("its application (Django id {django_id}) is not in the database"));
        };
        if self.plan.applications[i].usable() { Ok(i) } else { Err(format!("application {} is not imported", self.app_client_ids[i])) }
    }

    pub(super) fn usable_user(&self, django_id: i64) -> Result<usize, String> {
        let Some(&i) = self.user_index.get(&django_id) else {
            return Err(format!("its user (Django id {django_id}) is not in the database"));
        };
        if self.plan.users[i].usable() { Ok(i) } else { Err(format!("user {} is not imported", self.user_labels[i])) }
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
