//! The provider's reading of an `id_token_hint` at RP-Initiated Logout
//! (`domain::signing::verify_own_token`): a JWT from the browser, accepted only when one of the
//! provider's published keys verifies it.
//!
//! Input: first byte picks the mode. Mode 0: the rest is the token. Mode 1: the rest is
//! `header JSON NUL claims JSON`, signed here with the Ed25519 test key (published as
//! `ed-test`), so that the checks after the signature see fuzzer-chosen content.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use centralauth_fuzz::{ED25519_KID, RSA_KID, ed25519_jwk_json, rsa_jwk_json, sign_ed25519, split_nul};
use centralauth_provider::domain::signing::{StoredKey, verify_own_token};
use libfuzzer_sys::fuzz_target;

fn published() -> &'static [StoredKey] {
    static KEYS: std::sync::OnceLock<Vec<StoredKey>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let key = |kid: &str, algorithm: &str, public_jwk: String| StoredKey {
            kid: kid.to_string(),
            algorithm: algorithm.to_string(),
            sealed_private_key: Vec::new(),
            public_jwk,
            created_at: 0,
            retired_at: None,
            expires_at: None,
        };
        vec![key(ED25519_KID, "EdDSA", ed25519_jwk_json()), key(RSA_KID, "RS256", rsa_jwk_json())]
    })
}

fn check(token: &str) {
    let Some(claims) = verify_own_token(token, published()) else { return };
    // Accepted: the header names a published key and that key's algorithm, and the claims
    // returned are the token's own.
    let mut parts = token.split('.');
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    let kid = header["kid"].as_str().expect("a kid");
    let key = published().iter().find(|k| k.kid == kid).expect("a published kid");
    assert_eq!(header["alg"], key.algorithm.as_str());
    let payload: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    assert_eq!(payload, claims);
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    if selector % 2 == 0 {
        if let Ok(token) = std::str::from_utf8(rest) {
            check(token);
        }
    } else {
        let (header, claims) = split_nul(rest);
        check(&sign_ed25519(header, claims));
    }
});
