//! The administrative rules against fakes of the narrow ports: what is refused writes nothing.

use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::domain::Error;
use crate::domain::application::{Application, ApplicationId, PkcePolicy, TokenLifetimes};
use crate::domain::audit::Actor;
use crate::domain::clock::UnixTime;
use crate::domain::membership::{Group, GroupId, Membership, MembershipFlags, MembershipSpec};
use crate::domain::permission::PermissionId;
use crate::domain::ports::*;
use crate::domain::redirect_uri::RedirectUriMatch;
use crate::domain::secret::SecretDigest;
use crate::domain::user::{NewUser, Role, User, UserChanges, UserId};

const ALICE: UserId = UserId(1);
const BOB: UserId = UserId(2);
const APP: ApplicationId = ApplicationId(10);
const OTHER_APP: ApplicationId = ApplicationId(11);

/// Users, memberships and groups enough for the rules; every write is recorded, not applied.
#[derive(Default)]
struct Fake {
    delegated: Vec<ApplicationId>,
    group_members: Vec<UserId>,
    writes: Mutex<Vec<String>>,
}

impl Fake {
    fn wrote(&self, what: impl Into<String>) {
        self.writes.lock().unwrap().push(what.into());
    }
    fn writes(&self) -> Vec<String> {
        self.writes.lock().unwrap().clone()
    }
}

fn user(id: UserId, role: Role) -> User {
    User {
        id,
        username: format!("user{}", id.0),
        email: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        is_active: true,
        role,
        date_joined: 0,
        last_login: None,
        password_hash: None,
    }
}

fn app(id: ApplicationId) -> Application {
    Application {
        id,
        name: "App".into(),
        client_id: format!("app{}", id.0),
        client_secret_digest: SecretDigest::of("secret-0123456789abcdef"),
        redirect_uris: vec![],
        redirect_uri_match: RedirectUriMatch::AllowExtraQuery,
        pkce: PkcePolicy::Optional,
        allow_insecure_redirect_uris: false,
        allow_introspection_get: false,
        lifetimes: TokenLifetimes::default(),
        oidc: Default::default(),
        require_mfa: false,
        require_passkey: false,
        created_at: 0,
    }
}

fn group(permissions: &[i64]) -> Group {
    Group { id: GroupId(5), application_id: APP, name: "staff".into(), permissions: permissions.iter().copied().map(PermissionId).collect() }
}

#[async_trait]
impl UserStore for Fake {
    async fn insert_user(&self, u: &NewUser, _: &Actor) -> StoreResult<User> {
        self.wrote("insert_user");
        Ok(user(UserId(3), u.role))
    }
    async fn find_user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        Ok(Some(user(id, Role::User)))
    }
    async fn find_user_by_username(&self, _: &str) -> StoreResult<Option<User>> {
        Ok(None)
    }
    async fn find_user_for_login(&self, _: &str) -> StoreResult<Option<User>> {
        Ok(None)
    }
    async fn list_users(&self, _: &UserQuery) -> StoreResult<Vec<User>> {
        Ok(vec![])
    }
    async fn update_user(&self, id: UserId, _: &UserChanges, actor: &Actor) -> StoreResult<User> {
        self.wrote(format!("update_user {} by {}", id.0, actor.label()));
        Ok(user(id, Role::User))
    }
    async fn record_login(&self, _: UserId, _: UnixTime, _: Option<&str>) -> StoreResult<()> {
        Ok(())
    }
    async fn count_administrators(&self) -> StoreResult<i64> {
        Ok(1)
    }
    async fn delegated_applications(&self, _: UserId) -> StoreResult<Vec<ApplicationId>> {
        Ok(self.delegated.clone())
    }
    async fn set_delegated_applications(&self, _: UserId, _: &[ApplicationId], _: &Actor) -> StoreResult<()> {
        self.wrote("set_delegated_applications");
        Ok(())
    }
    async fn end_user_sessions(&self, _: UserId, _: UnixTime) -> StoreResult<Vec<EndedSession>> {
        Ok(vec![])
    }
    async fn end_user_access(&self, user: UserId, revoke_tokens: bool, actor: &Actor) -> StoreResult<crate::domain::effects::Withdrawn> {
        self.wrote(format!("end_user_access {} tokens={revoke_tokens} by {}", user.0, actor.label()));
        Ok(Default::default())
    }
}

