//! The client against a scripted provider: bad answers (timeouts, 500s, malformed JSON, a wrong
//! `state`, a missing `code`, permissions the app never declared) give a clear page or a 502,
//! never a panic and never a half-signed-in session; permission registration reports errors.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use centralauth_client::{CentralAuth, CentralAuthConfig, ClientSecret, PermissionSet, Principal, ProviderError, RegisterError};
use serde_json::json;
use tower_sessions::{MemoryStore, SessionManagerLayer};

/// How the scripted provider answers.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    Good,
    ServerError,
    Malformed,
    Slow,
    /// An OAuth refusal (`invalid_grant`) at the token endpoint.
    Refuse,
}

#[derive(Clone)]
struct Script {
    token: Arc<Mutex<Answer>>,
    user: Arc<Mutex<Answer>>,
    /// `expires_in` of issued tokens; 0 makes every request refresh.
    expires_in: Arc<Mutex<i64>>,
}

async fn token(State(script): State<Script>) -> Response {
    let answer = *script.token.lock().unwrap();
    match answer {
        Answer::Good => {
            let expires_in = *script.expires_in.lock().unwrap();
            Json(json!({"access_token": "at", "expires_in": expires_in, "token_type": "Bearer", "scope": "read write", "refresh_token": "rt"}))
                .into_response()
        }
        Answer::Refuse => (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant"}))).into_response(),
        Answer::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "<h1>Server Error (500)</h1>").into_response(),
        Answer::Malformed => (StatusCode::OK, "{\"access_token\": ").into_response(),
        Answer::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::OK.into_response()
        }
    }
}

async fn user(State(script): State<Script>) -> Response {
    let answer = *script.user.lock().unwrap();
    match answer {
        Answer::Good => Json(json!({
            "username": "alice", "first_name": "Alice", "last_name": "Anchor", "email": "alice@example.com",
            "is_superuser": false, "is_staff": true, "is_active": true,
            "permissions": [["notes", "view_note"], ["other", "undeclared"]]
        }))
        .into_response(),
        Answer::ServerError => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Answer::Refuse => StatusCode::FORBIDDEN.into_response(),
        Answer::Malformed => (StatusCode::OK, Json(json!({"username": 42}))).into_response(),
        Answer::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::OK.into_response()
        }
    }
}

async fn perms(Json(body): Json<serde_json::Value>) -> Response {
    if body["client_secret"] != "secret-secret-secret" {
        return StatusCode::FORBIDDEN.into_response();
    }
    let n = body["perms"].as_array().map(|a| a.len()).unwrap_or(0);
    Json(json!({"success": true, "synced": n, "created": n, "deleted": 0, "count": n})).into_response()
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

struct Scene {
    script: Script,
    app: String,
    auth: CentralAuth,
    browser: reqwest::Client,
}

async fn scene() -> Scene {
    let script = Script {
        token: Arc::new(Mutex::new(Answer::Good)),
        user: Arc::new(Mutex::new(Answer::Good)),
        expires_in: Arc::new(Mutex::new(300)),
    };
    let provider = Router::new()
        .route("/provider/o/token/", post(token))
        .route("/provider/user/", get(user))
        .route("/provider/perms/", post(perms))
        .with_state(script.clone());
    let provider_addr = serve(provider).await;
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_addr = app_listener.local_addr().unwrap();
    let mut config = CentralAuthConfig::new(
        &format!("http://{provider_addr}/provider"),
        "client1",
        ClientSecret::new("secret-secret-secret"),
        &format!("http://{app_addr}"),
    )
    .unwrap();
    config.timeout = Duration::from_secs(1);
    let declared = PermissionSet::new().with("notes", "view_note", "Can view notes");
    let auth = CentralAuth::builder(config).permissions(&declared).build().unwrap();
    let app = Router::new()
        .route("/api/me", get(|user: Principal| async move { Json(user) }))
        .merge(auth.router())
        .layer(auth.sync_layer())
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false));
    tokio::spawn(async move { axum::serve(app_listener, app).await.unwrap() });
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    Scene { script, app: format!("http://{app_addr}"), auth, browser }
}

impl Scene {
    /// Starts a login and returns the `state` the client sent to the provider.
    async fn start_login(&self, next: &str) -> (String, url::Url) {
        let response = self.browser.get(format!("{}/centralauth/login/?next={next}", self.app)).send().await.unwrap();
        assert!(response.status().is_redirection());
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        let state = location.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
        (state, location)
    }

    async fn callback(&self, query: &str) -> reqwest::Response {
        self.browser.get(format!("{}/centralauth/login/callback/?{query}", self.app)).header("accept", "text/html").send().await.unwrap()
    }

    async fn me(&self) -> StatusCode {
        self.browser.get(format!("{}/api/me", self.app)).send().await.unwrap().status()
    }
}

#[tokio::test]
async fn login_sends_state_pkce_s256_and_the_registered_redirect_uri_and_drops_an_unsafe_next() {
    let s = scene().await;
    let (state, location) = s.start_login("/notes").await;
    let q: std::collections::HashMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "client1");
    assert_eq!(q["redirect_uri"], format!("{}/centralauth/login/callback/", s.app));
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(state.len() >= 16);
    let response = s.callback(&format!("code=c&state={state}")).await;
    assert_eq!(response.headers()["location"], "/notes");

    let s = scene().await;
    let (state, _) = s.start_login("https://evil.example/").await;
    let response = s.callback(&format!("code=c&state={state}")).await;
    assert_eq!(response.headers()["location"], "/", "an off-site next is dropped");
}

