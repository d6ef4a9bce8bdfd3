//! The plan against small exports: a first import, a repeated one, changes on either side,
//! conflicts, and what depends on a row that is not imported.

use super::plan::{ApplicationState, GroupState, MembershipState, PermissionState, UserState};
use super::*;
use crate::domain::application::PkcePolicy;
use crate::domain::audit::Actor;
use crate::domain::membership::{GroupId, MembershipId};
use crate::domain::permission::PermissionId;
use crate::domain::redirect_uri::RedirectUriMatch;
use crate::domain::secret::{Secret, SecretDigest};
use crate::domain::user::{Role, UserId};

const NOW: UnixTime = 1_700_000_000;
/// A hash in a format a sign-in can check; the plan never verifies it.
const HASH: &str = "pbkdf2_sha256$260000$salt$aGFzaA==";
const SECRET: &str = "client-secret-0123456789";

fn settings(mode: ImportMode, tokens: TokenImport) -> ImportSettings {
    ImportSettings { mode, tokens, lifetimes: TokenLifetimes { access_token: 60, refresh_token: 3600 }, source: "test".into(), now: NOW }
}

fn user(id: i64, username: &str) -> SourceUser {
    SourceUser {
        id,
        username: username.into(),
        email: format!("{username}@example.org"),
        first_name: "First".into(),
        last_name: "Last".into(),
        password: HASH.into(),
        is_active: true,
        is_staff: true,
        is_superuser: false,
        may_change_provider_data: false,
        date_joined: NOW - 1000,
        last_login: Some(NOW - 100),
    }
}

fn application(id: i64, client_id: &str, secret: &str) -> SourceApplication {
    SourceApplication {
        id,
        client_id: client_id.into(),
        client_secret: Secret::from_given(secret.into()),
        name: format!("App {client_id}"),
        redirect_uris: "https://a.example/cb/ https://a.example/other/".into(),
        client_type: "confidential".into(),
        authorization_grant_type: "authorization-code".into(),
    }
}

fn permission(id: i64, application_id: i64, codename: &str) -> SourcePermission {
    SourcePermission { id, application_id, app_label: "notes".into(), codename: codename.into(), repr: format!("Can {codename}") }
}

/// Two applications; alice is staff in app 1 with a group and a direct permission; bob is a
/// superuser of the provider and a member of app 2.
fn export() -> DjangoExport {
    let mut bob = user(2, "bob");
    bob.is_superuser = true;
    DjangoExport {
        users: vec![user(1, "alice"), bob],
        applications: vec![application(10, "app1", SECRET), application(20, "app2", SECRET)],
        permissions: vec![permission(100, 10, "add_note"), permission(101, 10, "view_note"), permission(200, 20, "add_note")],
        groups: vec![SourceGroup { id: 1000, application_id: 10, name: "viewers".into(), permissions: vec![101] }],
        memberships: vec![
            SourceMembership {
                id: 1,
                application_id: 10,
                user_id: 1,
                is_superuser: false,
                is_staff: true,
                is_active: true,
                groups: vec![1000],
                permissions: vec![100],
            },
            SourceMembership {
                id: 2,
                application_id: 20,
                user_id: 2,
                is_superuser: true,
                is_staff: false,
                is_active: true,
                groups: vec![],
                permissions: vec![200],
            },
        ],
        refresh_tokens: Vec::new(),
    }
}

fn run(export: &DjangoExport, current: &CurrentState) -> ImportPlan {
    plan(export, current, &settings(ImportMode::Apply, TokenImport::Import), &Actor::Cli("test".into()))
}

