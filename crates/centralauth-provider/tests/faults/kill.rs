//! SIGKILL of the provider under sign-in and refresh load, then a restart on the same database:
//! every token a client was given still works, the database is intact, and no code or rotated
//! refresh token gives anything new. The load (`Load`) and the integrity check
//! (`assert_intact`) are shared with `two_instances.rs`.
//!
//! "Given" means answered: a request the kill cut off gave its client nothing, whether or not
//! the process committed it before dying, and the client keeps presenting what it had.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::support::*;

/// The refresh grace of the instances under load: the longest allowed, so that a rotated token
/// presented again during the test is always inside it. That is what the grace is for: a client
/// whose answer was lost (here: to a kill) presents its token again and gets the pair the lost
/// answer carried.
pub(crate) const GRACE: [&str; 2] = ["--refresh-grace-seconds", "300"];

/// Clients under load at once.
pub(crate) const CLIENTS: usize = 6;

/// The instances the load is spread over, and which of them the test has killed.
pub(crate) struct Targets {
    pub bases: Vec<String>,
    dead: Vec<AtomicBool>,
}

impl Targets {
    /// Marks instance `i` dead. Set before the SIGKILL, so that a client whose request fails
    /// can tell the kill from a fault of a living instance.
    pub(crate) fn mark_dead(&self, i: usize) {
        self.dead[i].store(true, Ordering::SeqCst);
    }

    fn is_dead(&self, i: usize) -> bool {
        self.dead[i].load(Ordering::SeqCst)
    }

    /// Round robin over the living instances; `None` once all are dead.
    pub(crate) fn pick(&self, turn: usize) -> Option<usize> {
        let alive: Vec<usize> = (0..self.bases.len()).filter(|i| !self.is_dead(*i)).collect();
        (!alive.is_empty()).then(|| alive[turn % alive.len()])
    }
}

/// One token pair as its client got it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pair {
    pub access: String,
    pub refresh: String,
}

impl Pair {
    fn of(body: &Value) -> Self {
        let field = |name: &str| body[name].as_str().unwrap_or_else(|| panic!("{name} in {body}")).to_string();
        Self { access: field("access_token"), refresh: field("refresh_token") }
    }
}

/// What a client was given in one authorization: the code it exchanged and every pair since,
/// oldest first, each pair the successor its predecessor's refresh was answered with.
#[derive(Clone, Debug)]
pub(crate) struct Family {
    pub code: String,
    pub pairs: Vec<Pair>,
    /// The latest refresh of this family was cut off: the process may have rotated the latest
    /// pair (revoking its access token) without the client hearing of it.
    pub cut_off: bool,
}

impl Family {
    pub(crate) fn latest(&self) -> &Pair {
        self.pairs.last().unwrap()
    }
}

/// A client application's record of the load.
#[derive(Default, Debug)]
pub(crate) struct ClientLog {
    pub families: Vec<Family>,
    /// Codes whose exchange was cut off: used or not, the client never got their tokens.
    pub cut_off_codes: Vec<String>,
    /// Requests of this client that a kill cut off.
    pub cut_off_requests: usize,
}

/// Sign-in, code exchange, refresh and `/user/` traffic of `CLIENTS` clients over the targets,
/// counting the operations that were answered.
pub(crate) struct Load {
    pub targets: Targets,
    ops: AtomicUsize,
    /// The test is woken when this many operations were answered (the moment to kill).
    milestone: usize,
    reached: Notify,
    /// The clients stop once this many operations were answered (or when every target is dead).
    stop_at: AtomicUsize,
}

impl Load {
    /// The load stops when every target is dead, or when the test says (`stop_after`).
    pub(crate) fn new(bases: Vec<String>, milestone: usize) -> Arc<Self> {
        let dead = bases.iter().map(|_| AtomicBool::new(false)).collect();
        let stop_at = AtomicUsize::new(usize::MAX);
        Arc::new(Self { targets: Targets { bases, dead }, ops: AtomicUsize::new(0), milestone, reached: Notify::new(), stop_at })
    }

    /// The clients stop after `more` further answered operations.
    pub(crate) fn stop_after(&self, more: usize) {
        self.stop_at.store(self.answered() + more, Ordering::SeqCst);
    }

    /// A moment picked by the traffic itself, not by a timer: after a random number of answered
    /// operations, with the other clients' requests in flight.
    pub(crate) fn random_milestone() -> usize {
        rand::thread_rng().gen_range(50..150)
    }

