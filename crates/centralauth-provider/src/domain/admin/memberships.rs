//! Memberships: who may use an application, with which flags, groups and direct permissions.
//! A full administrator manages every membership; a delegated administrator those of their
//! applications except their own (no self-escalation).
//!
//! What a change sets off is decided by [`crate::domain::oidc::membership_change_event`] and
//! persisted with the change in one transaction: a membership deactivated or deleted signs the
//! user out of the application (back-channel logout), any other change of what it grants tells
//! the application (access-changed event); each change writes one audit entry
//! (`membership.create`, `membership.update`, `membership.delete`).

use crate::domain::application::Application;
use crate::domain::authz::Administrator;
use crate::domain::membership::{GroupId, Membership, MembershipFlags, MembershipSpec};
use crate::domain::permission::{PermissionId, PermissionKey};
use crate::domain::ports::{GroupStore, MembershipStore, PermissionStore, StoreError, UserQuery, UserStore};
use crate::domain::user::{User, UserId};
use crate::domain::{Error, Result};

/// Users one may add to an application, found by `text`. A full administrator searches (the
/// start of username, e-mail or name, active users only); a delegated administrator, who may
/// not browse the accounts of the installation, names one exactly: an active user with this
/// username, or nobody.
pub async fn find_users_to_add<S: UserStore + ?Sized>(admin: &Administrator, store: &S, text: &str, limit: i64) -> Result<Vec<User>> {
    let text = text.trim();
    if text.is_empty() || !admin.is_administrator() {
        return Ok(Vec::new());
    }
    if admin.is_full() {
        let query = UserQuery { search: Some(text.to_string()), active: Some(true), limit, ..Default::default() };
        return Ok(store.list_users(&query).await?);
    }
    match find_user_to_add(admin, store, text).await {
        Ok(user) => Ok(vec![user]),
        Err(Error::NotFound { .. }) => Ok(Vec::new()),
        Err(other) => Err(other),
    }
}

/// The user named to become (or as) a member. For a delegated administrator an inactive user
/// is "not found" just like a username nobody has, so that one 404 text answers both and
/// the answer tells nothing about accounts beyond their reach.
pub async fn find_user_to_add<S: UserStore + ?Sized>(admin: &Administrator, store: &S, username: &str) -> Result<User> {
    let username = username.trim();
    let user = match username {
        "" => None,
        name if name.len() > 254 => None,
        name => store.find_user_by_username(name).await?,
    };
    match user {
        Some(user) if user.is_active || admin.is_full() => Ok(user),
        _ => Err(Error::not_found("user")),
    }
}

/// A member of the application by username. "No such user" and "a user who is not a member"
/// are one answer (`NotFound("member")`), so that a delegated administrator cannot probe for
/// usernames through an application of theirs.
pub async fn find_member<S: UserStore + MembershipStore + ?Sized>(store: &S, app: &Application, username: &str) -> Result<(User, Membership)> {
    let user = store.find_user_by_username(username).await?;
    let found = match user {
        Some(user) => store.find_membership(app.id, user.id).await?.map(|m| (user, m)),
        None => None,
    };
    found.ok_or(Error::not_found("member"))
}

/// Resolves `app_label.codename` names to the application's permissions; unknown ones are an error.
pub async fn resolve_permissions<S: PermissionStore + ?Sized>(store: &S, app: &Application, dotted: &[String]) -> Result<Vec<PermissionId>> {
    let keys = dotted.iter().map(|d| PermissionKey::parse_dotted(d)).collect::<Result<Vec<_>>>()?;
    let found = store.find_permissions(app.id, &keys).await?;
    if let Some(missing) = keys.iter().find(|k| !found.iter().any(|p| &p.key == *k)) {
        return Err(Error::invalid("permission", format!("{missing} is not registered by {}", app.client_id)));
    }
    Ok(found.into_iter().map(|p| p.id).collect())
}