/// What the store would hold after writing `plan` onto `current`: ids are made up, records
/// replaced, refresh token digests remembered.
fn apply(current: CurrentState, plan: &ImportPlan) -> CurrentState {
    let mut next = current;
    let mut next_id = 1000 + next.users.len() as i64 * 7 + next.memberships.len() as i64 * 13;
    let mut fresh = || {
        next_id += 1;
        next_id
    };
    let mut user_ids = Vec::new();
    for step in &plan.users {
        let (id, state): (Option<UserId>, Option<&UserState>) = match step {
            Step::Create(s) => (Some(UserId(fresh())), Some(s)),
            Step::Update { id, state } => (Some(*id), Some(state)),
            Step::Keep(id) => (Some(*id), None),
            Step::Leave => (None, None),
        };
        if let (Some(id), Some(s)) = (id, state) {
            next.users.retain(|u| u.id != id);
            next.users.push(User {
                id,
                username: s.username.clone(),
                email: s.email.clone(),
                first_name: s.first_name.clone(),
                last_name: s.last_name.clone(),
                is_active: s.is_active,
                role: s.role,
                date_joined: s.date_joined,
                last_login: s.last_login,
                password_hash: s.password_hash.clone(),
            });
        }
        user_ids.push(id);
    }
    let mut app_ids = Vec::new();
    for step in &plan.applications {
        let (id, state): (Option<ApplicationId>, Option<&ApplicationState>) = match step {
            Step::Create(s) => (Some(ApplicationId(fresh())), Some(s)),
            Step::Update { id, state } => (Some(*id), Some(state)),
            Step::Keep(id) => (Some(*id), None),
            Step::Leave => (None, None),
        };
        if let (Some(id), Some(s)) = (id, state) {
            next.applications.retain(|a| a.id != id);
            next.applications.push(Application {
                id,
                name: s.name.clone(),
                client_id: s.client_id.clone(),
                client_secret_digest: s.client_secret_digest.clone(),
                redirect_uris: s.redirect_uris.clone(),
                redirect_uri_match: s.redirect_uri_match,
                pkce: s.pkce,
                allow_insecure_redirect_uris: s.allow_insecure_redirect_uris,
                allow_introspection_get: s.allow_introspection_get,
                lifetimes: s.lifetimes,
                oidc: Default::default(),
                require_mfa: false,
                require_passkey: false,
                created_at: NOW,
            });
        }
        app_ids.push(id);
    }
    let mut perm_ids = Vec::new();
    for step in &plan.permissions {
        let (id, state): (Option<PermissionId>, Option<&PermissionState>) = match step {
            Step::Create(s) => (Some(PermissionId(fresh())), Some(s)),
            Step::Update { id, state } => (Some(*id), Some(state)),
            Step::Keep(id) => (Some(*id), None),
            Step::Leave => (None, None),
        };
        if let (Some(id), Some(s)) = (id, state) {
            next.permissions.retain(|(_, p)| p.id != id);
            next.permissions.push((app_ids[s.application].unwrap(), Permission { id, key: s.key.clone(), name: s.name.clone() }));
        }
        perm_ids.push(id);
    }
    let mut group_ids = Vec::new();
    for step in &plan.groups {
        let (id, state): (Option<GroupId>, Option<&GroupState>) = match step {
            Step::Create(s) => (Some(GroupId(fresh())), Some(s)),
            Step::Update { id, state } => (Some(*id), Some(state)),
            Step::Keep(id) => (Some(*id), None),
            Step::Leave => (None, None),
        };
        if let (Some(id), Some(s)) = (id, state) {
            next.groups.retain(|g| g.id != id);
            next.groups.push(Group {
                id,
                application_id: app_ids[s.application].unwrap(),
                name: s.name.clone(),
                permissions: s.permissions.iter().map(|&i| perm_ids[i].unwrap()).collect(),
            });
        }
        group_ids.push(id);
    }
    for step in &plan.memberships {
        let (id, state): (MembershipId, &MembershipState) = match step {
            Step::Create(s) => (MembershipId(fresh()), s),
            Step::Update { id, state } => (*id, state),
            Step::Keep(_) | Step::Leave => continue,
        };
        let before = next.memberships.iter().position(|m| m.id == id).map(|i| next.memberships.remove(i));
        next.memberships.push(Membership {
            id,
            application_id: app_ids[state.application].unwrap(),
            user_id: user_ids[state.user].unwrap(),
            flags: state.flags,
            groups: match &state.groups {
                Some(g) => g.iter().map(|&i| group_ids[i].unwrap()).collect(),
                None => before.as_ref().unwrap().groups.clone(),
            },
            permissions: match &state.permissions {
                Some(p) => p.iter().map(|&i| perm_ids[i].unwrap()).collect(),
                None => before.as_ref().unwrap().permissions.clone(),
            },
        });
    }
    for record in &plan.records {
        next.records.retain(|r| !(r.kind == record.kind && r.key == record.key));
        next.records.push(record.clone());
    }
    next.known_refresh_tokens.extend(plan.token_families.iter().map(|f| f.refresh.0.clone()));
    next
}

