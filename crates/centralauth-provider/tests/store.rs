//! Store conformance: the rules the store itself guarantees, run in-process against SQLite, and
//! against PostgreSQL with `CENTRALAUTH_TEST_BACKEND=postgres`.

use centralauth_provider::domain::application::{ApplicationId, ClientId, NewApplication, PkcePolicy, TokenLifetimes};
use centralauth_provider::domain::audit::Actor;
use centralauth_provider::domain::membership::{MembershipFlags, MembershipSpec};
use centralauth_provider::domain::mfa::{Amr, Method};
use centralauth_provider::domain::permission::{Declared, PermissionKey};
use centralauth_provider::domain::redirect_uri::{RedirectUri, RedirectUriMatch};
use centralauth_provider::domain::scope::Scope;
use centralauth_provider::domain::secret::Secret;
use centralauth_provider::domain::secret::SecretDigest;
use centralauth_provider::domain::user::{Email, NewUser, Role, UserChanges, UserId, Username};
use centralauth_provider::domain::clock;
use centralauth_provider::domain::ports::{CodeGrant, NewApiToken, NewAuthorizationCode, NewTokenPair, Store, StoreError};
use centralauth_provider::store;
use std::sync::Arc;

/// A migrated store on a fresh database, and what keeps that database alive.
struct Fixture {
    store: Arc<dyn Store>,
    /// The database's URL, for a second store on it (another process or instance).
    url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.postgres.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    if let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut conn).await;
                    }
                });
            })
            .join();
        }
    }
}

async fn fixture() -> Fixture {
    let f = empty_database().await;
    f.store.migrate().await.unwrap();
    f
}

/// A store on a fresh database that is not migrated yet.
async fn empty_database() -> Fixture {
    if std::env::var("CENTRALAUTH_TEST_BACKEND").as_deref() == Ok("postgres") {
        let admin = std::env::var("CENTRALAUTH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("centralauth_store_{}", Secret::generate().expose()[..12].to_lowercase().replace(['-', '_'], "x"));
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await.unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        let store = store::connect(url.as_str(), clock::system()).await.unwrap();
        Fixture { store, url: url.to_string(), _dir: None, postgres: Some((admin, name)) }
    } else {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/store.db", dir.path().display());
        let store = store::connect(&url, clock::system()).await.unwrap();
        Fixture { store, url, _dir: Some(dir), postgres: None }
    }
}

fn actor() -> Actor {
    Actor::Cli("test".into())
}

async fn application(store: &dyn Store, client_id: &str) -> centralauth_provider::domain::application::Application {
    let app = NewApplication {
        name: client_id.into(),
        client_id: ClientId::parse(client_id).unwrap(),
        client_secret_digest: Secret::generate().digest(),
        redirect_uris: vec![RedirectUri::parse("https://app.example/cb/").unwrap()],
        redirect_uri_match: RedirectUriMatch::Exact,
        pkce: PkcePolicy::Optional,
        allow_insecure_redirect_uris: false,
        allow_introspection_get: false,
        lifetimes: TokenLifetimes::default(),
        oidc: Default::default(),
        require_mfa: false,
        require_passkey: false,
    };
    store.insert_application(&app, &actor()).await.unwrap()
}

async fn user(store: &dyn Store, name: &str) -> centralauth_provider::domain::user::User {
    let user = NewUser {
        username: Username::parse(name).unwrap(),
        email: Email::parse("").unwrap(),
        first_name: String::new(),
        last_name: String::new(),
        role: Role::User,
        password_hash: None,
    };
    store.insert_user(&user, &actor()).await.unwrap()
}

fn declared(label: &str, code: &str) -> Declared {
    Declared { key: PermissionKey::new(label, code).unwrap(), name: code.into() }
}

#[tokio::test]
async fn a_membership_cannot_hold_a_permission_or_group_of_another_application() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let (one, two) = (application(store, "one").await, application(store, "two").await);
    store.sync_permissions(two.id, vec![declared("a", "foreign")], 1, &actor()).await.unwrap();
    let foreign = store.list_permissions(two.id).await.unwrap()[0].id;
    let foreign_group = store.insert_group(two.id, "g", &[foreign], &actor()).await.unwrap().id;
    let alice = user(store, "alice").await;
    let flags = MembershipFlags { is_superuser: false, is_staff: false, is_active: true };
    let forged = MembershipSpec { application_id: one.id, user_id: alice.id, flags, groups: vec![], permissions: vec![foreign] };
    assert!(matches!(store.insert_membership(&forged, &actor()).await, Err(StoreError::Invalid(_))));
    let forged = MembershipSpec { application_id: one.id, user_id: alice.id, flags, groups: vec![foreign_group], permissions: vec![] };
    assert!(matches!(store.insert_membership(&forged, &actor()).await, Err(StoreError::Invalid(_))));
    assert!(matches!(store.insert_group(one.id, "g", &[foreign], &actor()).await, Err(StoreError::Invalid(_))));
    assert!(store.find_membership(one.id, alice.id).await.unwrap().is_none(), "nothing was written");
    assert!(store.list_groups(one.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn names_are_unique_where_the_domain_says_so() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let one = application(store, "one").await;
    user(store, "Alice").await;
    let again = NewUser {
        username: Username::parse("alice").unwrap(),
        email: Email::default(),
        first_name: String::new(),
        last_name: String::new(),
        role: Role::User,
        password_hash: None,
    };
    assert!(matches!(store.insert_user(&again, &actor()).await, Err(StoreError::Conflict(_))));
    store.insert_group(one.id, "editors", &[], &actor()).await.unwrap();
    assert!(matches!(store.insert_group(one.id, "editors", &[], &actor()).await, Err(StoreError::Conflict(_))));
    let two = application(store, "two").await;
    store.insert_group(two.id, "editors", &[], &actor()).await.expect("the same name in another application");
}

#[tokio::test]
async fn the_purge_removes_expired_rows_in_bounded_batches_and_keeps_live_ones() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let app = application(store, "one").await;
    let alice = user(store, "alice").await;
    let now = clock::Clock::now(&clock::SystemClock);
    let code = |expires_at| NewAuthorizationCode {
        digest: Secret::generate().digest(),
        grant: CodeGrant {
            application_id: app.id,
            user_id: alice.id,
            redirect_uri: String::new(),
            scope: Scope::from_stored("read write"),
            code_challenge: None,
            expires_at,
        },
        auth_time: now,
        nonce: None,
        sid: None,
        amr: Amr::of(&[Method::Pwd]),
    };
    // Used codes are remembered for a day to recognise replays; these are older than that.
    for _ in 0..5 {
        store.insert_authorization_code(&code(now - 2 * 24 * 3600)).await.unwrap();
    }
    let live = code(now + 60);
    store.insert_authorization_code(&live).await.unwrap();
    let tokens = token_pair(now);
    let accept = |_: &CodeGrant| Ok(());
    store.exchange_authorization_code(&live.digest, app.id, now, &accept, &tokens).await.unwrap();
    for s in 0..3 {
        let id = Secret::generate().digest();
        store.insert_session(&id, alice.id, "sid", &Amr::of(&[Method::Pwd]), now - 100, now - 1 - s).await.unwrap();
    }
    assert_eq!(store.purge_expired(now, 2).await.unwrap(), 4, "two codes and two sessions: at most the batch of each kind");
    assert_eq!(store.purge_expired(now, 100).await.unwrap(), 4, "the rest of them");
    assert_eq!(store.purge_expired(now, 100).await.unwrap(), 0);
    assert!(store.find_active_access_token(&tokens.access, now).await.unwrap().is_some(), "live tokens stay");
}

#[tokio::test]
async fn the_background_purge_works_off_a_backlog_larger_than_its_batch_in_one_pass() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let alice = user(store, "alice").await;
    let now = clock::Clock::now(&clock::SystemClock);
    for s in 0..7 {
        store.insert_session(&Secret::generate().digest(), alice.id, "sid", &Amr::of(&[Method::Pwd]), now - 100, now - 1 - s).await.unwrap();
    }
    let live = Secret::generate().digest();
    store.insert_session(&live, alice.id, "sid", &Amr::of(&[Method::Pwd]), now - 100, now + 3600).await.unwrap();
    assert_eq!(
        centralauth_provider::app::purge_caught_up(store, now, 2, 100).await.unwrap(),
        7,
        "batches of two, as many rounds as the backlog needs"
    );
    assert_eq!(centralauth_provider::app::purge_caught_up(store, now, 2, 100).await.unwrap(), 0);
    for s in 0..7 {
        store.insert_session(&Secret::generate().digest(), alice.id, "sid", &Amr::of(&[Method::Pwd]), now - 100, now - 1 - s).await.unwrap();
    }
    assert_eq!(centralauth_provider::app::purge_caught_up(store, now, 2, 2).await.unwrap(), 4, "no more rounds than allowed per pass");
    assert!(store.find_session(&live, now).await.unwrap().is_some(), "a live session stays");
}

