//! The back-channel receiver of a real axum app, fed by a scripted provider that publishes its
//! discovery document and keys (generated here, RSA and Ed25519) and signs events: a logout
//! token ends that user's sessions and no one else's, an access-changed event makes the next
//! request sync before the token expires, and every kind of invalid event is refused with 400
//! and changes nothing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use centralauth_client::{CentralAuth, CentralAuthConfig, ClientSecret, Principal};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tower_sessions::{MemoryStore, SessionManagerLayer};

const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const ACCESS_CHANGED_EVENT: &str = "urn:centralauth:event:access-changed";
const FORM: &str = "application/x-www-form-urlencoded";
const SECEVENT: &str = "application/secevent+jwt";

// ---------------------------------------------------------------- keys

struct TestKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Jwk,
}

fn with_kid(mut jwk: Jwk, kid: &str) -> Jwk {
    jwk.common.key_id = Some(kid.to_string());
    jwk
}

/// RSA key generation is slow without optimisation: one 2048-bit key for the whole binary.
static RSA_DER: LazyLock<Vec<u8>> = LazyLock::new(|| {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    key.to_pkcs1_der().unwrap().as_bytes().to_vec()
});

fn rsa_key(kid: &str) -> TestKey {
    let encoding = EncodingKey::from_rsa_der(&RSA_DER);
    let jwk = with_kid(Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap(), kid);
    TestKey { kid: kid.into(), alg: Algorithm::RS256, encoding, jwk }
}

fn ed_key(kid: &str) -> TestKey {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes};
    use rsa::rand_core::RngCore;
    let mut seed = [0u8; 32];
    rsa::rand_core::OsRng.fill_bytes(&mut seed);
    let der = KeypairBytes { secret_key: seed, public_key: None }.to_pkcs8_der().unwrap();
    let encoding = EncodingKey::from_ed_der(der.as_bytes());
    let jwk = with_kid(Jwk::from_encoding_key(&encoding, Algorithm::EdDSA).unwrap(), kid);
    TestKey { kid: kid.into(), alg: Algorithm::EdDSA, encoding, jwk }
}

