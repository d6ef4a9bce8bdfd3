//! What a change sets off, decided here and persisted by the store in the transaction of the
//! change: its audit entry (with the action name) and the back-channel events it queues
//! (logout, access changed), and what it withdraws from a user (sessions, token families). The
//! store's write methods call these decisions and hand the result to one helper
//! (`sql::write_effects`); SQL decides nothing.

use super::application::{Application, ApplicationId};
use super::ports::ApplicationUsage;
use super::audit::{Actor, AuditEntry};
use super::membership::{Group, Membership};
use super::oidc::EventKind;
use super::secret::SecretDigest;
use super::user::{User, UserChanges, UserId};

/// Which applications a back-channel event goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipients {
    /// One application.
    Application(ApplicationId),
    /// Every application where the user holds an active membership.
    ActiveMembershipsOf(UserId),
}

/// A back-channel event about a user, queued with the change (the outbox, DESIGN §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub user: UserId,
    pub to: Recipients,
}

/// Which of a user's browser sessions a change ends, each as signing out ends it: the
/// applications signed in through it are told (back-channel logout with its `sid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sessions {
    All,
    /// Every session but this one (the cookie's digest): the browser that made the change.
    AllBut(SecretDigest),
}

/// Whose token families a change revokes (access and refresh tokens, `offline_access` ones
/// too), with the authorization codes not yet exchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    /// In every application.
    All,
    /// In one application.
    Application(ApplicationId),
}

/// What a change takes away from a user at once: nothing old survives it, so that a later
/// reactivation brings nothing back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    pub user: UserId,
    pub sessions: Option<Sessions>,
    pub tokens: Option<Tokens>,
}

/// What a withdrawal ended, as the store counted it: the sessions, and the token families
/// revoked with them or after them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Withdrawn {
    pub sessions: u64,
    pub token_families: u64,
}

/// The side effects of one change.
#[derive(Debug, Clone)]
pub struct Effects {
    pub audit: AuditEntry,
    pub events: Vec<Event>,
    pub withdrawal: Option<Withdrawal>,
}

impl Effects {
    fn audit(audit: AuditEntry) -> Self {
        Self { audit, events: Vec::new(), withdrawal: None }
    }

    fn withdraw(mut self, user: UserId, sessions: Option<Sessions>, tokens: Option<Tokens>) -> Self {
        self.withdrawal = Some(Withdrawal { user, sessions, tokens });
        self
    }

    fn event(mut self, kind: EventKind, user: UserId, to: Recipients) -> Self {
        self.events.push(Event { kind, user, to });
        self
    }
}

fn membership_entry(actor: &Actor, action: &'static str, m: &Membership) -> AuditEntry {
    AuditEntry::new(actor, action, format!("membership {}", m.id.0)).application(m.application_id.0).user(m.user_id.0)
}

/// A membership created: audited; the application learns of it at the user's next sign-in.
pub fn membership_created(actor: &Actor, created: &Membership) -> Effects {
    Effects::audit(membership_entry(actor, "membership.create", created).after(created))
}

/// A membership changed. Deactivated: the user is signed out of the application (back-channel
/// logout) and its token families are revoked. Any other change of flags, groups or
/// permissions: the application is told to re-sync the user (access changed). Nothing
/// changed: only the audit entry.
pub fn membership_updated(actor: &Actor, before: &Membership, after: &Membership) -> Effects {
    let mut effects = Effects::audit(membership_entry(actor, "membership.update", after).before(before).after(after));
    if before.flags.is_active && !after.flags.is_active {
        effects.withdrawal = Some(membership_withdrawal(after.user_id, after.application_id));
    }
    match super::oidc::membership_change_event(before, after) {
        Some(kind) => effects.event(kind, after.user_id, Recipients::Application(after.application_id)),
        None => effects,
    }
}

