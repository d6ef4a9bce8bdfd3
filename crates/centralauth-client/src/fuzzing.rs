//! The parsers of what the provider (or a browser) sends this client, for the cargo-fuzz
//! targets in the repository's `fuzz/` (see `fuzz/README.md`). Not an API: it follows the code
//! it exposes, unannounced.

use std::collections::BTreeSet;

use centralauth_wire::UserInfo;
pub use jsonwebtoken::jwk::Jwk;

use crate::Principal;
use crate::backchannel::{self, Delivery, Expected};

/// Which back-channel delivery a token arrives as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A Back-Channel Logout 1.0 logout token (`typ: logout+jwt`).
    LogoutToken,
    /// A Security Event Token with the access-changed event (`typ: secevent+jwt`).
    SecurityEvent,
}

/// What a verified event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The user it is about.
    pub sub: String,
    /// Its unique id (replays are refused by it).
    pub jti: String,
    /// When it was issued, unix seconds.
    pub iat: u64,
}

/// The `logout_token` of a back-channel form body, or why there is none.
pub fn logout_token_of(body: &[u8]) -> Result<String, String> {
    backchannel::logout_token_of(body).map_err(|r| r.description)
}

/// `typ` compared as a media type (RFC 7515 §4.1.9).
pub fn media_type_matches(typ: &str, expected: &str) -> bool {
    backchannel::media_type_matches(typ, expected)
}

/// The header checks of a back-channel token: its algorithm name and key id when accepted.
pub fn checked_header(kind: EventKind, token: &str) -> Result<(String, String), String> {
    backchannel::checked_header(delivery(kind), token).map(|(alg, kid)| (format!("{alg:?}"), kid)).map_err(|r| r.description)
}

/// The whole verification of a back-channel token, with `jwk` as the provider's key of the
/// header's `kid` (what the receiver does after fetching the provider's keys).
pub fn verify_event(kind: EventKind, token: &str, jwk: &Jwk, issuer: &str, client_id: &str, now: u64, max_age: u64) -> Result<Verified, String> {
    let delivery = delivery(kind);
    let (alg, kid) = backchannel::checked_header(delivery, token).map_err(|r| r.description)?;
    let expected = Expected { issuer, client_id, now, max_age };
    backchannel::verify_with_key(delivery, token, alg, &kid, jwk, &expected)
        .map(|v| Verified { sub: v.sub, jti: v.jti, iat: v.iat })
        .map_err(|r| r.description)
}

/// The `next` a sign-in returns to: the given one if it is a same-site path, else `/`.
pub fn safe_next(next: Option<&str>) -> String {
    crate::session::safe_next(next)
}

/// The provider's `/user/` answer as the client reads it, turned into the signed-in user.
pub fn principal_of(body: &[u8], declared: Option<&BTreeSet<String>>) -> Result<Principal, serde_json::Error> {
    let info: UserInfo = serde_json::from_slice(body)?;
    Ok(Principal::from_user_info(info, declared))
}

fn delivery(kind: EventKind) -> Delivery {
    match kind {
        EventKind::LogoutToken => Delivery::LogoutToken,
        EventKind::SecurityEvent => Delivery::SecurityEvent,
    }
}
