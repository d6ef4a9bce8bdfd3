//! Back-channel deliveries: OpenID Connect Back-Channel Logout (after RP-initiated logout, and
//! when a user or membership is deactivated) and the access-change event, received by a real
//! HTTP receiver within a second, verifiable with the published keys, retried while the
//! receiver is down, and delivered after a provider restart.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::support::*;

const AFTER_LOGOUT: &str = "http://127.0.0.1:9000/signed-out/";
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const ACCESS_EVENT: &str = "urn:centralauth:event:access-changed";

/// What the receiver got: the content type and the body.
#[derive(Debug)]
struct Received {
    content_type: String,
    body: String,
}

impl Received {
    /// The JWT: the `logout_token` form field, or the whole body of a SET (RFC 8935).
    fn token(&self) -> String {
        if self.content_type.starts_with("application/x-www-form-urlencoded") {
            url::form_urlencoded::parse(self.body.as_bytes()).find(|(k, _)| k == "logout_token").expect("logout_token").1.into_owned()
        } else {
            self.body.clone()
        }
    }
}

/// An application's back-channel endpoint: records every POST and answers with `status`.
struct Receiver {
    addr: SocketAddr,
    received: mpsc::UnboundedReceiver<Received>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start_on(addr: SocketAddr, status: Arc<AtomicU16>) -> Self {
        let (tx, received) = mpsc::unbounded_channel();
        let app = Router::new().route(
            "/backchannel/",
            post(move |headers: HeaderMap, body: String| {
                let tx = tx.clone();
                let status = status.clone();
                async move {
                    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    let _ = tx.send(Received { content_type, body });
                    AxumStatus::from_u16(status.load(Ordering::SeqCst)).unwrap()
                }
            }),
        );
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(addr).unwrap();
        let listener = socket.listen(64).unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, received, server }
    }

    async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap(), Arc::new(AtomicU16::new(200))).await
    }

    fn uri(&self) -> String {
        format!("http://{}/backchannel/", self.addr)
    }

    async fn next(&mut self, within: Duration) -> Received {
        tokio::time::timeout(within, self.received.recv()).await.expect("a delivery in time").expect("receiver open")
    }

    async fn nothing_for(&mut self, wait: Duration) {
        if let Ok(Some(extra)) = tokio::time::timeout(wait, self.received.recv()).await {
            panic!("unexpected delivery: {extra:?}");
        }
    }
}

/// Verifies a token with the provider's published keys as a receiver does; exp is checked
/// when present. Returns (typ header, claims).
async fn verify(p: &TestProvider, token: &str) -> (String, Value) {
    let jwks: JwkSet = http().get(p.provider("/o/jwks/")).send().await.unwrap().json().await.unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks.find(header.kid.as_deref().expect("kid")).expect("kid published");
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&["client1"]);
    validation.set_issuer(&[p.provider("/o")]);
    validation.set_required_spec_claims(&["iat", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation).expect("verifies").claims;
    (header.typ.unwrap_or_default(), claims)
}

async fn with_receiver(p: &TestProvider, receiver_uri: &str) {
    p.cli(&["app", "update", "client1", "--backchannel-logout-uri", receiver_uri, "--post-logout-redirect-uri", AFTER_LOGOUT], None).await;
}

async fn sign_in(p: &TestProvider, browser: &Browser, scope: &str) -> Value {
    let code = p.code_for(browser, "alice", ALICE_PASSWORD, &[("scope", scope)]).await;
    let (status, body) = p.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn refresh(p: &TestProvider, tokens: &Value) -> StatusCode {
    p.token(&[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())]).await.0
}

