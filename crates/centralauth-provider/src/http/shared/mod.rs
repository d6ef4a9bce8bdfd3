//! What every HTTP surface shares: request parameters, client authentication, bearer tokens and
//! their challenge, the browser session, CSRF, and the client's address. Extractors here reject
//! with our error types, so bad input never reaches a handler as a 500.

mod bearer;
mod client_addr;
mod client_auth;
mod csrf;
mod params;
mod session;

pub use bearer::{bearer_token, challenge as bearer_challenge};
pub use client_addr::{ClientAddr, TrustedProxies};
pub use client_auth::ClientCredentials;
pub use csrf::{CSRF_COOKIE, csrf_ok, csrf_token};
pub use params::{OAuthForm, PageForm, ParamError, Params};
pub use session::{MaybeSession, SESSION_COOKIE};