/// An application that registered a back-channel URI, with alice an active member.
async fn listening_application(store: &dyn Store) -> (centralauth_provider::domain::application::Application, MembershipSpec) {
    let mut app = application(store, "events").await;
    app.oidc.backchannel_logout_uri = Some(RedirectUri::parse("https://app.example/backchannel/").unwrap());
    let app = store.update_application(&app, &actor()).await.unwrap();
    let alice = user(store, "alice").await;
    let flags = MembershipFlags { is_superuser: false, is_staff: false, is_active: true };
    let spec = MembershipSpec { application_id: app.id, user_id: alice.id, flags, groups: vec![], permissions: vec![] };
    store.insert_membership(&spec, &actor()).await.unwrap();
    (app, spec)
}

#[tokio::test]
async fn outbox_deliveries_are_written_with_the_change_and_leased_to_one_sender_at_a_time() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let (app, mut spec) = listening_application(store).await;
    let now = clock::Clock::now(&clock::SystemClock);
    assert!(store.claim_due_events(now, now + 30, 10).await.unwrap().is_empty(), "creating a membership announces nothing");

    spec.flags.is_staff = true;
    store.update_membership(&spec, &actor()).await.unwrap();
    spec.flags.is_active = false;
    store.update_membership(&spec, &actor()).await.unwrap();
    let claimed = store.claim_due_events(now + 1, now + 31, 10).await.unwrap();
    let kinds: Vec<&str> = claimed.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["access-changed", "logout"]);
    assert!(claimed.iter().all(|e| e.client_id == app.client_id && e.uri == "https://app.example/backchannel/"));
    assert_eq!(claimed[0].subject, spec.user_id.0.to_string());
    // Leased: a second sender (another instance) gets nothing until the lease runs out.
    assert!(store.claim_due_events(now + 2, now + 32, 10).await.unwrap().is_empty());
    store.finish_event(claimed[0].id).await.unwrap();
    store.retry_event(claimed[1].id, 1, now + 40, "receiver answered 503").await.unwrap();
    assert!(store.claim_due_events(now + 39, now + 69, 10).await.unwrap().is_empty());
    let again = store.claim_due_events(now + 40, now + 70, 10).await.unwrap();
    assert_eq!((again.len(), again[0].attempts, again[0].jti.clone()), (1, 1, claimed[1].jti.clone()));
    assert_eq!(store.count_pending_events().await.unwrap(), 1);
}

#[tokio::test]
async fn rotation_switches_the_signing_key_and_keeps_the_old_one_published_until_it_expires() {
    use centralauth_provider::domain::signing::{self, Algorithm, MasterKey};
    let f = fixture().await;
    let store = f.store.as_ref();
    let master = MasterKey::generate();
    let first = signing::generate(Algorithm::EdDSA, &master, 100).unwrap();
    assert!(store.insert_first_signing_key(&first).await.unwrap());
    let twin = signing::generate(Algorithm::EdDSA, &master, 100).unwrap();
    assert!(!store.insert_first_signing_key(&twin).await.unwrap(), "a second first key is not added");
    let second = signing::generate(Algorithm::EdDSA, &master, 200).unwrap();
    store.rotate_signing_key(&second, 200, 500, &actor()).await.unwrap();
    assert_eq!(store.active_signing_key("EdDSA").await.unwrap().unwrap().kid, second.kid);
    let kids = |keys: Vec<signing::StoredKey>| keys.into_iter().map(|k| k.kid).collect::<Vec<_>>();
    assert_eq!(kids(store.published_signing_keys(499).await.unwrap()), [second.kid.clone(), first.kid.clone()]);
    assert_eq!(kids(store.published_signing_keys(500).await.unwrap()), [second.kid.clone()]);
    assert!(store.active_signing_key("RS256").await.unwrap().is_none(), "algorithms rotate apart");
}

async fn person(store: &dyn Store, username: &str, email: &str, first: &str, last: &str, role: Role) -> centralauth_provider::domain::user::User {
    let user = NewUser {
        username: Username::parse(username).unwrap(),
        email: Email::parse(email).unwrap(),
        first_name: first.into(),
        last_name: last.into(),
        role,
        password_hash: None,
    };
    store.insert_user(&user, &actor()).await.unwrap()
}