    pub(crate) fn answered(&self) -> usize {
        self.ops.load(Ordering::SeqCst)
    }

    pub(crate) fn stopped(&self) -> bool {
        self.answered() >= self.stop_at.load(Ordering::SeqCst)
    }

    pub(crate) fn one_answered(&self) {
        if self.ops.fetch_add(1, Ordering::SeqCst) + 1 == self.milestone {
            // `notify_one` keeps a permit when the test is not waiting yet.
            self.reached.notify_one();
        }
    }

    /// Waits for the milestone.
    pub(crate) async fn milestone_reached(&self) {
        tokio::time::timeout(Duration::from_secs(30), self.reached.notified()).await.expect("the load reached its milestone within 30 s");
    }

    pub(crate) fn spawn_clients(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<ClientLog>> {
        (0..CLIENTS).map(|id| tokio::spawn(self.clone().client(id))).collect()
    }

    /// One client application with its user's browser: new authorizations (now and then with a
    /// password sign-in, otherwise on the browser's session), refreshes with rotation, `/user/`.
    async fn client(self: Arc<Self>, id: usize) -> ClientLog {
        let http = http();
        let mut browser = Browser::new();
        let mut log = ClientLog::default();
        // Offsets the clients from each other in what they do and where.
        let mut turn = id;
        while !self.stopped() {
            let Some(target) = self.targets.pick(turn) else { break };
            let base = &self.targets.bases[target];
            let op = if log.families.is_empty() { 0 } else { turn % 4 };
            let family = if log.families.is_empty() { 0 } else { (turn / 4) % log.families.len() };
            let answered = match op {
                0 => {
                    // Every other new authorization (turns 0, 8, 16, …) signs in with the password afresh.
                    if turn % 8 < 4 {
                        browser = Browser::new();
                    }
                    match authorize(base, &browser, None).await {
                        None => false,
                        Some(code) => match token(&http, base, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await {
                            Some((status, body)) => {
                                assert_eq!(status, StatusCode::OK, "code exchange at {base}: {body}");
                                log.families.push(Family { code, pairs: vec![Pair::of(&body)], cut_off: false });
                                true
                            }
                            None => {
                                log.cut_off_codes.push(code);
                                false
                            }
                        },
                    }
                }
                // A client whose last refresh was cut off refreshes before anything else.
                1 | 2 => refresh(&http, base, &mut log.families[family]).await,
                _ if log.families[family].cut_off => refresh(&http, base, &mut log.families[family]).await,
                _ => match user(&http, base, &log.families[family].latest().access).await {
                    Some(status) => {
                        assert_eq!(status, StatusCode::OK, "/user/ at {base}");
                        true
                    }
                    None => false,
                },
            };
            if answered {
                self.one_answered();
            } else {
                assert!(self.targets.is_dead(target), "instance {target} ({base}) failed a request while alive");
                log.cut_off_requests += 1;
            }
            turn += 1;
        }
        log
    }
}

/// Refreshes a family's latest pair; the answer is its new latest.
async fn refresh(http: &reqwest::Client, base: &str, family: &mut Family) -> bool {
    let current = family.latest().refresh.clone();
    match token(http, base, &[("grant_type", "refresh_token"), ("refresh_token", &current)]).await {
        Some((status, body)) => {
            assert_eq!(status, StatusCode::OK, "refresh at {base}: {body}");
            family.pairs.push(Pair::of(&body));
            family.cut_off = false;
            true
        }
        None => {
            family.cut_off = true;
            false
        }
    }
}

/// `/o/token/` at `base` with client1's credentials in the body; `None` when no whole answer
/// came (the process died).
pub(crate) async fn token(http: &reqwest::Client, base: &str, form: &[(&str, &str)]) -> Option<(StatusCode, Value)> {
    let mut form = form.to_vec();
    form.extend([("client_id", "client1"), ("client_secret", SECRET)]);
    let response = http.post(format!("{base}/provider/o/token/")).form(&form).send().await.ok()?;
    let status = response.status();
    // A body cut off by the kill is no answer; any whole body is one, JSON or not (a 500's).
    let body = response.bytes().await.ok()?;
    Some((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// The status of `/user/` at `base` with an access token; `None` when the process died.
pub(crate) async fn user(http: &reqwest::Client, base: &str, access: &str) -> Option<StatusCode> {
    let response = http.get(format!("{base}/provider/user/")).bearer_auth(access).send().await.ok()?;
    let status = response.status();
    response.bytes().await.ok()?;
    Some(status)
}

/// An authorization code of client1 from the instance at `base`: the browser's session answers
/// at once, or alice signs in with her password first (the session is in the database, so any
/// instance accepts it). `None` when the process died on the way.
pub(crate) async fn authorize(base: &str, browser: &Browser, scope: Option<&str>) -> Option<String> {
    let mut url = url::Url::parse(&format!("{base}/provider/o/authorize/")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "client1")
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("state", "xyz");
    if let Some(scope) = scope {
        url.query_pairs_mut().append_pair("scope", scope);
    }
    let response = browser.client.get(url.as_str()).send().await.ok()?;
    assert_eq!(response.status(), StatusCode::FOUND, "authorize at {base}");
    let mut callback = location(&response);
    if callback.starts_with("/account/login/") {
        let page = browser.client.get(format!("{base}{callback}")).send().await.ok()?.text().await.ok()?;
        let form = [("csrf_token", hidden_input(&page, "csrf_token")), ("next", hidden_input(&page, "next"))];
        let response = browser
            .client
            .post(format!("{base}/account/login/"))
            .form(&[form[0].clone(), form[1].clone(), ("username", "alice".into()), ("password", ALICE_PASSWORD.into())])
            .send()
            .await
            .ok()?;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in at {base}");
        let response = browser.client.get(format!("{base}{}", location(&response))).send().await.ok()?;
        assert_eq!(response.status(), StatusCode::FOUND, "authorize after sign-in at {base}");
        callback = location(&response);
    }
    Some(query_param(&callback, "code").unwrap_or_else(|| panic!("a code in {callback}")))
}

/// Waits for every client; they end by themselves once their targets are dead or the load is
/// over, well within the bound.
pub(crate) async fn join_clients(clients: Vec<tokio::task::JoinHandle<ClientLog>>) -> Vec<ClientLog> {
    let all = futures_util::future::join_all(clients);
    let logs = tokio::time::timeout(Duration::from_secs(30), all).await.expect("the clients ended within 30 s");
    logs.into_iter().map(|log| log.expect("a client task failed")).collect()
}

/// The database is intact as a crash left it: the engine's own checks, and the invariants of
/// the grants (no half-written exchange or rotation).
///
/// SQLite: `PRAGMA integrity_check` (pages, indexes, the WAL replayed) and `PRAGMA
/// foreign_key_check`. PostgreSQL: a killed client cannot damage the server's files (its open
/// transaction is rolled back when its connection drops) and foreign keys are enforced at every
/// commit, so the engine's part is amcheck's B-tree and heap verification of every table and
/// index of the test database (contrib, shipped with Debian's server), a cheap guard against
/// an index that disagrees with its table; the grant invariants are what a crash of ours could
/// really break, and they are checked on both.
pub(crate) async fn assert_intact(db: &TestDatabase) {
    if backend_is_postgres() {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
        sqlx::query("CREATE EXTENSION IF NOT EXISTS amcheck").execute(&mut conn).await.expect("amcheck (PostgreSQL contrib)");
        // bt_index_check raises an error on the first inconsistency; verify_heapam lists them.
        let indexes: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT bt_index_check(c.oid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             JOIN pg_am am ON am.oid = c.relam WHERE am.amname = 'btree' AND c.relnamespace = 'public'::regnamespace) checked",
        )
        .fetch_one(&mut conn)
        .await
        .expect("every B-tree index agrees with its table");
        assert!(indexes > 10, "the indexes were checked: {indexes}");
        let heap: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.relname::text, v.msg FROM pg_class c, LATERAL verify_heapam(c.oid) v \
             WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert!(heap.is_empty(), "heap corruption: {heap:?}");
    } else {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
        let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut conn).await.unwrap();
        assert_eq!(integrity, ["ok"], "PRAGMA integrity_check");
        let orphans = sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut conn).await.unwrap();
        assert!(orphans.is_empty(), "PRAGMA foreign_key_check found {} rows", orphans.len());
    }
    for (invariant, sql) in [
        (
            // A rotation marks the old token and inserts its successor in one transaction.
            "every live family has exactly one refresh token that is neither rotated nor revoked",
            "SELECT COUNT(*) FROM token_families f WHERE f.revoked_at IS NULL AND \
             (SELECT COUNT(*) FROM refresh_tokens r WHERE r.family_id = f.id AND r.rotated_at IS NULL AND r.revoked_at IS NULL) <> 1",
        ),
        ("every refresh token's access token exists", "SELECT COUNT(*) FROM refresh_tokens r WHERE NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.token_digest = r.access_token_digest)"),
        (
            // An exchange consumes the code, makes the family and its pair in one transaction.
            "every exchanged code is consumed and its family exists",
            "SELECT COUNT(*) FROM authorization_codes c WHERE c.family_id IS NOT NULL AND \
             (c.consumed_at IS NULL OR NOT EXISTS (SELECT 1 FROM token_families f WHERE f.id = c.family_id))",
        ),
        ("every family has its first pair", "SELECT COUNT(*) FROM token_families f WHERE NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.family_id = f.id)"),
    ] {
        assert_eq!(db.scalar(sql).await, 0, "{invariant}");
    }
}

#[tokio::test]
async fn sigkill_under_sign_in_and_refresh_load_keeps_every_token_given_and_makes_nothing_usable_twice() {
    let mut p = TestProvider::with_scene(&GRACE).await;
    let load = Load::new(vec![p.base.clone()], Load::random_milestone());
    let clients = load.spawn_clients();
    load.milestone_reached().await;
    load.targets.mark_dead(0);
    p.kill().await;
    let killed_after = load.answered();
    let mut logs = join_clients(clients).await;
    let cut_off: usize = logs.iter().map(|l| l.cut_off_requests).sum();
    let families: usize = logs.iter().map(|l| l.families.len()).sum();
    let rotations: usize = logs.iter().flat_map(|l| &l.families).map(|f| f.pairs.len() - 1).sum();
    eprintln!("killed after {killed_after} answered operations: {families} authorizations, {rotations} rotations, {cut_off} requests cut off");

    let db = p.db.clone();
    drop(p);
    assert_intact(&db).await;

    let p = TestProvider::start_on(db.clone(), &GRACE).await;
    let http = http();
    for family in logs.iter_mut().flat_map(|l| &mut l.families) {
        // The latest access token answers, unless its refresh was cut off and may have been
        // carried out (which revokes it): then the client refreshes, as it would after a 401.
        let status = user(&http, &p.base, &family.latest().access).await.unwrap();
        if !(family.cut_off && status == StatusCode::UNAUTHORIZED) {
            assert_eq!(status, StatusCode::OK, "the latest access token given, {family:?}");
        }
        // The latest refresh token refreshes once: within the grace, a rotation the client
        // never heard of answers again with the pair it made (derived from the token).
        assert!(refresh(&http, &p.base, family).await);
        assert_eq!(user(&http, &p.base, &family.latest().access).await, Some(StatusCode::OK), "{family:?}");
    }
    // Every rotated token, presented again inside the grace, answers with exactly the pair its
    // rotation gave: never a different pair, never a new family.
    for family in logs.iter().flat_map(|l| &l.families) {
        for window in family.pairs.windows(2) {
            let (status, body) =
                token(&http, &p.base, &[("grant_type", "refresh_token"), ("refresh_token", &window[0].refresh)]).await.unwrap();
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(Pair::of(&body), window[1], "a rotated token's repeat answers the pair it was rotated to");
        }
    }
    p.stop().await;

    // Past the grace (a restart with none), every rotated token and every code is refused.
    let p = TestProvider::start_on(db.clone(), &["--refresh-grace-seconds", "0"]).await;
    let invalid_grant = (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}));
    for family in logs.iter().flat_map(|l| &l.families) {
        for pair in &family.pairs[..family.pairs.len() - 1] {
            let answer = token(&http, &p.base, &[("grant_type", "refresh_token"), ("refresh_token", &pair.refresh)]).await.unwrap();
            assert_eq!(answer, invalid_grant, "a rotated refresh token past the grace");
        }
    }
    for log in &logs {
        for family in &log.families {
            let answer = token(&http, &p.base, &[("grant_type", "authorization_code"), ("code", &family.code), ("redirect_uri", REDIRECT_URI)]).await;
            assert_eq!(answer.unwrap(), invalid_grant, "a code exchanged before the kill");
        }
        // A code whose exchange was cut off may or may not have been used; once, at most.
        for code in &log.cut_off_codes {
            let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI)];
            let first = token(&http, &p.base, &form).await.unwrap();
            assert!(first.0 == StatusCode::OK || first == invalid_grant, "{first:?}");
            assert_eq!(token(&http, &p.base, &form).await.unwrap(), invalid_grant, "a cut-off code's second use");
        }
    }
    assert_intact(&db).await;
}