/// Resolves group names to the application's groups; unknown ones are an error.
pub async fn resolve_groups<S: GroupStore + ?Sized>(store: &S, app: &Application, names: &[String]) -> Result<Vec<GroupId>> {
    let groups = store.list_groups(app.id).await?;
    names
        .iter()
        .map(|n| {
            groups
                .iter()
                .find(|g| g.name == *n)
                .map(|g| g.id)
                .ok_or_else(|| Error::invalid("group", format!("{n:?} does not exist in {}", app.client_id)))
        })
        .collect()
}

/// Changes to a membership by names (the CLI); `None` keeps what is there.
#[derive(Debug, Default)]
pub struct MembershipChanges {
    pub is_superuser: Option<bool>,
    pub is_staff: Option<bool>,
    pub is_active: Option<bool>,
    pub groups: Option<Vec<String>>,
    pub permissions: Option<Vec<String>>,
}

/// Creates a membership from names; `Conflict` when the user already has one.
pub async fn add_membership<S: MembershipStore + GroupStore + PermissionStore + ?Sized>(
    admin: &Administrator,
    store: &S,
    app: &Application,
    user: &User,
    changes: MembershipChanges,
) -> Result<Membership> {
    admin.require_membership_change(app.id, user.id)?;
    let spec = MembershipSpec {
        application_id: app.id,
        user_id: user.id,
        flags: MembershipFlags {
            is_superuser: changes.is_superuser.unwrap_or(false),
            is_staff: changes.is_staff.unwrap_or(false),
            is_active: changes.is_active.unwrap_or(true),
        },
        groups: resolve_groups(store, app, changes.groups.as_deref().unwrap_or_default()).await?,
        permissions: resolve_permissions(store, app, changes.permissions.as_deref().unwrap_or_default()).await?,
    };
    Ok(store.insert_membership(&spec, &admin.actor()).await?)
}

/// Changes an existing membership from names; what is not named stays.
pub async fn update_membership<S: MembershipStore + GroupStore + PermissionStore + ?Sized>(
    admin: &Administrator,
    store: &S,
    app: &Application,
    user: &User,
    changes: MembershipChanges,
) -> Result<Membership> {
    admin.require_membership_change(app.id, user.id)?;
    let current = store.find_membership(app.id, user.id).await?.ok_or(Error::not_found("membership"))?;
    let groups = match &changes.groups {
        Some(names) => resolve_groups(store, app, names).await?,
        None => current.groups.clone(),
    };
    let permissions = match &changes.permissions {
        Some(names) => resolve_permissions(store, app, names).await?,
        None => current.permissions.clone(),
    };
    let spec = MembershipSpec {
        application_id: app.id,
        user_id: user.id,
        flags: MembershipFlags {
            is_superuser: changes.is_superuser.unwrap_or(current.flags.is_superuser),
            is_staff: changes.is_staff.unwrap_or(current.flags.is_staff),
            is_active: changes.is_active.unwrap_or(current.flags.is_active),
        },
        groups,
        permissions,
    };
    Ok(store.update_membership(&spec, &admin.actor()).await?)
}

/// Creates or replaces a membership from ids (forms and the API); the store refuses a group or
/// permission of another application (`Invalid` on the field `reference`).
pub async fn save_membership<S: MembershipStore + ?Sized>(
    admin: &Administrator,
    store: &S,
    app: &Application,
    user: UserId,
    flags: MembershipFlags,
    groups: Vec<GroupId>,
    permissions: Vec<PermissionId>,
) -> Result<Membership> {
    admin.require_membership_change(app.id, user)?;
    let spec = MembershipSpec { application_id: app.id, user_id: user, flags, groups, permissions };
    Ok(match store.find_membership(app.id, user).await? {
        Some(_) => store.update_membership(&spec, &admin.actor()).await?,
        None => store.insert_membership(&spec, &admin.actor()).await?,
    })
}

/// Removes a membership: the user loses access to the application and, when the membership
/// was active, is signed out of it. `NotFound` when there is none.
pub async fn delete_membership<S: MembershipStore + ?Sized>(admin: &Administrator, store: &S, app: &Application, user: UserId) -> Result<()> {
    admin.require_membership_change(app.id, user)?;
    store.delete_membership(app.id, user, &admin.actor()).await.map_err(|e| match e {
        StoreError::NotFound => Error::not_found("membership"),
        other => other.into(),
    })
}
