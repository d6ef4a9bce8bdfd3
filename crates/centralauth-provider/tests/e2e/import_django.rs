//! `import-django` against Django provider databases built on the schema the real
//! django-centralauth 2.0.0 creates (fixtures/), of the test's backend: users sign in with their
//! old passwords, clients keep their credentials and refresh tokens, repeated runs change
//! nothing, conflicts are reported, and bad sources fail without touching our database.

use std::str::FromStr;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::support::*;

// Made with the real Django 3.2.25 at a low cost, so that sign-ins stay fast:
// PBKDF2PasswordHasher with iterations = 1000, Argon2PasswordHasher with memory_cost = 1024 and
// parallelism = 1, BCryptSHA256PasswordHasher with rounds = 4; `h.encode(password, h.salt())`.
const ALICE_HASH: &str = "pbkdf2_sha256$1000$t7lr32XBHvTrfE41tx8rDo$Vo2ULfxgOMjY5WGK4SN+46Yfdr/LK0aaJIX1OhULZRg=";
const BOB_HASH: &str = "argon2$argon2id$v=19$m=1024,t=2,p=1$QmIySnVNMlhGbG5NV1gyeVdjRU9JOQ$1orgA2pEfwyjhSQWEwontepD6xjQYJKZ1Jcbcl2VzDU";
const CAROL_HASH: &str = "bcrypt_sha256$$2b$04$DN5mop8Ax58sQLg121tiYums/moV0DxA5gwFrK8HRIVdcx5yJ9IUq";
const BOB_PASSWORD: &str = "bob-password-1";
const CAROL_PASSWORD: &str = "carol-password-1";
const SECRET2: &str = "client2-secret-0123456789";
const DJANGO_REFRESH: &str = "django-refresh-token-of-alice-01";
const DJANGO_ACCESS: &str = "django-access-token-of-alice-001";

/// A Django provider database on the test's backend.
struct DjangoDatabase {
    db: Arc<TestDatabase>,
}

impl DjangoDatabase {
    async fn create() -> Self {
        let db = TestDatabase::create().await;
        let schema = if backend_is_postgres() {
            include_str!("fixtures/django_postgres_schema.sql")
        } else {
            include_str!("fixtures/django_sqlite_schema.sql")
        };
        execute(&db.url, schema).await;
        Self { db }
    }

    /// Two applications; alice (PBKDF2) is staff in client1 with the group `viewers` and a
    /// direct permission; bob (argon2) has a direct permission in client1; carol (bcrypt), a
    /// Django superuser, is superuser in client2.
    async fn with_scene() -> Self {
        let django = Self::create().await;
        let t = at("2024-01-02 03:04:05.123456");
        django
            .execute(&format!(
                "INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES
                   (1, '{ALICE_HASH}', NULL, FALSE, 'alice', 'Alice', 'Anchor', 'alice@example.com', TRUE, TRUE, {t}),
                   (2, '{BOB_HASH}', {t}, FALSE, 'bob', 'Bob', 'Buoy', 'bob@example.com', TRUE, TRUE, {t}),
                   (3, '{CAROL_HASH}', {t}, TRUE, 'carol', 'Carol', 'Cable', 'carol@example.com', TRUE, TRUE, {t});
                 INSERT INTO provider_application (id, client_id, redirect_uris, client_type, authorization_grant_type, client_secret, name,
                                                   skip_authorization, created, updated, user_id, algorithm) VALUES
                   (1, 'client1', '{REDIRECT_URI} https://other.example/cb/', 'confidential', 'authorization-code', '{SECRET}', 'Client one', TRUE, {t}, {t}, NULL, ''),
                   (2, 'client2', '{REDIRECT_URI}', 'confidential', 'authorization-code', '{SECRET2}', 'Client two', TRUE, {t}, {t}, NULL, '');
                 INSERT INTO provider_applicationpermission (id, repr, codename, app_label, date_created, application_id) VALUES
                   (1, 'Can view group', 'view_group', 'auth', {t}, 1),
                   (2, 'Can add group', 'add_group', 'auth', {t}, 1),
                   (3, 'Can view group', 'view_group', 'auth', {t}, 2);
                 INSERT INTO provider_applicationpermissiongroup (id, name, date_created, application_id) VALUES (1, 'viewers', {t}, 1);
                 INSERT INTO provider_applicationpermissiongroup_permissions (id, applicationpermissiongroup_id, applicationpermission_id) VALUES (1, 1, 1);
                 INSERT INTO provider_applicationuser (id, is_superuser, is_staff, is_active, date_created, application_id, user_id) VALUES
                   (1, FALSE, TRUE, TRUE, {t}, 1, 1),
                   (2, FALSE, FALSE, TRUE, {t}, 1, 2),
                   (3, TRUE, FALSE, TRUE, {t}, 2, 3);
                 INSERT INTO provider_applicationuser_groups (id, applicationuser_id, applicationpermissiongroup_id) VALUES (1, 1, 1);
                 INSERT INTO provider_applicationuser_permissions (id, applicationuser_id, applicationpermission_id) VALUES (1, 1, 2), (2, 2, 1), (3, 3, 3);"
            ))
            .await;
        django
    }