fn line<'p>(plan: &'p ImportPlan, kind: Kind, key: &str) -> &'p Outcome {
    &plan.report.lines.iter().find(|l| l.kind == kind && l.key == key).unwrap_or_else(|| panic!("no line for {kind:?} {key}")).outcome
}

#[test]
fn a_first_import_creates_everything_and_links_it_by_export_index() {
    let export = export();
    let plan = run(&export, &CurrentState::default());
    for kind in [Kind::User, Kind::Application, Kind::Permission, Kind::Group, Kind::Membership] {
        let c = plan.report.counts(kind);
        assert_eq!((c.updated, c.unchanged, c.conflicts, c.skipped), (0, 0, 0, 0), "{kind:?}");
    }
    assert_eq!(plan.report.counts(Kind::User).created, 2);
    assert_eq!(plan.report.counts(Kind::Membership).created, 2);
    let Step::Create(alice) = &plan.users[0] else { panic!() };
    assert_eq!((alice.username_key.as_str(), alice.password_hash.as_deref(), alice.role), ("alice", Some(HASH), Role::User));
    let Step::Create(bob) = &plan.users[1] else { panic!() };
    assert_eq!(bob.role, Role::Administrator);
    let Step::Create(app1) = &plan.applications[0] else { panic!() };
    assert_eq!(app1.client_secret_digest, SecretDigest::of(SECRET));
    assert_eq!(app1.redirect_uris.len(), 2);
    assert_eq!(app1.lifetimes.access_token, 60);
    let Step::Create(m) = &plan.memberships[0] else { panic!() };
    assert_eq!((m.application, m.user, m.groups.as_deref(), m.permissions.as_deref()), (0, 0, Some(&[0][..]), Some(&[0][..])));
    assert!(m.flags.is_staff && m.flags.is_active && !m.flags.is_superuser);
    assert_eq!(plan.records.len(), 2 + 2 + 3 + 1 + 2);
    // One summary entry, no per-row entries for created rows.
    assert_eq!(plan.audit.len(), 1);
    assert_eq!(plan.audit[0].action, "import.django");
}

#[test]
fn imported_applications_get_the_django_centralauth_profile_and_plain_http_uris_their_allowance() {
    let mut export = export();
    export.applications[0].redirect_uris = "http://intranet.example/cb/ http://127.0.0.1:9/cb/".into();
    let plan = run(&export, &CurrentState::default());
    let Step::Create(app1) = &plan.applications[0] else { panic!() };
    let settings = (app1.redirect_uri_match, app1.pkce, app1.allow_introspection_get);
    assert_eq!(settings, (RedirectUriMatch::AllowExtraQuery, PkcePolicy::Optional, true));
    assert_eq!(app1.redirect_uris.len(), 2, "kept as Django had them");
    assert!(app1.allow_insecure_redirect_uris);
    assert_eq!(plan.report.warnings.len(), 1, "{:?}", plan.report.warnings);
    assert!(plan.report.warnings[0].contains(&app1.client_id) && plan.report.warnings[0].contains("insecure"));
    // https and loopback http need no allowance.
    let Step::Create(app2) = &plan.applications[1] else { panic!() };
    assert!(!app2.allow_insecure_redirect_uris);
}

