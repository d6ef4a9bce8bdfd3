//! Groups of an application's permissions, and who is in them. A delegated administrator
//! manages the groups of their applications but widens nothing they hold: not their own place
//! in a group, nor the permissions of a group they are in. Members whose effective permissions
//! change are told (access-changed events), in the transaction of the change.

use std::collections::BTreeSet;

use super::memberships::resolve_permissions;
use crate::domain::application::Application;
use crate::domain::authz::Administrator;
use crate::domain::membership::{Group, GroupId, parse_group_name};
use crate::domain::permission::PermissionId;
use crate::domain::ports::{GroupStore, PermissionStore};
use crate::domain::user::UserId;
use crate::domain::{Error, Result};

/// A delegated administrator in a group must not change its permissions.
pub const OWN_GROUP: &str = "you are a member of this group: another administrator must change it";
/// A delegated administrator must not put themselves into, or take themselves out of, a group.
pub const OWN_PLACE: &str = "you cannot change your own place in a group";

/// Creates a group from permission names (the CLI).
pub async fn create_group<S: GroupStore + PermissionStore + ?Sized>(
    admin: &Administrator,
    store: &S,
    app: &Application,
    name: &str,
    permissions: &[String],
) -> Result<Group> {
    admin.require_application(app.id)?;
    let name = parse_group_name(name)?;
    let ids = resolve_permissions(store, app, permissions).await?;
    Ok(store.insert_group(app.id, &name, &ids, &admin.actor()).await?)
}

/// A group to create (`group` none) or change, from ids (forms and the API).
#[derive(Debug, Clone)]
pub struct GroupChange<'a> {
    pub group: Option<&'a Group>,
    pub name: &'a str,
    pub permissions: &'a [PermissionId],
    /// When given, exactly these users (members of the application) become its members.
    pub members: Option<&'a [UserId]>,
}

async fn is_member<S: GroupStore + ?Sized>(store: &S, app: &Application, group: GroupId, user: UserId) -> Result<bool> {
    Ok(store.group_members(app.id, group).await?.iter().any(|u| u.id == user))
}

/// Creates or changes a group and, when `members` is given, its members: one transaction, one
/// audit entry (`group.create` or `group.update`).
pub async fn save_group<S: GroupStore + ?Sized>(admin: &Administrator, store: &S, app: &Application, change: GroupChange<'_>) -> Result<Group> {
    admin.require_application(app.id)?;
    if !admin.is_full() {
        let inside = match change.group {
            Some(group) => is_member(store, app, group.id, admin.user_id).await?,
            None => false,
        };
        if change.members.is_some_and(|m| m.contains(&admin.user_id) != inside) {
            return Err(Error::OwnAccess { reason: OWN_PLACE });
        }
        let current: BTreeSet<PermissionId> = change.group.iter().flat_map(|g| g.permissions.iter().copied()).collect();
        if inside && change.permissions.iter().copied().collect::<BTreeSet<_>>() != current {
            return Err(Error::OwnAccess { reason: OWN_GROUP });
        }
    }
    let name = parse_group_name(change.name)?;
    Ok(store.save_group_with_members(app.id, change.group.map(|g| g.id), &name, change.permissions, change.members, &admin.actor()).await?)
}

/// Makes exactly `members` (users with a membership in the application) the group's members;
/// one audit entry (`group.members`).
pub async fn set_group_members<S: GroupStore + ?Sized>(admin: &Administrator, store: &S, app: &Application, group: &Group, members: &[UserId]) -> Result<()> {
    admin.require_application(app.id)?;
    if !admin.is_full() && is_member(store, app, group.id, admin.user_id).await? != members.contains(&admin.user_id) {
        return Err(Error::OwnAccess { reason: OWN_PLACE });
    }
    Ok(store.set_group_members(app.id, group.id, members, &admin.actor()).await?)
}

/// Deletes a group; its members lose what it gave them (and are told).
pub async fn delete_group<S: GroupStore + ?Sized>(admin: &Administrator, store: &S, app: &Application, group: &Group) -> Result<()> {
    admin.require_application(app.id)?;
    Ok(store.delete_group(app.id, group.id, &admin.actor()).await?)
}
