//! The back-channel receiver: one route where the provider pushes signed events when a user's
//! access changes, so that sessions here follow without waiting for the access token to expire.
//!
//! - `application/x-www-form-urlencoded` with `logout_token=<JWT>`: an OpenID Connect
//!   Back-Channel Logout 1.0 logout token (`typ: logout+jwt`). Every session of its `sub` that
//!   signed in before it ends. Answers 200, or 400 `{"error": "invalid_request", …}` (§2.8).
//! - `application/secevent+jwt` with the JWT as the body: a Security Event Token (RFC 8417,
//!   `typ: secevent+jwt`) pushed as in RFC 8935, with the event
//!   `urn:centralauth:event:access-changed`. Every session of its `sub` syncs with the provider
//!   at its next request. Answers 202, or 400 `{"err": …, "description": …}` (RFC 8935 §2.3).
//!
//! Verification: RS256 or EdDSA only, by the provider's published key of the header's `kid`
//! ([`crate::keys`]); `iss` is the issuer of the provider's discovery document, `aud` contains
//! this client id, `iat` is at most 60 s ahead and at most
//! [`crate::CentralAuthConfig::event_max_age`] old, an `exp` (logout tokens have one) has not
//! passed, the expected `events` member is there, `sub` and `jti` are present, `nonce` is not,
//! and the `jti` was not seen before (per process, for as long as the token is acceptable).
//! When the provider's keys cannot be fetched, or the event cannot be recorded, the answer is
//! 503, so that the provider delivers again later.
//!
//! The route is server-to-server: mount it outside the session layer (and any CSRF layer) of
//! the application, as [`crate::CentralAuth::backchannel_router`] explains.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value, json};

use crate::CentralAuth;
use crate::events::AccessEvent;
use crate::keys::KeyLookup;
use crate::provider::now;

pub(crate) const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
pub(crate) const ACCESS_CHANGED_EVENT: &str = "urn:centralauth:event:access-changed";

/// How far a sender's clock may be ahead of ours (seconds), for `iat` and `exp`.
const CLOCK_SKEW: u64 = 60;
/// Events are a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;

pub(crate) fn router<S: Clone + Send + Sync + 'static>(auth: &CentralAuth) -> Router<S> {
    Router::new().route(&auth.config().paths.backchannel, post(receive)).layer(DefaultBodyLimit::max(MAX_BODY)).with_state(auth.clone())
}

/// The two kinds of delivery, told apart by the request's content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    LogoutToken,
    SecurityEvent,
}

impl Delivery {
    fn typ(self) -> &'static str {
        match self {
            Self::LogoutToken => "logout+jwt",
            Self::SecurityEvent => "secevent+jwt",
        }
    }

    fn event_uri(self) -> &'static str {
        match self {
            Self::LogoutToken => LOGOUT_EVENT,
            Self::SecurityEvent => ACCESS_CHANGED_EVENT,
        }
    }

    fn event(self) -> AccessEvent {
        match self {
            Self::LogoutToken => AccessEvent::LoggedOut,
            Self::SecurityEvent => AccessEvent::AccessChanged,
        }
    }

    fn accepted(self) -> Response {
        match self {
            // Back-Channel Logout §2.8; no caching of the answer.
            Self::LogoutToken => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response(),
            Self::SecurityEvent => StatusCode::ACCEPTED.into_response(),
        }
    }

    fn rejected(self, rejection: Rejection) -> Response {
        let Rejection { failure, description } = rejection;
        let status = if failure == Failure::Unavailable { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::BAD_REQUEST };
        let body = match (self, failure) {
            (Self::LogoutToken, Failure::Unavailable) => json!({"error": "temporarily_unavailable", "error_description": description}),
            (Self::LogoutToken, _) => json!({"error": "invalid_request", "error_description": description}),
            (Self::SecurityEvent, failure) => json!({"err": failure.set_code(), "description": description}),
        };
        (status, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
    }
}

/// Why a delivery was not applied, in RFC 8935 §2.3's terms (a logout token answers
/// `invalid_request` for all but `Unavailable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    InvalidRequest,
    InvalidKey,
    InvalidIssuer,
    InvalidAudience,
    AuthenticationFailed,
    /// Not the sender's fault: the provider's keys or the event store are unavailable.
    Unavailable,
}

