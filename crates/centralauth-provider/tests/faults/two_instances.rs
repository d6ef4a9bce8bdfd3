//! Two instances of the binary on one database, the load spread over both, one killed in the
//! middle of a back-channel delivery: the other serves every client with the tokens either
//! issued, and every logout is delivered, each under one `jti`.
//!
//! Runs on both backends: several processes on one SQLite file are supported (WAL, the write
//! lock, the outbox's lease by conditional update), as on one PostgreSQL database.
//!
//! Delivery is at least once, exactly once per `jti`: the outbox row is leased, posted, and
//! deleted after the receiver's answer. An instance that dies between the receiver's answer and
//! the delete leaves the row leased; when the lease (30 s) runs out another instance sends it
//! again, with the same `jti`. A receiver drops a `jti` it has seen (Back-Channel Logout 1.0
//! §2.6; the client crate does), so the application acts once. The test kills the sender in
//! exactly that window and checks that the repeat is the only one.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::post;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::{Notify, mpsc};

use crate::kill::{GRACE, Load, assert_intact, authorize, join_clients, token, user};
use crate::support::*;

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
struct Arrival {
    jti: String,
    sid: Option<String>,
    /// The instance whose connection carried it (found through /proc), when it could be told.
    sender: Option<usize>,
}

struct ReceiverState {
    /// The instances' process ids, by index.
    pids: Vec<u32>,
    arrivals: Vec<Arrival>,
    /// Hold the next delivery: tell the test who sent it and answer only when released.
    hold_next: bool,
}

/// An application's back-channel endpoint that records every logout token's `jti` and `sid`
/// and the instance that sent it.
struct Receiver {
    addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
    held: mpsc::UnboundedReceiver<Arrival>,
    release: Arc<Notify>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Self {
        let state = Arc::new(Mutex::new(ReceiverState { pids: Vec::new(), arrivals: Vec::new(), hold_next: false }));
        let (held_tx, held) = mpsc::unbounded_channel();
        let release = Arc::new(Notify::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (handler_state, handler_release) = (state.clone(), release.clone());
        let app = Router::new().route(
            "/backchannel/",
            post(move |ConnectInfo(peer): ConnectInfo<SocketAddr>, body: String| {
                let (state, release, held_tx) = (handler_state.clone(), handler_release.clone(), held_tx.clone());
                async move {
                    let claims = logout_claims(&body);
                    let jti = claims["jti"].as_str().expect("jti").to_string();
                    let sid = claims["sid"].as_str().map(str::to_string);
                    let hold = {
                        let mut state = state.lock().unwrap();
                        let sender = sender_of(peer, addr, &state.pids);
                        let arrival = Arrival { jti, sid, sender };
                        state.arrivals.push(arrival.clone());
                        std::mem::take(&mut state.hold_next).then_some(arrival)
                    };
                    if let Some(arrival) = hold {
                        let _ = held_tx.send(arrival);
                        // The sender waits for this answer (up to its 5 s timeout); the test
                        // kills it meanwhile.
                        release.notified().await;
                    }
                    axum::http::StatusCode::OK
                }
            }),
        );
        let server = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
        });
        Self { addr, state, held, release, server }
    }

    fn uri(&self) -> String {
        format!("http://{}/backchannel/", self.addr)
    }

    fn arrivals(&self) -> Vec<Arrival> {
        self.state.lock().unwrap().arrivals.clone()
    }
}

/// The claims of a logout token (`logout_token=<JWT>`), unverified: the signature is
/// `tests/e2e/backchannel.rs`'s subject; here only `jti` and `sid` count.
fn logout_claims(form: &str) -> Value {
    let token = url::form_urlencoded::parse(form.as_bytes()).find(|(k, _)| k == "logout_token").expect("logout_token").1.into_owned();
    jwt_claims(&token)
}

fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Which instance owns the client end of the connection from `peer` to the receiver at
/// `receiver`: the socket's inode from /proc/net/tcp, then the process holding it among the
/// instances'. (Linux only, like the tests' machines; both processes are children of the
/// test, so their fd tables are readable.)
fn sender_of(peer: SocketAddr, receiver: SocketAddr, pids: &[u32]) -> Option<usize> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let port_of = |field: &str| field.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
    let inode = table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.len() > 9 && port_of(fields[1]) == Some(peer.port()) && port_of(fields[2]) == Some(receiver.port()))
            .then(|| fields[9].to_string())
    })?;
    let wanted = format!("socket:[{inode}]");
    pids.iter().position(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|entries| entries.flatten().any(|e| std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy() == wanted)))
            .unwrap_or(false)
    })
}

/// The sessions ended through the load: alice signs in on one instance (an `openid`
/// authorization, so that client1 got tokens in the session and is told of its end) and signs
/// out on the other. Returns the `sid`s whose sign-out was answered, and those cut off.
async fn sign_outs(load: Arc<Load>) -> (Vec<String>, Vec<String>) {
    let http = http();
    let (mut answered, mut cut_off) = (Vec::new(), Vec::new());
    let mut turn = 0;
    while !load.stopped() {
        turn += 1;
        let browser = Browser::new();
        let Some(at) = load_target(&load, turn) else { break };
        let Some(code) = authorize(&at, &browser, Some("openid")).await else { continue };
        let Some((status, body)) = token(&http, &at, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await
        else {
            continue;
        };
        assert_eq!(status, StatusCode::OK, "{body}");
        let sid = jwt_claims(body["id_token"].as_str().unwrap())["sid"].as_str().expect("sid").to_string();
        let Some(out) = load_target(&load, turn + 1) else { break };
        let Some(page) = get_text(&browser, &format!("{out}/account/")).await else { continue };
        let csrf = hidden_input(&page, "csrf_token");
        match browser.client.post(format!("{out}/account/logout/")).form(&[("csrf_token", csrf.as_str())]).send().await {
            Ok(response) => {
                assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-out at {out}");
                answered.push(sid);
            }
            Err(_) => cut_off.push(sid),
        }
    }
    (answered, cut_off)
}

fn load_target(load: &Load, turn: usize) -> Option<String> {
    load.targets.pick(turn).map(|i| load.targets.bases[i].clone())
}

async fn get_text(browser: &Browser, url: &str) -> Option<String> {
    browser.client.get(url).send().await.ok()?.text().await.ok()
}

#[tokio::test]
async fn one_of_two_instances_killed_mid_delivery_the_other_serves_every_client_and_each_logout_arrives_under_one_jti() {
    let first = TestProvider::with_scene(&GRACE).await;
    let mut receiver = Receiver::start().await;
    first.cli(&["app", "update", "client1", "--backchannel-logout-uri", &receiver.uri()], None).await;
    let second = TestProvider::start_on(first.db.clone(), &GRACE).await;
    let db = first.db.clone();
    let mut instances = [first, second];
    receiver.state.lock().unwrap().pids = instances.iter().map(|p| p.pid().unwrap()).collect();

    let milestone = Load::random_milestone();
    let load = Load::new(instances.iter().map(|p| p.base.clone()).collect(), milestone);
    let clients = load.spawn_clients();
    let sign_outs = tokio::spawn(sign_outs(load.clone()));
    load.milestone_reached().await;

    // The next delivery is held; whichever instance sent it dies with the receiver's answer
    // unsent, so the event is delivered and its row still leased.
    receiver.state.lock().unwrap().hold_next = true;
    let held = tokio::time::timeout(Duration::from_secs(20), receiver.held.recv()).await.expect("a delivery within 20 s").unwrap();
    let victim = held.sender.expect("the sender of the held delivery is one of the instances");
    load.targets.mark_dead(victim);
    instances[victim].kill().await;
    let killed_after = load.answered();
    // The load goes on against the survivor for as long again.
    load.stop_after(milestone);
    receiver.release.notify_one();
    // The survivor would take the dead instance's lease over in 30 s; the test moves that
    // moment to now rather than wait (the lease is the row's next attempt time).
    db.execute(&format!("UPDATE event_deliveries SET next_attempt_at = 0 WHERE jti = '{}'", held.jti)).await;

    let mut logs = join_clients(clients).await;
    let (answered, cut_off) = tokio::time::timeout(Duration::from_secs(30), sign_outs).await.expect("sign-outs ended").unwrap();
    let survivor = &instances[1 - victim];

    // Every client goes on against the survivor with what either instance gave it.
    let http = http();
    for family in logs.iter_mut().flat_map(|l| &mut l.families) {
        let status = user(&http, &survivor.base, &family.latest().access).await.unwrap();
        if !(family.cut_off && status == StatusCode::UNAUTHORIZED) {
            assert_eq!(status, StatusCode::OK, "the latest access token given, {family:?}");
        }
        let latest = family.latest().refresh.clone();
        let (status, body) = token(&http, &survivor.base, &[("grant_type", "refresh_token"), ("refresh_token", &latest)]).await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(user(&http, &survivor.base, body["access_token"].as_str().unwrap()).await, Some(StatusCode::OK));
    }

    // Every answered sign-out is delivered; the outbox empties (an event the victim had leased
    // besides the held one comes when its lease runs out).
    let deadline = Instant::now() + Duration::from_secs(40);
    while db.scalar("SELECT COUNT(*) FROM event_deliveries").await != 0 {
        assert!(Instant::now() < deadline, "the outbox emptied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let arrivals = receiver.arrivals();
    let mut by_jti: HashMap<&str, Vec<&Arrival>> = HashMap::new();
    for arrival in &arrivals {
        by_jti.entry(&arrival.jti).or_default().push(arrival);
    }
    let mut jtis_of_sid: HashMap<&str, HashSet<&str>> = HashMap::new();
    for arrival in &arrivals {
        let sid = arrival.sid.as_deref().expect("a sign-out's logout token names its session");
        assert!(answered.iter().chain(&cut_off).any(|s| s == sid), "a logout for a session nobody ended: {arrival:?}");
        jtis_of_sid.entry(sid).or_default().insert(&arrival.jti);
    }
    for sid in &answered {
        assert_eq!(jtis_of_sid.get(sid.as_str()).map(HashSet::len), Some(1), "one event for the sign-out of {sid}");
    }
    for (sid, jtis) in &jtis_of_sid {
        assert_eq!(jtis.len(), 1, "one event per ended session {sid}: {jtis:?}");
    }
    // The only repeats: events the victim sent and died before recording, sent again by the
    // survivor. The held one is such an event, by construction. Another event the victim was
    // posting at the kill may have lost its connection before the receiver could name its
    // sender (`None`): only the survivor is never the first sender of a repeat.
    for (jti, times) in &by_jti {
        if times.len() > 1 {
            let senders: Vec<Option<usize>> = times.iter().map(|a| a.sender).collect();
            assert!(
                senders.len() == 2 && senders[0] != Some(1 - victim) && senders[1] == Some(1 - victim),
                "{jti} repeated other than across the kill (victim {victim}): {times:?}"
            );
        }
    }
    assert_eq!(by_jti[held.jti.as_str()].len(), 2, "the held event came again from the survivor");
    let repeats = by_jti.values().filter(|t| t.len() > 1).count();
    eprintln!(
        "killed instance {victim} after {killed_after} answered operations; {} sign-outs answered, {} cut off; {} deliveries of {} events, {repeats} repeated across the kill",
        answered.len(),
        cut_off.len(),
        arrivals.len(),
        by_jti.len()
    );
    assert_intact(&db).await;
    receiver.server.abort();
}