fn claims_of(p_id_token: &str) -> Value {
    let payload = p_id_token.split('.').nth(1).unwrap();
    use base64::Engine;
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_session_and_tells_the_application_by_back_channel() {
    let p = TestProvider::with_scene(&[]).await;
    let mut receiver = Receiver::start().await;
    with_receiver(&p, &receiver.uri()).await;
    let browser = Browser::new();
    let online = sign_in(&p, &browser, "openid").await;
    let offline = sign_in(&p, &browser, "openid offline_access").await;
    let id_token = online["id_token"].as_str().unwrap();

    // A return address the application did not register is refused, before anything happens.
    let bad = browser.get(&p.provider(&format!("/o/logout/?id_token_hint={id_token}&post_logout_redirect_uri=https://evil.example/"))).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(location(&bad).is_empty());

    let query = format!("/o/logout/?id_token_hint={id_token}&post_logout_redirect_uri={AFTER_LOGOUT}&state=s-1");
    let page = browser.get(&p.provider(&query)).await;
    assert_eq!(page.status(), StatusCode::OK, "a signed-in user confirms first");
    let html = page.text().await.unwrap();
    let form: Vec<(&str, String)> = ["csrf_token", "id_token_hint", "post_logout_redirect_uri", "state"]
        .into_iter()
        .map(|name| (name, hidden_input(&html, name)))
        .collect();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Without the CSRF token nobody is signed out.
    let forged: Vec<(&str, &str)> = form.iter().filter(|(k, _)| *k != "csrf_token").chain([&("csrf_token", "forged")]).cloned().collect();
    assert_eq!(browser.post_form(&p.provider("/o/logout/"), &forged).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(refresh(&p, &online).await, StatusCode::OK, "still signed in after the forged request");
    let online = sign_in(&p, &browser, "openid").await;

    let started = Instant::now();
    let done = browser.post_form(&p.provider("/o/logout/"), &form).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), format!("{AFTER_LOGOUT}?state=s-1"));

    let delivery = receiver.next(Duration::from_secs(1)).await;
    assert!(started.elapsed() < Duration::from_secs(1), "delivered within a second: {:?}", started.elapsed());
    assert!(delivery.content_type.starts_with("application/x-www-form-urlencoded"));
    let (typ, claims) = verify(&p, &delivery.token()).await;
    assert_eq!(typ, "logout+jwt");
    assert_eq!(claims["events"], serde_json::json!({ LOGOUT_EVENT: {} }));
    assert_eq!(claims["sub"], claims_of(id_token)["sub"]);
    assert_eq!(claims["sid"], claims_of(id_token)["sid"]);
    assert!(claims["exp"].as_i64().is_some() && claims["jti"].as_str().is_some() && claims.get("nonce").is_none());
    receiver.nothing_for(Duration::from_millis(600)).await;

    // The session's grants are gone, except the one asked for offline access (Core §11).
    assert_eq!(refresh(&p, &online).await, StatusCode::BAD_REQUEST);
    assert_eq!(refresh(&p, &offline).await, StatusCode::OK);
    let again = browser.get(&p.authorize_url(&[("scope", "openid")])).await;
    assert!(location(&again).starts_with("/account/login/"), "the browser is signed out");
    // Signed out already: straight back to the application.
    let repeat = browser.get(&p.provider(&query)).await;
    assert_eq!(location(&repeat), format!("{AFTER_LOGOUT}?state=s-1"));
}

#[tokio::test]
async fn deactivation_logs_out_and_permission_changes_are_pushed_within_a_second() {
    let p = TestProvider::with_scene(&[]).await;
    let mut receiver = Receiver::start().await;
    with_receiver(&p, &receiver.uri()).await;
    let tokens = sign_in(&p, &Browser::new(), "openid").await;
    let sub = claims_of(tokens["id_token"].as_str().unwrap())["sub"].clone();

    let started = Instant::now();
    p.cli(&["member", "update", "client1", "alice", "--perm", "auth.view_group"], None).await;
    let change = receiver.next(Duration::from_secs(1)).await;
    assert!(started.elapsed() < Duration::from_secs(2), "{:?} including the CLI's own start", started.elapsed());
    assert_eq!(change.content_type, "application/secevent+jwt", "RFC 8935 push delivery");
    let (typ, claims) = verify(&p, &change.token()).await;
    assert_eq!(typ, "secevent+jwt");
    assert_eq!(claims["events"], serde_json::json!({ ACCESS_EVENT: {} }));
    assert_eq!(claims["sub"], sub);

    // An update that changes nothing tells nobody.
    p.cli(&["member", "update", "client1", "alice", "--perm", "auth.view_group"], None).await;
    receiver.nothing_for(Duration::from_millis(800)).await;

    p.cli(&["member", "update", "client1", "alice", "--active", "false"], None).await;
    let logout = receiver.next(Duration::from_secs(1)).await;
    let (typ, claims) = verify(&p, &logout.token()).await;
    assert_eq!(typ, "logout+jwt");
    assert_eq!(claims["sub"], sub);
    assert!(claims.get("sid").is_none(), "every session of the user");

    // A deactivated account: every application the user is an active member of is told.
    p.cli(&["member", "update", "client1", "alice", "--active", "true"], None).await;
    let _reactivated = receiver.next(Duration::from_secs(1)).await;
    p.cli(&["user", "update", "alice", "--active", "false"], None).await;
    let (typ, claims) = verify(&p, &receiver.next(Duration::from_secs(1)).await.token()).await;
    assert_eq!((typ.as_str(), &claims["sub"]), ("logout+jwt", &sub));
}