impl Failure {
    fn set_code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidKey => "invalid_key",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
            Self::AuthenticationFailed => "authentication_failed",
            Self::Unavailable => "temporarily_unavailable",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Rejection {
    failure: Failure,
    pub(crate) description: String,
}

fn reject(failure: Failure, description: impl Into<String>) -> Rejection {
    Rejection { failure, description: description.into() }
}

/// The media type without parameters, lower case.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

async fn receive(State(auth): State<CentralAuth>, headers: HeaderMap, body: Bytes) -> Response {
    let delivery = match media_type(&headers).as_deref() {
        Some("application/x-www-form-urlencoded") => Delivery::LogoutToken,
        Some("application/secevent+jwt") => Delivery::SecurityEvent,
        other => {
            tracing::info!(content_type = ?other, "centralauth: back-channel request with an unknown content type refused");
            return Delivery::LogoutToken.rejected(reject(
                Failure::InvalidRequest,
                "expected application/x-www-form-urlencoded (a logout token) or application/secevent+jwt (a security event token)",
            ));
        }
    };
    match accept(&auth, delivery, &body).await {
        Ok(sub) => {
            tracing::info!(%sub, event = ?delivery.event(), "centralauth: back-channel event applied");
            delivery.accepted()
        }
        Err(rejection) => {
            if rejection.failure == Failure::Unavailable {
                tracing::warn!(reason = %rejection.description, "centralauth: back-channel event not applied; the provider should deliver again");
            } else {
                tracing::info!(reason = %rejection.description, "centralauth: back-channel event refused");
            }
            delivery.rejected(rejection)
        }
    }
}

/// Verifies and records one delivery; returns the `sub` it was about.
async fn accept(auth: &CentralAuth, delivery: Delivery, body: &[u8]) -> Result<String, Rejection> {
    let token = match delivery {
        Delivery::LogoutToken => logout_token_of(body)?,
        Delivery::SecurityEvent => {
            std::str::from_utf8(body).map_err(|_| reject(Failure::InvalidRequest, "the body is not UTF-8"))?.trim().to_string()
        }
    };
    let event = verify(auth, delivery, &token).await?;
    let replays = auth.replays();
    if !replays.first_use(&event.jti, event.iat.saturating_add(auth.config().event_max_age.as_secs()).saturating_add(CLOCK_SKEW)) {
        return Err(reject(Failure::InvalidRequest, "this jti was already received"));
    }
    if let Err(e) = auth.access_events().record(&event.sub, delivery.event(), auth.config().clock.now()).await {
        // Not applied: a new delivery of the same token must be able to succeed.
        replays.forget(&event.jti);
        tracing::error!(error = %e, "centralauth: recording a back-channel event failed");
        return Err(reject(Failure::Unavailable, "the event could not be recorded"));
    }
    Ok(event.sub)
}

/// The one `logout_token` parameter of the form body.
pub(crate) fn logout_token_of(body: &[u8]) -> Result<String, Rejection> {
    let mut tokens = url::form_urlencoded::parse(body).filter(|(name, _)| name == "logout_token").map(|(_, value)| value.into_owned());
    match (tokens.next(), tokens.next()) {
        (Some(token), None) if !token.is_empty() => Ok(token),
        (Some(_), Some(_)) => Err(reject(Failure::InvalidRequest, "logout_token is repeated")),
        _ => Err(reject(Failure::InvalidRequest, "logout_token is missing")),
    }
}

/// What a verified event says.
#[derive(Debug)]
pub(crate) struct VerifiedEvent {
    pub(crate) sub: String,
    pub(crate) jti: String,
    pub(crate) iat: u64,
}

async fn verify(auth: &CentralAuth, delivery: Delivery, token: &str) -> Result<VerifiedEvent, Rejection> {
    let (alg, kid) = checked_header(delivery, token)?;
    let (jwk, issuer) = match auth.keys().lookup(auth.provider(), &kid).await {
        KeyLookup::Found { key, issuer } => (key, issuer),
        KeyLookup::Unknown => return Err(reject(Failure::InvalidKey, format!("the provider publishes no key {kid:?}"))),
        KeyLookup::Unavailable(reason) => {
            // The detail (the provider's internal URL, say) goes to the log, not to the sender.
            tracing::warn!(%reason, "centralauth: the provider's signing keys are unavailable");
            return Err(reject(Failure::Unavailable, "the provider's signing keys are unavailable"));
        }
    };
    let config = auth.config();
    let expected = Expected { issuer: &issuer, client_id: &config.client_id, now: config.clock.unix_seconds(), max_age: config.event_max_age.as_secs() };
    verify_with_key(delivery, token, alg, &kid, &jwk, &expected)
}

/// The header's algorithm and key id, when the header is one we accept for `delivery`.
pub(crate) fn checked_header(delivery: Delivery, token: &str) -> Result<(Algorithm, String), Rejection> {
    // `alg: none` and unknown algorithms do not even parse as a header.
    let header = jsonwebtoken::decode_header(token).map_err(|e| reject(Failure::InvalidRequest, format!("not a signed JWT: {e}")))?;
    let alg = header.alg;
    if !matches!(alg, Algorithm::RS256 | Algorithm::EdDSA) {
        return Err(reject(Failure::InvalidRequest, format!("alg {alg:?} is not accepted (RS256 or EdDSA)")));
    }
    if !header.typ.as_deref().is_some_and(|typ| media_type_matches(typ, delivery.typ())) {
        return Err(reject(Failure::InvalidRequest, format!("typ must be {}", delivery.typ())));
    }
    if header.crit.is_some() {
        return Err(reject(Failure::InvalidRequest, "crit header parameters are not supported"));
    }
    let Some(kid) = header.kid else {
        return Err(reject(Failure::InvalidRequest, "the header names no kid"));
    };
    Ok((alg, kid))
}

/// What a token must name and when it must have been issued.
pub(crate) struct Expected<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    /// Unix seconds.
    pub(crate) now: u64,
    /// `event_max_age` in seconds.
    pub(crate) max_age: u64,
}