fn names(users: &[centralauth_provider::domain::user::User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

#[tokio::test]
async fn the_user_list_pages_by_username_and_searches_name_and_address_prefixes_best_match_first() {
    use centralauth_provider::domain::user::UserChanges;
    use centralauth_provider::domain::ports::UserQuery;
    let f = fixture().await;
    let store = f.store.as_ref();
    person(store, "alice", "a.liddell@example.org", "Alice", "Liddell", Role::User).await;
    person(store, "Bob", "bob@example.org", "Robert", "Smith", Role::Administrator).await;
    person(store, "carol", "ALIAS@example.org", "Carol", "Smithers", Role::User).await;
    let dave = person(store, "dave", "dave@example.org", "Dave", "Alito", Role::User).await;
    person(store, "erin", "erin@example.org", "Erin", "Jones", Role::User).await;
    store.update_user(dave.id, &UserChanges { is_active: Some(false), ..Default::default() }, &actor()).await.unwrap();
    let list = |search: Option<&str>, active: Option<bool>, administrator: Option<bool>, after: Option<&str>, limit: i64| UserQuery {
        search: search.map(str::to_string),
        active,
        administrator,
        after_username_key: after.map(str::to_string),
        limit,
    };
    let found = store.list_users(&list(Some("ALI"), None, None, None, 10)).await.unwrap();
    assert_eq!(names(&found), ["alice", "carol", "dave"], "username, e-mail and last name prefixes, case-insensitively, once each");
    assert_eq!(names(&store.list_users(&list(Some("smith"), None, None, None, 10)).await.unwrap()), ["Bob", "carol"]);
    assert_eq!(names(&store.list_users(&list(Some("rob"), None, None, None, 10)).await.unwrap()), ["Bob"], "first name");
    assert!(store.list_users(&list(Some("lice"), None, None, None, 10)).await.unwrap().is_empty(), "a prefix, not a substring");
    assert_eq!(names(&store.list_users(&list(Some("ali"), Some(true), None, None, 10)).await.unwrap()), ["alice", "carol"]);
    assert_eq!(names(&store.list_users(&list(None, None, Some(true), None, 10)).await.unwrap()), ["Bob"]);
    // Keyset pages by the lower-cased username: no row twice, none missed.
    let first = store.list_users(&list(None, None, None, None, 2)).await.unwrap();
    assert_eq!(names(&first), ["alice", "Bob"]);
    let second = store.list_users(&list(None, None, None, Some("bob"), 2)).await.unwrap();
    assert_eq!(names(&second), ["carol", "dave"]);
    let third = store.list_users(&list(None, None, None, Some("dave"), 2)).await.unwrap();
    assert_eq!(names(&third), ["erin"]);
    // A search is one page, best match first (username, then e-mail, first, last name), without
    // a cursor: its cost is a page whatever the number of matches.
    assert_eq!(names(&store.list_users(&list(Some("ali"), None, None, None, 1)).await.unwrap()), ["alice"]);
    assert_eq!(names(&store.list_users(&list(Some("ali"), None, None, None, 2)).await.unwrap()), ["alice", "carol"]);
    assert_eq!(names(&store.list_users(&list(Some("ali"), None, None, Some("carol"), 10)).await.unwrap()), ["alice", "carol", "dave"]);
}

#[tokio::test]
async fn deleting_an_application_takes_its_permissions_groups_and_memberships_with_it() {
    use centralauth_provider::domain::ports::ApplicationUsage;
    let f = fixture().await;
    let store = f.store.as_ref();
    let (one, two) = (application(store, "one").await, application(store, "two").await);
    for app in [&one, &two] {
        store.sync_permissions(app.id, vec![declared("a", "view"), declared("a", "add")], 2, &actor()).await.unwrap();
    }
    let perms = store.list_permissions(one.id).await.unwrap();
    let group = store.insert_group(one.id, "g", &[perms[0].id], &actor()).await.unwrap();
    let alice = user(store, "alice").await;
    let flags = MembershipFlags { is_superuser: false, is_staff: true, is_active: true };
    for app in [&one, &two] {
        let groups = if app.id == one.id { vec![group.id] } else { vec![] };
        let spec = MembershipSpec { application_id: app.id, user_id: alice.id, flags, groups, permissions: vec![] };
        store.insert_membership(&spec, &actor()).await.unwrap();
    }
    let expected = ApplicationUsage { permissions: 2, groups: 1, memberships: 1, active_grants: 0 };
    assert_eq!(store.application_usage(one.id).await.unwrap(), expected);
    assert_eq!(store.delete_application(one.id, &actor()).await.unwrap(), expected);
    assert!(store.find_application_by_id(one.id).await.unwrap().is_none());
    assert!(store.list_permissions(one.id).await.unwrap().is_empty());
    assert!(store.list_groups(one.id).await.unwrap().is_empty());
    assert!(store.find_membership(one.id, alice.id).await.unwrap().is_none());
    assert!(store.find_membership(two.id, alice.id).await.unwrap().is_some(), "another application keeps its members");
    assert_eq!(store.list_permissions(two.id).await.unwrap().len(), 2);
    assert!(matches!(store.delete_application(one.id, &actor()).await, Err(StoreError::NotFound)));
    let entry = &store.recent_audit(1).await.unwrap()[0];
    assert_eq!((entry.action.as_str(), entry.target.as_str()), ("application.delete", "one"));
}

#[tokio::test]
async fn a_group_update_refuses_a_foreign_permission_and_a_group_of_another_application() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let (one, two) = (application(store, "one").await, application(store, "two").await);
    store.sync_permissions(one.id, vec![declared("a", "mine")], 1, &actor()).await.unwrap();
    store.sync_permissions(two.id, vec![declared("a", "foreign")], 1, &actor()).await.unwrap();
    let mine = store.list_permissions(one.id).await.unwrap()[0].id;
    let foreign = store.list_permissions(two.id).await.unwrap()[0].id;
    let group = store.insert_group(one.id, "g", &[mine], &actor()).await.unwrap();
    let theirs = store.insert_group(two.id, "t", &[foreign], &actor()).await.unwrap();
    let entries = store.recent_audit(1000).await.unwrap().len();
    assert!(matches!(store.update_group(one.id, group.id, "g2", &[mine, foreign], &actor()).await, Err(StoreError::Invalid(_))));
    assert!(matches!(store.update_group(one.id, theirs.id, "mine now", &[mine], &actor()).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_group(one.id, theirs.id, &actor()).await, Err(StoreError::NotFound)));
    store.insert_group(one.id, "other", &[], &actor()).await.unwrap();
    assert!(matches!(store.update_group(one.id, group.id, "other", &[mine], &actor()).await, Err(StoreError::Conflict(_))));
    let groups = store.list_groups(one.id).await.unwrap();
    let kept = groups.iter().find(|g| g.id == group.id).unwrap();
    assert_eq!((kept.name.as_str(), kept.permissions.clone()), ("g", vec![mine]), "nothing was written");
    assert_eq!(store.list_groups(two.id).await.unwrap()[0].name, "t");
    assert_eq!(store.recent_audit(1000).await.unwrap().len(), entries + 1, "only the successful insert wrote an entry");
    let renamed = store.update_group(one.id, group.id, "renamed", &[], &actor()).await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.permissions.len()), ("renamed", 0));
}

