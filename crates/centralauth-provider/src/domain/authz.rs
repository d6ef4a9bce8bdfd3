//! Who may administer what. An administrator (`Role::Administrator`) manages everything; a
//! delegated administrator manages only the memberships and groups of the applications they
//! were given, and can never widen what they hold: no users' accounts or roles, no
//! applications' settings or secrets, no delegation, and not their own membership.

use super::application::ApplicationId;
use super::audit::Actor;
use super::user::{Role, User, UserId};
use super::{Error, Result};
use crate::domain::ports::UserStore;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminScope {
    /// An administrator: everything.
    Full,
    /// A delegated administrator of these applications.
    Applications(Vec<ApplicationId>),
    /// Not an administrator: only their own account.
    None,
}

/// The signed-in (or token-holding) person and what they may administer.
#[derive(Debug, Clone)]
pub struct Administrator {
    pub user_id: UserId,
    pub username: String,
    pub scope: AdminScope,
    /// Whom the audit log names for their changes.
    actor: Actor,
    /// Acting through an API token limited to some applications: what they may do is less
    /// than what their account may, so they make no tokens (which could be wider).
    narrowed: bool,
}

/// No user has id 0: the CLI's administrator is nobody's account.
const NO_USER: UserId = UserId(0);

impl Administrator {
    pub async fn load(store: &dyn UserStore, user: &User) -> Result<Self> {
        let scope = match user.role {
            Role::Administrator => AdminScope::Full,
            Role::User => match store.delegated_applications(user.id).await? {
                apps if apps.is_empty() => AdminScope::None,
                apps => AdminScope::Applications(apps),
            },
        };
        Ok(Self { user_id: user.id, username: user.username.clone(), scope, actor: Actor::User(user.username.clone()), narrowed: false })
    }

    /// The operator at the command line: a full administrator, audited as `cli:<OS user>`.
    pub fn cli() -> Self {
        let actor = Actor::cli();
        let Actor::Cli(name) = &actor else { unreachable!("Actor::cli is a Cli actor") };
        Self { user_id: NO_USER, username: name.clone(), scope: AdminScope::Full, actor, narrowed: false }
    }

    /// The same person acting through a token limited to `apps`: a delegated administrator of
    /// those of `apps` they may administer now (a full administrator: all of `apps`; a
    /// delegated one: the ones of `apps` still delegated to them), never more.
    pub fn restricted_to(self, apps: &[ApplicationId]) -> Self {
        let scope = match &self.scope {
            AdminScope::None => AdminScope::None,
            _ => AdminScope::Applications(apps.iter().copied().filter(|app| self.manages(*app)).collect()),
        };
        Self { scope, narrowed: true, ..self }
    }

    /// Whether they act through a token limited to some applications.
    pub fn is_narrowed(&self) -> bool {
        self.narrowed
    }

    /// Whether `user` is the acting administrator's own account (never for the CLI).
    pub fn is(&self, user: UserId) -> bool {
        self.user_id != NO_USER && self.user_id == user
    }

    pub fn is_administrator(&self) -> bool {
        self.scope != AdminScope::None
    }

    pub fn is_full(&self) -> bool {
        self.scope == AdminScope::Full
    }

    /// Whether the application is theirs to see and to manage memberships and groups of.
    pub fn manages(&self, app: ApplicationId) -> bool {
        match &self.scope {
            AdminScope::Full => true,
            AdminScope::Applications(apps) => apps.contains(&app),
            AdminScope::None => false,
        }
    }

    /// Users, roles, applications' settings, delegation: administrators only.
    pub fn require_full(&self) -> Result<()> {
        if self.is_full() { Ok(()) } else { Err(Error::Forbidden) }
    }

    pub fn require_application(&self, app: ApplicationId) -> Result<()> {
        if self.manages(app) { Ok(()) } else { Err(Error::Forbidden) }
    }

    /// Memberships of an application: theirs to change, except their own (no self-escalation)
    /// unless they are a full administrator.
    pub fn require_membership_change(&self, app: ApplicationId, member: UserId) -> Result<()> {
        self.require_application(app)?;
        if !self.is_full() && self.is(member) {
            return Err(Error::OwnAccess { reason: "access denied" });
        }
        Ok(())
    }

    pub fn actor(&self) -> Actor {
        self.actor.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(scope: AdminScope) -> Administrator {
        Administrator { user_id: UserId(7), username: "d".into(), scope, actor: Actor::User("d".into()), narrowed: false }
    }

    #[test]
    fn delegated_administrators_manage_their_applications_only_and_not_their_own_membership() {
        let d = admin(AdminScope::Applications(vec![ApplicationId(1)]));
        assert!(d.require_application(ApplicationId(1)).is_ok());
        assert!(d.require_application(ApplicationId(2)).is_err());
        assert!(d.require_full().is_err());
        assert!(d.require_membership_change(ApplicationId(1), UserId(8)).is_ok());
        assert!(d.require_membership_change(ApplicationId(1), UserId(7)).is_err(), "no self-escalation");
        let full = admin(AdminScope::Full);
        assert!(full.require_membership_change(ApplicationId(2), UserId(7)).is_ok());
        assert!(!admin(AdminScope::None).is_administrator());
        let cli = Administrator::cli();
        assert!(cli.is_full() && !cli.is(UserId(0)));
        assert!(matches!(cli.actor(), Actor::Cli(_)));
    }

    #[test]
    fn a_token_limited_to_applications_never_reaches_beyond_its_owner() {
        let full = admin(AdminScope::Full).restricted_to(&[ApplicationId(1), ApplicationId(2)]);
        assert_eq!(full.scope, AdminScope::Applications(vec![ApplicationId(1), ApplicationId(2)]));
        assert!(full.require_full().is_err() && full.is_narrowed());
        let delegated = admin(AdminScope::Applications(vec![ApplicationId(2), ApplicationId(3)])).restricted_to(&[ApplicationId(1), ApplicationId(2)]);
        assert_eq!(delegated.scope, AdminScope::Applications(vec![ApplicationId(2)]));
        assert!(!admin(AdminScope::None).restricted_to(&[ApplicationId(1)]).is_administrator());
    }
}