/// A membership deleted: its token families are revoked; when it was active, the user is
/// signed out of the application.
pub fn membership_deleted(actor: &Actor, before: &Membership) -> Effects {
    let mut effects = Effects::audit(membership_entry(actor, "membership.delete", before).before(before));
    effects.withdrawal = Some(membership_withdrawal(before.user_id, before.application_id));
    if before.flags.is_active {
        effects.event(EventKind::Logout, before.user_id, Recipients::Application(before.application_id))
    } else {
        effects
    }
}

/// A user created: audited.
pub fn user_created(actor: &Actor, created: &User) -> Effects {
    Effects::audit(AuditEntry::new(actor, "user.create", &created.username).user(created.id.0).after(created))
}

/// A user changed (`user.update`, or `user.update_password` when the change sets a password).
/// Deactivated: every application where they are an active member signs them out (issue #5),
/// every session ends and every token family is revoked. A new password: every session ends
/// (but the one that changed it, `changes.keep_session`) and every token family is revoked, so
/// that whoever knew the old one keeps nothing it gave them (issue #13).
pub fn user_updated(actor: &Actor, before: &User, after: &User, changes: &UserChanges) -> Effects {
    let action = if changes.password_hash.is_some() { "user.update_password" } else { "user.update" };
    let mut effects = Effects::audit(AuditEntry::new(actor, action, &after.username).user(after.id.0).before(before).after(after));
    let deactivated = before.is_active && !after.is_active;
    effects.withdrawal = account_withdrawal(after.id, deactivated, changes.password_hash.is_some(), changes.keep_session.as_ref());
    if deactivated {
        effects = effects.event(EventKind::Logout, after.id, Recipients::ActiveMembershipsOf(after.id));
    }
    effects
}

/// What a change of an account withdraws: a deactivation or a new password ends the user's
/// sessions (but `keep_session`, the one a user changed their own password in) and revokes
/// every token family of theirs, so that whoever held them keeps nothing and a reactivation
/// brings nothing back. Also the rule of the Django import's updates.
pub fn account_withdrawal(user: UserId, deactivated: bool, new_password: bool, keep_session: Option<&SecretDigest>) -> Option<Withdrawal> {
    if !(deactivated || new_password) {
        return None;
    }
    // A deactivated account keeps no session, whoever deactivated it.
    let sessions = match keep_session {
        Some(current) if !deactivated => Sessions::AllBut(current.clone()),
        _ => Sessions::All,
    };
    Some(Withdrawal { user, sessions: Some(sessions), tokens: Some(Tokens::All) })
}

/// What deactivating or removing a membership withdraws: the application's token families of
/// the user (the provider's sessions are not the application's). Also the Django import's rule.
pub fn membership_withdrawal(user: UserId, app: ApplicationId) -> Withdrawal {
    Withdrawal { user, sessions: None, tokens: Some(Tokens::Application(app)) }
}

/// An administrator ended a user's sessions (`user.end_sessions`), and with `revoke_tokens`
/// revoked their token families in every application too.
pub fn user_sessions_ended(actor: &Actor, user: &User, revoke_tokens: bool) -> Effects {
    let entry = AuditEntry::new(actor, "user.end_sessions", &user.username).user(user.id.0).after(&serde_json::json!({"revoke_tokens": revoke_tokens}));
    Effects::audit(entry).withdraw(user.id, Some(Sessions::All), revoke_tokens.then_some(Tokens::All))
}

/// An application registered (`application.create`).
pub fn application_created(actor: &Actor, created: &Application) -> Effects {
    Effects::audit(AuditEntry::new(actor, "application.create", &created.client_id).application(created.id.0).after(created))
}

/// An application's settings changed: `application.rotate_secret` when its secret changed with
/// them, `application.update` otherwise.
pub fn application_updated(actor: &Actor, before: &Application, after: &Application) -> Effects {
    let action = if before.client_secret_digest != after.client_secret_digest { "application.rotate_secret" } else { "application.update" };
    Effects::audit(AuditEntry::new(actor, action, &after.client_id).application(after.id.0).before(before).after(after))
}