#[tokio::test]
async fn group_members_must_hold_a_membership_in_the_application() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let (one, two) = (application(store, "one").await, application(store, "two").await);
    let group = store.insert_group(one.id, "g", &[], &actor()).await.unwrap();
    let (alice, bob, carol) = (user(store, "alice").await, user(store, "bob").await, user(store, "carol").await);
    let flags = MembershipFlags { is_superuser: false, is_staff: false, is_active: true };
    for (app, member) in [(&one, &alice), (&one, &bob), (&two, &carol)] {
        let spec = MembershipSpec { application_id: app.id, user_id: member.id, flags, groups: vec![], permissions: vec![] };
        store.insert_membership(&spec, &actor()).await.unwrap();
    }
    store.set_group_members(one.id, group.id, &[alice.id, bob.id], &actor()).await.unwrap();
    assert_eq!(names(&store.group_members(one.id, group.id).await.unwrap()), ["alice", "bob"]);
    // carol is a member of another application only.
    assert!(matches!(store.set_group_members(one.id, group.id, &[alice.id, carol.id], &actor()).await, Err(StoreError::Invalid(_))));
    assert_eq!(names(&store.group_members(one.id, group.id).await.unwrap()), ["alice", "bob"], "nothing was written");
    store.set_group_members(one.id, group.id, &[bob.id], &actor()).await.unwrap();
    assert_eq!(names(&store.group_members(one.id, group.id).await.unwrap()), ["bob"]);
    assert_eq!(store.find_membership(one.id, bob.id).await.unwrap().unwrap().groups, [group.id]);
    assert!(store.find_membership(one.id, alice.id).await.unwrap().unwrap().groups.is_empty());
    assert!(matches!(store.set_group_members(two.id, group.id, &[carol.id], &actor()).await, Err(StoreError::NotFound)), "a group of another application");
}

fn new_token(secret: &Secret, name: &str, owner: centralauth_provider::domain::user::UserId) -> NewApiToken {
    NewApiToken { digest: secret.digest(), name: name.into(), owner, expires_at: None, read_only: false, applications: None }
}

#[tokio::test]
async fn api_tokens_are_found_by_digest_with_their_state_and_their_owner() {
    use centralauth_provider::domain::user::UserChanges;
    let f = fixture().await;
    let store = f.store.as_ref();
    let (alice, bob) = (user(store, "alice").await, user(store, "bob").await);
    let (a, b) = (Secret::generate(), Secret::generate());
    let token_a = store.insert_api_token(&new_token(&a, "deploy", alice.id), &actor()).await.unwrap();
    let token_b = store.insert_api_token(&new_token(&b, "backup", bob.id), &actor()).await.unwrap();
    let (found, owner) = store.find_api_token(&a.digest()).await.unwrap().expect("a live token");
    assert_eq!((found.id, found.name.as_str(), owner.username.as_str()), (token_a.id, "deploy", "alice"));
    assert!(owner.password_hash.is_none(), "the owner comes without their password hash");
    assert!(store.find_api_token(&Secret::generate().digest()).await.unwrap().is_none());
    assert_eq!(store.list_api_tokens(None).await.unwrap().len(), 2);
    assert_eq!(store.list_api_tokens(Some(bob.id)).await.unwrap()[0].id, token_b.id);
    // Only its owner (or anyone, without an owner) revokes a token, and only once.
    assert!(matches!(store.revoke_api_token(token_a.id, Some(bob.id), &actor()).await, Err(StoreError::NotFound)));
    store.revoke_api_token(token_a.id, Some(alice.id), &actor()).await.unwrap();
    assert!(matches!(store.revoke_api_token(token_a.id, None, &actor()).await, Err(StoreError::NotFound)));
    // The domain refuses revoked tokens and deactivated owners; the store tells it which.
    assert!(store.find_api_token(&a.digest()).await.unwrap().unwrap().0.revoked_at.is_some(), "revoked");
    assert!(store.list_api_tokens(Some(alice.id)).await.unwrap()[0].revoked_at.is_some());
    store.update_user(bob.id, &UserChanges { is_active: Some(false), ..Default::default() }, &actor()).await.unwrap();
    assert!(!store.find_api_token(&b.digest()).await.unwrap().unwrap().1.is_active, "a deactivated owner");
}

#[tokio::test]
async fn api_token_limits_are_kept_and_a_token_whose_applications_are_deleted_reaches_none() {
    use centralauth_provider::domain::ports::TokenApplication;
    let f = fixture().await;
    let store = f.store.as_ref();
    let alice = user(store, "alice").await;
    let (one, two) = (application(store, "one").await, application(store, "two").await);
    let secret = Secret::generate();
    let new = NewApiToken { expires_at: Some(2_000_000_000), read_only: true, applications: Some(vec![one.id, two.id]), ..new_token(&secret, "ci", alice.id) };
    let token = store.insert_api_token(&new, &actor()).await.unwrap();
    let expected = vec![TokenApplication { id: one.id, client_id: "one".into() }, TokenApplication { id: two.id, client_id: "two".into() }];
    assert_eq!((token.expires_at, token.read_only, token.applications.as_ref()), (Some(2_000_000_000), true, Some(&expected)));
    assert_eq!(store.list_api_tokens(None).await.unwrap()[0].applications.as_ref(), Some(&expected));
    store.delete_application(one.id, &actor()).await.unwrap();
    store.delete_application(two.id, &actor()).await.unwrap();
    let (found, _) = store.find_api_token(&secret.digest()).await.unwrap().unwrap();
    assert_eq!(found.applications, Some(Vec::new()), "still limited, now to nothing");
}

#[tokio::test]
async fn a_token_use_is_written_once_per_resolution() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let alice = user(store, "alice").await;
    let secret = Secret::generate();
    let token = store.insert_api_token(&new_token(&secret, "ci", alice.id), &actor()).await.unwrap();
    assert_eq!(token.last_used_at, None);
    store.record_api_token_use(token.id, 1_000, 60).await.unwrap();
    store.record_api_token_use(token.id, 1_059, 60).await.unwrap();
    assert_eq!(store.find_api_token(&secret.digest()).await.unwrap().unwrap().0.last_used_at, Some(1_000), "within the minute");
    store.record_api_token_use(token.id, 1_060, 60).await.unwrap();
    assert_eq!(store.find_api_token(&secret.digest()).await.unwrap().unwrap().0.last_used_at, Some(1_060));
}

#[tokio::test]
async fn the_audit_query_filters_by_actor_application_and_user_and_pages_by_id() {
    use centralauth_provider::domain::ports::AuditQuery;
    let f = fixture().await;
    let store = f.store.as_ref();
    let one = application(store, "one").await;
    let alice = user(store, "alice").await;
    let dana = Actor::User("dana".into());
    store.insert_group(one.id, "g1", &[], &dana).await.unwrap();
    store.insert_group(one.id, "g2", &[], &dana).await.unwrap();
    let flags = MembershipFlags { is_superuser: false, is_staff: false, is_active: true };
    let spec = MembershipSpec { application_id: one.id, user_id: alice.id, flags, groups: vec![], permissions: vec![] };
    store.insert_membership(&spec, &dana).await.unwrap();
    let query = |actor: Option<&str>, app: bool, user: bool, before_id: Option<i64>, limit: i64| AuditQuery {
        actor: actor.map(str::to_string),
        application_id: app.then_some(one.id),
        user_id: user.then_some(alice.id),
        before_id,
        limit,
    };
    let actions = |records: &[centralauth_provider::domain::ports::AuditRecord]| records.iter().map(|r| r.action.clone()).collect::<Vec<_>>();
    let by_dana = store.query_audit(&query(Some("user:dana"), false, false, None, 10)).await.unwrap();
    assert_eq!(actions(&by_dana), ["membership.create", "group.create", "group.create"], "newest first");
    let of_app = store.query_audit(&query(None, true, false, None, 10)).await.unwrap();
    assert_eq!(actions(&of_app), ["membership.create", "group.create", "group.create", "application.create"]);
    let of_alice = store.query_audit(&query(None, false, true, None, 10)).await.unwrap();
    assert_eq!(actions(&of_alice), ["membership.create", "user.create"]);
    assert_eq!(actions(&store.query_audit(&query(Some("user:dana"), true, true, None, 10)).await.unwrap()), ["membership.create"]);
    let page = store.query_audit(&query(None, true, false, None, 2)).await.unwrap();
    let rest = store.query_audit(&query(None, true, false, Some(page[1].id), 10)).await.unwrap();
    assert_eq!(actions(&rest), ["group.create", "application.create"]);
    assert!(rest.iter().all(|r| r.id < page[1].id));
    assert!(store.query_audit(&query(Some("user:nobody"), false, false, None, 10)).await.unwrap().is_empty());
}