fn sign(key: &TestKey, typ: &str, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.typ = Some(typ.into());
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn unique_jti() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("jti-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------- the scripted provider

#[derive(Clone)]
struct FakeUser {
    sub: String,
    permissions: Vec<(String, String)>,
    member: bool,
}

#[derive(Clone, Default)]
struct Fake {
    issuer: Arc<Mutex<String>>,
    jwks: Arc<Mutex<JwkSet>>,
    jwks_fetches: Arc<AtomicUsize>,
    keys_down: Arc<AtomicBool>,
    users: Arc<Mutex<HashMap<String, FakeUser>>>,
    user_calls: Arc<Mutex<HashMap<String, usize>>>,
}

impl Fake {
    fn publish(&self, keys: &[&TestKey]) {
        *self.jwks.lock().unwrap() = JwkSet { keys: keys.iter().map(|k| k.jwk.clone()).collect() };
    }

    fn calls(&self, username: &str) -> usize {
        self.user_calls.lock().unwrap().get(username).copied().unwrap_or(0)
    }

    fn set_permissions(&self, username: &str, permissions: &[&str]) {
        let perms = permissions
            .iter()
            .map(|p| {
                let (label, code) = p.split_once('.').unwrap();
                (label.to_string(), code.to_string())
            })
            .collect();
        self.users.lock().unwrap().get_mut(username).unwrap().permissions = perms;
    }
}

/// Codes are usernames; tokens name their user. Refresh tokens are not rotated.
async fn token(Form(form): Form<HashMap<String, String>>) -> Response {
    let user = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => form["code"].clone(),
        Some("refresh_token") => form["refresh_token"].trim_start_matches("rt-").to_string(),
        _ => return (StatusCode::BAD_REQUEST, Json(json!({"error": "unsupported_grant_type"}))).into_response(),
    };
    Json(json!({"access_token": format!("at-{user}"), "expires_in": 300, "token_type": "Bearer", "scope": "read write", "refresh_token": format!("rt-{user}")}))
        .into_response()
}

async fn user(State(fake): State<Fake>, headers: HeaderMap) -> Response {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let username = bearer.trim_start_matches("Bearer at-").to_string();
    *fake.user_calls.lock().unwrap().entry(username.clone()).or_default() += 1;
    let Some(user) = fake.users.lock().unwrap().get(&username).cloned() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if !user.member {
        return (StatusCode::FORBIDDEN, Json(json!({"error": "access_denied"}))).into_response();
    }
    Json(json!({
        "sub": user.sub, "username": username, "first_name": "", "last_name": "", "email": "",
        "is_superuser": false, "is_staff": false, "is_active": true, "permissions": user.permissions,
    }))
    .into_response()
}

async fn discovery(State(fake): State<Fake>) -> Response {
    if fake.keys_down.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let issuer = fake.issuer.lock().unwrap().clone();
    Json(json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks/"), "authorization_endpoint": format!("{issuer}/authorize/")}))
        .into_response()
}

async fn jwks(State(fake): State<Fake>) -> Response {
    fake.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    Json(fake.jwks.lock().unwrap().clone()).into_response()
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

// ---------------------------------------------------------------- the app and its users

struct Scene {
    fake: Fake,
    issuer: String,
    app: String,
    http: reqwest::Client,
}

const ALICE: &str = "1";
const BOB: &str = "2";

async fn scene(key_refetch_interval: Duration) -> Scene {
    let fake = Fake::default();
    for (name, sub) in [("alice", ALICE), ("bob", BOB)] {
        let user = FakeUser { sub: sub.into(), permissions: vec![("notes".into(), "view_note".into())], member: true };
        fake.users.lock().unwrap().insert(name.into(), user);
    }
    let provider = Router::new()
        .route("/provider/o/token/", post(token))
        .route("/provider/user/", get(user))
        .route("/provider/o/.well-known/openid-configuration", get(discovery))
        .route("/provider/o/jwks/", get(jwks))
        .with_state(fake.clone());
    let provider_addr = serve(provider).await;
    let issuer = format!("http://{provider_addr}/provider/o");
    *fake.issuer.lock().unwrap() = issuer.clone();

    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_addr = app_listener.local_addr().unwrap();
    let mut config = CentralAuthConfig::new(
        &format!("http://{provider_addr}/provider"),
        "client1",
        ClientSecret::new("secret-secret-secret"),
        &format!("http://{app_addr}"),
    )
    .unwrap();
    config.timeout = Duration::from_secs(2);
    config.key_refetch_interval = key_refetch_interval;
    let auth = CentralAuth::new(config).unwrap();
    let app = Router::new()
        .route("/api/me", get(|user: Principal| async move { Json(user) }))
        .merge(auth.router())
        .layer(auth.sync_layer())
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false))
        .merge(auth.backchannel_router());
    tokio::spawn(async move { axum::serve(app_listener, app).await.unwrap() });
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Scene { fake, issuer, app: format!("http://{app_addr}"), http }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap()
}

impl Scene {
    /// A browser signed in as `username`.
    async fn signed_in(&self, username: &str) -> reqwest::Client {
        let (browser, status) = self.callback(username, "").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{username} signs in");
        browser
    }

    /// A sign-in started in a new browser and answered at the callback with `extra` query
    /// parameters; the browser and the callback's status.
    async fn callback(&self, username: &str, extra: &str) -> (reqwest::Client, StatusCode) {
        let browser = browser();
        let response = browser.get(format!("{}/centralauth/login/?next=/", self.app)).send().await.unwrap();
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        let state = location.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
        let url = format!("{}/centralauth/login/callback/?code={username}&state={state}{extra}", self.app);
        let status = browser.get(url).header("accept", "text/html").send().await.unwrap().status();
        (browser, status)
    }

    /// `/api/me` as an API client: the status and the permissions seen.
    async fn me(&self, browser: &reqwest::Client) -> (StatusCode, Vec<String>) {
        let response = browser.get(format!("{}/api/me", self.app)).send().await.unwrap();
        let status = response.status();
        let perms = match status {
            StatusCode::OK => serde_json::from_value(response.json::<Value>().await.unwrap()["permissions"].clone()).unwrap(),
            _ => Vec::new(),
        };
        (status, perms)
    }

    async fn post(&self, content_type: Option<&str>, body: String) -> (StatusCode, HeaderMap, Value) {
        let mut request = self.http.post(format!("{}/centralauth/backchannel/", self.app)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let text = response.text().await.unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn logout(&self, token: &str) -> (StatusCode, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new()).append_pair("logout_token", token).finish();
        let (status, _, body) = self.post(Some(FORM), body).await;
        (status, body)
    }

    async fn event(&self, token: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.post(Some(SECEVENT), token.to_string()).await;
        (status, body)
    }

    fn logout_claims(&self, sub: &str) -> Value {
        let now = now();
        json!({"iss": self.issuer, "aud": "client1", "iat": now, "exp": now + 120, "jti": unique_jti(), "sub": sub,
               "sid": "provider-session", "events": {LOGOUT_EVENT: {}}})
    }

    fn access_claims(&self, sub: &str) -> Value {
        json!({"iss": self.issuer, "aud": ["client1"], "iat": now(), "jti": unique_jti(), "sub": sub,
               "events": {ACCESS_CHANGED_EVENT: {}}})
    }
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

// ---------------------------------------------------------------- tests

/// RFC 9207: a callback that names an issuer is taken only from the provider's own.
#[tokio::test]
async fn a_sign_in_answer_from_another_issuer_is_refused() {
    let s = scene(Duration::from_secs(10)).await;
    s.fake.publish(&[&rsa_key("rsa-1")]);
    let issuer = s.fake.issuer.lock().unwrap().clone();
    let ours = format!("&iss={}", url::form_urlencoded::byte_serialize(issuer.as_bytes()).collect::<String>());
    let (browser, status) = s.callback("alice", &ours).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the provider's own issuer");
    assert_eq!(s.me(&browser).await.0, StatusCode::OK);
    let (browser, status) = s.callback("alice", "&iss=https%3A%2F%2Fevil.example%2Fo").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another issuer's answer");
    assert_eq!(s.me(&browser).await.0, StatusCode::UNAUTHORIZED, "no session");
    let (_, status) = s.callback("bob", "").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "no iss at all: a Django provider's answer");
}

#[tokio::test]
async fn a_logout_token_ends_every_session_of_its_user_and_no_other() {
    let s = scene(Duration::from_secs(10)).await;
    let key = rsa_key("rsa-1");
    s.fake.publish(&[&key]);
    let (alice_api, alice_page, bob) = (s.signed_in("alice").await, s.signed_in("alice").await, s.signed_in("bob").await);
    assert_eq!(s.me(&alice_api).await.0, StatusCode::OK);

    let (status, headers, body) = s
        .post(
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            format!("logout_token={}", sign(&key, "logout+jwt", &s.logout_claims(ALICE))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["cache-control"], "no-store");

    assert_eq!(s.me(&alice_api).await.0, StatusCode::UNAUTHORIZED, "the API client's session ended");
    let page = alice_page.get(format!("{}/api/me", s.app)).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FOUND, "the browser is sent to sign in again");
    assert_eq!(page.headers()["location"], "/centralauth/login/?next=%2Fapi%2Fme");
    assert_eq!(s.me(&alice_page).await.0, StatusCode::UNAUTHORIZED, "and its session is gone too");
    assert_eq!(s.me(&bob).await.0, StatusCode::OK, "another user's session stays");

    tokio::time::sleep(Duration::from_millis(10)).await;
    let again = s.signed_in("alice").await;
    assert_eq!(s.me(&again).await.0, StatusCode::OK, "a sign-in after the logout is not affected by it");

    // `aud` may be an array that contains our client id among others.
    let to_many = with(s.logout_claims(BOB), "aud", json!(["other-app", "client1"]));
    assert_eq!(s.logout(&sign(&key, "logout+jwt", &to_many)).await.0, StatusCode::OK);
    assert_eq!(s.me(&bob).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.me(&again).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_access_change_makes_the_next_request_sync_and_see_the_new_permissions() {
    let s = scene(Duration::from_secs(10)).await;
    let key = ed_key("ed-1");
    s.fake.publish(&[&key]);
    let (alice, bob) = (s.signed_in("alice").await, s.signed_in("bob").await);
    assert_eq!(s.me(&alice).await, (StatusCode::OK, vec!["notes.view_note".to_string()]));
    assert_eq!(s.fake.calls("alice"), 1, "only the sign-in asked /user/");

    s.fake.set_permissions("alice", &["notes.view_note", "notes.publish_note"]);
    assert_eq!(s.me(&alice).await.1, vec!["notes.view_note"], "without an event, the token is still valid and nothing syncs");
    assert_eq!(s.fake.calls("alice"), 1);

    let (status, body) = s.event(&sign(&key, "secevent+jwt", &s.access_claims(ALICE))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(s.me(&alice).await, (StatusCode::OK, vec!["notes.publish_note".to_string(), "notes.view_note".to_string()]));
    assert_eq!(s.fake.calls("alice"), 2, "the next request synced before the token expired");
    assert_eq!(s.me(&alice).await.0, StatusCode::OK);
    assert_eq!(s.fake.calls("alice"), 2, "once");
    assert_eq!(s.me(&bob).await.0, StatusCode::OK);
    assert_eq!(s.fake.calls("bob"), 1, "another user's session does not sync");

    // A second change (the provider does not rotate refresh tokens here: the earlier refresh
    // must not be reused), delivered late by the provider's retries: 50 minutes old.
    s.fake.set_permissions("alice", &[]);
    let late = with(s.access_claims(ALICE), "iat", json!(now() - 50 * 60));
    assert_eq!(s.event(&sign(&key, "secevent+jwt", &late)).await.0, StatusCode::ACCEPTED);
    assert_eq!(s.me(&alice).await, (StatusCode::OK, vec![]));
    assert_eq!(s.fake.calls("alice"), 3);

    // Access withdrawn: the sync is refused and the session ends, as at a refused refresh.
    s.fake.users.lock().unwrap().get_mut("alice").unwrap().member = false;
    assert_eq!(s.event(&sign(&key, "secevent+jwt", &s.access_claims(ALICE))).await.0, StatusCode::ACCEPTED);
    assert_eq!(s.me(&alice).await.0, StatusCode::UNAUTHORIZED);
    s.fake.users.lock().unwrap().get_mut("alice").unwrap().member = true;
    assert_eq!(s.me(&alice).await.0, StatusCode::UNAUTHORIZED, "the session stays ended");
    assert_eq!(s.me(&bob).await.0, StatusCode::OK);
}

#[tokio::test]
async fn invalid_deliveries_are_refused_with_400_and_change_nothing() {
    let s = scene(Duration::from_secs(10)).await;
    let rsa = rsa_key("rsa-1");
    let ed = ed_key("ed-1");
    s.fake.publish(&[&rsa, &ed]);
    let alice = s.signed_in("alice").await;
    let logout = |claims: Value| sign(&rsa, "logout+jwt", &claims);
    let access = |claims: Value| sign(&ed, "secevent+jwt", &claims);
    let (lc, ac) = (|| s.logout_claims(ALICE), || s.access_claims(ALICE));

    let tampered = |token: String, claims: &Value| {
        let parts: Vec<&str> = token.split('.').collect();
        format!("{}.{}.{}", parts[0], b64(claims), parts[2])
    };
    let impostor = ed_key("ed-1"); // the published kid, another key
    let unsigned_header = json!({"alg": "none", "typ": "logout+jwt", "kid": "rsa-1"});
    let hs256 = {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("logout+jwt".into());
        header.kid = Some("rsa-1".into());
        jsonwebtoken::encode(&header, &lc(), &EncodingKey::from_secret(b"a shared secret")).unwrap()
    };
    let ed_signed_under_rsa_kid = {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("secevent+jwt".into());
        header.kid = Some("rsa-1".into());
        jsonwebtoken::encode(&header, &ac(), &ed.encoding).unwrap()
    };
    let not_json_claims =
        format!("{}.{}.c2ln", b64(&json!({"alg": "RS256", "typ": "logout+jwt", "kid": "rsa-1"})), URL_SAFE_NO_PAD.encode("{"));

    // what, and (content type, body, the error member expected)
    let form = |token: &str| url::form_urlencoded::Serializer::new(String::new()).append_pair("logout_token", token).finish();
    let l = |token: String| (Some(FORM), form(&token), "invalid_request");
    let e = |token: String, err: &'static str| (Some(SECEVENT), token, err);
    type Delivery<'a> = (Option<&'a str>, String, &'a str);
    let cases: Vec<(&str, Delivery)> = vec![
        ("logout: bad signature (tampered claims)", l(tampered(logout(lc()), &lc()))),
        ("event: bad signature (tampered claims)", e(tampered(access(ac()), &ac()), "authentication_failed")),
        ("event: signed by another key under a published kid", e(sign(&impostor, "secevent+jwt", &ac()), "authentication_failed")),
        ("logout: unknown kid", l(sign(&rsa_key("rsa-unknown"), "logout+jwt", &lc()))),
        ("event: unknown kid", e(sign(&ed_key("ed-unknown"), "secevent+jwt", &ac()), "invalid_key")),
        ("event: an Ed25519 signature under an RSA kid", e(ed_signed_under_rsa_kid, "invalid_key")),
        ("logout: alg none", l(format!("{}.{}.", b64(&unsigned_header), b64(&lc())))),
        ("logout: HS256", l(hs256)),
        ("logout: wrong iss", l(logout(with(lc(), "iss", json!("http://evil.example/o"))))),
        ("event: wrong iss", e(access(with(ac(), "iss", json!("http://evil.example/o"))), "invalid_issuer")),
        ("event: no iss", e(access(without(ac(), "iss")), "invalid_issuer")),
        ("logout: wrong aud", l(logout(with(lc(), "aud", json!("other-app"))))),
        ("event: wrong aud", e(access(with(ac(), "aud", json!(["other-app"]))), "invalid_audience")),
        ("event: no aud", e(access(without(ac(), "aud")), "invalid_audience")),
        ("logout: expired exp", l(logout(with(lc(), "exp", json!(now() - 300))))),
        ("event: expired exp", e(access(with(ac(), "exp", json!(now() - 300))), "invalid_request")),
        ("logout: iat older than the maximum age", l(logout(with(lc(), "iat", json!(now() - 2 * 3600))))),
        ("logout: iat in the future", l(logout(with(lc(), "iat", json!(now() + 600))))),
        ("event: no iat", e(access(without(ac(), "iat")), "invalid_request")),
        ("logout: no events", l(logout(without(lc(), "events")))),
        ("logout: the access-changed event instead", l(logout(with(lc(), "events", json!({ACCESS_CHANGED_EVENT: {}}))))),
        ("event: the logout event instead", e(access(with(ac(), "events", json!({LOGOUT_EVENT: {}}))), "invalid_request")),
        ("logout: the event member is not an object", l(logout(with(lc(), "events", json!({LOGOUT_EVENT: "yes"}))))),
        ("logout: events is a list", l(logout(with(lc(), "events", json!([LOGOUT_EVENT]))))),
        ("logout: a nonce", l(logout(with(lc(), "nonce", json!("n-0S6_WzA2Mj"))))),
        ("event: a nonce", e(access(with(ac(), "nonce", json!("n"))), "invalid_request")),
        ("logout: no sub", l(logout(without(lc(), "sub")))),
        ("event: a numeric sub", e(access(with(ac(), "sub", json!(1))), "invalid_request")),
        ("logout: no jti", l(logout(without(lc(), "jti")))),
        ("logout: typ JWT", l(sign(&rsa, "JWT", &lc()))),
        ("logout: a logout token typed as a security event", l(sign(&rsa, "secevent+jwt", &lc()))),
        ("event: a security event typed as a logout token", e(sign(&ed, "logout+jwt", &ac()), "invalid_request")),
        ("logout: not a JWT", l("not-a-jwt".into())),
        ("logout: claims that are not JSON", l(not_json_claims)),
        ("logout: no logout_token parameter", (Some(FORM), format!("token={}", logout(lc())), "invalid_request")),
        (
            "logout: two logout_token parameters",
            (Some(FORM), format!("{}&{}", form(&logout(lc())), form(&logout(lc()))), "invalid_request"),
        ),
        ("event: an empty body", e(String::new(), "invalid_request")),
        ("event: a form instead of a JWT", e(form(&access(ac())), "invalid_request")),
        ("a logout token as text/plain", (Some("text/plain"), logout(lc()), "invalid_request")),
        ("an event as JSON", (Some("application/json"), json!({"token": access(ac())}).to_string(), "invalid_request")),
        ("an event without content type", (None, access(ac()), "invalid_request")),
    ];
    for (what, (content_type, body, expected)) in cases {
        let (status, _, answer) = s.post(content_type, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        let code = if content_type == Some(SECEVENT) { &answer["err"] } else { &answer["error"] };
        assert_eq!(code, expected, "{what}: {answer}");
        let description = if content_type == Some(SECEVENT) { &answer["description"] } else { &answer["error_description"] };
        assert!(description.as_str().is_some_and(|d| !d.is_empty()), "{what}: {answer}");
        assert_eq!(s.me(&alice).await.0, StatusCode::OK, "{what} must not end the session");
        assert_eq!(s.fake.calls("alice"), 1, "{what} must not make the session sync");
    }

    // The same claims, well signed, do take effect: the cases above failed for their fault alone.
    assert_eq!(s.event(&access(ac())).await.0, StatusCode::ACCEPTED);
    assert_eq!(s.me(&alice).await.0, StatusCode::OK);
    assert_eq!(s.fake.calls("alice"), 2);
    assert_eq!(s.logout(&logout(lc())).await.0, StatusCode::OK);
    assert_eq!(s.me(&alice).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_replayed_jti_is_refused() {
    let s = scene(Duration::from_secs(10)).await;
    let key = rsa_key("rsa-1");
    s.fake.publish(&[&key]);
    let alice = s.signed_in("alice").await;

    let event = sign(&key, "secevent+jwt", &s.access_claims(ALICE));
    assert_eq!(s.event(&event).await.0, StatusCode::ACCEPTED);
    s.me(&alice).await;
    assert_eq!(s.fake.calls("alice"), 2);
    let (status, body) = s.event(&event).await;
    assert_eq!((status, body["err"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{body}");
    assert_eq!(s.me(&alice).await.0, StatusCode::OK);
    assert_eq!(s.fake.calls("alice"), 2, "the replay made no session sync");

    let logout = sign(&key, "logout+jwt", &s.logout_claims(ALICE));
    assert_eq!(s.logout(&logout).await.0, StatusCode::OK);
    assert_eq!(s.me(&alice).await.0, StatusCode::UNAUTHORIZED);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let alice = s.signed_in("alice").await;
    let (status, body) = s.logout(&logout).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{body}");
    assert_eq!(s.me(&alice).await.0, StatusCode::OK, "the replayed logout did not end the new session");
}

#[tokio::test]
async fn an_unknown_kid_is_refused_after_one_refetch_and_a_rotated_key_is_picked_up() {
    let s = scene(Duration::from_millis(300)).await;
    let (old, new) = (rsa_key("rsa-1"), ed_key("ed-2"));
    s.fake.publish(&[&old]);
    let alice = s.signed_in("alice").await;
    let fetches = || s.fake.jwks_fetches.load(Ordering::SeqCst);

    assert_eq!(s.event(&sign(&old, "secevent+jwt", &s.access_claims(ALICE))).await.0, StatusCode::ACCEPTED);
    assert_eq!(fetches(), 1, "the keys are fetched at the first event");
    assert_eq!(s.event(&sign(&old, "secevent+jwt", &s.access_claims(ALICE))).await.0, StatusCode::ACCEPTED);
    assert_eq!(fetches(), 1, "and cached");

    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, body) = s.event(&sign(&new, "secevent+jwt", &s.access_claims(ALICE))).await;
    assert_eq!((status, body["err"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_key")), "{body}");
    assert_eq!(fetches(), 2, "an unknown kid made the client fetch the keys once more");
    let (status, _) = s.event(&sign(&new, "secevent+jwt", &s.access_claims(ALICE))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fetches(), 2, "but not again within the refetch interval");

    // The provider rotates: the new key replaces the old one.
    s.fake.publish(&[&new]);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let calls = s.fake.calls("alice");
    let (status, body) = s.event(&sign(&new, "secevent+jwt", &s.access_claims(ALICE))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(fetches(), 3);
    s.me(&alice).await;
    assert_eq!(s.fake.calls("alice"), calls + 1, "the event signed with the new key took effect");

    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, body) = s.logout(&sign(&old, "logout+jwt", &s.logout_claims(ALICE))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the retired key is no longer accepted: {body}");
    assert_eq!(s.me(&alice).await.0, StatusCode::OK);
}

#[tokio::test]
async fn unavailable_provider_keys_are_a_503_and_the_next_delivery_succeeds() {
    let s = scene(Duration::from_millis(200)).await;
    let key = ed_key("ed-1");
    s.fake.publish(&[&key]);
    let alice = s.signed_in("alice").await;
    s.fake.keys_down.store(true, Ordering::SeqCst);

    let logout = sign(&key, "logout+jwt", &s.logout_claims(ALICE));
    let (status, body) = s.logout(&logout).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("temporarily_unavailable")), "{body}");
    assert_eq!(s.me(&alice).await.0, StatusCode::OK);

    s.fake.keys_down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.logout(&logout).await.0, StatusCode::OK, "the provider's next attempt with the same token works");
    assert_eq!(s.me(&alice).await.0, StatusCode::UNAUTHORIZED);
}
