//! The demo app: pages for anonymous users, signed-in users and two permission levels, a JSON
//! endpoint, and a user directory kept up to date by the sync hook.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use centralauth_client::{CentralAuth, CentralAuthConfig, ConfigError, PermissionSet, Principal, hook_fn, require_perm};
use tower_sessions::{MemoryStore, SessionManagerLayer};

/// What the demo declares and registers at the provider.
pub fn permissions() -> PermissionSet {
    PermissionSet::new().with("notes", "view_note", "Can view notes").with("notes", "publish_note", "Can publish notes")
}

/// Users as last seen from the provider: the kind of mirror a real app keeps in its database.
#[derive(Clone, Default)]
pub struct Directory(Arc<Mutex<BTreeMap<String, Principal>>>);

impl Directory {
    fn snapshot(&self) -> BTreeMap<String, Principal> {
        self.0.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "page.html")]
struct Page<'a> {
    title: &'a str,
    username: Option<&'a str>,
    lines: Vec<String>,
}

fn page(title: &str, user: Option<&Principal>, lines: Vec<String>) -> Response {
    match (Page { title, username: user.map(|u| u.username.as_str()), lines }).render() {
        Ok(html) => Html(html).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn home(user: Option<Principal>) -> Response {
    let line = match &user {
        Some(u) => format!("Welcome back, {} {}.", u.first_name, u.last_name),
        None => "Welcome, stranger. Sign in with your central account.".to_string(),
    };
    page("Home", user.as_ref(), vec![line])
}

async fn me(user: Principal) -> Response {
    let perms: Vec<String> = user.permissions.iter().cloned().collect();
    let lines = vec![
        format!("Username: {}", user.username),
        format!("E-mail: {}", user.email),
        format!("Staff: {}, superuser: {}", user.is_staff, user.is_superuser),
        format!("Permissions: {}", if perms.is_empty() { "none".into() } else { perms.join(", ") }),
    ];
    page("Me", Some(&user), lines)
}

async fn notes(user: Principal) -> Response {
    page("Notes", Some(&user), vec!["Readers see the notes.".into()])
}

async fn publish(user: Principal) -> Response {
    page("Publish", Some(&user), vec!["Publishers publish notes.".into()])
}

async fn whoami(user: Option<Principal>) -> Json<serde_json::Value> {
    Json(match user {
        Some(u) => serde_json::json!({ "authenticated": true, "user": u }),
        None => serde_json::json!({ "authenticated": false }),
    })
}

async fn api_me(user: Principal) -> Json<Principal> {
    Json(user)
}

async fn list_directory(State(directory): State<Directory>) -> Json<BTreeMap<String, Principal>> {
    Json(directory.snapshot())
}

/// The client, built from configuration, with the demo's permissions and directory hook.
pub fn central_auth(config: CentralAuthConfig, directory: &Directory) -> Result<CentralAuth, ConfigError> {
    let mirror = directory.clone();
    CentralAuth::builder(config)
        .permissions(&permissions())
        .on_sync(hook_fn(move |user: Principal| {
            let mirror = mirror.clone();
            async move {
                mirror.0.lock().map_err(|_| "directory lock poisoned")?.insert(user.username.clone(), user);
                Ok(())
            }
        }))
        .build()
}

/// The whole app. The back-channel receiver (`POST /centralauth/backchannel/`, where the
/// provider pushes logout tokens and access-changed events) is merged after the session layer:
/// the provider calls it without a session.
pub fn app(auth: &CentralAuth, directory: Directory) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/me", get(me))
        .route("/notes", get(notes).layer(require_perm("notes.view_note")))
        .route("/notes/publish", get(publish).layer(require_perm("notes.publish_note")))
        .route("/api/whoami", get(whoami))
        .route("/api/me", get(api_me))
        .route("/api/directory", get(list_directory))
        .with_state(directory)
        .merge(auth.router())
        .layer(auth.sync_layer())
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(auth.config().app_url.scheme() == "https"))
        .merge(auth.backchannel_router())
}