#[async_trait]
impl MembershipStore for Fake {
    async fn find_membership(&self, _: ApplicationId, _: UserId) -> StoreResult<Option<Membership>> {
        Ok(None)
    }
    async fn insert_membership(&self, spec: &MembershipSpec, _: &Actor) -> StoreResult<Membership> {
        self.wrote(format!("insert_membership {}", spec.user_id.0));
        Ok(Membership {
            id: crate::domain::membership::MembershipId(1),
            application_id: spec.application_id,
            user_id: spec.user_id,
            flags: spec.flags,
            groups: spec.groups.clone(),
            permissions: spec.permissions.clone(),
        })
    }
    async fn update_membership(&self, spec: &MembershipSpec, actor: &Actor) -> StoreResult<Membership> {
        self.insert_membership(spec, actor).await
    }
    async fn delete_membership(&self, _: ApplicationId, user: UserId, _: &Actor) -> StoreResult<()> {
        self.wrote(format!("delete_membership {}", user.0));
        Ok(())
    }
    async fn membership_view(&self, _: ApplicationId, _: UserId) -> StoreResult<Option<MembershipView>> {
        Ok(None)
    }
    async fn list_memberships(&self, _: ApplicationId, _: &UserQuery) -> StoreResult<Vec<MemberSummary>> {
        Ok(vec![])
    }
    async fn memberships_of_user(&self, _: UserId) -> StoreResult<Vec<UserMembership>> {
        Ok(vec![])
    }
}

#[async_trait]
impl GroupStore for Fake {
    async fn insert_group(&self, _: ApplicationId, _: &str, _: &[PermissionId], _: &Actor) -> StoreResult<Group> {
        self.wrote("insert_group");
        Ok(group(&[]))
    }
    async fn list_groups(&self, _: ApplicationId) -> StoreResult<Vec<Group>> {
        Ok(vec![group(&[1])])
    }
    async fn update_group(&self, _: ApplicationId, _: GroupId, _: &str, _: &[PermissionId], _: &Actor) -> StoreResult<Group> {
        self.wrote("update_group");
        Ok(group(&[]))
    }
    async fn delete_group(&self, _: ApplicationId, _: GroupId, _: &Actor) -> StoreResult<()> {
        self.wrote("delete_group");
        Ok(())
    }
    async fn group_members(&self, _: ApplicationId, _: GroupId) -> StoreResult<Vec<User>> {
        Ok(self.group_members.iter().map(|id| user(*id, Role::User)).collect())
    }
    async fn set_group_members(&self, _: ApplicationId, _: GroupId, _: &[UserId], _: &Actor) -> StoreResult<()> {
        self.wrote("set_group_members");
        Ok(())
    }
    async fn save_group_with_members(
        &self,
        _: ApplicationId,
        _: Option<GroupId>,
        _: &str,
        permissions: &[PermissionId],
        _: Option<&[UserId]>,
        _: &Actor,
    ) -> StoreResult<Group> {
        self.wrote("save_group_with_members");
        Ok(group(&permissions.iter().map(|p| p.0).collect::<Vec<_>>()))
    }
}

async fn full(store: &Fake) -> Administrator {
    Administrator::load(store, &user(ALICE, Role::Administrator)).await.unwrap()
}

/// Alice, delegated administrator of `APP`.
async fn delegated(store: &Fake) -> Administrator {
    Administrator::load(store, &user(ALICE, Role::User)).await.unwrap()
}

#[tokio::test]
async fn an_administrator_cannot_deactivate_or_demote_themselves() {
    let store = Fake::default();
    let alice = full(&store).await;
    let update = UserUpdate { is_active: Some(false), administrator: Some(false), ..Default::default() };
    match update_user(&alice, &store, ALICE, update.clone()).await {
        Err(Error::SelfLockout { fields }) => assert_eq!(fields, ["is_active", "administrator"]),
        other => panic!("{other:?}"),
    }
    let demote = UserUpdate { administrator: Some(false), ..Default::default() };
    assert!(matches!(update_user(&alice, &store, ALICE, demote).await, Err(Error::SelfLockout { fields }) if fields == ["administrator"]));
    assert!(store.writes().is_empty(), "{:?}", store.writes());
    // Someone else, and their own harmless changes, are theirs to make.
    update_user(&alice, &store, BOB, update).await.unwrap();
    update_user(&alice, &store, ALICE, UserUpdate { first_name: Some("Alice".into()), ..Default::default() }).await.unwrap();
    assert_eq!(store.writes(), ["update_user 2 by user:user1", "update_user 1 by user:user1"]);
}

#[tokio::test]
async fn a_full_administrator_ends_another_users_sessions_with_or_without_their_tokens() {
    let store = Fake::default();
    let alice = full(&store).await;
    end_user_sessions(&alice, &store, BOB, true).await.unwrap();
    end_user_sessions(&alice, &store, BOB, false).await.unwrap();
    assert_eq!(store.writes(), ["end_user_access 2 tokens=true by user:user1", "end_user_access 2 tokens=false by user:user1"]);
}