/// A new access token (5 minutes) and refresh token (an hour).
fn token_pair(now: i64) -> NewTokenPair {
    NewTokenPair {
        access: Secret::generate().digest(),
        access_expires_at: now + 300,
        refresh: Secret::generate().digest(),
        refresh_expires_at: now + 3600,
    }
}

/// Signs `user` in to `app`: the access token of a fresh grant.
async fn access_token(store: &dyn Store, app: &centralauth_provider::domain::application::Application, user: UserId) -> SecretDigest {
    let now = clock::Clock::now(&clock::SystemClock);
    let code = NewAuthorizationCode {
        digest: Secret::generate().digest(),
        grant: CodeGrant {
            application_id: app.id,
            user_id: user,
            redirect_uri: String::new(),
            scope: Scope::from_stored("read write"),
            code_challenge: None,
            expires_at: now + 60,
        },
        auth_time: now,
        nonce: None,
        sid: None,
        amr: Amr::of(&[Method::Pwd]),
    };
    store.insert_authorization_code(&code).await.unwrap();
    let tokens = token_pair(now);
    store.exchange_authorization_code(&code.digest, app.id, now, &|_: &CodeGrant| Ok(()), &tokens).await.unwrap();
    tokens.access
}

#[tokio::test]
async fn what_user_answers_follows_every_change_at_once_whichever_process_makes_it() {
    let f = fixture().await;
    let store = f.store.as_ref();
    // Another process (the CLI) or provider instance on the same database, with its own memory.
    let other = store::connect(&f.url, clock::system()).await.unwrap();
    let app = application(store, "one").await;
    let alice = user(store, "alice").await;
    store.sync_permissions(app.id, vec![declared("a", "view"), declared("a", "add"), declared("a", "change")], 3, &actor()).await.unwrap();
    let perms = store.list_permissions(app.id).await.unwrap();
    let id = |code: &str| perms.iter().find(|p| p.key.codename == code).unwrap().id;
    let group = store.insert_group(app.id, "g", &[id("view")], &actor()).await.unwrap();
    let flags = MembershipFlags { is_superuser: false, is_staff: false, is_active: true };
    let mut spec = MembershipSpec { application_id: app.id, user_id: alice.id, flags, groups: vec![group.id], permissions: vec![id("add")] };
    store.insert_membership(&spec, &actor()).await.unwrap();
    let token = access_token(store, &app, alice.id).await;
    let now = clock::Clock::now(&clock::SystemClock);
    let seen = || async {
        let found = store.access_token_view(&token, now).await.unwrap().expect("an active token");
        found.view.map(|v| {
            let mut codes: Vec<String> = v.permissions.iter().map(|p| p.codename.clone()).collect();
            codes.sort();
            (codes.join(","), v.flags.is_staff, v.user.is_active, v.user.first_name.clone())
        })
    };
    let expect = |codes: &str, staff: bool, active: bool, first: &str| Some((codes.to_string(), staff, active, first.to_string()));
    assert_eq!(seen().await, expect("add,view", false, true, ""));
    assert_eq!(seen().await, expect("add,view", false, true, ""), "asked again (from memory)");

    other.update_group(app.id, group.id, "g", &[id("view"), id("change")], &actor()).await.unwrap();
    assert_eq!(seen().await, expect("add,change,view", false, true, ""), "a group's permissions");
    spec.flags.is_staff = true;
    spec.permissions = vec![];
    other.update_membership(&spec, &actor()).await.unwrap();
    assert_eq!(seen().await, expect("change,view", true, true, ""), "the membership's flags and direct permissions");
    other.sync_permissions(app.id, vec![declared("a", "view"), declared("a", "add")], 2, &actor()).await.unwrap();
    assert_eq!(seen().await, expect("view", true, true, ""), "a permission the application no longer registers");
    other.set_group_members(app.id, group.id, &[], &actor()).await.unwrap();
    assert_eq!(seen().await, expect("", true, true, ""), "the group's members");
    let rename = UserChanges { first_name: Some("Alice".into()), ..Default::default() };
    other.update_user(alice.id, &rename, &actor()).await.unwrap();
    assert_eq!(seen().await, expect("", true, true, "Alice"), "the account");
    other.delete_membership(app.id, alice.id, &actor()).await.unwrap();
    // Removing the membership revokes the application's tokens of the user (issue #13), so
    // nothing answers from memory for the token any more.
    assert!(store.access_token_view(&token, now).await.unwrap().is_none(), "no membership, no token");
    let bob = user(store, "bob").await;
    let bobs = access_token(store, &app, bob.id).await;
    assert!(store.access_token_view(&bobs, now).await.unwrap().expect("an active token").view.is_none(), "a user without membership");
    other.insert_membership(&MembershipSpec { user_id: bob.id, ..spec.clone() }, &actor()).await.unwrap();
    assert!(store.access_token_view(&bobs, now).await.unwrap().unwrap().view.is_some(), "a membership given");
}

#[tokio::test]
async fn sqlite_writes_reach_the_database_file_without_a_commit_checkpointing() {
    if std::env::var("CENTRALAUTH_TEST_BACKEND").as_deref() == Ok("postgres") {
        return;
    }
    let f = fixture().await;
    let store = f.store.as_ref();
    // Far below the 1,000 WAL pages at which a commit would checkpoint by SQLite's default.
    for i in 0..20 {
        user(store, &format!("user{i}")).await;
    }
    let db = std::path::PathBuf::from(f.url.trim_start_matches("sqlite://"));
    let copy = f._dir.as_ref().unwrap().path().join("copy.db");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        // The database file alone, as it would be without its WAL.
        std::fs::copy(&db, &copy).unwrap();
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&copy).immutable(true);
        let users: Option<i64> = match <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options).await {
            Ok(mut conn) => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut conn).await.ok(),
            Err(_) => None,
        };
        if users == Some(20) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the checkpoint thread copies the WAL back (found {users:?} users in the file)");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The throttle's compare-and-set (domain::throttle): of writers that saw the same count, one
