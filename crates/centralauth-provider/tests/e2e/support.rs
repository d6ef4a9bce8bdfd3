//! Test fixtures: a fresh database per test (SQLite file, or a PostgreSQL database created for
//! the test when `CENTRALAUTH_TEST_BACKEND=postgres`), the real `centralauth` binary started on
//! a free port, its CLI, and a browser-like HTTP client. Helpers are named after endpoints.

#![allow(dead_code)]

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use centralauth_provider::app::App;
use centralauth_provider::config::ServeConfig;
use centralauth_provider::domain::clock::TestClock;
use centralauth_provider::domain::signing::MasterKey;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_centralauth");
pub const REDIRECT_URI: &str = "http://127.0.0.1:9000/centralauth/login/callback/";
pub const SECRET: &str = "client1-secret-0123456789";
pub const ALICE_PASSWORD: &str = "alice-password-1";

/// A database that exists for one test and is removed afterwards.
pub struct TestDatabase {
    pub url: String,
    /// The test's own folder: the SQLite file, and the files `serve` writes beside the
    /// database or the master key (the first administrator's password).
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

pub fn backend_is_postgres() -> bool {
    std::env::var("CENTRALAUTH_TEST_BACKEND").as_deref() == Ok("postgres")
}

impl TestDatabase {
    pub async fn create() -> Arc<Self> {
        if backend_is_postgres() {
            let admin_url =
                std::env::var("CENTRALAUTH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let name = format!("centralauth_test_{}", random_suffix());
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
                .await
                .expect("PostgreSQL must be reachable for the postgres backend");
            sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await.expect("create test database");
            let mut url = url::Url::parse(&admin_url).unwrap();
            url.set_path(&name);
            Arc::new(Self { url: url.to_string(), dir: tempfile::tempdir().unwrap(), postgres: Some((admin_url, name)) })
        } else {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/centralauth.db", dir.path().display());
            Arc::new(Self { url, dir, postgres: None })
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            // Drop runs outside any runtime guarantee, so the clean-up gets a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    if let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut conn).await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..12).map(|_| char::from(b'a' + rng.gen_range(0..26))).collect()
}

/// The real binary, serving on a free port.
/// The master key of every test installation (what seals the signing keys in the database);
/// given, so that no test leaves a key file behind.
pub const MASTER_KEY: &str = "dGVzdHMtb25seS1tYXN0ZXIta2V5LTMyLWJ5dGVzISE";

pub struct TestProvider {
    // Dropped first (fields drop in declaration order): the server stops before its database goes.
    server: Server,
    pub base: String,
    pub db: Arc<TestDatabase>,
    pub admin_password: Option<String>,
    /// The `/metrics` URL, when started with `--metrics-listen`.
    pub metrics: Option<String>,
    /// The provider's clock when it runs in this process; `None` for the binary, which runs on
    /// the system's.
    pub clock: Option<TestClock>,
}

/// The real binary in a process of its own, or the same app (`App::build`) in this process
/// with a test clock, for the rules about time.
enum Server {
    Process(Child),
    InProcess { shutdown: Option<tokio::sync::oneshot::Sender<()>>, task: tokio::task::JoinHandle<()> },
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Server::InProcess { shutdown, .. } = self {
            // A graceful stop also ends the app's purge and delivery tasks.
            if let Some(tx) = shutdown.take() {
                let _ = tx.send(());
            }
        }
    }
}

impl TestProvider {
    pub async fn start() -> Self {
        Self::start_on(TestDatabase::create().await, &[]).await
    }

    pub async fn start_with(args: &[&str]) -> Self {
        Self::start_on(TestDatabase::create().await, args).await
    }

    /// Starts a provider on an existing database (a second instance, or a restart).
    pub async fn start_on(db: Arc<TestDatabase>, args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &db.url])
            .args(args)
            .env("CENTRALAUTH_LOG", "warn")
            .env("CENTRALAUTH_MASTER_KEY", MASTER_KEY)
            .env("CENTRALAUTH_MASTER_KEY_FILE", db.dir.path().join("centralauth.key"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start centralauth");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut admin_password = None;
        let mut metrics = None;
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                // "… its one-time password is in PATH (readable by this user only)"
                if let Some(rest) = line.split("one-time password is in ").nth(1) {
                    let file = rest.split(" (").next().unwrap();
                    admin_password = Some(std::fs::read_to_string(file).expect("the password file").trim().to_string());
                }
                if let Some(url) = line.strip_prefix("metrics on ") {
                    metrics = Some(url.trim().to_string());
                }
                if let Some(addr) = line.strip_prefix("listening on ") {
                    return addr.trim().to_string();
                }
            }
            panic!("centralauth exited before listening");
        })
        .await
        .expect("centralauth did not start within 60 s");
        // Keep reading stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { server: Server::Process(child), base, db, admin_password, metrics, clock: None }
    }

