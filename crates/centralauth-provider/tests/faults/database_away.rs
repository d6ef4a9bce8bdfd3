//! The database away: requests fail fast (503 with `Retry-After` within 3 s, in each surface's
//! own format), `/readyz` says so, the log says it once, the same process serves again once
//! the database is back; and a change whose request waited past its write deadline is rolled
//! back, not carried out late.
//!
//! Stopping PostgreSQL needs a server of the test's own (the machine's shared one serves every
//! other test): `initdb` on a free port, run as the `postgres` user. That test needs PostgreSQL
//! installed, which the PostgreSQL pass (`CENTRALAUTH_TEST_BACKEND=postgres`) has by definition,
//! so it runs in that pass only, whatever the backend, and not a second time in the SQLite
//! pass. The write deadline test runs on the pass's own backend, both passes.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

/// What the issue asks of every request while the database is away.
const FAIL_FAST: Duration = Duration::from_secs(3);

/// A PostgreSQL server of this test's own, in a temporary folder, stopped and removed on drop.
struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl OwnPostgres {
    /// `None` where PostgreSQL's server programs are not installed.
    async fn start() -> Option<Self> {
        let bin = postgres_bin()?;
        let dir = tempfile::tempdir().unwrap();
        let (uid, gid) = (id("-u"), id("-g"));
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        // initdb refuses to run as root: as the `postgres` user.
        let data = dir.path().join("data");
        let out = tokio::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "-D"])
            .arg(&data)
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = Self { dir, bin, port };
        server.pg_ctl(&["start"]).await;
        Some(server)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl` with this server's folder, port and socket directory; waits until it is done.
    async fn pg_ctl(&self, action: &[&str]) {
        let out = tokio::process::Command::new("runuser").args(self.pg_ctl_args(action)).output().await.unwrap();
        assert!(out.status.success(), "pg_ctl {action:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn pg_ctl_args(&self, action: &[&str]) -> Vec<String> {
        let dir = self.dir.path().display();
        let mut args = vec!["-u".into(), "postgres".into(), "--".into(), self.bin.join("pg_ctl").display().to_string()];
        args.extend(["-D".into(), format!("{dir}/data"), "-l".into(), format!("{dir}/server.log"), "-w".into()]);
        args.extend(["-o".into(), format!("-p {} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off", self.port)]);
        args.extend(action.iter().map(|a| a.to_string()));
        args
    }

    /// A fast shutdown: PostgreSQL ends every session (57P01) and stops.
    async fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]).await;
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        // Drop cannot await; a stopped server makes this fail, which is fine.
        let _ = std::process::Command::new("runuser").args(self.pg_ctl_args(&["-m", "immediate", "stop"])).output();
    }
}

/// The newest installed PostgreSQL's server programs (`/usr/lib/postgresql/N/bin`).
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect();
    versions.retain(|bin| bin.join("initdb").exists());
    versions.sort_by_key(|bin| bin.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok()));
    versions.pop()
}

/// The `postgres` user's uid or gid.
fn id(flag: &str) -> u32 {
    let out = std::process::Command::new("id").args([flag, "postgres"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a postgres user")
}

/// Waits until `/readyz` answers 200 (the database is back and the provider sees it).
async fn ready(p: &TestProvider) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if http().get(p.url("/readyz")).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz did not answer 200 within 30 s of the database's return");
}

/// Checks an answer given while the database is away: 503 within [`FAIL_FAST`], a
/// `Retry-After`, and the body's kind; returns the body.
async fn unavailable(what: &str, started: Instant, response: reqwest::Response, content_type: &str) -> String {
    let elapsed = started.elapsed();
    eprintln!("database away: {what} answered {} in {elapsed:?}", response.status());
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}");
    assert!(elapsed < FAIL_FAST, "{what} answered after {elapsed:?}");
    assert!(response.headers().get("retry-after").is_some(), "{what}: no Retry-After");
    let kind = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert!(kind.starts_with(content_type), "{what}: {kind}");
    response.text().await.unwrap()
}

/// `/provider/user/`, the token endpoint, a console page and `/readyz` while the database is away.
async fn assert_fails_fast(p: &TestProvider, browser: &Browser, access: &str, refresh: &str) {
    let started = Instant::now();
    let response = http().get(p.provider("/user/")).bearer_auth(access).send().await.unwrap();
    let body: Value = serde_json::from_str(&unavailable("/user/", started, response, "application/json").await).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    let started = Instant::now();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", "client1"), ("client_secret", SECRET)];
    let response = http().post(p.provider("/o/token/")).form(&form).send().await.unwrap();
    let body: Value = serde_json::from_str(&unavailable("the token endpoint", started, response, "application/json").await).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "RFC 6749 §4.1.2.1's code");

    let started = Instant::now();
    let response = browser.get(&p.url("/console/")).await;
    let page = unavailable("a console page", started, response, "text/html").await;
    assert!(page.contains("try again"), "a readable page: {page}");

    let started = Instant::now();
    let response = http().get(p.url("/readyz")).send().await.unwrap();
    unavailable("/readyz", started, response, "text/plain").await;
}

#[tokio::test]
async fn with_postgresql_stopped_requests_fail_fast_and_service_resumes_when_it_is_back() {
    if !backend_is_postgres() {
        eprintln!("runs in the PostgreSQL pass only (CENTRALAUTH_TEST_BACKEND=postgres), on a server of its own");
        return;
    }
    let Some(server) = OwnPostgres::start().await else { panic!("the PostgreSQL pass needs PostgreSQL's server programs (initdb)") };
    let db = TestDatabase::at(server.url());
    let logs = tempfile::tempdir().unwrap();
    // Grace 0: a refresh token presented again after a rotation is refused, so that the last
    // refresh below proves that no rotation happened while the database was away.
    let busy = TestProvider::start_logging_to(db.clone(), &["--refresh-grace-seconds", "0"], &logs.path().join("busy.log")).await;
    busy.scene().await;
    let browser = browser_signed_in(&busy, "alice", ALICE_PASSWORD).await;
    let code = busy.code_for(&browser, "alice", ALICE_PASSWORD, &[]).await;
    let (status, tokens) = busy.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (access, refresh) = (tokens["access_token"].as_str().unwrap().to_string(), tokens["refresh_token"].as_str().unwrap().to_string());
    // A second process that gets no request before the database stops.
    let mut cold = TestProvider::start_logging_to(db.clone(), &["--refresh-grace-seconds", "0"], &logs.path().join("cold.log")).await;
    let busy = Arc::new(busy);

    // Load on the busy process: /user/ and introspection, as relying parties send them, before,
    // during and after the stop. Every answer is 200 or 503 and comes within FAIL_FAST.
    let stop_load = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..6)
        .map(|i| {
            let (p, stop, access) = (busy.clone(), stop_load.clone(), access.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
                let mut seen = Vec::new();
                for _ in 0..100_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let started = Instant::now();
                    let response = if i % 2 == 0 {
                        client.get(p.provider("/user/")).bearer_auth(&access).send().await
                    } else {
                        client.post(p.provider("/o/introspect/")).basic_auth("client1", Some(SECRET)).form(&[("token", &access)]).send().await
                    };
                    seen.push((response.map(|r| r.status()).map_err(|e| e.to_string()), started.elapsed()));
                }
                seen
            })
        })
        .collect();
    // The load is under way before the database stops.
    assert_eq!(busy.user_endpoint(&access).await.0, StatusCode::OK);

    server.stop().await;
    assert_fails_fast(&busy, &browser, &access, &refresh).await;
    assert_fails_fast(&cold, &browser, &access, &refresh).await;
    assert!(cold.is_running(), "the cold process keeps running");

    server.pg_ctl(&["start"]).await;
    ready(&busy).await;
    ready(&cold).await;
    stop_load.store(true, Ordering::Relaxed);
    let mut answers = Vec::new();
    for task in load {
        answers.extend(task.await.unwrap());
    }
    let unavailable = answers.iter().filter(|(status, _)| *status == Ok(StatusCode::SERVICE_UNAVAILABLE)).count();
    assert!(unavailable > 0, "the load met the outage");
    let slowest = answers.iter().map(|(_, elapsed)| *elapsed).max().unwrap_or_default();
    eprintln!("database away: {} answers under load, {unavailable} of them 503, the slowest in {slowest:?}", answers.len());
    for (status, elapsed) in &answers {
        assert!(matches!(status, Ok(StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE)), "under load: {status:?}");
        assert!(*elapsed < FAIL_FAST, "under load an answer took {elapsed:?}");
    }

    // Service resumes in the same processes; the refresh answered 503 rotated nothing, so the
    // client's refresh token still works (with grace 0, a rotated one would be a replay).
    for p in [&*busy, &cold] {
        assert_eq!(p.user_endpoint(&access).await.0, StatusCode::OK, "after the return");
    }
    let (status, body) = cold.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(status, StatusCode::OK, "the refresh token answered 503 during the outage still works: {body}");
    // And the busy process takes changes again: a refresh of the new token there.
    let (status, body) = busy.token(&[("grant_type", "refresh_token"), ("refresh_token", body["refresh_token"].as_str().unwrap())]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(cold.user_endpoint(body["access_token"].as_str().unwrap()).await.0, StatusCode::OK);

    // Each process said once that the database was away and once (at its first change that
    // committed) that it was back, however many requests met the outage.
    for name in ["busy.log", "cold.log"] {
        let log = std::fs::read_to_string(logs.path().join(name)).unwrap();
        assert_eq!(log.matches("database unavailable").count(), 1, "{name}: {log}");
        assert_eq!(log.matches("database reachable again").count(), 1, "{name}: {log}");
    }
    assert!(cold.is_running());
}

/// Holds the database's lock on the refresh tokens (PostgreSQL: their rows; SQLite: the write
/// lock) from a connection of the test's own until `release` fires.
async fn hold_refresh_tokens(url: String, release: tokio::sync::oneshot::Receiver<()>, held: tokio::sync::oneshot::Sender<()>) {
    use sqlx::Connection;
    if backend_is_postgres() {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("SELECT token_digest FROM refresh_tokens FOR UPDATE").execute(&mut *tx).await.unwrap();
        held.send(()).unwrap();
        let _ = release.await;
        tx.rollback().await.unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("BEGIN IMMEDIATE").execute(&mut conn).await.unwrap();
        held.send(()).unwrap();
        let _ = release.await;
        sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
    }
}

#[tokio::test]
async fn a_refresh_that_waited_past_its_write_deadline_is_rolled_back_not_carried_out_late() {
    // A write deadline of 2 s, and a statement timeout far beyond it, so that it is the
    // deadline that stops the refresh here.
    let args = ["--write-deadline-seconds", "2", "--database-statement-timeout-ms", "60000", "--refresh-grace-seconds", "0"];
    let p = TestProvider::start_with(&args).await;
    p.scene().await;
    let (access, refresh) = p.tokens_for_alice().await;
    let tokens_before = p.db.scalar("SELECT COUNT(*) FROM refresh_tokens").await;

    let (release, released) = tokio::sync::oneshot::channel();
    let (held, is_held) = tokio::sync::oneshot::channel();
    let holder = tokio::spawn(hold_refresh_tokens(p.db.url.clone(), released, held));
    is_held.await.unwrap();
    let started = Instant::now();
    let base = p.provider("/o/token/");
    let refresh_request = {
        let refresh = refresh.clone();
        tokio::spawn(async move {
            let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str()), ("client_id", "client1"), ("client_secret", SECRET)];
            http().post(base).form(&form).send().await.unwrap()
        })
    };
    // The lock is held past the deadline on the real clock (the provider's deadline is real
    // time; no event says "the deadline passed"), then released: the database would now let
    // the refresh through.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    release.send(()).unwrap();
    holder.await.unwrap();
    let response = refresh_request.await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "answered after {:?}", started.elapsed());
    assert!(response.headers().get("retry-after").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    // Nothing of the refresh was written: no new pair, the old token not rotated, and it still
    // works (with grace 0, a rotated token presented again would be refused as a replay).
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM refresh_tokens").await, tokens_before);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL").await, 0);
    assert_eq!(p.user_endpoint(&access).await.0, StatusCode::OK);
    let (status, body) = p.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