/// wins, across stores on one database; a cleared key starts from nothing.
#[tokio::test]
async fn a_throttle_count_changes_only_from_what_its_writer_saw() {
    use centralauth_provider::domain::ports::ThrottleState;
    let f = fixture().await;
    let other = store::connect(&f.url, clock::system()).await.unwrap();
    let key = "account:1";
    assert_eq!(f.store.find_throttle(key).await.unwrap(), None);
    let one = ThrottleState { failures: 1, last_attempt_at: 100 };
    assert!(f.store.swap_throttle(key, None, one).await.unwrap());
    assert!(!other.swap_throttle(key, None, one).await.unwrap(), "a second first insert loses");
    assert_eq!(other.find_throttle(key).await.unwrap(), Some(one));
    let two = ThrottleState { failures: 2, last_attempt_at: 101 };
    // Ten writers that all saw `one`: exactly one of them moves it on.
    let wins = futures_util::future::join_all((0..10).map(|i| {
        let store = if i % 2 == 0 { f.store.clone() } else { other.clone() };
        async move { store.swap_throttle(key, Some(one), two).await.unwrap() }
    }))
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1);
    assert_eq!(f.store.find_throttle(key).await.unwrap(), Some(two));
    assert!(!f.store.swap_throttle(key, Some(one), ThrottleState { failures: 9, last_attempt_at: 102 }).await.unwrap(), "stale");
    other.clear_throttle(key).await.unwrap();
    assert_eq!(f.store.find_throttle(key).await.unwrap(), None);
    assert_eq!(f.store.find_throttle("account:2").await.unwrap(), None, "keys are apart");
}

/// A grant of `app` to `user` made in the provider session `sid`: its access and refresh token.
async fn grant_in(store: &dyn Store, app: ApplicationId, user: UserId, sid: &str, scope: &str) -> NewTokenPair {
    let now = clock::Clock::now(&clock::SystemClock);
    let code = NewAuthorizationCode {
        digest: Secret::generate().digest(),
        grant: CodeGrant {
            application_id: app,
            user_id: user,
            redirect_uri: String::new(),
            scope: Scope::from_stored(scope),
            code_challenge: None,
            expires_at: now + 60,
        },
        auth_time: now,
        nonce: None,
        sid: Some(sid.into()),
        amr: Amr::of(&[Method::Pwd]),
    };
    store.insert_authorization_code(&code).await.unwrap();
    let tokens = token_pair(now);
    store.exchange_authorization_code(&code.digest, app, now, &|_: &CodeGrant| Ok(()), &tokens).await.unwrap();
    tokens
}

/// Whether the access and the refresh token are still active for introspection.
async fn live(store: &dyn Store, tokens: &NewTokenPair) -> (bool, bool) {
    let now = clock::Clock::now(&clock::SystemClock);
    (
        store.find_active_access_token(&tokens.access, now).await.unwrap().is_some_and(|t| t.grants_access()),
        store.find_active_refresh_token(&tokens.refresh, now).await.unwrap().is_some_and(|t| t.grants_access()),
    )
}

/// alice, a member of a listening application (`events`, with a back-channel URI) and of
/// `quiet`, signed in in two browser sessions: a grant of each application in session one, an
/// `offline_access` grant of `events` in session two.
struct SignedIn {
    alice: UserId,
    events: ApplicationId,
    sessions: [SecretDigest; 2],
    events_grant: NewTokenPair,
    quiet_grant: NewTokenPair,
    offline_grant: NewTokenPair,
}

async fn signed_in(store: &dyn Store) -> SignedIn {
    let (events, spec) = listening_application(store).await;
    let quiet = application(store, "quiet").await;
    store.insert_membership(&MembershipSpec { application_id: quiet.id, ..spec.clone() }, &actor()).await.unwrap();
    let now = clock::Clock::now(&clock::SystemClock);
    let sessions = [Secret::generate().digest(), Secret::generate().digest()];
    for (session, sid) in sessions.iter().zip(["sid-one", "sid-two"]) {
        store.insert_session(session, spec.user_id, sid, &Amr::of(&[Method::Pwd]), now, now + 3600).await.unwrap();
    }
    SignedIn {
        alice: spec.user_id,
        events: events.id,
        events_grant: grant_in(store, events.id, spec.user_id, "sid-one", "openid").await,
        quiet_grant: grant_in(store, quiet.id, spec.user_id, "sid-one", "openid").await,
        offline_grant: grant_in(store, events.id, spec.user_id, "sid-two", "openid offline_access").await,
        sessions,
    }
}

impl SignedIn {
    async fn sessions_left(&self, store: &dyn Store) -> [bool; 2] {
        let now = clock::Clock::now(&clock::SystemClock);
        [store.find_session(&self.sessions[0], now).await.unwrap().is_some(), store.find_session(&self.sessions[1], now).await.unwrap().is_some()]
    }

    async fn grants_left(&self, store: &dyn Store) -> [(bool, bool); 3] {
        [live(store, &self.events_grant).await, live(store, &self.quiet_grant).await, live(store, &self.offline_grant).await]
    }
}

/// The back-channel logouts queued so far: (sid, subject) per delivery.
async fn logouts(store: &dyn Store) -> Vec<Option<String>> {
    let now = clock::Clock::now(&clock::SystemClock);
    let mut sids: Vec<Option<String>> =
        store.claim_due_events(now + 1, now + 30, 100).await.unwrap().into_iter().filter(|e| e.kind.as_str() == "logout").map(|e| e.sid).collect();
    sids.sort();
    sids
}

#[tokio::test]
async fn deactivation_ends_every_session_and_revokes_every_token_family_and_reactivation_brings_none_back() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let s = signed_in(store).await;
    assert_eq!((s.sessions_left(store).await, s.grants_left(store).await), ([true, true], [(true, true); 3]));
    store.update_user(s.alice, &UserChanges { is_active: Some(false), ..Default::default() }, &actor()).await.unwrap();
    store.update_user(s.alice, &UserChanges { is_active: Some(true), ..Default::default() }, &actor()).await.unwrap();
    assert_eq!((s.sessions_left(store).await, s.grants_left(store).await), ([false, false], [(false, false); 3]));
    // The listening application is told: once for the account (no sid), once per session that
    // had its grants (as at sign-out).
    assert_eq!(logouts(store).await, [None, Some("sid-one".into()), Some("sid-two".into())]);
}

#[tokio::test]
async fn a_new_password_ends_every_session_but_the_one_kept_and_revokes_every_token_family() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let s = signed_in(store).await;
    let own = UserChanges { password_hash: Some("x".into()), keep_session: Some(s.sessions[1].clone()), ..Default::default() };
    store.update_user(s.alice, &own, &actor()).await.unwrap();
    assert_eq!((s.sessions_left(store).await, s.grants_left(store).await), ([false, true], [(false, false); 3]));
    assert_eq!(logouts(store).await, [Some("sid-one".into())]);
    store.update_user(s.alice, &UserChanges { password_hash: Some("y".into()), ..Default::default() }, &actor()).await.unwrap();
    assert_eq!(s.sessions_left(store).await, [false, false], "an administrator's reset keeps none");
}