    /// The app in this process on a free port, on a fresh database, with a test clock that
    /// stands still until the test moves it (`advance`). `args` are `serve`'s flags.
    pub async fn in_process(args: &[&str]) -> Self {
        Self::in_process_on(TestDatabase::create().await, TestClock::new(), args).await
    }

    /// The standard scene (see `with_scene`) on an app in this process.
    pub async fn in_process_with_scene(args: &[&str]) -> Self {
        let p = Self::in_process(args).await;
        p.scene().await;
        p
    }

    /// The app in this process on an existing database (another instance shares the clock
    /// it is given).
    pub async fn in_process_on(db: Arc<TestDatabase>, clock: TestClock, args: &[&str]) -> Self {
        #[derive(clap::Parser)]
        struct Serve {
            #[command(flatten)]
            config: ServeConfig,
        }
        let flags = ["serve", "--listen", "127.0.0.1:0"].iter().chain(args);
        let config = <Serve as clap::Parser>::try_parse_from(flags).expect("serve's flags").config;
        let master_key = MasterKey::parse(MASTER_KEY).unwrap();
        let app = App::build(&db.url, &config, master_key, clock.shared()).await.expect("build the app");
        let base = format!("http://{}", app.local_addr().unwrap());
        let admin_password = app.created_administrator.as_ref().map(|(_, password)| password.clone());
        let metrics = app.metrics_addr().map(|addr| format!("http://{addr}/metrics"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = app.run(async move {
                let _ = rx.await;
            })
            .await;
        });
        Self { server: Server::InProcess { shutdown: Some(tx), task }, base, db, admin_password, metrics, clock: Some(clock) }
    }

    /// Moves the in-process provider's clock forward.
    pub fn advance(&self, seconds: i64) {
        self.clock.as_ref().expect("only an in-process provider has a test clock").advance(seconds);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn provider(&self, path: &str) -> String {
        format!("{}/provider{path}", self.base)
    }

    pub async fn stop(mut self) {
        match &mut self.server {
            Server::Process(child) => {
                let _ = child.kill().await;
            }
            Server::InProcess { shutdown, task } => {
                if let Some(tx) = shutdown.take() {
                    let _ = tx.send(());
                }
                let _ = task.await;
            }
        }
    }

    /// Runs a CLI command against this provider's database; panics on failure.
    pub async fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        let (ok, stdout, stderr) = self.try_cli(args, stdin).await;
        assert!(ok, "centralauth {args:?} failed: {stderr}");
        stdout
    }

    pub async fn try_cli(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        cli_on(&self.db.url, args, stdin).await
    }

    /// An application as django-centralauth's client needs it (the scene plays that client);
    /// `extra` options override the profile's settings.
    pub async fn create_app(&self, client_id: &str, extra: &[&str]) {
        let mut args = vec![
            "app",
            "create",
            client_id,
            "--client-id",
            client_id,
            "--client-secret-stdin",
            "--redirect-uri",
            REDIRECT_URI,
            "--profile",
            "django-centralauth",
        ];
        args.extend_from_slice(extra);
        self.cli(&args, Some(SECRET)).await;
    }

