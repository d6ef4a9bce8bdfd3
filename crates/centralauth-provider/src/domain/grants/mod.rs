//! The grants of the token endpoint (RFC 6749 §4.1 and §6) and the authorization step that
//! issues codes.

pub mod authorization_code;
pub mod refresh_token;
pub mod revocation;

use super::application::Application;
use super::clock::UnixTime;
use super::mfa::Amr;
use super::scope::Scope;
use super::secret::{MacKey, Secret};
use super::user::UserId;
use crate::domain::ports::NewTokenPair;

/// A freshly issued token pair, the only time the plain values exist.
#[derive(Debug)]
pub struct IssuedTokens {
    pub access_token: Secret,
    pub refresh_token: Secret,
    pub expires_in: i64,
    pub scope: Scope,
    /// What an id_token needs, when the scope asks for one.
    pub user_id: UserId,
    pub auth_time: UnixTime,
    pub nonce: Option<String>,
    pub sid: Option<String>,
    /// What the sign-in behind the grant had proven (the id_token's `amr` and `acr`).
    pub amr: Amr,
}

/// Whether a grant still stands for its user: their account is active and they hold an active
/// membership of the grant's application (`None`: none at all). Checked at every refresh and
/// every introspection, so that a withdrawal counts at once even for a token issued before it.
pub fn access_stands(user_active: bool, membership_active: Option<bool>) -> bool {
    user_active && membership_active == Some(true)
}

/// Generates a pair for `app` and the digests the store keeps of it.
fn new_pair(app: &Application, now: UnixTime) -> (Secret, Secret, NewTokenPair) {
    pair(app, Secret::generate(), Secret::generate(), now)
}

/// The pair that succeeds `refresh_token`, derived from it with the server-held `key`: a retried
/// refresh recomputes exactly the pair its first try got (stored, as every pair, by digest only),
/// and nobody without the key can compute a successor from a token they hold.
fn successor_pair(app: &Application, key: &MacKey, refresh_token: &str, now: UnixTime) -> (Secret, Secret, NewTokenPair) {
    let access = key.derive("refresh successor access token", refresh_token);
    let refresh = key.derive("refresh successor refresh token", refresh_token);
    pair(app, access, refresh, now)
}

/// A pair with `app`'s lifetimes from `now`, and the digests the store keeps of it.
fn pair(app: &Application, access: Secret, refresh: Secret, now: UnixTime) -> (Secret, Secret, NewTokenPair) {
    let digests = NewTokenPair {
        access: access.digest(),
        access_expires_at: now + app.lifetimes.access_token,
        refresh: refresh.digest(),
        refresh_expires_at: now + app.lifetimes.refresh_token,
    };
    (access, refresh, digests)
}