#[test]
fn staff_become_administrators_only_with_permissions_to_change_provider_data() {
    let mut export = export();
    export.users[0].may_change_provider_data = true;
    let mut carol = user(3, "carol");
    carol.is_staff = false;
    carol.may_change_provider_data = true;
    export.users.push(carol);
    let plan = run(&export, &CurrentState::default());
    let roles: Vec<Role> = plan
        .users
        .iter()
        .map(|s| match s {
            Step::Create(u) => u.role,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(roles, [Role::Administrator, Role::Administrator, Role::User]);
}

#[test]
fn a_repeated_import_of_an_unchanged_source_changes_nothing() {
    let export = export();
    let first = run(&export, &CurrentState::default());
    let current = apply(CurrentState::default(), &first);
    let second = run(&export, &current);
    assert!(second.report.changes_nothing(), "{:?}", second.report.lines);
    assert!(second.report.lines.is_empty(), "{:?}", second.report.lines);
    assert_eq!(second.report.counts(Kind::Membership).unchanged, 2);
    assert!(second.records.is_empty(), "no import record needs writing");
    assert!(second.users.iter().all(|s| matches!(s, Step::Keep(_))));
}

#[test]
fn changes_made_only_in_django_are_taken_and_audited() {
    let mut export = export();
    let first = run(&export, &CurrentState::default());
    let current = apply(CurrentState::default(), &first);
    export.users[0].first_name = "Alicia".into();
    export.users[0].last_login = Some(NOW - 10);
    export.memberships[0].is_staff = false;
    export.memberships[0].permissions = vec![];
    export.permissions[0].repr = "Can add a note".into();
    let second = run(&export, &current);
    assert_eq!(line(&second, Kind::User, "alice"), &Outcome::Updated { fields: vec!["first_name", "last_login"] });
    assert_eq!(line(&second, Kind::Membership, "app1 alice"), &Outcome::Updated { fields: vec!["is_staff", "permissions"] });
    assert_eq!(line(&second, Kind::Permission, "app1 notes.add_note"), &Outcome::Updated { fields: vec!["name"] });
    let Step::Update { state, .. } = &second.memberships[0] else { panic!("{:?}", second.memberships[0]) };
    assert_eq!((state.flags.is_staff, state.groups.as_deref(), state.permissions.as_deref()), (false, None, Some(&[][..])));
    let actions: Vec<&str> = second.audit.iter().map(|e| e.action).collect();
    assert_eq!(actions, ["user.update", "permission.update", "membership.update", "import.django"]);
    let user_entry = &second.audit[0];
    assert_eq!(user_entry.before.as_ref().unwrap()["first_name"], "First");
    assert_eq!(user_entry.after.as_ref().unwrap()["first_name"], "Alicia");
    assert!(user_entry.after.as_ref().unwrap().get("email").is_none(), "only changed fields");
    // Applied, the next run is quiet again.
    let current = apply(current, &second);
    assert!(run(&export, &current).report.changes_nothing());
}

#[test]
fn changes_made_only_here_are_kept() {
    let export = export();
    let first = run(&export, &CurrentState::default());
    let mut current = apply(CurrentState::default(), &first);
    // Alice signed in here: her hash was upgraded; bob was renamed here.
    let alice = current.users.iter_mut().find(|u| u.username == "alice").unwrap();
    alice.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into());
    alice.last_login = Some(NOW);
    current.users.iter_mut().find(|u| u.username == "bob").unwrap().first_name = "Robert".into();
    let second = run(&export, &current);
    assert!(second.report.changes_nothing(), "{:?}", second.report.lines);
    assert_eq!(second.report.counts(Kind::User).unchanged, 2);
}

#[test]
fn a_field_changed_on_both_sides_is_a_conflict_and_the_row_is_left_alone() {
    let mut export = export();
    let first = run(&export, &CurrentState::default());
    let mut current = apply(CurrentState::default(), &first);
    let alice = current.users.iter_mut().find(|u| u.username == "alice").unwrap();
    alice.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into());
    export.users[0].password = "pbkdf2_sha256$260000$other$b3RoZXI=".into();
    export.users[0].email = "new@example.org".into();
    export.memberships[0].is_superuser = true;
    let second = run(&export, &current);
    match line(&second, Kind::User, "alice") {
        Outcome::Conflict { fields, reason } => {
            assert_eq!(fields, &["password"]);
            assert!(reason.contains("since the last import"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(second.users[0], Step::Keep(_)), "not even the email is taken from a conflicting row");
    // Alice was imported before, so she is the same person: her membership still follows Django.
    assert_eq!(line(&second, Kind::Membership, "app1 alice"), &Outcome::Updated { fields: vec!["is_superuser"] });
    assert_eq!(second.report.conflicts(), 1);
    assert!(!second.records.iter().any(|r| r.kind == Kind::User), "the base stays for the next run");
}

#[test]
fn a_row_made_here_by_hand_that_differs_is_a_conflict_and_its_dependants_are_skipped() {
    let export = export();
    let current = CurrentState {
        users: vec![User {
            id: UserId(7),
            username: "Alice".into(),
            email: "someone.else@example.org".into(),
            first_name: "First".into(),
            last_name: "Last".into(),
            is_active: true,
            role: Role::User,
            date_joined: NOW,
            last_login: None,
            password_hash: None,
        }],
        applications: vec![Application {
            id: ApplicationId(8),
            name: "App app2".into(),
            client_id: "app2".into(),
            client_secret_digest: SecretDigest::of("another-secret-0123456789"),
            redirect_uris: vec![],
            redirect_uri_match: RedirectUriMatch::AllowExtraQuery,
            pkce: PkcePolicy::Optional,
            allow_insecure_redirect_uris: false,
            allow_introspection_get: true,
            lifetimes: TokenLifetimes::default(),
            oidc: Default::default(),
            require_mfa: false,
            require_passkey: false,
            created_at: NOW,
        }],
        ..Default::default()
    };
    let plan = run(&export, &current);
    match line(&plan, Kind::User, "alice") {
        Outcome::Conflict { fields, reason } => {
            assert_eq!(fields, &["username", "email", "password"]);
            assert!(reason.contains("not imported before"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(line(&plan, Kind::Application, "app2"), Outcome::Conflict { fields, .. } if fields.contains(&"client_secret")));
    assert_eq!(line(&plan, Kind::Membership, "app1 alice"), &Outcome::Skipped { reason: "user alice is not imported".into() });
    assert_eq!(
        line(&plan, Kind::Permission, "app2 notes.add_note"),
        &Outcome::Skipped { reason: "application app2 is not imported".into() }
    );
    assert_eq!(line(&plan, Kind::Membership, "app2 bob"), &Outcome::Skipped { reason: "application app2 is not imported".into() });
    assert_eq!(plan.users[0], Step::Leave);
}

#[test]
fn an_identical_row_made_here_by_hand_is_adopted() {
    let export = export();
    let first = run(&export, &CurrentState::default());
    let mut current = apply(CurrentState::default(), &first);
    current.records.clear();
    let plan = run(&export, &current);
    assert!(plan.report.changes_nothing(), "{:?}", plan.report.lines);
    assert_eq!(plan.report.conflicts(), 0);
    assert_eq!(plan.records.len(), 10, "the rows get their import records now");
}

#[test]
fn usernames_equal_but_for_case_are_all_skipped() {
    let mut export = export();
    export.users.push(user(3, "ALICE"));
    let plan = run(&export, &CurrentState::default());
    assert!(matches!(line(&plan, Kind::User, "alice"), Outcome::Skipped { reason } if reason.contains("alice, ALICE")));
    assert!(matches!(line(&plan, Kind::User, "ALICE"), Outcome::Skipped { .. }));
    assert_eq!(plan.report.counts(Kind::User).created, 1);
}

#[test]
fn invalid_rows_are_skipped_with_a_reason() {
    let mut export = export();
    export.users[1].email = "not an address".into();
    export.applications[0].redirect_uris = "not-a-uri".into();
    export.applications.push(application(30, "hashed", "pbkdf2_sha256$600000$salt$aGFzaA=="));
    export.applications.push(application(40, "short", "short"));
    let mut public = application(50, "public", SECRET);
    public.client_type = "public".into();
    export.applications.push(public);
    let plan = run(&export, &CurrentState::default());
    assert!(matches!(line(&plan, Kind::User, "bob"), Outcome::Skipped { reason } if reason.contains("email")));
    assert!(matches!(line(&plan, Kind::Application, "app1"), Outcome::Skipped { reason } if reason.contains("redirect_uri")));
    assert!(matches!(line(&plan, Kind::Application, "hashed"), Outcome::Skipped { reason } if reason.contains("hashed")));
    assert!(matches!(line(&plan, Kind::Application, "short"), Outcome::Skipped { reason } if reason.contains("16")));
    assert!(matches!(line(&plan, Kind::Application, "public"), Outcome::Skipped { reason } if reason.contains("public")));
    assert_eq!(line(&plan, Kind::Group, "app1 viewers"), &Outcome::Skipped { reason: "application app1 is not imported".into() });
}

#[test]
fn links_to_another_applications_permissions_or_groups_are_refused() {
    let mut export = export();
    export.groups[0].permissions.push(200);
    export.memberships[1].groups = vec![1000];
    let plan = run(&export, &CurrentState::default());
    assert!(matches!(line(&plan, Kind::Group, "app1 viewers"), Outcome::Skipped { reason } if reason.contains("another application")));
    assert!(
        matches!(line(&plan, Kind::Membership, "app1 alice"), Outcome::Skipped { reason } if reason.contains("viewers is not imported"))
    );
    assert!(matches!(line(&plan, Kind::Membership, "app2 bob"), Outcome::Skipped { reason } if reason.contains("another application")));
}

#[test]
fn password_hashes_that_cannot_be_checked_are_dropped_with_a_warning() {
    let mut export = export();
    export.users[0].password = "md5$salt$0123456789abcdef".into();
    export.users[1].password = "!unusable".into();
    let plan = run(&export, &CurrentState::default());
    let hashes: Vec<Option<String>> = plan
        .users
        .iter()
        .map(|s| match s {
            Step::Create(u) => u.password_hash.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(hashes, [None, None]);
    assert_eq!(plan.report.warnings.len(), 1);
    assert!(plan.report.warnings[0].contains("alice") && plan.report.warnings[0].contains("md5"));
}

#[test]
fn a_membership_removed_here_is_not_brought_back() {
    let export = export();
    let first = run(&export, &CurrentState::default());
    let mut current = apply(CurrentState::default(), &first);
    current.memberships.retain(|m| !m.flags.is_staff);
    let plan = run(&export, &current);
    assert_eq!(line(&plan, Kind::Membership, "app1 alice"), &Outcome::Skipped { reason: "removed here since the last import".into() });
    assert!(plan.report.changes_nothing());
}

#[test]
fn refresh_tokens_become_token_families_once() {
    let mut export = export();
    let token = |value: &str, user_id: i64, access: Option<SourceAccessToken>| SourceRefreshToken {
        application_id: 10,
        user_id,
        token: Secret::from_given(value.into()),
        created: NOW - 50,
        access_token: access,
    };
    let access =
        |value: &str, expires: UnixTime| SourceAccessToken { token: Secret::from_given(value.into()), expires, scope: "read write".into() };
    export.refresh_tokens = vec![
        token("refresh-live", 1, Some(access("access-live", NOW + 100))),
        token("refresh-expired-access", 1, Some(access("access-old", NOW - 1))),
        token("refresh-of-nobody", 99, None),
    ];
    let plan = run(&export, &CurrentState::default());
    assert_eq!(plan.token_families.len(), 2);
    let live = &plan.token_families[0];
    assert_eq!((live.application, live.user, live.scope.as_str()), (0, 0, "read write"));
    assert_eq!((live.refresh.clone(), live.access.clone()), (SecretDigest::of("refresh-live"), SecretDigest::of("access-live")));
    assert_eq!((live.access_expires_at, live.refresh_expires_at, live.auth_time), (Some(NOW + 100), NOW + 3600, NOW - 50));
    assert_eq!(plan.token_families[1].access_expires_at, None);
    assert!(matches!(line(&plan, Kind::RefreshToken, "app1 (user 99)"), Outcome::Skipped { .. }));
    assert!(plan.report.lines.iter().all(|l| !l.to_string().contains("refresh-")), "no token in the report");

    let current = apply(CurrentState::default(), &plan);
    let again = run(&export, &current);
    assert!(again.token_families.is_empty());
    assert_eq!(again.report.counts(Kind::RefreshToken).unchanged, 2);

    let without = plan_without_tokens(&export);
    assert!(without.token_families.is_empty());
    assert_eq!(without.report.counts(Kind::RefreshToken), Counts::default());
}

fn plan_without_tokens(export: &DjangoExport) -> ImportPlan {
    plan(export, &CurrentState::default(), &settings(ImportMode::DryRun, TokenImport::Skip), &Actor::Cli("test".into()))
}

#[test]
fn a_dry_run_plans_the_same_but_writes_no_audit_entry() {
    let export = export();
    let dry = plan_without_tokens(&export);
    assert_eq!(dry.report.mode, ImportMode::DryRun);
    assert_eq!(dry.report.counts(Kind::User).created, 2);
    assert!(dry.audit.is_empty());
}

#[test]
fn permission_keys_compare_as_sets_whatever_the_order() {
    let mut export = export();
    export.memberships[0].permissions = vec![100, 101];
    let first = run(&export, &CurrentState::default());
    let current = apply(CurrentState::default(), &first);
    export.memberships[0].permissions = vec![101, 100, 101];
    assert!(run(&export, &current).report.changes_nothing());
}

#[test]
fn an_import_that_deactivates_or_brings_a_new_password_withdraws_what_a_change_here_would() {
    use crate::domain::effects::{account_withdrawal, membership_withdrawal};
    let mut export = export();
    let current = apply(CurrentState::default(), &run(&export, &CurrentState::default()));
    let user_id = |name: &str| current.users.iter().find(|u| u.username == name).unwrap().id;
    let app2 = current.applications.iter().find(|a| a.client_id == "app2").unwrap().id;
    assert!(run(&export, &current).withdrawals.is_empty(), "nothing changed, nothing withdrawn");
    export.users[0].is_active = false;
    export.users[1].password = "pbkdf2_sha256$260000$salt$bmV3".into();
    export.memberships[1].is_active = false;
    let second = run(&export, &current);
    assert_eq!(
        second.withdrawals,
        [
            account_withdrawal(user_id("alice"), true, false, None).unwrap(),
            account_withdrawal(user_id("bob"), false, true, None).unwrap(),
            membership_withdrawal(user_id("bob"), app2),
        ]
    );
    // Reactivated by a later import: nothing to withdraw.
    let current = apply(current, &second);
    export.users[0].is_active = true;
    assert!(run(&export, &current).withdrawals.is_empty());
}