/// An application deleted with everything of it (`application.delete`, with what went).
pub fn application_deleted(actor: &Actor, before: &Application, removed: &ApplicationUsage) -> Effects {
    let entry = AuditEntry::new(actor, "application.delete", &before.client_id)
        .application(before.id.0)
        .before(&serde_json::json!({"application": before, "removed": removed}));
    Effects::audit(entry)
}

/// Who was in a group before and after its members were set (user ids, ascending).
#[derive(Debug, Clone, Copy)]
pub struct MembersChange<'a> {
    pub before: &'a [i64],
    pub after: &'a [i64],
}

impl MembersChange<'_> {
    /// The users who joined or left: their effective permissions changed.
    fn moved(&self) -> impl Iterator<Item = UserId> + '_ {
        let left = self.before.iter().filter(|u| !self.after.contains(u));
        let joined = self.after.iter().filter(|u| !self.before.contains(u));
        left.chain(joined).map(|u| UserId(*u))
    }
}

fn access_changed(mut effects: Effects, app: ApplicationId, users: impl IntoIterator<Item = UserId>) -> Effects {
    for user in users {
        effects = effects.event(EventKind::AccessChanged, user, Recipients::Application(app));
    }
    effects
}

/// A group created or changed (`group.create`, `group.update`), with its members when they were
/// set in the same change. When its permissions changed, its active members (before the change
/// of members) are told their access changed; so are the users who joined or left.
pub fn group_saved(actor: &Actor, before: Option<&Group>, after: &Group, active_members: &[UserId], members: Option<MembersChange<'_>>) -> Effects {
    let action = if before.is_some() { "group.update" } else { "group.create" };
    let mut entry = AuditEntry::new(actor, action, &after.name)
        .application(after.application_id.0)
        .after(&serde_json::json!({"group": after, "members": members.map(|m| m.after)}));
    if let Some(before) = before {
        entry = entry.before(&serde_json::json!({"group": before, "members": members.map(|m| m.before)}));
    }
    let mut effects = Effects::audit(entry);
    if before.is_some_and(|b| b.permissions != after.permissions) {
        effects = access_changed(effects, after.application_id, active_members.iter().copied());
    }
    match members {
        Some(m) => access_changed(effects, after.application_id, m.moved()),
        None => effects,
    }
}

/// A group's members set (`group.members`): those who joined or left are told.
pub fn group_members_set(actor: &Actor, group: &Group, members: MembersChange<'_>) -> Effects {
    let entry = AuditEntry::new(actor, "group.members", &group.name).application(group.application_id.0).before(&members.before).after(&members.after);
    access_changed(Effects::audit(entry), group.application_id, members.moved())
}