#[tokio::test]
async fn an_administrator_ending_a_users_sessions_tells_the_application_of_each_session() {
    let p = TestProvider::with_scene(&[]).await;
    let mut receiver = Receiver::start().await;
    with_receiver(&p, &receiver.uri()).await;
    let tokens = sign_in(&p, &Browser::new(), "openid").await;
    let signed_in = claims_of(tokens["id_token"].as_str().unwrap());
    p.cli(&["user", "end-sessions", "alice"], None).await;
    let (typ, claims) = verify(&p, &receiver.next(Duration::from_secs(1)).await.token()).await;
    assert_eq!((typ.as_str(), &claims["sub"], &claims["sid"]), ("logout+jwt", &signed_in["sub"], &signed_in["sid"]));
    receiver.nothing_for(Duration::from_millis(600)).await;
    assert_eq!(refresh(&p, &tokens).await, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn deliveries_are_retried_while_the_receiver_is_down_and_survive_a_provider_restart() {
    let p = TestProvider::with_scene(&[]).await;
    // A port with nobody listening yet: the receiver is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    with_receiver(&p, &format!("http://{port}/backchannel/")).await;
    let db = p.db.clone();
    p.stop().await;
    // The change happens while the provider is stopped (the CLI writes to the outbox).
    cli_on(&db.url, &["member", "update", "client1", "alice", "--active", "false"], None).await;
    let p = TestProvider::start_on(db, &[]).await;
    // Failed attempts are recorded and retried.
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.db.scalar("SELECT COUNT(*) FROM event_deliveries WHERE attempts > 0").await == 0 {
        assert!(Instant::now() < deadline, "no attempt was made");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = Arc::new(AtomicU16::new(503));
    let mut receiver = Receiver::start_on(port, status.clone()).await;
    let first = receiver.next(Duration::from_secs(10)).await;
    assert_eq!(verify(&p, &first.token()).await.0, "logout+jwt");
    status.store(200, Ordering::SeqCst);
    // A 503 is worth another try: the same event comes again.
    let second = receiver.next(Duration::from_secs(10)).await;
    assert_eq!(verify(&p, &second.token()).await.1["jti"], verify(&p, &first.token()).await.1["jti"]);
    // The worker removes the row once the receiver's answer is in; a real process's timing.
    let deadline = Instant::now() + Duration::from_secs(5);
    while p.db.scalar("SELECT COUNT(*) FROM event_deliveries").await != 0 {
        assert!(Instant::now() < deadline, "delivered, and gone from the outbox");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    receiver.server.abort();
}

#[tokio::test]
async fn a_receiver_that_rejects_the_token_is_not_asked_again() {
    let p = TestProvider::with_scene(&[]).await;
    let mut receiver = Receiver::start_on("127.0.0.1:0".parse().unwrap(), Arc::new(AtomicU16::new(400))).await;
    with_receiver(&p, &receiver.uri()).await;
    p.cli(&["member", "update", "client1", "alice", "--staff", "false"], None).await;
    receiver.next(Duration::from_secs(2)).await;
    receiver.nothing_for(Duration::from_millis(2500)).await;
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM event_deliveries").await, 0);
}

#[tokio::test]
async fn applications_without_a_back_channel_uri_queue_nothing() {
    let p = TestProvider::with_scene(&[]).await;
    p.cli(&["member", "update", "client1", "alice", "--active", "false"], None).await;
    p.cli(&["user", "update", "alice", "--active", "false"], None).await;
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM event_deliveries").await, 0);
}

#[tokio::test]
async fn the_outbox_is_bounded_per_application_and_drops_the_oldest() {
    let p = TestProvider::with_scene(&[]).await;
    with_receiver(&p, "http://127.0.0.1:9/backchannel/").await;
    // 10,000 deliveries waiting for a receiver that never answers (not due for a day).
    p.db.execute(
        "INSERT INTO event_deliveries (application_id, kind, subject, jti, created_at, next_attempt_at) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) \
         SELECT a.id, 'access-changed', '1', 'old-' || n.i, 0, 4000000000 FROM n, applications a WHERE a.client_id = 'client1'",
    )
    .await;
    p.cli(&["member", "update", "client1", "alice", "--active", "false"], None).await;
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM event_deliveries").await, 10_000, "bounded");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM event_deliveries WHERE jti = 'old-1'").await, 0, "the oldest went");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM event_deliveries WHERE kind = 'logout'").await, 1, "the newest is kept");
}
