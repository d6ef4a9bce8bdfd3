//! The client crate's back-channel receiver (`centralauth_client`, module `backchannel`):
//! logout tokens (OpenID Connect Back-Channel Logout 1.0) and security event tokens (RFC 8417)
//! as JWTs, the form body that carries a logout token, and the `typ` comparison.
//!
//! Input: first byte picks the delivery and the mode.
//! - mode 0: the rest is the token as received, checked against the test keys;
//! - mode 1: the rest is `header JSON NUL claims JSON`, signed here with the Ed25519 test key,
//!   so that every check after the signature is reached with fuzzer-chosen claims;
//! - mode 2: the rest is a back-channel form body (`logout_token=…`).
#![no_main]

use centralauth_client::fuzzing::{EventKind, Jwk, checked_header, logout_token_of, media_type_matches, verify_event};
use centralauth_fuzz::{NOW, ed25519_jwk_json, rsa_jwk_json, sign_ed25519, split_nul};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const ISSUER: &str = "https://sso.example/centralauth";
const CLIENT_ID: &str = "demo-client";
const MAX_AGE: u64 = 3600;
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const ACCESS_CHANGED_EVENT: &str = "urn:centralauth:event:access-changed";

fn keys() -> &'static (Jwk, Jwk) {
    static KEYS: std::sync::OnceLock<(Jwk, Jwk)> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| (serde_json::from_str(&ed25519_jwk_json()).unwrap(), serde_json::from_str(&rsa_jwk_json()).unwrap()))
}

/// The claims part of a compact JWS, decoded (what a verified token must have said).
fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn check(kind: EventKind, token: &str) {
    let (ed, rsa) = keys();
    let header = checked_header(kind, token);
    // The receiver looks the key up by the header's kid; both test keys are published.
    let jwk = match &header {
        Ok((_, kid)) if kid == "rsa-test" => rsa,
        _ => ed,
    };
    let Ok(verified) = verify_event(kind, token, jwk, ISSUER, CLIENT_ID, NOW, MAX_AGE) else { return };
    let (alg, _) = header.expect("a verified token has an accepted header");
    assert!(alg == "RS256" || alg == "EdDSA");
    // What was accepted says what the receiver promises to check.
    let claims = claims_of(token);
    assert_eq!(claims["iss"], ISSUER);
    let aud_ok = match &claims["aud"] {
        Value::String(a) => a == CLIENT_ID,
        Value::Array(list) => list.iter().any(|a| a == CLIENT_ID),
        _ => false,
    };
    assert!(aud_ok, "aud {:?}", claims["aud"]);
    assert!(!verified.sub.is_empty() && claims["sub"] == verified.sub.as_str());
    assert!(!verified.jti.is_empty() && claims["jti"] == verified.jti.as_str());
    assert!(verified.iat <= NOW + 60 && verified.iat + MAX_AGE >= NOW);
    assert!(claims.get("nonce").is_none());
    let event = if kind == EventKind::LogoutToken { LOGOUT_EVENT } else { ACCESS_CHANGED_EVENT };
    assert!(claims["events"][event].is_object());
    if let Some(exp) = claims.get("exp") {
        assert!(exp.as_f64().is_some_and(|exp| exp + 60.0 >= NOW as f64), "expired: {exp}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let kind = if selector & 1 == 0 { EventKind::LogoutToken } else { EventKind::SecurityEvent };
    match (selector >> 1) % 3 {
        0 => {
            let Ok(token) = std::str::from_utf8(rest) else { return };
            check(kind, token);
        }
        1 => {
            let (header, claims) = split_nul(rest);
            check(kind, &sign_ed25519(header, claims));
        }
        _ => {
            if let Ok(token) = logout_token_of(rest) {
                assert!(!token.is_empty());
                check(EventKind::LogoutToken, &token);
            }
            if let Ok(typ) = std::str::from_utf8(rest) {
                if media_type_matches(typ, "logout+jwt") {
                    let t = typ.trim().to_ascii_lowercase();
                    assert!(t == "logout+jwt" || t == "application/logout+jwt", "{typ:?}");
                }
            }
        }
    }
});