    pub async fn create_user(&self, username: &str, password: &str) {
        let email = format!("{username}@example.com");
        self.cli(
            &["user", "create", username, "--email", &email, "--first-name", "First", "--last-name", "Last", "--password-stdin"],
            Some(password),
        )
        .await;
    }

    pub async fn sync_perms(&self, client_id: &str, perms: &[(&str, &str, &str)]) -> (StatusCode, Value) {
        let perms: Vec<Value> = perms.iter().map(|(a, c, r)| serde_json::json!({"app_label": a, "codename": c, "repr": r})).collect();
        let body = serde_json::json!({"client_id": client_id, "client_secret": SECRET, "perms": perms});
        let response = http().post(self.provider("/perms/")).json(&body).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `/o/token/` with client credentials in the body.
    pub async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut form: Vec<(&str, &str)> = form.to_vec();
        if !form.iter().any(|(k, _)| *k == "client_id") {
            form.push(("client_id", "client1"));
            form.push(("client_secret", SECRET));
        }
        let response = http().post(self.provider("/o/token/")).form(&form).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn user_endpoint(&self, access_token: &str) -> (StatusCode, Value) {
        let response = http().get(self.provider("/user/")).bearer_auth(access_token).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The standard scene: application `client1` with two permissions, a group, `alice` as an
    /// active staff member (one permission directly, one through the group), `bob` without
    /// membership.
    pub async fn with_scene(args: &[&str]) -> Self {
        let p = Self::start_with(args).await;
        p.scene().await;
        p
    }

    pub async fn scene(&self) {
        self.create_app("client1", &[]).await;
        let (status, _) =
            self.sync_perms("client1", &[("auth", "view_group", "Can view group"), ("auth", "add_group", "Can add group")]).await;
        assert_eq!(status, StatusCode::OK);
        self.cli(&["group", "create", "client1", "viewers", "--perm", "auth.view_group"], None).await;
        self.create_user("alice", ALICE_PASSWORD).await;
        self.create_user("bob", "bob-password-1").await;
        self.cli(&["member", "add", "client1", "alice", "--staff", "--group", "viewers", "--perm", "auth.add_group"], None).await;
    }

    /// A browser that signs in and follows the authorization request until the client's
    /// callback; returns the callback URL.
    pub async fn authorize_as(&self, browser: &Browser, username: &str, password: &str, query: &[(&str, &str)]) -> reqwest::Response {
        let authorize = self.authorize_url(query);
        let response = browser.get(&authorize).await;
        if response.status() != StatusCode::FOUND || !location(&response).starts_with("/account/login/") {
            return response;
        }
        let login = self.url(&location(&response));
        let page = browser.get(&login).await.text().await.unwrap();
        let csrf = hidden_input(&page, "csrf_token");
        let next = hidden_input(&page, "next");
        let response = browser
            .post_form(
                &self.url("/account/login/"),
                &[("csrf_token", &csrf), ("next", &next), ("username", username), ("password", password)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in failed");
        browser.get(&self.url(&location(&response))).await
    }

    pub fn authorize_url(&self, query: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.provider("/o/authorize/")).unwrap();
        {
            let mut q = url.query_pairs_mut();
            let defaults = [("response_type", "code"), ("client_id", "client1"), ("redirect_uri", REDIRECT_URI), ("state", "xyz")];
            for (k, v) in defaults {
                if !query.iter().any(|(qk, _)| *qk == k) {
                    q.append_pair(k, v);
                }
            }
            for (k, v) in query {
                if !v.is_empty() {
                    q.append_pair(k, v);
                }
            }
        }
        url.to_string()
    }

    /// Signs alice in and returns a fresh authorization code.
    pub async fn code_for(&self, browser: &Browser, username: &str, password: &str, query: &[(&str, &str)]) -> String {
        let response = self.authorize_as(browser, username, password, query).await;
        assert_eq!(response.status(), StatusCode::FOUND, "authorize did not redirect: {:?}", response.text().await);
        query_param(&location(&response), "code").expect("code in redirect")
    }

    /// Signs alice in and exchanges a code: (access_token, refresh_token).
    pub async fn tokens_for_alice(&self) -> (String, String) {
        let browser = Browser::new();
        let code = self.code_for(&browser, "alice", ALICE_PASSWORD, &[]).await;
        let (status, body) = self.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (body["access_token"].as_str().unwrap().to_string(), body["refresh_token"].as_str().unwrap().to_string())
    }
}

pub async fn cli_on(database_url: &str, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("CENTRALAUTH_DATABASE_URL", database_url)
        .env("CENTRALAUTH_LOG", "warn")
        .env("CENTRALAUTH_MASTER_KEY", MASTER_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(format!("{text}\n").as_bytes()).await.unwrap();
    }
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A plain client that follows no redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// A browser: cookie store, no automatic redirects (tests follow them to see each hop).
pub struct Browser {
    pub client: reqwest::Client,
}

impl Browser {
    pub fn new() -> Self {
        Self { client: reqwest::Client::builder().redirect(Policy::none()).cookie_store(true).build().unwrap() }
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.client.get(url).send().await.unwrap()
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(url).form(form).send().await.unwrap()
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The value of a hidden input, HTML entities decoded as a browser would.
pub fn hidden_input(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no input {name}")) + marker.len();
    let raw = &html[start..start + html[start..].find('"').unwrap()];
    raw.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

impl TestDatabase {
    /// One integer from the test database (`SELECT COUNT(*) …`), whichever backend it is.
    pub async fn scalar(&self, sql: &str) -> i64 {
        if backend_is_postgres() {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&self.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        } else {
            let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&self.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        }
    }

    /// Runs a statement that returns nothing (to stage rows a test needs in bulk).
    pub async fn execute(&self, sql: &str) {
        if backend_is_postgres() {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&self.url).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        } else {
            let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&self.url).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    }
}

impl TestProvider {
    /// Row counts of every table an administrator changes, to prove that refused input wrote
    /// nothing (the console's and the admin API's bad-input tests).
    pub async fn snapshot(&self) -> Vec<i64> {
        let mut counts = Vec::new();
        for table in [
            "users",
            "applications",
            "permissions",
            "permission_groups",
            "group_permissions",
            "memberships",
            "membership_groups",
            "membership_permissions",
            "application_admins",
            "api_tokens",
            "audit_events",
            "event_deliveries",
        ] {
            counts.push(self.db.scalar(&format!("SELECT COUNT(*) FROM {table}")).await);
        }
        counts
    }

    /// An admin API token of `username`, made at the command line with `token create`'s `flags`
    /// (`--expires never`, `--read-only`, …).
    pub async fn api_token(&self, username: &str, flags: &[&str]) -> String {
        let args: Vec<&str> = ["token", "create", "test", "--user", username].into_iter().chain(flags.iter().copied()).collect();
        let out = self.cli(&args, None).await;
        out.lines().find_map(|l| l.strip_prefix("token: ")).expect("the token is printed").trim().to_string()
    }

    /// `GET /api/v1{path}` with `token`.
    pub async fn api_get(&self, token: &str, path: &str) -> reqwest::Response {
        http().get(self.url(&format!("/api/v1{path}"))).bearer_auth(token).send().await.unwrap()
    }

    /// Makes an API token through the API with `token`: the new secret and its description.
    pub async fn api_create_token(&self, token: &str, body: Value) -> (String, Value) {
        let response = http().post(self.url("/api/v1/api-tokens")).bearer_auth(token).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let made: Value = response.json().await.unwrap();
        (made["secret"].as_str().unwrap().to_string(), made["token"].clone())
    }

    /// The server's resident memory in KiB, from /proc; `None` where there is no /proc.
    pub fn rss_kib(&self) -> Option<u64> {
        self.proc_status_kib("VmRSS:")
    }

    /// The most resident memory the server has had since it started (its high-water mark).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.proc_status_kib("VmHWM:")
    }

    fn proc_status_kib(&self, field: &str) -> Option<u64> {
        let Server::Process(child) = &self.server else { return None };
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()?)).ok()?;
        status.lines().find_map(|line| line.strip_prefix(field))?.split_whitespace().next()?.parse().ok()
    }
}

pub async fn discovery(p: &TestProvider) -> Value {
    let response = http().get(p.provider("/o/.well-known/openid-configuration")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Verifies an id_token as a strict relying party does: signature by a key of the JWKS named
/// by `kid`, issuer, audience, expiry. Returns (header kid, claims).
pub async fn verify_id_token(p: &TestProvider, token: &str) -> (String, Value) {
    let config = discovery(p).await;
    let jwks: JwkSet = http().get(config["jwks_uri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let kid = header.kid.clone().expect("kid");
    let jwk = jwks.find(&kid).unwrap_or_else(|| panic!("kid {kid} not in the JWKS"));
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&["client1"]);
    validation.set_issuer(&[config["issuer"].as_str().unwrap()]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation).expect("id_token verifies");
    (kid, data.claims)
}

/// Signs alice in and exchanges the code: the token response.
pub async fn sign_in(p: &TestProvider, browser: &Browser, query: &[(&str, &str)]) -> Value {
    let code = p.code_for(browser, "alice", ALICE_PASSWORD, query).await;
    let (status, body) = p.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// What alice got from one application in one sign-in: the token pair of an `openid`
/// authorization code, to ask introspection, the token endpoint and userinfo about.
pub struct Grant {
    pub client: &'static str,
    pub access: String,
    pub refresh: String,
}

impl Grant {
    /// Signs alice in with `browser` (or reuses its session) and exchanges a code of `client`.
    pub async fn of_alice(p: &TestProvider, browser: &Browser, client: &'static str) -> Grant {
        Self::of_alice_with(p, browser, client, ALICE_PASSWORD).await
    }

    pub async fn of_alice_with(p: &TestProvider, browser: &Browser, client: &'static str, password: &str) -> Grant {
        let code = p.code_for(browser, "alice", password, &[("client_id", client), ("scope", "openid")]).await;
        let (status, body) = p
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("client_id", client),
                ("client_secret", SECRET),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        Grant { client, access: body["access_token"].as_str().unwrap().into(), refresh: body["refresh_token"].as_str().unwrap().into() }
    }

    async fn introspect(&self, p: &TestProvider, token: &str) -> bool {
        let response = http().post(p.provider("/o/introspect/")).basic_auth(self.client, Some(SECRET)).form(&[("token", token)]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["active"].as_bool().expect("introspection says active or not")
    }

    /// RFC 7662 `active` of the access token and of the refresh token.
    pub async fn introspection(&self, p: &TestProvider) -> (bool, bool) {
        (self.introspect(p, &self.access).await, self.introspect(p, &self.refresh).await)
    }

    /// The status of userinfo with the access token, and its RFC 6750 error.
    pub async fn userinfo(&self, p: &TestProvider) -> (StatusCode, String) {
        let response = http().get(p.provider("/o/userinfo/")).bearer_auth(&self.access).send().await.unwrap();
        let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (response.status(), challenge)
    }

    /// A refresh with the refresh token (rotates it when it works).
    pub async fn refresh(&self, p: &TestProvider) -> (StatusCode, Value) {
        p.token(&[("grant_type", "refresh_token"), ("refresh_token", &self.refresh), ("client_id", self.client), ("client_secret", SECRET)]).await
    }

    /// Everything says the grant is dead: both tokens inactive, userinfo 401 `invalid_token`,
    /// the refresh `invalid_grant`.
    pub async fn assert_withdrawn(&self, p: &TestProvider, what: &str) {
        assert_eq!(self.introspection(p).await, (false, false), "{what}: introspection of the access and the refresh token");
        let (status, challenge) = self.userinfo(p).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: userinfo");
        assert!(challenge.contains("error=\"invalid_token\""), "{what}: {challenge}");
        let (status, body) = self.refresh(p).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{what}: refresh {body}");
    }

    /// Both tokens active and userinfo answers (nothing is written).
    pub async fn assert_standing(&self, p: &TestProvider, what: &str) {
        assert_eq!(self.introspection(p).await, (true, true), "{what}: introspection");
        assert_eq!(self.userinfo(p).await.0, StatusCode::OK, "{what}: userinfo");
    }
}

/// Whether the browser still has a live session at the provider: an authorization request
/// goes straight back to the client, or to the sign-in page.
pub async fn has_session(p: &TestProvider, browser: &Browser) -> bool {
    let response = browser.get(&p.authorize_url(&[])).await;
    assert_eq!(response.status(), StatusCode::FOUND, "{:?}", response.text().await);
    !location(&response).starts_with("/account/login/")
}

impl TestProvider {
    /// Kills the binary with SIGKILL, as a crash or the kernel's OOM killer would: no graceful
    /// shutdown, requests in flight cut off, nothing flushed or rolled back by the process
    /// itself. Returns once the process is gone (its sockets and SQLite locks released); the
    /// database stays for a restart with `start_on(db.clone(), …)`.
    pub async fn kill(&mut self) {
        let Server::Process(child) = &mut self.server else { panic!("only the binary can be killed") };
        // tokio's `Child::kill` sends SIGKILL on Unix and waits for the process to end.
        child.kill().await.expect("SIGKILL the provider");
    }

    /// The binary's process id (`None` in process, or once it has been killed and reaped).
    pub fn pid(&self) -> Option<u32> {
        let Server::Process(child) = &self.server else { return None };
        child.id()
    }
}

impl TestDatabase {
    /// A database the test provides itself (on a PostgreSQL server of its own, or a SQLite
    /// file on a file system of its own), which the test also removes.
    pub fn at(url: String) -> Arc<Self> {
        Arc::new(Self { url, dir: tempfile::tempdir().unwrap(), postgres: None })
    }
}

impl TestProvider {
    /// Starts the real binary like `start_on`, with its log (at `warn`) written to `log`
    /// instead of the test's standard error, for tests that read what it logged.
    pub async fn start_logging_to(db: Arc<TestDatabase>, args: &[&str], log: &std::path::Path) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &db.url])
            .args(args)
            .env("CENTRALAUTH_LOG", "warn")
            .env("CENTRALAUTH_MASTER_KEY", MASTER_KEY)
            .env("CENTRALAUTH_MASTER_KEY_FILE", db.dir.path().join("centralauth.key"))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).expect("the log file"))
            .kill_on_drop(true)
            .spawn()
            .expect("start centralauth");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut admin_password = None;
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.split("one-time password is in ").nth(1) {
                    let file = rest.split(" (").next().unwrap();
                    admin_password = Some(std::fs::read_to_string(file).expect("the password file").trim().to_string());
                }
                if let Some(addr) = line.strip_prefix("listening on ") {
                    return addr.trim().to_string();
                }
            }
            panic!("centralauth exited before listening");
        })
        .await
        .expect("centralauth did not start within 60 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { server: Server::Process(child), base, db, admin_password, metrics: None, clock: None }
    }

    /// Whether the binary's process is still running (a fault did not end it).
    pub fn is_running(&mut self) -> bool {
        match &mut self.server {
            Server::Process(child) => matches!(child.try_wait(), Ok(None)),
            Server::InProcess { task, .. } => !task.is_finished(),
        }
    }
}

/// Signs `username` in at the login page with a new browser (the console's sign-in).
pub async fn browser_signed_in(p: &TestProvider, username: &str, password: &str) -> Browser {
    let browser = Browser::new();
    let page = browser.get(&p.url("/account/login/?next=%2Fconsole%2F")).await.text().await.unwrap();
    let response = browser
        .post_form(
            &p.url("/account/login/"),
            &[("csrf_token", &hidden_input(&page, "csrf_token")), ("next", &hidden_input(&page, "next")), ("username", username), ("password", password)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {username} failed");
    browser
}
