//! Ports of the access model: applications, their permissions and groups, and memberships.

use async_trait::async_trait;

use super::{StoreResult, UserQuery};
use crate::domain::application::{Application, ApplicationId, NewApplication};
use crate::domain::audit::Actor;
use crate::domain::membership::{Group, GroupId, Membership, MembershipFlags, MembershipSpec};
use crate::domain::permission::{Declared, Permission, PermissionId, PermissionKey, SyncCounts};
use crate::domain::user::{User, UserId};

#[async_trait]
pub trait ApplicationStore: Send + Sync {
    /// Creates an application; `Conflict` when the client id is taken.
    async fn insert_application(&self, app: &NewApplication, actor: &Actor) -> StoreResult<Application>;
    async fn find_application_by_client_id(&self, client_id: &str) -> StoreResult<Option<Application>>;
    async fn list_applications(&self) -> StoreResult<Vec<Application>>;
    /// Stores every editable field of `app` (name, secret digest, redirect URIs, options).
    async fn update_application(&self, app: &Application, actor: &Actor) -> StoreResult<Application>;
    async fn find_application_by_id(&self, id: ApplicationId) -> StoreResult<Option<Application>>;
    /// What goes with the application when it is deleted.
    async fn application_usage(&self, id: ApplicationId) -> StoreResult<ApplicationUsage>;
    /// Deletes the application with its permissions, groups, memberships and grants; one audit entry.
    async fn delete_application(&self, id: ApplicationId, actor: &Actor) -> StoreResult<ApplicationUsage>;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplicationUsage {
    pub permissions: i64,
    pub groups: i64,
    pub memberships: i64,
    pub active_grants: i64,
}

#[async_trait]
pub trait PermissionStore: Send + Sync {
    async fn list_permissions(&self, app: ApplicationId) -> StoreResult<Vec<Permission>>;
    /// Makes the application's permission set equal to `declared` in one transaction: creates
    /// new ones, renames changed ones, deletes the rest with their grants; one audit entry.
    async fn sync_permissions(&self, app: ApplicationId, declared: Vec<Declared>, synced: u64, actor: &Actor) -> StoreResult<SyncCounts>;
    /// The permissions of `app` among `keys`; unknown keys are simply absent.
    async fn find_permissions(&self, app: ApplicationId, keys: &[PermissionKey]) -> StoreResult<Vec<Permission>>;
    /// Each permission of `app` with the groups that hold it and how many members hold it directly.
    async fn permission_usage(&self, app: ApplicationId) -> StoreResult<Vec<PermissionUsage>>;
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PermissionUsage {
    pub permission: Permission,
    pub groups: Vec<String>,
    pub direct_members: i64,
}

#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Creates a group; `Conflict` when the name is taken in the application. Every permission
    /// must belong to the group's application.
    async fn insert_group(&self, app: ApplicationId, name: &str, permissions: &[PermissionId], actor: &Actor) -> StoreResult<Group>;
    async fn list_groups(&self, app: ApplicationId) -> StoreResult<Vec<Group>>;
    /// Renames the group and replaces its permissions (all of `app`); members whose effective
    /// permissions change are told (access-change events). `NotFound` for a group of another app.
    async fn update_group(&self, app: ApplicationId, group: GroupId, name: &str, permissions: &[PermissionId], actor: &Actor)
    -> StoreResult<Group>;
    /// Deletes the group (its members lose what it gave); `NotFound` for a group of another app.
    async fn delete_group(&self, app: ApplicationId, group: GroupId, actor: &Actor) -> StoreResult<()>;
    /// The users whose membership in `app` includes the group, by username.
    async fn group_members(&self, app: ApplicationId, group: GroupId) -> StoreResult<Vec<User>>;
    /// Makes exactly `members` (users with a membership in `app`) the group's members.
    async fn set_group_members(&self, app: ApplicationId, group: GroupId, members: &[UserId], actor: &Actor) -> StoreResult<()>;
    /// Creates (`group` none) or changes a group and, when `members` is given, makes exactly them
    /// its members: one transaction, one audit entry.
    async fn save_group_with_members(
        &self,
        app: ApplicationId,
        group: Option<GroupId>,
        name: &str,
        permissions: &[PermissionId],
        members: Option<&[UserId]>,
        actor: &Actor,
    ) -> StoreResult<Group>;
}

#[async_trait]
pub trait MembershipStore: Send + Sync {
    async fn find_membership(&self, app: ApplicationId, user: UserId) -> StoreResult<Option<Membership>>;
    /// Creates a membership; `Conflict` when one exists. Groups and permissions must belong to
    /// the membership's application.
    async fn insert_membership(&self, spec: &MembershipSpec, actor: &Actor) -> StoreResult<Membership>;
    /// Replaces flags, groups and direct permissions of an existing membership.
    async fn update_membership(&self, spec: &MembershipSpec, actor: &Actor) -> StoreResult<Membership>;
    /// Deletes a membership; `NotFound` when there is none.
    async fn delete_membership(&self, app: ApplicationId, user: UserId, actor: &Actor) -> StoreResult<()>;
    /// Who the user is to the application: their account, membership flags and effective
    /// permissions; `None` when there is no membership.
    async fn membership_view(&self, app: ApplicationId, user: UserId) -> StoreResult<Option<MembershipView>>;
    /// The members of `app`, by username, searched and paged like the user list.
    async fn list_memberships(&self, app: ApplicationId, query: &UserQuery) -> StoreResult<Vec<MemberSummary>>;
    /// Every membership of the user, with its application, by application name.
    async fn memberships_of_user(&self, user: UserId) -> StoreResult<Vec<UserMembership>>;
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MemberSummary {
    pub user: User,
    pub flags: MembershipFlags,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct UserMembership {
    pub application: Application,
    pub flags: MembershipFlags,
}

/// A user as one application sees them (`/user/`).
#[derive(Debug, Clone)]
pub struct MembershipView {
    pub user: User,
    pub flags: MembershipFlags,
    pub permissions: Vec<PermissionKey>,
}

