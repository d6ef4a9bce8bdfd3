//! Delegate login and permissions of an [axum] application to a centralauth provider, or to a
//! django-centralauth 2.0 provider: the same wire contract.
//!
//! What you get:
//! - routes for login (OAuth 2.0 authorization code with `state` and PKCE S256), the callback,
//!   logout (which also revokes the token at the provider) and a ready sign-in page;
//! - a [`SyncLayer`] that refreshes an expired token, fetches the user again and updates the
//!   session, and ends the session when the provider withdrew access; concurrent requests of
//!   one session share one refresh;
//! - the [`Principal`] extractor (required, or `Option<Principal>`), [`Principal::has_perm`]
//!   and the [`require_perm`] guard;
//! - permission registration ([`CentralAuth::register_permissions`]) and a hook for apps that
//!   mirror users into their own database ([`UserSyncHook`]);
//! - a back-channel receiver ([`CentralAuth::backchannel_router`]) for the provider's signed
//!   events: a logout token (the user signed out at the provider, or lost access) ends all of
//!   that user's sessions at their next request, an access-changed event makes them sync at
//!   their next request instead of when the access token expires. Events are kept in an
//!   [`AccessEvents`] store, by default [`MemoryAccessEvents`] (per process).
//!
//! Sessions are [tower-sessions] sessions, with any of its stores; the tokens stay in the
//! session store on the server, the browser only holds the session cookie.
//!
//! # Example
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use centralauth_client::{CentralAuth, CentralAuthConfig, PermissionSet, Principal, require_perm};
//! use tower_sessions::{MemoryStore, SessionManagerLayer};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // CENTRALAUTH_PROVIDER_URL, CENTRALAUTH_CLIENT_ID, CENTRALAUTH_CLIENT_SECRET, CENTRALAUTH_APP_URL
//! let config = CentralAuthConfig::from_env()?;
//! let permissions = PermissionSet::new()
//!     .with("notes", "view_note", "Can view notes")
//!     .with("notes", "publish_note", "Can publish notes");
//! let auth = CentralAuth::builder(config).permissions(&permissions).build()?;
//!
//! // Once per deployment (the original's `manage.py sync_perms`):
//! let counts = auth.register_permissions(&permissions).await?;
//! println!("{} permissions synced, {} created", counts.synced, counts.created);
//!
//! let app = Router::new()
//!     .route("/publish", get(|| async { "published" }).layer(require_perm("notes.publish_note")))
//!     .route("/me", get(|user: Principal| async move { format!("hello {}", user.username) }))
//!     .route("/", get(|user: Option<Principal>| async move {
//!         match user { Some(u) => format!("signed in as {}", u.username), None => "hello, stranger".into() }
//!     }))
//!     .merge(auth.router())
//!     // Order matters: the session layer must be outside (added after) the sync layer.
//!     .layer(auth.sync_layer())
//!     .layer(SessionManagerLayer::new(MemoryStore::default()))
//!     // Server to server: merged after the layers, so that no session (or CSRF) layer wraps it.
//!     .merge(auth.backchannel_router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! Register `{CENTRALAUTH_APP_URL}/centralauth/login/callback/` as the application's redirect
//! URI at the provider, and `{CENTRALAUTH_APP_URL}/centralauth/backchannel/` as its back-channel
//! URI (a django-centralauth provider sends no events; nothing changes then). Pages without a
//! signed-in user redirect to `/centralauth/login/?next=…`; requests that do not accept
//! `text/html` get 401 JSON instead.
//! A permission the provider grants but the app never declared (when the app passed its
//! [`PermissionSet`] to the builder) is dropped with a warning instead of failing.
//!
//! [axum]: https://docs.rs/axum
//! [tower-sessions]: https://docs.rs/tower-sessions

#![warn(missing_docs)]

mod backchannel;
mod config;
mod error;
mod events;
#[doc(hidden)]
pub mod fuzzing;
mod guard;
mod hook;
mod keys;
mod pages;
mod permissions;
mod principal;
mod provider;
mod routes;
mod session;
mod sync;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
pub use centralauth_wire::PermsSyncResponse;
pub use config::{CentralAuthConfig, ClientSecret, Clock, ConfigError, Paths};
pub use error::{ProviderError, RegisterError};
pub use events::{AccessEvent, AccessEvents, EventsError, EventsFuture, MemoryAccessEvents, SubjectEvents};
pub use guard::{RequirePerm, RequirePermLayer, SignInRequired, require_perm};
pub use hook::{HookError, UserSyncHook, hook_fn};
pub use permissions::PermissionSet;
pub use principal::Principal;
pub use sync::{SyncLayer, SyncService};

