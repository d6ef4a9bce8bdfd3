//! The HTTP surface, grouped by who it serves: `provider` (under the wire contract's prefix: the
//! OAuth 2.0 / OpenID Connect endpoints and django-centralauth's `/user/` and `/perms/`),
//! `admin_api` (the JSON admin API), `console` (the administrators' web console), `account`
//! (the provider's own sign-in pages); `shared` holds what they have in common (parameters,
//! client authentication, bearer tokens, session, CSRF, client address), `routes` how a route
//! is declared, `router` how they are assembled with the security headers every answer carries,
//! `server` the connection loop with its timeouts and connection limit.

pub mod account;
pub mod admin_api;
pub mod console;
pub mod error;
pub mod i18n;
pub mod pages;
pub mod provider;
pub mod router;
pub mod routes;
pub mod server;
pub mod shared;
pub mod state;
