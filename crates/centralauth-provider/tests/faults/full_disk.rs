//! A full disk under SQLite: writes get error answers (503 with `Retry-After`, a page in the
//! browser, RFC 6749 JSON at the token endpoint; never 500, never a crash), reads go on being
//! served, and once space is freed the same process serves everything again, on an intact
//! database. The disk is a small tmpfs of the test's own (we run as root, as CI does), so that
//! filling it touches nothing else. SQLite only: on PostgreSQL the disk is the server's.

use std::io::Write;
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

/// A tmpfs of `size` mounted on a temporary folder, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(dir.path()).output().unwrap();
        assert!(out.status.success(), "mounting a tmpfs (the test runs as root): {}", String::from_utf8_lossy(&out.stderr));
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk has no room left; returns it.
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        for chunk in [64 * 1024, 4096, 512, 1] {
            let block = vec![0x5a_u8; chunk];
            while file.write_all(&block).is_ok() {}
        }
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: the provider, killed as the test ends, may not have let go of its files yet.
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).output();
    }
}

/// Asserts a write's answer on the full disk: 503 with `Retry-After`, of the given kind.
async fn refused(what: &str, response: reqwest::Response, content_type: &str) -> String {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}");
    assert!(response.headers().get("retry-after").is_some(), "{what}: no Retry-After");
    let kind = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert!(kind.starts_with(content_type), "{what}: {kind}");
    response.text().await.unwrap()
}

/// Signs `username` in with a new browser: the answer to the login form.
async fn try_sign_in(p: &TestProvider, username: &str, password: &str) -> reqwest::Response {
    let browser = Browser::new();
    let page = browser.get(&p.url("/account/login/?next=%2Fconsole%2F")).await.text().await.unwrap();
    let form = [("csrf_token", hidden_input(&page, "csrf_token")), ("next", hidden_input(&page, "next")), ("username", username.into()), ("password", password.into())];
    browser.client.post(p.url("/account/login/")).form(&form).send().await.unwrap()
}

/// The console's form to create a user, submitted with its CSRF token.
async fn create_user(p: &TestProvider, admin: &Browser, csrf: &str, username: &str) -> reqwest::Response {
    let form = [("csrf_token", csrf), ("username", username), ("password", "a-long-passphrase-42")];
    admin.post_form(&p.url("/console/users/"), &form).await
}

#[tokio::test]
async fn on_a_full_disk_writes_are_refused_reads_are_served_and_service_returns_once_space_is_freed() {
    if backend_is_postgres() {
        eprintln!("SQLite only: on PostgreSQL the disk is the database server's");
        return;
    }
    // Mounting needs root, which CI and the project's machines have; a developer's own
    // account is told why the test did nothing.
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("skipped: mounting the small tmpfs needs root");
        return;
    }
    let disk = SmallDisk::mount("8m");
    let db = TestDatabase::at(format!("sqlite://{}/centralauth.db", disk.path().display()));
    // Grace 0: a refresh token presented again after a rotation is refused, so that the last
    // refresh proves the refused one rotated nothing.
    let mut p = TestProvider::start_on(db, &["--refresh-grace-seconds", "0"]).await;
    p.scene().await;
    let alice = browser_signed_in(&p, "alice", ALICE_PASSWORD).await;
    let (status, tokens) = {
        let code = p.code_for(&alice, "alice", ALICE_PASSWORD, &[]).await;
        p.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await
    };
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (access, refresh) = (tokens["access_token"].as_str().unwrap().to_string(), tokens["refresh_token"].as_str().unwrap().to_string());
    let code = p.code_for(&alice, "alice", ALICE_PASSWORD, &[]).await;
    let admin = browser_signed_in(&p, "admin", p.admin_password.as_deref().unwrap()).await;
    let form = admin.get(&p.url("/console/users/new")).await.text().await.unwrap();
    let csrf = hidden_input(&form, "csrf_token");

    // Empty the write-ahead log into the database file and cut it to nothing, so that the
    // next change must grow a file: with room left in the log, SQLite would reuse it.
    let url = p.db.url.clone();
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut conn).await.unwrap();
    assert_eq!(busy, 0, "the checkpoint finished");
    drop(conn);
    let filler = disk.fill();

    // Writes: error answers in each surface's format.
    let page = refused("sign-in", try_sign_in(&p, "alice", ALICE_PASSWORD).await, "text/html").await;
    assert!(page.contains("try again"), "a readable page: {page}");
    let (status, body) = p.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("temporarily_unavailable")), "code exchange: {body}");
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str()), ("client_id", "client1"), ("client_secret", SECRET)];
    let response = http().post(p.provider("/o/token/")).form(&form).send().await.unwrap();
    let body: Value = serde_json::from_str(&refused("refresh", response, "application/json").await).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    refused("a console write", create_user(&p, &admin, &csrf, "dora").await, "text/html").await;

    // Reads: still served.
    assert_eq!(p.user_endpoint(&access).await.0, StatusCode::OK, "/user/");
    let response = http().post(p.provider("/o/introspect/")).basic_auth("client1", Some(SECRET)).form(&[("token", &access)]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "introspection");
    assert_eq!(response.json::<Value>().await.unwrap()["active"], true);
    let config = discovery(&p).await;
    assert_eq!(http().get(config["jwks_uri"].as_str().unwrap()).send().await.unwrap().status(), StatusCode::OK, "JWKS");
    assert!(p.is_running(), "the full disk did not end the process");

    // Space again: full service in the same process, and nothing of the refused writes was
    // half done: the code and the refresh token both still work, once.
    std::fs::remove_file(filler).unwrap();
    assert_eq!(try_sign_in(&p, "alice", ALICE_PASSWORD).await.status(), StatusCode::SEE_OTHER, "sign-in");
    let (status, body) = p.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(status, StatusCode::OK, "the code refused on the full disk is exchanged now: {body}");
    let (status, body) = p.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(status, StatusCode::OK, "the refresh refused on the full disk rotated nothing: {body}");
    assert_eq!(create_user(&p, &admin, &csrf, "dora").await.status(), StatusCode::SEE_OTHER, "console write");

    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await.unwrap();
    assert_eq!(check, "ok");
    assert!(p.is_running());
    p.stop().await;
    drop(disk);
}