/// Checks a token whose header passed [`checked_header`] against the provider's key `jwk`.
/// Kept apart from the key lookup (network) so that it can be tested and fuzzed alone.
pub(crate) fn verify_with_key(delivery: Delivery, token: &str, alg: Algorithm, kid: &str, jwk: &Jwk, expected: &Expected) -> Result<VerifiedEvent, Rejection> {
    check_key_fits(jwk, alg).map_err(|why| reject(Failure::InvalidKey, format!("key {kid:?}: {why}")))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| reject(Failure::InvalidKey, format!("key {kid:?}: {e}")))?;

    let mut validation = Validation::new(alg);
    validation.set_required_spec_claims(&["iss", "aud", "sub"]);
    validation.leeway = CLOCK_SKEW;
    validation.validate_exp = true; // when present: logout tokens have one, security events need not
    validation.validate_nbf = true;
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.client_id]);
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| claims_failure(&e))?.claims;

    let string = |name: &str| match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(reject(Failure::InvalidRequest, format!("{name} must be a non-empty string"))),
    };
    // jsonwebtoken also accepts an array for iss (any of which matches); a token has one issuer.
    if !matches!(claims.get("iss"), Some(Value::String(_))) {
        return Err(reject(Failure::InvalidIssuer, "iss must be a string"));
    }
    let sub = string("sub")?;
    let jti = string("jti")?;
    let iat = match claims.get("iat").and_then(Value::as_f64) {
        Some(iat) if iat >= 0.0 => iat as u64,
        _ => return Err(reject(Failure::InvalidRequest, "iat must be a NumericDate")),
    };
    let now = expected.now;
    if iat > now + CLOCK_SKEW {
        return Err(reject(Failure::InvalidRequest, "iat is in the future"));
    }
    if iat.saturating_add(expected.max_age) < now {
        return Err(reject(Failure::InvalidRequest, "the token is too old (iat)"));
    }
    if claims.contains_key("nonce") {
        return Err(reject(Failure::InvalidRequest, "a nonce is not allowed"));
    }
    let events = match claims.get("events") {
        Some(Value::Object(events)) => events,
        _ => return Err(reject(Failure::InvalidRequest, "events must be a JSON object")),
    };
    if !matches!(events.get(delivery.event_uri()), Some(Value::Object(_))) {
        return Err(reject(Failure::InvalidRequest, format!("events has no {} member (a JSON object)", delivery.event_uri())));
    }
    Ok(VerifiedEvent { sub, jti, iat })
}