#[tokio::test]
async fn withdrawing_a_membership_revokes_that_applications_token_families_only() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let s = signed_in(store).await;
    let mut membership = store.find_membership(s.events, s.alice).await.unwrap().unwrap();
    membership.flags.is_active = false;
    let spec = MembershipSpec {
        application_id: s.events,
        user_id: s.alice,
        flags: membership.flags,
        groups: membership.groups.clone(),
        permissions: membership.permissions.clone(),
    };
    store.update_membership(&spec, &actor()).await.unwrap();
    assert_eq!(s.grants_left(store).await, [(false, false), (true, true), (false, false)]);
    assert_eq!(s.sessions_left(store).await, [true, true], "the provider's sessions are not the application's");
    let reactivated = MembershipSpec { flags: MembershipFlags { is_active: true, ..spec.flags }, ..spec };
    store.update_membership(&reactivated, &actor()).await.unwrap();
    assert_eq!(s.grants_left(store).await, [(false, false), (true, true), (false, false)], "reactivation brings nothing back");
    let quiet = store.find_application_by_client_id("quiet").await.unwrap().unwrap();
    store.delete_membership(quiet.id, s.alice, &actor()).await.unwrap();
    assert_eq!(s.grants_left(store).await, [(false, false); 3]);
}

#[tokio::test]
async fn an_administrator_ends_a_users_sessions_with_or_without_their_token_families_in_one_audited_change() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let s = signed_in(store).await;
    let ended = store.end_user_access(s.alice, false, &actor()).await.unwrap();
    assert_eq!((ended.sessions, ended.token_families), (2, 2));
    // As at sign-out: the sessions' grants go, the offline_access one stays.
    assert_eq!((s.sessions_left(store).await, s.grants_left(store).await), ([false, false], [(false, false), (false, false), (true, true)]));
    let ended = store.end_user_access(s.alice, true, &actor()).await.unwrap();
    assert_eq!((ended.sessions, ended.token_families), (0, 1));
    assert_eq!(s.grants_left(store).await, [(false, false); 3]);
    let audit = store.recent_audit(10).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "user.end_sessions").count(), 2);
    assert!(matches!(store.end_user_access(UserId(999_999), true, &actor()).await, Err(StoreError::NotFound)));
}

/// Applies the backend's migrations older than `version`, as an installation of an older release has them.
async fn migrate_before(f: &Fixture, version: i64) {
    let dir = if f.postgres.is_some() { "migrations/postgres" } else { "migrations/sqlite" };
    let mut migrator = sqlx::migrate::Migrator::new(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)).await.unwrap();
    migrator.migrations = migrator.migrations.iter().filter(|m| m.version < version).cloned().collect::<Vec<_>>().into();
    if f.postgres.is_some() {
        let pool = sqlx::PgPool::connect(&f.url).await.unwrap();
        migrator.run(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(&f.url).await.unwrap();
        migrator.run(&pool).await.unwrap();
        pool.close().await;
    }
}

#[tokio::test]
async fn applications_from_before_migration_0009_keep_introspection_by_get_new_ones_store_what_they_are_given() {
    let f = empty_database().await;
    migrate_before(&f, 9).await;
    let insert = "INSERT INTO applications (name, client_id, client_secret_digest, redirect_uris, redirect_uri_match, pkce, \
                  access_token_lifetime, refresh_token_lifetime, created_at) \
                  VALUES ('Old', 'old', X'00', 'http://intranet.example/cb/', 'allow_extra_query', 'optional', 300, 3600, 0)";
    if f.postgres.is_some() {
        let pool = sqlx::PgPool::connect(&f.url).await.unwrap();
        sqlx::query(&insert.replace("X'00'", "'\\x00'::bytea")).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(&f.url).await.unwrap();
        sqlx::query(insert).execute(&pool).await.unwrap();
        pool.close().await;
    }
    f.store.migrate().await.unwrap();
    let store = f.store.as_ref();
    let old = store.find_application_by_client_id("old").await.unwrap().unwrap();
    assert!(old.allow_introspection_get, "the upgrade keeps what every application did before");
    assert!(!old.allow_insecure_redirect_uris);
    assert_eq!(old.redirect_uris.len(), 1, "a stored http redirect URI is still read");

    let mut new = application(store, "new").await;
    assert!(!new.allow_introspection_get && !new.allow_insecure_redirect_uris);
    new.allow_introspection_get = true;
    new.allow_insecure_redirect_uris = true;
    store.update_application(&new, &actor()).await.unwrap();
    let read = store.find_application_by_client_id("new").await.unwrap().unwrap();
    assert!(read.allow_introspection_get && read.allow_insecure_redirect_uris);
}

#[tokio::test]
async fn a_sign_in_flow_is_taken_once_only_as_its_own_purpose_and_only_while_live() {
    use centralauth_provider::domain::ports::{FlowPurpose, SignInFlow};
    let f = fixture().await;
    let store = f.store.as_ref();
    let alice = user(store, "alice").await;
    let now = clock::Clock::now(&clock::SystemClock);
    let flow = |expires_at| SignInFlow {
        purpose: FlowPurpose::SecondStep,
        user_id: Some(alice.id),
        amr: Amr::of(&[Method::Pwd]),
        state: "/account/".into(),
        created_at: now,
        expires_at,
    };
    let (live, expired) = (Secret::generate().digest(), Secret::generate().digest());
    store.insert_flow(&live, &flow(now + 600)).await.unwrap();
    store.insert_flow(&expired, &flow(now - 1)).await.unwrap();
    assert!(store.find_flow(&live, FlowPurpose::TotpEnrolment, now).await.unwrap().is_none(), "another purpose");
    assert!(store.take_flow(&live, FlowPurpose::PasskeyAuthentication, now).await.unwrap().is_none(), "another purpose");
    let found = store.find_flow(&live, FlowPurpose::SecondStep, now).await.unwrap().expect("live");
    assert_eq!((found.user_id, found.amr.to_string(), found.state.as_str()), (Some(alice.id), "pwd".to_string(), "/account/"));
    let taken = store.take_flow(&live, FlowPurpose::SecondStep, now).await.unwrap().expect("taken once");
    assert_eq!(taken.user_id, Some(alice.id));
    assert!(store.take_flow(&live, FlowPurpose::SecondStep, now).await.unwrap().is_none(), "not twice");
    assert!(store.take_flow(&expired, FlowPurpose::SecondStep, now).await.unwrap().is_none(), "an expired flow is not taken");
    assert!(store.find_flow(&expired, FlowPurpose::SecondStep, now).await.unwrap().is_none());
}

#[tokio::test]
async fn a_step_up_gives_the_session_a_new_id_and_what_it_proved_and_keeps_its_sid() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let alice = user(store, "alice").await;
    let now = clock::Clock::now(&clock::SystemClock);
    let old = Secret::generate().digest();
    store.insert_session(&old, alice.id, "the-sid", &Amr::of(&[Method::Pwd]), now - 100, now + 3600).await.unwrap();
    let new = Secret::generate().digest();
    let amr = Amr::of(&[Method::Pwd, Method::Otp]);
    assert!(store.step_up_session(&old, &new, &amr, now, now).await.unwrap());
    assert!(store.find_session(&old, now).await.unwrap().is_none(), "the old id is gone");
    let session = store.find_session(&new, now).await.unwrap().expect("the new id");
    assert_eq!((session.amr, session.auth_time, session.sid.as_deref()), (amr, now, Some("the-sid")));
    assert!(!store.step_up_session(&old, &Secret::generate().digest(), &Amr::default(), now, now).await.unwrap(), "an ended session");
    let expired = Secret::generate().digest();
    store.insert_session(&expired, alice.id, "sid", &Amr::of(&[Method::Pwd]), now - 100, now - 1).await.unwrap();
    assert!(!store.step_up_session(&expired, &Secret::generate().digest(), &Amr::default(), now, now).await.unwrap(), "an expired session");
}