use backchannel::Replays;
use keys::KeyCache;
use provider::ProviderClient;
use sync::InFlight;

/// The client: configuration, HTTP client to the provider, refreshes in flight. Cheap to
/// clone; put it in your state or pass it where needed.
#[derive(Clone)]
pub struct CentralAuth {
    inner: Arc<Inner>,
}

struct Inner {
    provider: ProviderClient,
    hook: Option<Box<dyn UserSyncHook>>,
    in_flight: InFlight,
    events: Box<dyn AccessEvents>,
    keys: KeyCache,
    replays: Replays,
}

/// Builds a [`CentralAuth`].
pub struct CentralAuthBuilder {
    config: CentralAuthConfig,
    declared: Option<BTreeSet<String>>,
    hook: Option<Box<dyn UserSyncHook>>,
    events: Option<Box<dyn AccessEvents>>,
}

impl CentralAuthBuilder {
    /// The permissions the app declares; any other permission from the provider is ignored.
    pub fn permissions(mut self, permissions: &PermissionSet) -> Self {
        self.declared = Some(permissions.keys());
        self
    }

    /// A hook called after every sync with the provider (sign-in and refresh).
    pub fn on_sync(mut self, hook: impl UserSyncHook) -> Self {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Where back-channel events are kept; the default is [`MemoryAccessEvents`], which serves
    /// one process only. Give every instance of a load-balanced application the same shared
    /// store.
    pub fn access_events(mut self, events: impl AccessEvents) -> Self {
        self.events = Some(Box::new(events));
        self
    }

    /// The client.
    pub fn build(self) -> Result<CentralAuth, ConfigError> {
        let keys = KeyCache::new(self.config.key_refetch_interval);
        let provider = ProviderClient::new(self.config, self.declared)?;
        let events = self.events.unwrap_or_else(|| Box::new(MemoryAccessEvents::new()));
        Ok(CentralAuth {
            inner: Arc::new(Inner { provider, hook: self.hook, in_flight: InFlight::default(), events, keys, replays: Replays::default() }),
        })
    }
}

impl CentralAuth {
    /// A client without hook or declared permissions.
    pub fn new(config: CentralAuthConfig) -> Result<Self, ConfigError> {
        Self::builder(config).build()
    }

    /// Starts a builder.
    pub fn builder(config: CentralAuthConfig) -> CentralAuthBuilder {
        CentralAuthBuilder { config, declared: None, hook: None, events: None }
    }

    /// The configuration.
    pub fn config(&self) -> &CentralAuthConfig {
        self.inner.provider.config()
    }

    /// The login, callback, logout and sign-in routes, to `merge` into the app's router.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        routes::router(self)
    }

    /// The back-channel receiver: `POST {paths.backchannel}` (default
    /// `/centralauth/backchannel/`), where the provider pushes logout tokens and access-changed
    /// events; register [`CentralAuthConfig::backchannel_uri`] as the application's back-channel
    /// URI at the provider. The provider calls it server to server, without the user's cookie,
    /// so merge it *after* the session layer (and any CSRF protection), where those layers do
    /// not wrap it: `app.layer(auth.sync_layer()).layer(sessions).merge(auth.backchannel_router())`.
    pub fn backchannel_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        backchannel::router(self)
    }

    /// The layer that keeps sessions in step with the provider; see [`SyncLayer`].
    pub fn sync_layer(&self) -> SyncLayer {
        SyncLayer { auth: self.clone() }
    }

    /// Makes the provider's list of this application's permissions equal to `permissions`
    /// (`POST {provider}/perms/`) and returns the provider's counters.
    pub async fn register_permissions(&self, permissions: &PermissionSet) -> Result<PermsSyncResponse, RegisterError> {
        self.inner.provider.register_permissions(permissions).await
    }

    pub(crate) fn provider(&self) -> &ProviderClient {
        &self.inner.provider
    }

    pub(crate) fn in_flight(&self) -> &InFlight {
        &self.inner.in_flight
    }

    pub(crate) fn access_events(&self) -> &dyn AccessEvents {
        self.inner.events.as_ref()
    }

    pub(crate) fn keys(&self) -> &KeyCache {
        &self.inner.keys
    }

    pub(crate) fn replays(&self) -> &Replays {
        &self.inner.replays
    }

    pub(crate) async fn run_hook(&self, user: &Principal) -> Result<(), HookError> {
        match &self.inner.hook {
            Some(hook) => hook.on_sync(user).await,
            None => Ok(()),
        }
    }
}