#[tokio::test]
async fn the_cli_is_a_full_administrator_audited_as_cli_and_nobodys_account() {
    let store = Fake::default();
    let cli = Administrator::cli();
    update_user(&cli, &store, ALICE, UserUpdate { is_active: Some(false), ..Default::default() }).await.unwrap();
    let writes = store.writes();
    assert!(writes[0].starts_with("update_user 1 by cli:"), "{writes:?}");
}

#[tokio::test]
async fn a_delegated_administrator_manages_only_the_memberships_and_groups_of_their_applications() {
    let store = Fake { delegated: vec![APP], ..Default::default() };
    let alice = delegated(&store).await;
    // Accounts, applications' settings and delegation are a full administrator's.
    assert!(matches!(create_user(&alice, &store, UserInput { username: "eve".into(), ..Default::default() }).await, Err(Error::Forbidden)));
    assert!(matches!(update_user(&alice, &store, BOB, UserUpdate::default()).await, Err(Error::Forbidden)));
    assert!(matches!(end_user_sessions(&alice, &store, BOB, true).await, Err(Error::Forbidden)));
    assert!(matches!(set_delegation_by_id(&alice, &store, &user(ALICE, Role::User), &[OTHER_APP]).await, Err(Error::Forbidden)));
    // Another application's memberships and groups are out of reach.
    let flags = MembershipFlags { is_active: true, ..Default::default() };
    assert!(matches!(save_membership(&alice, &store, &app(OTHER_APP), BOB, flags, vec![], vec![]).await, Err(Error::Forbidden)));
    assert!(matches!(delete_group(&alice, &store, &app(OTHER_APP), &group(&[])).await, Err(Error::Forbidden)));
    assert!(store.writes().is_empty(), "{:?}", store.writes());
    // Their own application's are theirs.
    save_membership(&alice, &store, &app(APP), BOB, flags, vec![], vec![]).await.unwrap();
    delete_membership(&alice, &store, &app(APP), BOB).await.unwrap();
    assert_eq!(store.writes(), ["insert_membership 2", "delete_membership 2"]);
}

#[tokio::test]
async fn a_delegated_administrator_cannot_change_their_own_access() {
    let store = Fake { delegated: vec![APP], group_members: vec![ALICE], ..Default::default() };
    let alice = delegated(&store).await;
    let flags = MembershipFlags { is_superuser: true, is_staff: true, is_active: true };
    let own = save_membership(&alice, &store, &app(APP), ALICE, flags, vec![], vec![]).await;
    assert!(matches!(own, Err(Error::OwnAccess { .. })), "{own:?}");
    assert!(matches!(delete_membership(&alice, &store, &app(APP), ALICE).await, Err(Error::OwnAccess { .. })));
    // Not the permissions of a group they are in, nor their place in a group.
    let g = group(&[1]);
    let widen = GroupChange { group: Some(&g), name: "staff", permissions: &[PermissionId(1), PermissionId(2)], members: None };
    assert!(matches!(save_group(&alice, &store, &app(APP), widen).await, Err(Error::OwnAccess { reason: groups::OWN_GROUP })));
    assert!(matches!(set_group_members(&alice, &store, &app(APP), &g, &[]).await, Err(Error::OwnAccess { reason: groups::OWN_PLACE })));
    assert!(store.writes().is_empty(), "{:?}", store.writes());
    // Renaming the group keeps what it grants.
    let rename = GroupChange { group: Some(&g), name: "crew", permissions: &[PermissionId(1)], members: None };
    save_group(&alice, &store, &app(APP), rename).await.unwrap();
    // Outside the group, they may not join it.
    let outside = Fake { delegated: vec![APP], ..Default::default() };
    let join = GroupChange { group: Some(&g), name: "staff", permissions: &[PermissionId(1)], members: Some(&[ALICE, BOB]) };
    assert!(matches!(save_group(&alice, &outside, &app(APP), join).await, Err(Error::OwnAccess { reason: groups::OWN_PLACE })));
    assert!(outside.writes().is_empty());
}

#[tokio::test]
async fn a_full_administrator_may_change_their_own_membership() {
    let store = Fake::default();
    let alice = full(&store).await;
    let flags = MembershipFlags { is_superuser: true, is_staff: true, is_active: true };
    save_membership(&alice, &store, &app(APP), ALICE, flags, vec![], vec![]).await.unwrap();
    assert_eq!(store.writes(), ["insert_membership 1"]);
}