#[tokio::test]
async fn a_good_sign_in_keeps_only_declared_permissions() {
    let s = scene().await;
    let (state, _) = s.start_login("/").await;
    assert_eq!(s.callback(&format!("code=c&state={state}")).await.status(), StatusCode::SEE_OTHER);
    let me: serde_json::Value = s.browser.get(format!("{}/api/me", s.app)).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["permissions"], json!(["notes.view_note"]), "the undeclared permission is dropped, not a crash");
}

#[tokio::test]
async fn a_wrong_or_reused_state_or_a_missing_code_is_refused_without_a_session() {
    let s = scene().await;
    let (state, _) = s.start_login("/").await;
    let response = s.callback("code=c&state=forged").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("sign in again"));
    assert_eq!(s.callback(&format!("code=c&state={state}")).await.status(), StatusCode::FORBIDDEN, "the state was used up");
    assert_eq!(s.me().await, StatusCode::UNAUTHORIZED);

    let (state, _) = s.start_login("/").await;
    assert_eq!(s.callback(&format!("state={state}")).await.status(), StatusCode::BAD_REQUEST);
    let (state, _) = s.start_login("/").await;
    let denied = s.callback(&format!("error=access_denied&state={state}")).await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert!(denied.text().await.unwrap().contains("no access"));
    assert_eq!(s.callback("").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(s.me().await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn provider_failures_at_sign_in_are_a_502_and_leave_no_session() {
    for (token, user) in [
        (Answer::ServerError, Answer::Good),
        (Answer::Malformed, Answer::Good),
        (Answer::Slow, Answer::Good),
        (Answer::Good, Answer::ServerError),
        (Answer::Good, Answer::Malformed),
        (Answer::Good, Answer::Slow),
    ] {
        let s = scene().await;
        *s.script.token.lock().unwrap() = token;
        *s.script.user.lock().unwrap() = user;
        let (state, _) = s.start_login("/").await;
        let response = s.callback(&format!("code=c&state={state}")).await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert!(response.text().await.unwrap().contains("not available right now"));
        assert_eq!(s.me().await, StatusCode::UNAUTHORIZED, "no half-signed-in session");
    }
}

#[tokio::test]
async fn registering_permissions_reports_counters_refused_credentials_and_an_unreachable_provider() {
    let s = scene().await;
    let set = PermissionSet::new().with("notes", "view_note", "Can view notes").with("notes", "publish_note", "Can publish");
    let counts = s.auth.register_permissions(&set).await.unwrap();
    assert_eq!((counts.synced, counts.created, counts.count), (2, 2, 2));

    let mut wrong = s.auth.config().clone();
    wrong.client_secret = ClientSecret::new("wrong");
    let err = CentralAuth::new(wrong).unwrap().register_permissions(&set).await.unwrap_err();
    assert!(matches!(err, RegisterError::Credentials { status: 403 }), "{err}");
    assert!(err.to_string().contains("CENTRALAUTH_CLIENT_SECRET"));

    let unreachable = CentralAuthConfig::new("http://127.0.0.1:9/provider", "c", ClientSecret::new("s"), "http://a.test").unwrap();
    let err = CentralAuth::new(unreachable).unwrap().register_permissions(&set).await.unwrap_err();
    assert!(matches!(err, RegisterError::Provider(ProviderError::Unreachable(_))), "{err}");
}

#[tokio::test]
async fn sign_in_starts_a_new_session_id() {
    let s = scene().await;
    let before = s.browser.get(format!("{}/centralauth/login/?next=/", s.app)).send().await.unwrap();
    let before_cookie = before.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let (state, _) = s.start_login("/").await;
    let after = s.callback(&format!("code=c&state={state}")).await;
    let after_cookie = after.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    assert_ne!(before_cookie, after_cookie, "the session id changes at sign-in");
}

#[tokio::test]
async fn during_a_session_an_unavailable_provider_is_a_502_that_keeps_the_session_and_a_refusal_ends_it() {
    let s = scene().await;
    *s.script.expires_in.lock().unwrap() = 0;
    let (state, _) = s.start_login("/").await;
    assert_eq!(s.callback(&format!("code=c&state={state}")).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.me().await, StatusCode::OK, "each request refreshes, and the refresh works");
    for failure in [Answer::ServerError, Answer::Malformed, Answer::Slow] {
        *s.script.token.lock().unwrap() = failure;
        assert_eq!(s.me().await, StatusCode::BAD_GATEWAY);
        *s.script.token.lock().unwrap() = Answer::Good;
        assert_eq!(s.me().await, StatusCode::OK, "the session survived the outage");
    }
    *s.script.user.lock().unwrap() = Answer::ServerError;
    assert_eq!(s.me().await, StatusCode::BAD_GATEWAY);
    *s.script.user.lock().unwrap() = Answer::Good;
    *s.script.token.lock().unwrap() = Answer::Refuse;
    assert_eq!(s.me().await, StatusCode::UNAUTHORIZED);
    *s.script.token.lock().unwrap() = Answer::Good;
    assert_eq!(s.me().await, StatusCode::UNAUTHORIZED, "a refusal ended the session for good");
    let page = s.browser.get(format!("{}/api/me", s.app)).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FOUND, "a browser is sent to sign in");
}