// --- TOTP steps and recovery codes (#15): single use decided by the database ---

#[tokio::test]
async fn a_totp_step_is_claimed_once_and_only_forward_and_a_recovery_code_is_consumed_once() {
    use centralauth_provider::domain::ports::NewTotpFactor;
    let f = fixture().await;
    let store = f.store.as_ref();
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    let codes = [Secret::generate().digest(), Secret::generate().digest()];
    let new = NewTotpFactor { user_id: alice.id, name: "Phone".into(), sealed_secret: vec![1, 2, 3], last_step: 100, created_at: 1 };
    let factor = store.insert_totp_factor(&new, Some(&codes), &actor()).await.unwrap();
    assert_eq!(store.list_totp_factors(alice.id).await.unwrap()[0].last_step, 100);
    assert_eq!(store.count_recovery_codes(alice.id).await.unwrap(), 2);

    assert!(!store.claim_totp_step(alice.id, factor.id, 100, 2).await.unwrap(), "the enrolment's step");
    assert!(!store.claim_totp_step(bob.id, factor.id, 101, 2).await.unwrap(), "another user's factor");
    let (a, b) = tokio::join!(store.claim_totp_step(alice.id, factor.id, 101, 2), store.claim_totp_step(alice.id, factor.id, 101, 2));
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|c| **c).count(), 1, "of two claims at once, one");
    assert!(!store.claim_totp_step(alice.id, factor.id, 99, 2).await.unwrap(), "never backwards");
    assert_eq!(store.list_factors(alice.id).await.unwrap()[0].last_used_at, Some(2));

    assert!(!store.consume_recovery_code(bob.id, &codes[0], 3, &actor()).await.unwrap(), "another user's code");
    let by = actor();
    let (a, b) = tokio::join!(store.consume_recovery_code(alice.id, &codes[0], 3, &by), store.consume_recovery_code(alice.id, &codes[0], 3, &by));
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|c| **c).count(), 1);
    assert_eq!(store.count_recovery_codes(alice.id).await.unwrap(), 1);
    store.replace_recovery_codes(alice.id, &[Secret::generate().digest()], 4, &actor()).await.unwrap();
    assert!(!store.consume_recovery_code(alice.id, &codes[1], 5, &actor()).await.unwrap(), "replaced codes are gone");
    assert_eq!(store.count_recovery_codes(alice.id).await.unwrap(), 1);
}

/// A webauthn-rs passkey with this credential id (its key is never used by the store).
fn passkey(credential_id: &[u8]) -> webauthn_rs::prelude::Passkey {
    use base64::Engine;
    serde_json::from_value(serde_json::json!({ "cred": {
        "cred_id": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(credential_id),
        "cred": { "type_": "ES256", "key": { "EC_EC2": { "curve": "SECP256R1", "x": vec![7u8; 32], "y": vec![9u8; 32] } } },
        "counter": 0, "user_verified": true, "backup_eligible": false, "backup_state": false, "registration_policy": "required",
        "extensions": { "cred_protect": "NotRequested", "hmac_create_secret": "NotRequested" },
        "attestation": { "data": "None", "metadata": "None" }, "attestation_format": "none"
    }}))
    .unwrap()
}

#[tokio::test]
async fn a_passkey_credential_is_registered_once_and_each_user_keeps_one_webauthn_handle() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let (alice, bob) = (user(store, "alice").await, user(store, "bob").await);

    // The first registration fixes the handle; later candidates do not change it.
    let handle = store.passkey_user_handle(alice.id, [1; 16]).await.unwrap();
    assert_eq!(handle, [1; 16]);
    assert_eq!(store.passkey_user_handle(alice.id, [2; 16]).await.unwrap(), [1; 16]);
    assert_eq!(store.find_user_by_passkey_handle(&[1; 16]).await.unwrap(), Some(alice.id));
    assert_eq!(store.find_user_by_passkey_handle(&[2; 16]).await.unwrap(), None);

    let added = store.insert_passkey(alice.id, "laptop", &passkey(&[5; 32]), None, 100, &actor()).await.unwrap();
    assert_eq!((added.name.as_str(), added.last_used_at), ("laptop", None));
    // The same credential id, for anyone: refused, nothing written.
    for owner in [alice.id, bob.id] {
        assert!(matches!(store.insert_passkey(owner, "copy", &passkey(&[5; 32]), None, 101, &actor()).await, Err(StoreError::Conflict(_))));
    }
    assert!(store.list_passkeys(bob.id).await.unwrap().is_empty());
    let found = store.find_passkey(&[5; 32]).await.unwrap().unwrap();
    assert_eq!((found.summary.user_id, found.credential.cred_id().as_slice()), (alice.id, &[5u8; 32][..]));
    assert!(store.find_passkey(&[6; 32]).await.unwrap().is_none());

    store.record_passkey_use(added.id, &found.credential, 200).await.unwrap();
    assert_eq!(store.list_passkeys(alice.id).await.unwrap()[0].summary.last_used_at, Some(200));
    assert!(matches!(store.record_passkey_use(added.id + 100, &found.credential, 200).await, Err(StoreError::NotFound)));
    let listed = store.list_factors(alice.id).await.unwrap();
    assert_eq!(listed.len(), 1, "a passkey is one of the user's factors");
    let audit = store.recent_audit(10).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "mfa.enrol").count(), 1, "one enrolment audited");
}

#[tokio::test]
async fn a_first_passkey_can_bring_its_recovery_codes_in_the_same_transaction() {
    let f = fixture().await;
    let store = f.store.as_ref();
    let alice = user(store, "alice").await;
    let codes = [Secret::generate().digest(), Secret::generate().digest(), Secret::generate().digest()];
    store.insert_passkey(alice.id, "laptop", &passkey(&[6; 32]), Some(&codes), 100, &actor()).await.unwrap();
    assert_eq!(store.count_recovery_codes(alice.id).await.unwrap(), 3);
    assert!(store.consume_recovery_code(alice.id, &codes[1], 101, &actor()).await.unwrap(), "a code of the passkey's enrolment works");
    let audit = store.recent_audit(10).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "mfa.recovery_codes").count(), 1, "the codes audited with the enrolment");
    // A refused registration (the credential is known) writes no codes either.
    let bob = user(store, "bob").await;
    let other = [Secret::generate().digest()];
    assert!(store.insert_passkey(bob.id, "copy", &passkey(&[6; 32]), Some(&other), 102, &actor()).await.is_err());
    assert_eq!(store.count_recovery_codes(bob.id).await.unwrap(), 0, "nothing half-written");
}