/// A group deleted (`group.delete`): its active members lose what it gave and are told.
pub fn group_deleted(actor: &Actor, before: &Group, active_members: &[UserId]) -> Effects {
    let entry = AuditEntry::new(actor, "group.delete", &before.name).application(before.application_id.0).before(before);
    access_changed(Effects::audit(entry), before.application_id, active_members.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::membership::{MembershipFlags, MembershipId};

    fn membership(active: bool) -> Membership {
        Membership {
            id: MembershipId(3),
            application_id: ApplicationId(1),
            user_id: UserId(2),
            flags: MembershipFlags { is_active: active, ..Default::default() },
            groups: vec![],
            permissions: vec![],
        }
    }

    #[test]
    fn a_deactivated_membership_signs_the_user_out_of_its_application() {
        let effects = membership_updated(&Actor::System, &membership(true), &membership(false));
        assert_eq!(effects.audit.action, "membership.update");
        assert_eq!(effects.events, [Event { kind: EventKind::Logout, user: UserId(2), to: Recipients::Application(ApplicationId(1)) }]);
        let reactivated = membership_updated(&Actor::System, &membership(false), &membership(true));
        assert_eq!(reactivated.events[0].kind, EventKind::AccessChanged);
        assert!(membership_updated(&Actor::System, &membership(true), &membership(true)).events.is_empty());
        assert!(membership_deleted(&Actor::System, &membership(false)).events.is_empty());
    }

    #[test]
    fn withdrawing_a_membership_revokes_that_applications_tokens_only() {
        let only_app = Some(Withdrawal { user: UserId(2), sessions: None, tokens: Some(Tokens::Application(ApplicationId(1))) });
        assert_eq!(membership_updated(&Actor::System, &membership(true), &membership(false)).withdrawal, only_app);
        assert_eq!(membership_deleted(&Actor::System, &membership(true)).withdrawal, only_app);
        assert_eq!(membership_updated(&Actor::System, &membership(false), &membership(true)).withdrawal, None);
        assert_eq!(membership_updated(&Actor::System, &membership(true), &membership(true)).withdrawal, None);
    }

    #[test]
    fn deactivation_and_every_password_change_end_sessions_and_revoke_every_token_family() {
        use crate::domain::secret::SecretDigest;
        use crate::domain::user::Role;
        let user = |active: bool| User {
            id: UserId(2),
            username: "bob".into(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            is_active: active,
            role: Role::User,
            date_joined: 0,
            last_login: None,
            password_hash: None,
        };
        let everything = |sessions| Some(Withdrawal { user: UserId(2), sessions: Some(sessions), tokens: Some(Tokens::All) });
        let deactivate = UserChanges { is_active: Some(false), ..Default::default() };
        assert_eq!(user_updated(&Actor::System, &user(true), &user(false), &deactivate).withdrawal, everything(Sessions::All));
        let reset = UserChanges { password_hash: Some("x".into()), ..Default::default() };
        assert_eq!(user_updated(&Actor::System, &user(true), &user(true), &reset).withdrawal, everything(Sessions::All));
        let own = UserChanges { password_hash: Some("x".into()), keep_session: Some(SecretDigest(vec![7])), ..Default::default() };
        assert_eq!(user_updated(&Actor::System, &user(true), &user(true), &own).withdrawal, everything(Sessions::AllBut(SecretDigest(vec![7]))));
        let reactivate = UserChanges { is_active: Some(true), ..Default::default() };
        assert_eq!(user_updated(&Actor::System, &user(false), &user(true), &reactivate).withdrawal, None);
        let rename = UserChanges { first_name: Some("Bob".into()), ..Default::default() };
        assert_eq!(user_updated(&Actor::System, &user(true), &user(true), &rename).withdrawal, None);
        let ended = user_sessions_ended(&Actor::System, &user(true), false);
        assert_eq!((ended.audit.action, ended.withdrawal), ("user.end_sessions", Some(Withdrawal { user: UserId(2), sessions: Some(Sessions::All), tokens: None })));
    }

    #[test]
    fn a_group_tells_its_active_members_when_its_permissions_change_and_those_who_join_or_leave() {
        use crate::domain::membership::GroupId;
        use crate::domain::permission::PermissionId;
        let group = |perms: &[i64]| Group {
            id: GroupId(4),
            application_id: ApplicationId(1),
            name: "staff".into(),
            permissions: perms.iter().copied().map(PermissionId).collect(),
        };
        let told = |e: &Effects| e.events.iter().map(|e| e.user.0).collect::<Vec<_>>();
        let renamed = group_saved(&Actor::System, Some(&group(&[1])), &group(&[1]), &[UserId(7)], None);
        assert_eq!((renamed.audit.action, told(&renamed)), ("group.update", vec![]));
        let widened = group_saved(&Actor::System, Some(&group(&[1])), &group(&[1, 2]), &[UserId(7)], None);
        assert_eq!(told(&widened), [7]);
        let moved = group_members_set(&Actor::System, &group(&[1]), MembersChange { before: &[7, 8], after: &[8, 9] });
        assert_eq!((moved.audit.action, told(&moved)), ("group.members", vec![7, 9]));
    }
}