/// `typ` compared as a media type: case-insensitive, `application/` optional (RFC 7515 §4.1.9).
pub(crate) fn media_type_matches(typ: &str, expected: &str) -> bool {
    let typ = typ.trim();
    let short = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    short.eq_ignore_ascii_case(expected)
}

/// The key is one for `alg` (RSA for RS256, Ed25519 for EdDSA) and not published for another
/// algorithm or use.
fn check_key_fits(jwk: &Jwk, alg: Algorithm) -> Result<(), &'static str> {
    let type_fits = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA) => okp.curve == EllipticCurve::Ed25519,
        _ => false,
    };
    if !type_fits {
        return Err("its key type does not fit the token's alg");
    }
    if jwk.common.key_algorithm.is_some_and(|published| published != KeyAlgorithm::from(alg)) {
        return Err("it is published for another alg");
    }
    if jwk.common.public_key_use.as_ref().is_some_and(|usage| *usage != PublicKeyUse::Signature) {
        return Err("it is not published for signatures");
    }
    Ok(())
}

fn claims_failure(err: &jsonwebtoken::errors::Error) -> Rejection {
    let failure = match err.kind() {
        ErrorKind::InvalidSignature => Failure::AuthenticationFailed,
        ErrorKind::InvalidIssuer => Failure::InvalidIssuer,
        ErrorKind::InvalidAudience => Failure::InvalidAudience,
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => Failure::InvalidIssuer,
        ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => Failure::InvalidAudience,
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidEddsaKey | ErrorKind::InvalidKeyFormat | ErrorKind::InvalidAlgorithm => {
            Failure::InvalidKey
        }
        _ => Failure::InvalidRequest,
    };
    let description = match err.kind() {
        ErrorKind::InvalidSignature => "the signature does not verify".to_string(),
        ErrorKind::InvalidIssuer => "iss is not the provider's issuer".to_string(),
        ErrorKind::InvalidAudience => "aud does not contain this client id".to_string(),
        ErrorKind::ExpiredSignature => "the token has expired (exp)".to_string(),
        _ => format!("invalid token: {err}"),
    };
    reject(failure, description)
}

/// The `jti`s of accepted events, each kept until a token with it would be too old anyway.
/// Per process.
#[derive(Default)]
pub(crate) struct Replays {
    seen: Mutex<ReplayState>,
}

#[derive(Default)]
struct ReplayState {
    /// jti → unix seconds after which it may be forgotten.
    forget_after: HashMap<String, u64>,
    next_sweep: u64,
}

impl Replays {
    /// Whether `jti` is new; remembers it until `forget_after` (unix seconds).
    fn first_use(&self, jti: &str, forget_after: u64) -> bool {
        let now = now();
        let mut state = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if now >= state.next_sweep {
            state.forget_after.retain(|_, until| *until >= now);
            state.next_sweep = now + 60;
        }
        match state.forget_after.get(jti) {
            Some(until) if *until >= now => false,
            _ => {
                state.forget_after.insert(jti.to_string(), forget_after);
                true
            }
        }
    }

    fn forget(&self, jti: &str) {
        self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).forget_after.remove(jti);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_is_compared_as_a_media_type() {
        assert!(media_type_matches("logout+jwt", "logout+jwt"));
        assert!(media_type_matches("application/Logout+JWT", "logout+jwt"));
        assert!(!media_type_matches("JWT", "logout+jwt"));
        assert!(!media_type_matches("secevent+jwt", "logout+jwt"));
        assert!(!media_type_matches("application/", "logout+jwt"));
    }

    #[test]
    fn a_jti_is_used_once_until_it_is_forgotten() {
        let replays = Replays::default();
        let later = now() + 100;
        assert!(replays.first_use("a", later));
        assert!(!replays.first_use("a", later));
        assert!(replays.first_use("b", later));
        replays.forget("a");
        assert!(replays.first_use("a", later));
        assert!(replays.first_use("old", now() - 1), "remembered only until it expires");
        assert!(replays.first_use("old", now() - 1));
    }

    #[test]
    fn the_only_logout_token_parameter_is_taken() {
        assert_eq!(logout_token_of(b"logout_token=a.b.c").unwrap(), "a.b.c");
        assert!(logout_token_of(b"logout_token=a&logout_token=b").is_err());
        assert!(logout_token_of(b"token=a").is_err());
        assert!(logout_token_of(b"logout_token=").is_err());
    }
}
