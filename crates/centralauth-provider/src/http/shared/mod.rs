//! What every HTTP surface shares: request parameters, client authentication, bearer tokens and
//! their challenge, the browser session, CSRF, and the client's address. Extractors here reject
//! with our error types, so bad input never reaches a handler as a 500.

mod bearer;
mod client_addr;
mod client_auth;
pub mod cookies;
mod csrf;
mod params;
mod session;

pub use bearer::{bearer_token, challenge as bearer_challenge};
pub use client_addr::{ClientAddr, TrustedProxies};
pub use client_auth::ClientCredentials;
pub use csrf::{csrf_ok, csrf_token, sign_in_csrf_ok};
pub use params::{OAuthForm, PageForm, ParamError, Params};
pub use session::MaybeSession;

/// `Cache-Control: no-store` on every answer of a route: for answers that describe a token or
/// a person's access (RFC 6749 §5.1 asks it of the token endpoint, and the same reasoning holds
/// for introspection and `/user/`), which no shared cache or browser history should keep.
pub fn no_store() -> tower_http::set_header::SetResponseHeaderLayer<axum::http::HeaderValue> {
    tower_http::set_header::SetResponseHeaderLayer::overriding(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"))
}