    fn url(&self) -> &str {
        &self.db.url
    }

    async fn execute(&self, sql: &str) {
        execute(&self.db.url, sql).await;
    }
}

/// Runs SQL statements on a database of the test's backend (creating an SQLite file).
async fn execute(url: &str, sql: &str) {
    if backend_is_postgres() {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    } else {
        let options = SqliteConnectOptions::from_str(url).unwrap().create_if_missing(true);
        let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    }
}

/// The first column of every row, as text.
async fn column(url: &str, sql: &str) -> Vec<String> {
    if backend_is_postgres() {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
    }
}

async fn count(url: &str, table: &str) -> i64 {
    column(url, &format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table}")).await[0].parse().unwrap()
}

/// A Django datetime literal: naive UTC text on SQLite, as Django writes it there.
fn at(text: &str) -> String {
    if backend_is_postgres() { format!("'{text}+00'") } else { format!("'{text}'") }
}

fn in_an_hour() -> &'static str {
    if backend_is_postgres() { "now() + interval '1 hour'" } else { "strftime('%Y-%m-%d %H:%M:%f', 'now', '+1 hour')" }
}

async fn import(db: &TestDatabase, args: &[&str]) -> String {
    let (ok, stdout, stderr) = try_import(&db.url, args).await;
    assert!(ok, "import-django {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

async fn try_import(url: &str, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["import-django"];
    all.extend_from_slice(args);
    cli_on(url, &all, None).await
}

/// The summary row of a kind: [created, updated, unchanged, conflict, skipped].
fn counts(stdout: &str, kind: &str) -> [u64; 5] {
    let row = stdout
        .lines()
        .find(|l| l.starts_with(kind) && l[kind.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("no row {kind}:\n{stdout}"));
    let numbers: Vec<u64> = row[kind.len()..].split_whitespace().map(|n| n.parse().unwrap()).collect();
    numbers.try_into().unwrap()
}

async fn sign_in_and_get_user(p: &TestProvider, username: &str, password: &str, client_id: &str, secret: &str) -> serde_json::Value {
    let browser = Browser::new();
    let code = p.code_for(&browser, username, password, &[("client_id", client_id)]).await;
    let (status, tokens) = p
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (status, mut user) = p.user_endpoint(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    // What the Django provider answered too; our `sub` addition is checked in flows.rs.
    user.as_object_mut().unwrap().remove("sub");
    user
}

#[tokio::test]
async fn imported_users_sign_in_with_their_django_passwords_and_get_the_same_permissions() {
    let django = DjangoDatabase::with_scene().await;
    let ours = TestDatabase::create().await;
    let out = import(&ours, &["--from", django.url()]).await;
    assert_eq!(counts(&out, "users"), [3, 0, 0, 0, 0], "{out}");
    assert_eq!(counts(&out, "applications"), [2, 0, 0, 0, 0]);
    assert_eq!(counts(&out, "permissions"), [3, 0, 0, 0, 0]);
    assert_eq!(counts(&out, "groups"), [1, 0, 0, 0, 0]);
    assert_eq!(counts(&out, "memberships"), [3, 0, 0, 0, 0]);

    let p = TestProvider::start_on(ours.clone(), &[]).await;
    assert!(p.admin_password.is_none(), "carol, a Django superuser, is an administrator already");
    let alice = sign_in_and_get_user(&p, "alice", ALICE_PASSWORD, "client1", SECRET).await;
    assert_eq!(
        alice,
        json!({
            "username": "alice", "first_name": "Alice", "last_name": "Anchor", "email": "alice@example.com",
            "is_superuser": false, "is_staff": true, "is_active": true,
            "permissions": [["auth", "add_group"], ["auth", "view_group"]]
        })
    );
    let bob = sign_in_and_get_user(&p, "bob", BOB_PASSWORD, "client1", SECRET).await;
    assert_eq!((&bob["is_staff"], &bob["permissions"]), (&json!(false), &json!([["auth", "view_group"]])));
    let carol = sign_in_and_get_user(&p, "carol", CAROL_PASSWORD, "client2", SECRET2).await;
    assert_eq!((&carol["is_superuser"], &carol["permissions"]), (&json!(true), &json!([["auth", "view_group"]])));

    // Every Django hash was upgraded to argon2id at the first sign-in.
    for hash in column(&ours.url, "SELECT password_hash FROM users ORDER BY username").await {
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    }
    let roles = p.cli(&["user", "list"], None).await;
    assert!(roles.lines().any(|l| l.starts_with("carol\t") && l.ends_with("administrator")), "{roles}");
    assert!(roles.lines().any(|l| l.starts_with("alice\t") && l.ends_with("\tuser")), "staff alone is no administrator: {roles}");
    assert_eq!(column(&ours.url, "SELECT CAST(date_joined AS TEXT) FROM users WHERE username = 'alice'").await, ["1704164645"]);
    assert_eq!(
        p.cli(&["app", "list"], None).await.lines().find(|l| l.starts_with("client1")).unwrap(),
        format!("client1\tClient one\t{REDIRECT_URI} https://other.example/cb/")
    );
    // Secrets and hashes are not kept where the import writes its own rows.
    let written =
        column(&ours.url, "SELECT fields FROM import_records UNION ALL SELECT COALESCE(after_state, '') FROM audit_events").await.concat();
    for secret in [SECRET, SECRET2, "Vo2ULfxgOMjY5WGK4SN", "t7lr32XBHvTrfE41tx8rDo"] {
        assert!(!written.contains(secret), "{secret} in {written}");
    }

    // Signed in here, the hashes differ from Django's now: a change made here, kept.
    let again = import(&ours, &["--from", django.url()]).await;
    assert!(again.contains("nothing to create or update"), "{again}");
    assert_eq!(counts(&again, "users"), [0, 0, 3, 0, 0]);
}

#[tokio::test]
async fn a_repeated_import_changes_nothing() {
    let django = DjangoDatabase::with_scene().await;
    let ours = TestDatabase::create().await;
    import(&ours, &["--from", django.url()]).await;
    let tables = [
        "users",
        "applications",
        "permissions",
        "permission_groups",
        "group_permissions",
        "memberships",
        "membership_groups",
        "membership_permissions",
        "import_records",
    ];
    let mut before = Vec::new();
    for table in tables {
        before.push(count(&ours.url, table).await);
    }
    let users_before =
        column(&ours.url, "SELECT username || email || first_name || last_name || password_hash FROM users ORDER BY id").await;
    let audit_before = count(&ours.url, "audit_events").await;

    let out = import(&ours, &["--from", django.url()]).await;
    assert!(out.contains("nothing to create or update"), "{out}");
    assert_eq!(counts(&out, "memberships"), [0, 0, 3, 0, 0]);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("update ") || l.starts_with("conflict ") || l.starts_with("skip ")).count(),
        0,
        "{out}"
    );
    for (table, n) in tables.iter().zip(before) {
        assert_eq!(count(&ours.url, table).await, n, "{table}");
    }
    assert_eq!(
        column(&ours.url, "SELECT username || email || first_name || last_name || password_hash FROM users ORDER BY id").await,
        users_before
    );
    assert_eq!(count(&ours.url, "audit_events").await, audit_before + 1, "one summary entry per run");
}

#[tokio::test]
async fn changes_made_in_django_are_taken_and_changes_on_both_sides_are_conflicts() {
    let django = DjangoDatabase::with_scene().await;
    let ours = TestDatabase::create().await;
    import(&ours, &["--from", django.url()]).await;
    django
        .execute(
            "UPDATE auth_user SET last_name = 'Anchorage' WHERE username = 'alice';
             UPDATE auth_user SET first_name = 'Bobby' WHERE username = 'bob';
             DELETE FROM provider_applicationuser_permissions WHERE id = 2;
             INSERT INTO provider_applicationuser_permissions (id, applicationuser_id, applicationpermission_id) VALUES (4, 2, 2);",
        )
        .await;
    cli_on(&ours.url, &["user", "update", "bob", "--first-name", "Robert"], None).await;

    let out = import(&ours, &["--from", django.url()]).await;
    assert!(out.lines().any(|l| l == "update user alice: last_name"), "{out}");
    assert!(out.lines().any(|l| l == "update membership client1 bob: permissions"), "{out}");
    assert!(out.lines().any(|l| l == "conflict user bob: first_name changed here and in Django since the last import"), "{out}");
    assert!(out.contains("1 conflicts"), "{out}");
    assert_eq!(column(&ours.url, "SELECT first_name FROM users WHERE username = 'bob'").await, ["Robert"], "never overwritten");
    assert_eq!(column(&ours.url, "SELECT last_name FROM users WHERE username = 'alice'").await, ["Anchorage"]);
    let (_, bob, _) = cli_on(&ours.url, &["member", "show", "client1", "bob"], None).await;
    let bob: serde_json::Value = serde_json::from_str(&bob).unwrap();
    assert_eq!(bob["permissions"], json!([["auth", "add_group"]]));
    let (_, audit, _) = cli_on(&ours.url, &["audit"], None).await;
    assert!(
        audit.lines().any(|l| l.contains("\tuser.update\talice\t{\"last_name\":\"Anchor\"}\t{\"last_name\":\"Anchorage\"}")),
        "{audit}"
    );
    assert!(audit.lines().any(|l| l.contains("\tmembership.update\tclient1 bob\t")), "{audit}");
}

#[tokio::test]
async fn an_import_that_deactivates_a_user_ends_their_sessions_and_tokens_for_good() {
    let django = DjangoDatabase::with_scene().await;
    let ours = TestDatabase::create().await;
    import(&ours, &["--from", django.url()]).await;
    let p = TestProvider::start_on(ours.clone(), &[]).await;
    let browser = Browser::new();
    let grant = Grant::of_alice(&p, &browser, "client1").await;
    for active in ["FALSE", "TRUE"] {
        django.execute(&format!("UPDATE auth_user SET is_active = {active} WHERE username = 'alice'")).await;
        let out = import(&ours, &["--from", django.url()]).await;
        assert!(out.lines().any(|l| l == "update user alice: is_active"), "{out}");
    }
    assert!(!has_session(&p, &browser).await, "the old session does not come back with the reactivation");
    grant.assert_withdrawn(&p, "deactivated by an import").await;
    p.stop().await;
}

#[tokio::test]
async fn a_user_made_here_by_hand_is_a_conflict_and_keeps_what_is_here() {
    let django = DjangoDatabase::with_scene().await;
    let ours = TestDatabase::create().await;
    let (ok, _, stderr) =
        cli_on(&ours.url, &["user", "create", "Alice", "--email", "someone@example.org", "--password-stdin"], Some("another-password"))
            .await;
    assert!(ok, "{stderr}");

    let out = import(&ours, &["--from", django.url()]).await;
    assert!(
        out.lines().any(|l| l.starts_with("conflict user alice: username, email, first_name, last_name, password differs here")),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "skip membership client1 alice: user alice is not imported"), "{out}");
    assert_eq!(counts(&out, "users"), [2, 0, 0, 1, 0]);
    assert_eq!(column(&ours.url, "SELECT email FROM users WHERE username = 'Alice'").await, ["someone@example.org"]);
}

#[tokio::test]
async fn a_dry_run_reports_and_writes_nothing() {
    let django = DjangoDatabase::with_scene().await;
    let ours = TestDatabase::create().await;
    let out = import(&ours, &["--from", django.url(), "--dry-run"]).await;
    assert!(out.starts_with("dry run: nothing was written"), "{out}");
    assert_eq!(counts(&out, "users"), [3, 0, 0, 0, 0]);
    assert_eq!(counts(&out, "memberships"), [3, 0, 0, 0, 0]);
    for table in ["users", "applications", "memberships", "import_records", "audit_events"] {
        assert_eq!(count(&ours.url, table).await, 0, "{table}");
    }
}

#[tokio::test]
async fn refresh_tokens_carried_over_work_at_the_token_endpoint_and_are_never_revived() {
    let django = DjangoDatabase::with_scene().await;
    let (t, soon) = (at("2024-01-02 03:04:05"), in_an_hour());
    django
        .execute(&format!(
            "INSERT INTO oauth2_provider_accesstoken (id, token, expires, scope, application_id, user_id, created, updated) VALUES
               (1, '{DJANGO_ACCESS}', {soon}, 'read write', 1, 1, {t}, {t});
             INSERT INTO oauth2_provider_refreshtoken (id, token, access_token_id, application_id, user_id, created, updated, revoked) VALUES
               (1, '{DJANGO_REFRESH}', 1, 1, 1, {t}, {t}, NULL),
               (2, 'django-revoked-refresh-token-002', NULL, 1, 1, {t}, {t}, {t});"
        ))
        .await;
    let ours = TestDatabase::create().await;
    let out = import(&ours, &["--from", django.url(), "--with-tokens"]).await;
    assert_eq!(counts(&out, "refresh tokens"), [1, 0, 0, 0, 0], "{out}");

    let p = TestProvider::start_on(ours.clone(), &["--refresh-grace-seconds", "0"]).await;
    let (status, user) = p.user_endpoint(DJANGO_ACCESS).await;
    assert_eq!((status, &user["username"]), (StatusCode::OK, &json!("alice")), "the access token in use keeps working");
    let (status, body) = p.token(&[("grant_type", "refresh_token"), ("refresh_token", "django-revoked-refresh-token-002")]).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"})));
    let (status, tokens) = p.token(&[("grant_type", "refresh_token"), ("refresh_token", DJANGO_REFRESH)]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (status, user) = p.user_endpoint(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!((status, &user["permissions"]), (StatusCode::OK, &json!([["auth", "add_group"], ["auth", "view_group"]])));
    assert_eq!(p.user_endpoint(DJANGO_ACCESS).await.0, StatusCode::UNAUTHORIZED, "revoked by the rotation");

    // The rotated Django token is known here: a repeated import does not bring it back.
    let again = import(&ours, &["--from", django.url(), "--with-tokens"]).await;
    assert_eq!(counts(&again, "refresh tokens"), [0, 0, 1, 0, 0], "{again}");
    let (status, _) = p.token(&[("grant_type", "refresh_token"), ("refresh_token", DJANGO_REFRESH)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let stored = column(&ours.url, "SELECT scope FROM refresh_tokens").await;
    assert_eq!(stored.len(), 2, "the imported token and its rotation, nothing more");
}

#[tokio::test]
async fn a_failure_while_writing_leaves_nothing_written() {
    let django = DjangoDatabase::with_scene().await;
    let ours = TestDatabase::create().await;
    assert!(cli_on(&ours.url, &["migrate"], None).await.0);
    let trigger = if backend_is_postgres() {
        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql;
         CREATE TRIGGER refuse BEFORE INSERT ON membership_permissions FOR EACH ROW EXECUTE FUNCTION refuse();"
    } else {
        "CREATE TRIGGER refuse BEFORE INSERT ON membership_permissions BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
    };
    execute(&ours.url, trigger).await;

    let (ok, _, stderr) = try_import(&ours.url, &["--from", django.url()]).await;
    assert!(!ok);
    assert!(stderr.contains("refused by the test"), "{stderr}");
    for table in ["users", "applications", "permissions", "memberships", "import_records", "audit_events"] {
        assert_eq!(count(&ours.url, table).await, 0, "{table} was written before the failure and must be rolled back");
    }
}

#[tokio::test]
async fn unreadable_or_foreign_sources_fail_clearly_and_leave_our_database_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"this is no database, just forty-odd bytes of text, and more text to fill a page").unwrap();
    let foreign = dir.path().join("foreign.db");
    execute_sqlite(&foreign, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('x');").await;
    let missing = dir.path().join("missing.db");
    let mut cases: Vec<(String, &str)> = vec![
        (format!("sqlite://{}", missing.display()), "does not exist"),
        (format!("sqlite://{}", garbage.display()), "cannot read the Django database"),
        (format!("sqlite://{}", foreign.display()), "is not a django-centralauth provider database: it lacks the tables auth_user,"),
        ("mysql://root@localhost/django".into(), "unsupported Django database URL"),
    ];
    let empty_postgres = if backend_is_postgres() { Some(TestDatabase::create().await) } else { None };
    if let Some(db) = &empty_postgres {
        cases.push((db.url.clone(), "is not a django-centralauth provider database"));
    }
    for (from, message) in cases {
        let ours = TestDatabase::create().await;
        let (ok, stdout, stderr) = try_import(&ours.url, &["--from", &from]).await;
        assert!(!ok, "{from}: {stdout}");
        assert!(stderr.starts_with("error: ") && stderr.contains(message), "{from}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        if backend_is_postgres() {
            let tables = column(&ours.url, "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'").await;
            assert!(tables.is_empty(), "{from}: our database was migrated: {tables:?}");
        } else {
            let path = ours.url.trim_start_matches("sqlite://");
            assert!(!std::path::Path::new(path).exists(), "{from}: our database file was created");
        }
    }
    let garbage_after = std::fs::read(&garbage).unwrap();
    assert!(garbage_after.starts_with(b"this is no database"), "the source is only read");
}

async fn execute_sqlite(path: &std::path::Path, sql: &str) {
    let options = SqliteConnectOptions::new().filename(path).create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
}
